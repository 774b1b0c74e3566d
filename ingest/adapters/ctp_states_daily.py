"""The COVID Tracking Project, repository file ``data/states_daily_4pm_et.csv``.

One record per state or territory and day: ``date`` as a YYYYMMDD number, ``state`` (2-letter),
``fips`` (must agree), cumulative ``positive`` (cases) and ``death``, and CTP's own daily
differences ``positiveIncrease`` and ``deathIncrease``. Blank ``positive``/``death`` cells (states
that did not report) are skipped, never zero. The website download of the same publisher
(``all-states-history.csv``) is a different format: see ``ctp_all_states_history``.
"""

from __future__ import annotations

from ingest.adapters.base import Metric
from ingest.adapters.table import COMPACT_DATE, BadValue, LongTableAdapter, Unresolved, columns
from ingest.regions import unmapped_reason, us_state_code

CTP_METRICS = (
    ("positive", Metric.CASES_CUMULATIVE),
    ("positiveIncrease", Metric.CASES_DAILY),
    ("death", Metric.DEATHS_CUMULATIVE),
    ("deathIncrease", Metric.DEATHS_DAILY),
)


def ctp_state(abbreviation: str) -> str | Unresolved:
    state = us_state_code(abbreviation)
    if state is None:
        return Unresolved(abbreviation, unmapped_reason(abbreviation))
    return state


class CtpStatesDailyAdapter(LongTableAdapter):
    format = "ctp-states-daily"
    description = (
        "COVID Tracking Project repository file states_daily_4pm_et.csv: cumulative and daily "
        "cases (positive) and deaths by US state and day"
    )
    header = columns(
        "date,state,positive,negative,pending,hospitalizedCurrently,hospitalizedCumulative,"
        "inIcuCurrently,inIcuCumulative,onVentilatorCurrently,onVentilatorCumulative,recovered,"
        "dataQualityGrade,lastUpdateEt,dateModified,checkTimeEt,death,hospitalized,dateChecked,"
        "totalTestsViral,positiveTestsViral,negativeTestsViral,positiveCasesViral,deathConfirmed,"
        "deathProbable,totalTestEncountersViral,totalTestsPeopleViral,totalTestsAntibody,"
        "positiveTestsAntibody,negativeTestsAntibody,totalTestsPeopleAntibody,"
        "positiveTestsPeopleAntibody,negativeTestsPeopleAntibody,totalTestsPeopleAntigen,"
        "positiveTestsPeopleAntigen,totalTestsAntigen,positiveTestsAntigen,fips,positiveIncrease,"
        "negativeIncrease,total,totalTestResults,totalTestResultsIncrease,posNeg,deathIncrease,"
        "hospitalizedIncrease,hash,commercialScore,negativeRegularScore,negativeScore,"
        "positiveScore,score,grade"
    )
    date_column = "date"
    date_format = COMPACT_DATE
    metrics = CTP_METRICS
    region_columns = ("state", "fips")

    def region_for(self, key: tuple[str, ...]) -> str | Unresolved:
        abbreviation, fips = key
        state = ctp_state(abbreviation)
        if isinstance(state, str) and fips and us_state_code(fips) != state:
            raise BadValue("fips", f"the FIPS code of {abbreviation} ({state})", fips)
        return state


ADAPTER = CtpStatesDailyAdapter()
