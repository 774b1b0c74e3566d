"""ECDC "Data on the geographic distribution of COVID-19 cases worldwide" (casedistribution CSV).

One record per country and report date: ``dateRep`` as DD/MM/YYYY (repeated as ``day``,
``month``, ``year``, which must agree), daily new ``cases`` and ``deaths`` (negative after
corrections; no cumulative column). Places are read from ``countryterritoryCode`` (alpha-3) when
it is one, else ``geoId`` (alpha-2 with ECDC's ``UK``, ``EL`` and ``XK``), else the name; Taiwan's
code is ``CNG1925`` and the Diamond Princess is "Cases_on_an_international_conveyance_Japan".
"""

from __future__ import annotations

from collections.abc import Sequence

from ingest.adapters.base import Metric
from ingest.adapters.table import EUROPEAN_DATE, BadValue, LongTableAdapter, Unresolved, columns
from ingest.regions import country_code, unmapped_reason


class EcdcCaseDistributionAdapter(LongTableAdapter):
    format = "ecdc-case-distribution"
    description = (
        "ECDC geographic distribution of COVID-19 cases worldwide: daily new cases and deaths by "
        "country and report date"
    )
    header = columns(
        "dateRep,day,month,year,cases,deaths,countriesAndTerritories,geoId,countryterritoryCode,"
        "popData2019,continentExp,Cumulative_number_for_14_days_of_COVID-19_cases_per_100000"
    )
    date_column = "dateRep"
    date_format = EUROPEAN_DATE
    metrics = (("cases", Metric.CASES_DAILY), ("deaths", Metric.DEATHS_DAILY))
    region_columns = ("countriesAndTerritories", "geoId", "countryterritoryCode")

    def check(self, fields: Sequence[str]) -> None:
        date_rep, day, month, year = fields[0:4]
        if date_rep != f"{day:0>2}/{month:0>2}/{year}":
            raise BadValue(
                "dateRep", f"the date given by day, month, year ({day}/{month}/{year})", date_rep
            )

    def region_for(self, key: tuple[str, ...]) -> str | Unresolved:
        name, geo_id, alpha3 = key
        for candidate in (alpha3, geo_id, name):
            region = country_code(candidate) if candidate else None
            if region is not None:
                return region
        return Unresolved(name, unmapped_reason(name))


ADAPTER = EcdcCaseDistributionAdapter()
