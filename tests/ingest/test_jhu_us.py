"""JHU CSSE US time series: counties by FIPS, states rolled up from their rows."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.adapters import FormatError, Metric, ParseResult
from tests.ingest.support import (
    blank_cell,
    find,
    one,
    parse,
    raw_records,
    replace_in_record,
    sample_bytes,
    shared_bytes,
    unmapped,
)

CONFIRMED = "jhu-csse-us-confirmed"
DEATHS = "jhu-csse-us-deaths"
CASES = Metric.CASES_CUMULATIVE
SAMPLE = "jhu_csse/time_series_covid19_confirmed_US.csv"
FULL_CONFIRMED = "real/jhu_csse/time_series_covid19_confirmed_US.csv"
FULL_DEATHS = "real/jhu_csse/time_series_covid19_deaths_US.csv"


@pytest.fixture(scope="module")
def sample() -> ParseResult:
    return parse(CONFIRMED, sample_bytes(SAMPLE))


@pytest.fixture(scope="module")
def confirmed() -> ParseResult:
    return parse(CONFIRMED, shared_bytes(FULL_CONFIRMED))


@pytest.fixture(scope="module")
def deaths() -> ParseResult:
    return parse(DEATHS, shared_bytes(FULL_DEATHS))


def _state_rows(content: bytes, state: str) -> tuple[list[int], int]:
    """(record numbers, sum of column 4/1/20) of a state's rows, read with the csv module only."""
    header, records = raw_records(content)
    column = header.index("4/1/20")
    rows = [(n, r) for n, r in enumerate(records, start=1) if r[6] == state]
    return [n for n, _ in rows], sum(int(r[column]) for _, r in rows)


def test_county_rows_give_county_observations(sample: ParseResult) -> None:
    fairfield = one(sample.observations, "US-FIPS-09001", date(2020, 4, 1), CASES)
    assert (fairfield.value, fairfield.source_row, fairfield.derived_from) == (1986, 1, ())


def test_state_total_sums_every_row_including_unassigned_and_out_of_state(
    sample: ParseResult,
) -> None:
    records, total = _state_rows(sample_bytes(SAMPLE), "Connecticut")
    connecticut = one(sample.observations, "US-CT", date(2020, 4, 1), CASES)
    assert connecticut.value == total
    assert connecticut.source_row == records[0]
    assert len(connecticut.derived_from) == len(records) == 10
    assert {"US-FIPS-09001", "US-CT:Unassigned", "US-CT:Out of CT"} <= set(connecticut.derived_from)
    assert find(sample.observations, "US-CT:Unassigned", date(2020, 4, 1), CASES) == []


def test_district_of_columbia_rolls_up_too(sample: ParseResult) -> None:
    _, total = _state_rows(sample_bytes(SAMPLE), "District of Columbia")
    assert one(sample.observations, "US-DC", date(2020, 4, 1), CASES).value == total


def test_cruise_ship_is_unmapped(sample: ParseResult) -> None:
    assert unmapped(sample) == {"Diamond Princess": (1, "cruise ship")}


def test_blank_county_cell_is_skipped_and_the_state_total_left_out() -> None:
    result = parse(CONFIRMED, blank_cell(sample_bytes(SAMPLE), 1, "4/1/20"))
    assert result.skipped_empty == 1
    assert find(result.observations, "US-FIPS-09001", date(2020, 4, 1), CASES) == []
    assert find(result.observations, "US-CT", date(2020, 4, 1), CASES) == []
    assert one(result.observations, "US-CT", date(2020, 4, 2), CASES).value > 0
    assert any("1 state-days left out" in note for note in result.notes)


def test_fips_of_another_state_is_a_format_error() -> None:
    content = replace_in_record(sample_bytes(SAMPLE), 1, b",9001.0,", b",36061.0,")
    with pytest.raises(FormatError, match=r"jhu-csse-us-confirmed: record 1 .*'FIPS'.*36061\.0"):
        parse(CONFIRMED, content)


def test_full_file_new_york(confirmed: ParseResult) -> None:
    content = shared_bytes(FULL_CONFIRMED)
    records, total = _state_rows(content, "New York")
    new_york = one(confirmed.observations, "US-NY", date(2020, 4, 1), CASES)
    assert new_york.value == total
    assert len(new_york.derived_from) == len(records)
    assert {"US-FIPS-36061", "US-NY:Unassigned", "US-NY:Out of NY"} <= set(new_york.derived_from)
    manhattan = one(confirmed.observations, "US-FIPS-36061", date(2020, 4, 1), CASES)
    assert manhattan.value == 8173  # "New York, New York, US", column 4/1/20


def test_full_file_territories_and_puerto_rico(confirmed: ParseResult) -> None:
    guam = one(confirmed.observations, "US-GU", date(2020, 12, 30), CASES)
    assert guam.derived_from == ()
    assert guam.value == 7308  # the single "Guam, US" row, column 12/30/20
    records, total = _state_rows(shared_bytes(FULL_CONFIRMED), "Puerto Rico")
    puerto_rico = one(confirmed.observations, "US-PR", date(2020, 4, 1), CASES)
    assert (puerto_rico.value, len(puerto_rico.derived_from)) == (total, len(records))


def test_full_file_jhu_units_without_fips_count_in_state_only(confirmed: ParseResult) -> None:
    utah = one(confirmed.observations, "US-UT", date(2020, 12, 30), CASES)
    assert "US-UT:Bear River" in utah.derived_from
    missouri = one(confirmed.observations, "US-MO", date(2020, 12, 30), CASES)
    assert "US-MO:Kansas City" in missouri.derived_from
    assert not any(o.region.startswith("US-MO:") for o in confirmed.observations[:50000])


def test_full_file_states_and_unmapped(confirmed: ParseResult, deaths: ParseResult) -> None:
    for result in (confirmed, deaths):
        last = max(o.date for o in result.observations)
        derived = {o.region for o in result.observations if o.derived_from and o.date == last}
        assert len(derived) == 52  # 50 states, DC and Puerto Rico
        assert unmapped(result) == {
            "Diamond Princess": (1, "cruise ship"),
            "Grand Princess": (1, "cruise ship"),
        }
    assert confirmed.records == 3340 and deaths.records == 3342


def test_full_deaths_file(deaths: ParseResult) -> None:
    metric = Metric.DEATHS_CUMULATIVE
    assert one(deaths.observations, "US-FIPS-36061", date(2021, 4, 21), metric).value > 0
    assert {o.metric for o in deaths.observations} == {metric}
    assert max(o.date for o in deaths.observations) == date(2021, 4, 21)


def test_full_file_decreasing_county_series_is_kept(confirmed: ParseResult) -> None:
    header, records = raw_records(shared_bytes(FULL_CONFIRMED))
    first_day = header.index("1/22/20")
    record, column, value = next(
        (n, header[i], int(r[i]))
        for n, r in enumerate(records, start=1)
        if r[5] and r[4]
        for i in range(first_day + 1, len(header))
        if int(r[i]) < int(r[i - 1])
    )
    kept = [
        o for o in confirmed.observations if o.source_row == record and o.source_field == column
    ]
    assert [o.value for o in kept if not o.derived_from] == [value]
