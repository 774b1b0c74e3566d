"""Robert Koch Institute, ``COVID-19-Faelle_7-Tage-Inzidenz_Deutschland.csv`` (repository
COVID-19_7-Tage-Inzidenz_in_Deutschland).

Germany, one record per notification date (``Meldedatum``, YYYY-MM-DD: the day the local health
office learnt of the case) and age group (``Altersgruppe``; ``00+`` is all ages). Cases are
counted by that date and back-filled as late notifications arrive, which is not how the other
publishers count (by report date), so the figures get their own metrics:
``cases_cumulative_by_notification_date`` (``Faelle_gesamt``) and
``cases_daily_by_notification_date`` (``Faelle_neu``). Only the all-ages records are read; the
age-group records (a breakdown we have no dimension for) are validated and counted in the notes.
``Faelle_7-Tage`` and ``Inzidenz_7-Tage`` (rolling sums and rates) and ``Bevoelkerung`` are not
case or death counts and are ignored. The file has no deaths.
"""

from __future__ import annotations

from collections.abc import Sequence

from ingest.adapters.base import Metric
from ingest.adapters.rki_deaths import GERMANY
from ingest.adapters.table import ISO_DATE, LongTableAdapter, Unresolved

ALL_AGES = "00+"


class RkiIncidenceAdapter(LongTableAdapter):
    format = "rki-faelle-7-tage-inzidenz"
    description = (
        "RKI COVID-19-Faelle_7-Tage-Inzidenz_Deutschland.csv: cumulative and daily cases for "
        "Germany by notification date (Meldedatum), all ages; age-group records left out"
    )
    header = (
        "Meldedatum",
        "Altersgruppe",
        "Bevoelkerung",
        "Faelle_gesamt",
        "Faelle_neu",
        "Faelle_7-Tage",
        "Inzidenz_7-Tage",
    )
    date_column = "Meldedatum"
    date_format = ISO_DATE
    metrics = (
        ("Faelle_gesamt", Metric.CASES_CUMULATIVE_BY_NOTIFICATION_DATE),
        ("Faelle_neu", Metric.CASES_DAILY_BY_NOTIFICATION_DATE),
    )
    region_columns = ()
    left_out = "age-group records left out (only Altersgruppe 00+, all ages, is read)"

    def keep(self, fields: Sequence[str]) -> bool:
        return fields[1] == ALL_AGES

    def fixed_notes(self) -> list[str]:
        return [
            "dates are notification dates (Meldedatum), back-filled; figures carry the "
            "*_by_notification_date metrics and are not report-date counts",
        ]

    def region_for(self, key: tuple[str, ...]) -> str | Unresolved:
        return GERMANY


ADAPTER = RkiIncidenceAdapter()
