"""US state publishers: NYT us-states, the COVID Tracking Project's two files, and the CDC."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.adapters import FormatError, Metric, ParseResult
from ingest.regions import NEW_YORK_CITY, NEW_YORK_EXCLUDING_NYC
from tests.ingest.support import (
    find,
    one,
    parse,
    raw_records,
    replace_in_record,
    sample_bytes,
    shared_bytes,
)

NYT = "nyt-us-states"
CTP = "ctp-states-daily"
CTP_WEB = "ctp-all-states-history"
CDC = "cdc-cases-deaths-by-state"
CTP_COLUMNS = ("positive", "death", "positiveIncrease", "deathIncrease")


@pytest.fixture(scope="module")
def ctp_full() -> ParseResult:
    return parse(CTP, shared_bytes("real/ctp/states_daily_4pm_et.csv"))


@pytest.fixture(scope="module")
def ctp_web_full() -> ParseResult:
    return parse(CTP_WEB, shared_bytes("eval/ctp_website/all-states-history.csv"))


@pytest.fixture(scope="module")
def cdc_full() -> ParseResult:
    return parse(
        CDC, shared_bytes("eval/cdc/United_States_COVID-19_Cases_and_Deaths_by_State_over_Time.csv")
    )


def _blank_cells(content: bytes, columns: tuple[str, ...]) -> int:
    header, records = raw_records(content)
    indexes = [header.index(c) for c in columns]
    return sum(1 for r in records for i in indexes if r[i] == "")


# NYT ---------------------------------------------------------------------------------------


def test_nyt_sample_maps_all_55_jurisdictions() -> None:
    result = parse(NYT, sample_bytes("nyt/us-states.csv"))
    regions = {o.region for o in result.observations}
    assert len(regions) == 55 and {"US-DC", "US-PR", "US-VI", "US-GU", "US-MP"} <= regions
    assert result.unmapped == [] and result.records == 110
    alabama = one(result.observations, "US-AL", date(2021, 4, 13), Metric.CASES_CUMULATIVE)
    assert (alabama.value, alabama.source_row, alabama.source_field) == (520503, 1, "cases")


def test_nyt_fips_must_agree_with_state() -> None:
    content = replace_in_record(
        sample_bytes("nyt/us-states.csv"), 1, b",Alabama,01,", b",Alabama,02,"
    )
    with pytest.raises(FormatError, match=r"nyt-us-states: record 1 .*'fips'.*'02'"):
        parse(NYT, content)


def test_nyt_full_file() -> None:
    result = parse(NYT, shared_bytes("real/nyt/us-states.csv"))
    new_york = [
        o for o in result.observations if o.region == "US-NY" and o.date == date(2020, 4, 1)
    ]
    assert {(o.metric, o.value, o.source_row) for o in new_york} == {
        (Metric.CASES_CUMULATIVE, 84364, 1643),
        (Metric.DEATHS_CUMULATIVE, 2415, 1643),
    }
    assert result.records == 22454 and result.unmapped == []
    assert len(result.observations) == 2 * 22454


def test_nyt_full_file_keeps_a_cumulative_series_that_goes_down() -> None:
    content = shared_bytes("real/nyt/us-states.csv")
    result = parse(NYT, content)
    _, records = raw_records(content)
    last: dict[str, int] = {}
    decreases = set()
    for n, (_, state, _, cases, _) in enumerate(records, start=1):
        if state in last and int(cases) < last[state]:
            decreases.add((n, int(cases)))
        last[state] = int(cases)
    assert decreases
    kept = {
        (o.source_row, o.value) for o in result.observations if o.metric == Metric.CASES_CUMULATIVE
    }
    assert decreases <= kept


# CTP repository file ---------------------------------------------------------------------


def test_ctp_blank_is_skipped_not_zeroed() -> None:
    content = sample_bytes("ctp/states_daily_4pm_et.csv")
    result = parse(CTP, content)
    day = date(2020, 4, 24)
    assert find(result.observations, "US-AS", day, Metric.DEATHS_CUMULATIVE) == []
    assert one(result.observations, "US-AS", day, Metric.CASES_CUMULATIVE).value == 0
    assert result.skipped_empty == _blank_cells(content, CTP_COLUMNS) == 1


def test_ctp_negative_daily_increase_is_kept() -> None:
    result = parse(CTP, sample_bytes("ctp/states_daily_4pm_et.csv"))
    colorado = one(result.observations, "US-CO", date(2020, 4, 26), Metric.DEATHS_DAILY)
    assert (colorado.value, colorado.source_row, colorado.source_field) == (-2, 11, "deathIncrease")


def test_ctp_full_file(ctp_full: ParseResult) -> None:
    day = date(2020, 8, 16)
    assert one(ctp_full.observations, "US-AK", day, Metric.CASES_CUMULATIVE).value == 5060
    assert one(ctp_full.observations, "US-NJ", day, Metric.DEATHS_CUMULATIVE).value == 15912
    content = shared_bytes("real/ctp/states_daily_4pm_et.csv")
    assert ctp_full.skipped_empty == _blank_cells(content, CTP_COLUMNS) == 713
    assert ctp_full.records == 9201 and ctp_full.unmapped == []
    assert len({o.region for o in ctp_full.observations}) == 56


# CTP website download ----------------------------------------------------------------------


def test_ctp_website_sample() -> None:
    content = sample_bytes("ctp_website/all-states-history.csv")
    result = parse(CTP_WEB, content)
    assert result.skipped_empty == _blank_cells(content, CTP_COLUMNS) == 1
    assert {o.metric for o in result.observations} == set(Metric) - {
        Metric.CASES_CUMULATIVE_BY_NOTIFICATION_DATE,
        Metric.CASES_DAILY_BY_NOTIFICATION_DATE,
    }


def test_ctp_website_full_file_shows_revisions(
    ctp_full: ParseResult, ctp_web_full: ParseResult
) -> None:
    # eval/PROVENANCE.md: AK positive for 2020-08-16 went from 5060 to 4263, NJ death 15912 -> 15853.
    day = date(2020, 8, 16)
    assert one(ctp_web_full.observations, "US-AK", day, Metric.CASES_CUMULATIVE).value == 4263
    assert one(ctp_web_full.observations, "US-NJ", day, Metric.DEATHS_CUMULATIVE).value == 15853
    content = shared_bytes("eval/ctp_website/all-states-history.csv")
    assert ctp_web_full.skipped_empty == _blank_cells(content, CTP_COLUMNS) == 978
    assert ctp_web_full.records == 15857 and ctp_web_full.unmapped == []


# CDC ---------------------------------------------------------------------------------------

CDC_SAMPLE = "cdc/United_States_COVID-19_Cases_and_Deaths_by_State_over_Time.csv"


def test_cdc_new_york_city_and_rest_of_state_stay_apart() -> None:
    result = parse(CDC, sample_bytes(CDC_SAMPLE))
    regions = {o.region for o in result.observations}
    assert {NEW_YORK_CITY, NEW_YORK_EXCLUDING_NYC, "PLW", "MHL"} <= regions
    assert "US-NY" not in regions
    assert result.unmapped == []


def test_cdc_negative_daily_count_is_kept() -> None:
    content = sample_bytes(CDC_SAMPLE)
    header, records = raw_records(content)
    negatives = {
        (n, column, int(r[header.index(column)]))
        for n, r in enumerate(records, start=1)
        for column in ("new_case", "new_death")
        if r[header.index(column)].startswith("-")
    }
    assert negatives
    result = parse(CDC, content)
    kept = {(o.source_row, o.source_field, o.value) for o in result.observations if o.value < 0}
    assert kept == negatives


def test_cdc_date_format_is_strict() -> None:
    content = sample_bytes(CDC_SAMPLE)
    first = content.splitlines()[1].split(b",")[0]
    month, day, year = first.split(b"/")
    loose = b"/".join((month.lstrip(b"0"), day.lstrip(b"0"), year[2:]))
    bad = replace_in_record(content, 1, first, loose)
    with pytest.raises(FormatError, match=rf"{CDC}: record 1 .*MM/DD/YYYY.*{loose.decode()}"):
        parse(CDC, bad)


def test_cdc_full_file(cdc_full: ParseResult) -> None:
    day = date(2021, 5, 21)
    nyc = one(cdc_full.observations, NEW_YORK_CITY, day, Metric.CASES_CUMULATIVE)
    rest = one(cdc_full.observations, NEW_YORK_EXCLUDING_NYC, day, Metric.CASES_CUMULATIVE)
    assert (nyc.value, rest.value) == (946114, 1145551)
    assert (nyc.source_row, rest.source_row) == (13797, 28571)
    assert one(cdc_full.observations, "FSM", day, Metric.CASES_CUMULATIVE).value == 1
    assert one(cdc_full.observations, "MHL", day, Metric.CASES_CUMULATIVE).value == 4
    assert one(cdc_full.observations, "PLW", day, Metric.CASES_CUMULATIVE).value == 0
    assert len({o.region for o in cdc_full.observations}) == 60
    assert cdc_full.records == 42300 and cdc_full.unmapped == []
    assert find(cdc_full.observations, "US-NY", day, Metric.CASES_CUMULATIVE) == []
