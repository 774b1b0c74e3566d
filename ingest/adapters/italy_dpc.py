"""Italian Civil Protection Department (DPC), ``dpc-covid19-ita-andamento-nazionale.csv``.

The national series, one record per report (daily through 2022, weekly later): ``data`` as
YYYY-MM-DDTHH:MM:SS (17:00 or, for the first days, 18:00; the date part is the report date),
``stato`` ("ITA"), cumulative ``totale_casi`` and ``deceduti`` and daily ``nuovi_positivi``. DPC
gives no daily deaths column. Hospital, test and recovery columns are not case or death counts
and are ignored.
"""

from __future__ import annotations

from ingest.adapters.base import Metric
from ingest.adapters.table import ISO_DATE_TIME, LongTableAdapter, Unresolved, columns
from ingest.regions import country_code, unmapped_reason


class ItalyDpcNationalAdapter(LongTableAdapter):
    format = "dpc-ita-andamento-nazionale"
    description = (
        "Italian Civil Protection national series: cumulative cases (totale_casi), daily new "
        "cases (nuovi_positivi) and cumulative deaths (deceduti) by report"
    )
    header = columns(
        "data,stato,ricoverati_con_sintomi,terapia_intensiva,totale_ospedalizzati,"
        "isolamento_domiciliare,totale_positivi,variazione_totale_positivi,nuovi_positivi,"
        "dimessi_guariti,deceduti,casi_da_sospetto_diagnostico,casi_da_screening,totale_casi,"
        "tamponi,casi_testati,note,ingressi_terapia_intensiva,note_test,note_casi,"
        "totale_positivi_test_molecolare,totale_positivi_test_antigenico_rapido,"
        "tamponi_test_molecolare,tamponi_test_antigenico_rapido"
    )
    date_column = "data"
    date_format = ISO_DATE_TIME
    metrics = (
        ("totale_casi", Metric.CASES_CUMULATIVE),
        ("nuovi_positivi", Metric.CASES_DAILY),
        ("deceduti", Metric.DEATHS_CUMULATIVE),
    )
    region_columns = ("stato",)

    def region_for(self, key: tuple[str, ...]) -> str | Unresolved:
        region = country_code(key[0])
        return region if region is not None else Unresolved(key[0], unmapped_reason(key[0]))


ADAPTER = ItalyDpcNationalAdapter()
