"""JHU CSSE US time series: ``time_series_covid19_confirmed_US.csv`` and
``time_series_covid19_deaths_US.csv``.

Wide tables, one row per county: ``UID, iso2, iso3, code3, FIPS, Admin2, Province_State,
Country_Region, Lat, Long_, Combined_Key`` (the deaths file adds ``Population``), then one column
per day (M/D/YY) holding a cumulative count. ``FIPS`` is written as a float ("36061.0", "1001.0").

How rows map:

- A county row (``Admin2`` set, a 5-digit county FIPS that JHU's lookup table knows) gives
  observations for ``US-FIPS-<fips>``; Puerto Rico's municipios are counties of ``US-PR``.
- A whole-territory row (American Samoa, Guam, the Northern Mariana Islands, the Virgin Islands:
  no ``Admin2``, a 2-digit FIPS) gives observations for the territory (``US-AS``, ...) directly.
- Every state with county rows gets a *derived* total per day: the sum of all its rows, with
  ``derived_from`` naming them. That sum includes the rows that are no county: "Unassigned" (FIPS
  900xx), "Out of XX" (800xx: cases of residents of elsewhere, by JHU's convention still in the
  state's total) and JHU's own non-county units without FIPS (Kansas City, Utah's health
  districts, Michigan's prisons, Dukes and Nantucket). Those rows count in the state total only:
  they appear in ``derived_from`` as ``"US-UT:Unassigned"`` and in the notes, never as a county.
- Rows that are no state ("Diamond Princess", "Grand Princess") are listed as unmapped.

A state's total is left out for a day on which one of its rows is blank (a count of such days is
in the notes): a sum with a missing part would be a figure nobody published.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ingest.adapters.base import FormatError, Metric, ParsedObservation, ParseResult
from ingest.adapters.jhu_global import RollUp, date_columns, emit, emit_roll_up, header_is_wide
from ingest.adapters.table import BadValue, UnmappedTally, count, read_csv
from ingest.regions import region as region_of
from ingest.regions import unmapped_reason, us_county_code, us_state_code

CONFIRMED_COLUMNS = (
    "UID",
    "iso2",
    "iso3",
    "code3",
    "FIPS",
    "Admin2",
    "Province_State",
    "Country_Region",
    "Lat",
    "Long_",
    "Combined_Key",
)
DEATHS_COLUMNS = (*CONFIRMED_COLUMNS, "Population")
_FIPS, _ADMIN2, _STATE = 4, 5, 6


def parse_fips(value: str) -> int | None:
    """JHU writes FIPS as a float ("36061.0"); blank for rows without one."""
    if not value:
        return None
    digits = value.removesuffix(".0")
    if digits.isdigit() and digits.isascii():
        return int(digits)
    raise BadValue("FIPS", "a FIPS code such as 36061.0", value)


def _state_only_kind(admin2: str) -> str:
    if admin2 == "Unassigned":
        return "Unassigned"
    if admin2.startswith("Out of "):
        return "Out of XX"
    return admin2 or "(blank)"


class JhuUsAdapter:
    def __init__(self, format: str, metric: Metric, what: str, fixed: Sequence[str]) -> None:
        self.format = format
        self.metric = metric
        self.fixed = tuple(fixed)
        self.description = (
            f"JHU CSSE time_series_covid19_{what}_US.csv: cumulative {what} by US county (FIPS), "
            "wide; states rolled up from their rows as derived observations"
        )

    def header_matches(self, header: Sequence[str]) -> bool:
        return header_is_wide(header, self.fixed)

    def parse(self, content: bytes) -> ParseResult:
        fmt = self.format
        header, records = read_csv(fmt, content)
        days = date_columns(fmt, header, self.fixed)
        columns = header[len(self.fixed) :]
        first_value = len(self.fixed)

        observations: list[ParsedObservation] = []
        unmapped = UnmappedTally()
        roll_ups: dict[str, RollUp] = {}
        whole: dict[str, int] = {}  # territory -> record of its single row
        state_only: Counter[str] = Counter()
        counties: set[str] = set()
        repeated: list[str] = []
        skipped = 0
        total = 0

        for record, line, fields in records:
            total = record
            admin2, state_name = fields[_ADMIN2], fields[_STATE]
            try:
                values = [count(c, v) for c, v in zip(columns, fields[first_value:], strict=True)]
                fips = parse_fips(fields[_FIPS])
                state = us_state_code(state_name)
                if state is None:
                    unmapped.add(state_name, unmapped_reason(state_name))
                    continue
                if not admin2 and fips is not None and fips < 100:
                    if us_state_code(fips) != state:
                        raise BadValue(
                            "FIPS", f"the FIPS code of {state_name} ({state})", fields[_FIPS]
                        )
                    if state in whole:
                        repeated.append(state)
                    whole[state] = record
                    skipped += emit(observations, state, days, columns, self.metric, values, record)
                    continue
                county = None
                if admin2 and fips is not None and not admin2.startswith("Out of "):
                    county = us_county_code(fips)
                if county is not None:
                    county_region = region_of(county)
                    if county_region is None or county_region.parent != state:
                        raise BadValue("FIPS", f"a county of {state_name} ({state})", fields[_FIPS])
                    if county in counties:
                        repeated.append(county)
                    counties.add(county)
                    skipped += emit(
                        observations, county, days, columns, self.metric, values, record
                    )
                    component = county
                else:
                    state_only[_state_only_kind(admin2)] += 1
                    component = f"{state}:{admin2 or fields[_FIPS]}"
            except BadValue as error:
                raise error.at(fmt, record, line) from None
            roll_ups.setdefault(state, RollUp()).add(component, record, values)

        notes: list[str] = []
        incomplete = 0
        for state, roll_up in roll_ups.items():
            if state in whole:
                raise FormatError(
                    f"{fmt}: {state} has a whole-territory row (record {whole[state]}) and "
                    f"county rows (record {roll_up.records[0]}); expected one or the other"
                )
            incomplete += emit_roll_up(observations, state, roll_up, days, columns, self.metric)
        notes.append(
            f"{len(counties)} county rows; {len(roll_ups)} states rolled up from their rows; "
            f"{len(whole)} territories given whole ({', '.join(sorted(whole)) or 'none'})"
        )
        if state_only:
            kinds = ", ".join(f"{kind} ({n})" for kind, n in sorted(state_only.items()))
            notes.append(
                f"{sum(state_only.values())} rows are no county and count in their state's total "
                f"only: {kinds}"
            )
        if incomplete:
            notes.append(f"{incomplete} state-days left out because one of their rows is blank")
        if repeated:
            notes.append(f"regions given by more than one row (all kept): {sorted(set(repeated))}")
        return ParseResult(fmt, observations, unmapped.result(), skipped, notes, total)


CONFIRMED = JhuUsAdapter(
    "jhu-csse-us-confirmed", Metric.CASES_CUMULATIVE, "confirmed", CONFIRMED_COLUMNS
)
DEATHS = JhuUsAdapter("jhu-csse-us-deaths", Metric.DEATHS_CUMULATIVE, "deaths", DEATHS_COLUMNS)
