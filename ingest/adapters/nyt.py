"""The New York Times, ``us-states.csv``.

One record per state (or DC, or territory) and date: ``date`` (YYYY-MM-DD), ``state`` (full name),
``fips`` (2-digit state FIPS, which must agree with the name), cumulative ``cases`` and
``deaths`` (cases include probable cases where states report them).
"""

from __future__ import annotations

from ingest.adapters.base import Metric
from ingest.adapters.table import ISO_DATE, BadValue, LongTableAdapter, Unresolved
from ingest.regions import unmapped_reason, us_state_code


class NytUsStatesAdapter(LongTableAdapter):
    format = "nyt-us-states"
    description = "New York Times us-states.csv: cumulative cases and deaths by US state and date"
    header = ("date", "state", "fips", "cases", "deaths")
    date_column = "date"
    date_format = ISO_DATE
    metrics = (("cases", Metric.CASES_CUMULATIVE), ("deaths", Metric.DEATHS_CUMULATIVE))
    region_columns = ("state", "fips")

    def region_for(self, key: tuple[str, ...]) -> str | Unresolved:
        name, fips = key
        state = us_state_code(name)
        if state is None:
            return Unresolved(name, unmapped_reason(name))
        if fips and us_state_code(fips) != state:
            raise BadValue("fips", f"the FIPS code of {name} ({state})", fips)
        return state


ADAPTER = NytUsStatesAdapter()
