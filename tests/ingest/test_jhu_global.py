"""JHU CSSE global time series (confirmed and deaths)."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.adapters import Metric, ParseResult
from tests.ingest.support import (
    blank_cell,
    find,
    one,
    parse,
    raw_records,
    sample_bytes,
    shared_bytes,
    unmapped,
)

CONFIRMED = "jhu-csse-global-confirmed"
DEATHS = "jhu-csse-global-deaths"
CASES = Metric.CASES_CUMULATIVE
SAMPLE = "jhu_csse/time_series_covid19_confirmed_global.csv"


@pytest.fixture(scope="module")
def sample() -> ParseResult:
    return parse(CONFIRMED, sample_bytes(SAMPLE))


@pytest.fixture(scope="module")
def confirmed() -> ParseResult:
    return parse(CONFIRMED, shared_bytes("real/jhu_csse/time_series_covid19_confirmed_global.csv"))


@pytest.fixture(scope="module")
def deaths() -> ParseResult:
    return parse(DEATHS, shared_bytes("real/jhu_csse/time_series_covid19_deaths_global.csv"))


def _raw_sum(content: bytes, country: str, column: str, leave_out: tuple[str, ...] = ()) -> int:
    header, records = raw_records(content)
    i = header.index(column)
    return sum(int(r[i]) for r in records if r[1] == country and r[0] not in leave_out)


def test_sample_reads_every_record_and_every_day(sample: ParseResult) -> None:
    assert sample.records == 68
    assert len({o.date for o in sample.observations}) == 495
    assert {o.metric for o in sample.observations} == {CASES}
    assert sample.skipped_empty == 0


def test_country_without_own_row_is_rolled_up_from_all_its_rows(sample: ParseResult) -> None:
    content = sample_bytes(SAMPLE)
    canada = one(sample.observations, "CAN", date(2020, 4, 1), CASES)
    assert canada.value == _raw_sum(content, "Canada", "4/1/20") == 9560
    assert canada.source_row == 1 and canada.source_field == "4/1/20"
    assert len(canada.derived_from) == 16
    assert {"CA-ON", "CA-QC", "CAN:Repatriated Travellers", "CAN:Diamond Princess"} <= set(
        canada.derived_from
    )
    assert any("Repatriated Travellers, Canada" in note for note in sample.notes)


def test_provinces_are_subdivisions_and_territories_keep_their_own_code(
    sample: ParseResult,
) -> None:
    content = sample_bytes(SAMPLE)
    day = date(2020, 3, 1)
    hubei = one(sample.observations, "CN-HB", day, CASES)
    assert hubei.derived_from == ()
    assert one(sample.observations, "HKG", day, CASES).value == 96
    china = one(sample.observations, "CHN", day, CASES)
    assert china.value == _raw_sum(content, "China", "3/1/20", ("Hong Kong", "Macau")) == 79826
    assert "CN-HK" not in china.derived_from and "CHN:Unknown" in china.derived_from
    assert one(sample.observations, "GRL", date(2020, 4, 1), CASES).value == 10
    assert find(sample.observations, "CN-HK", day, CASES) == []


def test_publisher_country_names_map(sample: ParseResult) -> None:
    regions = {o.region for o in sample.observations}
    assert {"COD", "COG", "CIV", "CZE", "DNK", "FRO", "GRL", "MAC"} <= regions


def test_cruise_ship_row_is_listed_unmapped(sample: ParseResult) -> None:
    assert unmapped(sample) == {"Diamond Princess": (1, "cruise ship")}


def test_blank_cell_is_skipped_and_breaks_the_roll_up_for_that_day_only() -> None:
    ontario_record = 11  # original record 50
    content = blank_cell(sample_bytes(SAMPLE), ontario_record, "4/1/20")
    result = parse(CONFIRMED, content)
    assert result.skipped_empty == 1
    assert find(result.observations, "CA-ON", date(2020, 4, 1), CASES) == []
    assert find(result.observations, "CAN", date(2020, 4, 1), CASES) == []
    assert one(result.observations, "CAN", date(2020, 4, 2), CASES).value > 0
    assert any("1 days left out for a blank part" in note for note in result.notes)


def test_full_file_known_values(confirmed: ParseResult) -> None:
    # Looked up in the raw file (record, column "3/1/20" or "6/1/20").
    italy = one(confirmed.observations, "ITA", date(2020, 3, 1), CASES)
    assert (italy.value, italy.source_row, italy.source_field) == (1694, 154, "3/1/20")
    assert one(confirmed.observations, "KOR", date(2020, 3, 1), CASES).value == 3736
    assert one(confirmed.observations, "TWN", date(2020, 3, 1), CASES).value == 40
    assert one(confirmed.observations, "XKX", date(2020, 6, 1), CASES).value == 1083
    assert one(confirmed.observations, "MMR", date(2020, 6, 1), CASES).value == 228
    assert one(confirmed.observations, "VAT", date(2020, 6, 1), CASES).value == 12
    assert confirmed.records == 276


def test_full_file_decreasing_cumulative_is_kept(confirmed: ParseResult) -> None:
    before = one(confirmed.observations, "ATG", date(2020, 7, 2), CASES)
    after = one(confirmed.observations, "ATG", date(2020, 7, 3), CASES)
    assert (before.value, after.value) == (69, 68)


def test_full_file_unmapped_names(confirmed: ParseResult, deaths: ParseResult) -> None:
    expected = {
        "Channel Islands, United Kingdom": (
            1,
            "no ISO 3166 code: Jersey and Guernsey reported together",
        ),
        "Diamond Princess": (1, "cruise ship"),
        "MS Zaandam": (1, "cruise ship"),
    }
    assert unmapped(confirmed) == expected
    assert unmapped(deaths) == expected


def test_full_file_roll_ups_only_where_no_country_row(confirmed: ParseResult) -> None:
    derived = {o.region for o in confirmed.observations if o.derived_from}
    assert derived == {"AUS", "CAN", "CHN"}
    assert find(confirmed.observations, "GBR", date(2020, 6, 1), CASES)[0].derived_from == ()


def test_full_deaths_file(deaths: ParseResult) -> None:
    assert (
        one(deaths.observations, "ITA", date(2020, 4, 1), Metric.DEATHS_CUMULATIVE).value == 13155
    )
    assert one(deaths.observations, "DNK", date(2020, 4, 1), Metric.DEATHS_CUMULATIVE).value == 104
    assert {o.metric for o in deaths.observations} == {Metric.DEATHS_CUMULATIVE}
