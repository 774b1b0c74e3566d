"""Robert Koch Institute, ``COVID-19-Todesfaelle_Deutschland.csv`` (repository
COVID-19-Todesfaelle_in_Deutschland).

Germany as a whole, one record per report date (``Berichtsdatum``, YYYY-MM-DD): cumulative cases
``Faelle_gesamt``, cumulative deaths ``Todesfaelle_gesamt`` and daily deaths ``Todesfaelle_neu``
(negative after corrections). ``Fall-Verstorbenen-Anteil`` is a ratio, not a count, and is
ignored. These count by report date, as WHO, ECDC and JHU do: this is the RKI file to compare.
"""

from __future__ import annotations

from ingest.adapters.base import Metric
from ingest.adapters.table import ISO_DATE, LongTableAdapter, Unresolved

GERMANY = "DEU"


class RkiDeathsAdapter(LongTableAdapter):
    format = "rki-todesfaelle-deutschland"
    description = (
        "RKI COVID-19-Todesfaelle_Deutschland.csv: cumulative cases, cumulative and daily deaths "
        "for Germany by report date"
    )
    header = (
        "Berichtsdatum",
        "Faelle_gesamt",
        "Todesfaelle_gesamt",
        "Todesfaelle_neu",
        "Fall-Verstorbenen-Anteil",
    )
    date_column = "Berichtsdatum"
    date_format = ISO_DATE
    metrics = (
        ("Faelle_gesamt", Metric.CASES_CUMULATIVE),
        ("Todesfaelle_gesamt", Metric.DEATHS_CUMULATIVE),
        ("Todesfaelle_neu", Metric.DEATHS_DAILY),
    )
    region_columns = ()

    def region_for(self, key: tuple[str, ...]) -> str | Unresolved:
        return GERMANY


ADAPTER = RkiDeathsAdapter()
