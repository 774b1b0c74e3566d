"""WHO COVID-19 dashboard download, ``WHO-COVID-19-global-data.csv``.

One record per country and report date: ``Date_reported`` (YYYY-MM-DD), ``Country_code`` (ISO
3166-1 alpha-2, with WHO's ``XK`` for Kosovo and a blank code for "Other", the cruise ships),
daily and cumulative cases and deaths. As published the file starts with a UTF-8 byte-order mark
and every header name after the first has a leading space (" Country_code"); ``source_field``
keeps those names exactly as written.
"""

from __future__ import annotations

from ingest.adapters.base import Metric
from ingest.adapters.table import ISO_DATE, LongTableAdapter, Unresolved, columns
from ingest.regions import country_code, unmapped_reason


class WhoGlobalAdapter(LongTableAdapter):
    format = "who-covid-19-global-data"
    description = (
        "WHO COVID-19 dashboard, WHO-COVID-19-global-data.csv: daily and cumulative cases and "
        "deaths by country (alpha-2 code) and report date"
    )
    header = columns(
        "Date_reported, Country_code, Country, WHO_region, New_cases, Cumulative_cases,"
        " New_deaths, Cumulative_deaths"
    )
    date_column = "Date_reported"
    date_format = ISO_DATE
    metrics = (
        (" New_cases", Metric.CASES_DAILY),
        (" Cumulative_cases", Metric.CASES_CUMULATIVE),
        (" New_deaths", Metric.DEATHS_DAILY),
        (" Cumulative_deaths", Metric.DEATHS_CUMULATIVE),
    )
    region_columns = (" Country_code", " Country")

    def region_for(self, key: tuple[str, ...]) -> str | Unresolved:
        code, name = key
        region = country_code(code) if code.strip() else None
        if region is None:
            region = country_code(name)
        if region is None:
            return Unresolved(name or code, unmapped_reason(name))
        return region


ADAPTER = WhoGlobalAdapter()
