"""The COVID Tracking Project, website download ``all-states-history.csv``.

Same publisher and figures as the repository file (``ctp_states_daily``) but another format: other
column order, no ``fips`` or ``hash``, ISO dates, and quoted strings. One record per state and
day: cumulative ``positive`` and ``death``, daily ``positiveIncrease`` and ``deathIncrease``.
"""

from __future__ import annotations

from ingest.adapters.ctp_states_daily import CTP_METRICS, ctp_state
from ingest.adapters.table import ISO_DATE, LongTableAdapter, Unresolved, columns


class CtpAllStatesHistoryAdapter(LongTableAdapter):
    format = "ctp-all-states-history"
    description = (
        "COVID Tracking Project website download all-states-history.csv: cumulative and daily "
        "cases (positive) and deaths by US state and day"
    )
    header = columns(
        "date,state,dataQualityGrade,death,deathConfirmed,deathIncrease,deathProbable,"
        "hospitalized,hospitalizedCumulative,hospitalizedCurrently,hospitalizedIncrease,"
        "inIcuCumulative,inIcuCurrently,negative,negativeIncrease,negativeTestsAntibody,"
        "negativeTestsPeopleAntibody,negativeTestsViral,onVentilatorCumulative,"
        "onVentilatorCurrently,positive,positiveCasesViral,positiveIncrease,positiveScore,"
        "positiveTestsAntibody,positiveTestsAntigen,positiveTestsPeopleAntibody,"
        "positiveTestsPeopleAntigen,positiveTestsViral,recovered,totalTestEncountersViral,"
        "totalTestEncountersViralIncrease,totalTestResults,totalTestResultsIncrease,"
        "totalTestsAntibody,totalTestsAntigen,totalTestsPeopleAntibody,totalTestsPeopleAntigen,"
        "totalTestsPeopleViral,totalTestsPeopleViralIncrease,totalTestsViral,"
        "totalTestsViralIncrease"
    )
    date_column = "date"
    date_format = ISO_DATE
    metrics = CTP_METRICS
    region_columns = ("state",)

    def region_for(self, key: tuple[str, ...]) -> str | Unresolved:
        return ctp_state(key[0])


ADAPTER = CtpAllStatesHistoryAdapter()
