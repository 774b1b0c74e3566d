"""Our World in Data, ``owid-covid-data.csv`` (derived: at this vintage its case and death figures
were ECDC's).

One record per location and date (YYYY-MM-DD) with ``total_cases``, ``new_cases``,
``total_deaths``, ``new_deaths`` and many non-count columns, which are ignored. ``iso_code`` is
alpha-3, or OWID's own ``OWID_*`` codes: ``OWID_KOS`` (later vintages) is Kosovo (XKX); aggregates
such as ``OWID_WRL`` "World", continents and income groups are listed as unmapped with reason
"aggregate". The cruise ships appear as "International" with a blank code.
"""

from __future__ import annotations

from ingest.adapters.base import Metric
from ingest.adapters.table import ISO_DATE, LongTableAdapter, Unresolved, columns
from ingest.regions import KOSOVO, country_code, unmapped_reason

_OWID_CODES = {"OWID_KOS": KOSOVO}


class OwidCovidDataAdapter(LongTableAdapter):
    format = "owid-covid-data"
    description = (
        "Our World in Data owid-covid-data.csv: total and new cases and deaths by country and date "
        "(derived from ECDC at this vintage); aggregates are listed as unmapped"
    )
    header = columns(
        "iso_code,location,date,total_cases,new_cases,total_deaths,new_deaths,"
        "total_cases_per_million,new_cases_per_million,total_deaths_per_million,"
        "new_deaths_per_million,total_tests,new_tests,total_tests_per_thousand,"
        "new_tests_per_thousand,new_tests_smoothed,new_tests_smoothed_per_thousand,tests_units,"
        "stringency_index,population,population_density,median_age,aged_65_older,aged_70_older,"
        "gdp_per_capita,extreme_poverty,cvd_death_rate,diabetes_prevalence,female_smokers,"
        "male_smokers,handwashing_facilities,hospital_beds_per_100k"
    )
    date_column = "date"
    date_format = ISO_DATE
    metrics = (
        ("total_cases", Metric.CASES_CUMULATIVE),
        ("new_cases", Metric.CASES_DAILY),
        ("total_deaths", Metric.DEATHS_CUMULATIVE),
        ("new_deaths", Metric.DEATHS_DAILY),
    )
    region_columns = ("iso_code", "location")

    def region_for(self, key: tuple[str, ...]) -> str | Unresolved:
        code, location = key
        if code.startswith("OWID_"):
            if code in _OWID_CODES:
                return _OWID_CODES[code]
            reason = unmapped_reason(location)
            if reason == "unknown name":
                reason = f"OWID's own code {code}, not ISO 3166"
            return Unresolved(location, reason)
        region = country_code(code) if code else None
        if region is None:
            region = country_code(location)
        if region is None:
            return Unresolved(location or code, unmapped_reason(location))
        return region


ADAPTER = OwidCovidDataAdapter()
