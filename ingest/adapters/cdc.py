"""CDC "United States COVID-19 Cases and Deaths by State over Time" (data.cdc.gov 9mfq-cb36).

One record per jurisdiction and day, not sorted: ``submission_date`` (MM/DD/YYYY), ``state``,
``tot_cases``/``new_case`` and ``tot_death``/``new_death`` (the confirmed/probable splits and
``created_at`` are not read). The CDC's jurisdictions are not all states:

- ``NYC`` is New York City and ``NY`` is New York State *without* New York City. They map to the
  jurisdictions ``US-NY-NYC`` and ``US-NY-EXCL-NYC`` (both children of ``US-NY``); never to
  ``US-NY`` itself, since neither is New York State. Adding them up is the reconciler's job.
- ``FSM``, ``PW`` and ``RMI`` are the freely associated states (Micronesia, Palau, the Marshall
  Islands): sovereign countries, mapped to their ISO 3166-1 codes FSM, PLW and MHL.
"""

from __future__ import annotations

from ingest.adapters.base import Metric
from ingest.adapters.table import US_LONG_DATE, LongTableAdapter, Unresolved, columns
from ingest.regions import NEW_YORK_CITY, NEW_YORK_EXCLUDING_NYC, unmapped_reason, us_state_code

_CDC_JURISDICTIONS = {
    "NYC": NEW_YORK_CITY,
    "NY": NEW_YORK_EXCLUDING_NYC,
    "FSM": "FSM",
    "PW": "PLW",
    "RMI": "MHL",
}


class CdcCasesDeathsByStateAdapter(LongTableAdapter):
    format = "cdc-cases-deaths-by-state"
    description = (
        "CDC United States COVID-19 Cases and Deaths by State over Time: cumulative and daily "
        "cases and deaths by jurisdiction (NYC apart from the rest of NY) and submission date"
    )
    header = columns(
        "submission_date,state,tot_cases,conf_cases,prob_cases,new_case,pnew_case,tot_death,"
        "conf_death,prob_death,new_death,pnew_death,created_at,consent_cases,consent_deaths"
    )
    date_column = "submission_date"
    date_format = US_LONG_DATE
    metrics = (
        ("tot_cases", Metric.CASES_CUMULATIVE),
        ("new_case", Metric.CASES_DAILY),
        ("tot_death", Metric.DEATHS_CUMULATIVE),
        ("new_death", Metric.DEATHS_DAILY),
    )
    region_columns = ("state",)

    def region_for(self, key: tuple[str, ...]) -> str | Unresolved:
        (jurisdiction,) = key
        region = _CDC_JURISDICTIONS.get(jurisdiction) or us_state_code(jurisdiction)
        if region is None:
            return Unresolved(jurisdiction, unmapped_reason(jurisdiction))
        return region


ADAPTER = CdcCasesDeathsByStateAdapter()
