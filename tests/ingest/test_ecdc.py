"""ECDC geographic distribution of COVID-19 cases worldwide."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.adapters import FormatError, Metric, ParseResult
from tests.ingest.support import (
    one,
    parse,
    replace_in_record,
    sample_bytes,
    shared_bytes,
    unmapped,
)

ECDC = "ecdc-case-distribution"
SAMPLE = "ecdc/ecdc.csv"


@pytest.fixture(scope="module")
def sample() -> ParseResult:
    return parse(ECDC, sample_bytes(SAMPLE))


@pytest.fixture(scope="module")
def full() -> ParseResult:
    return parse(ECDC, shared_bytes("real/ecdc/ecdc.csv"))


def test_sample_daily_metrics_only(sample: ParseResult) -> None:
    assert {o.metric for o in sample.observations} == {Metric.CASES_DAILY, Metric.DEATHS_DAILY}
    assert {o.region for o in sample.observations} == {"CPV", "CYM"}
    assert sample.records == 201


def test_international_conveyance_is_unmapped(sample: ParseResult) -> None:
    assert unmapped(sample) == {
        "Cases_on_an_international_conveyance_Japan": (
            64,
            "international conveyance (Diamond Princess)",
        )
    }


def test_date_must_agree_with_day_month_year() -> None:
    content = replace_in_record(sample_bytes(SAMPLE), 1, b"28/05/2020,28,5,", b"28/05/2020,27,5,")
    with pytest.raises(
        FormatError, match=r"ecdc-case-distribution: record 1 .*'dateRep'.*28/05/2020"
    ):
        parse(ECDC, content)


def test_full_file_quirky_codes(full: ParseResult) -> None:
    day = date(2020, 6, 1)
    assert one(full.observations, "GBR", day, Metric.CASES_DAILY).value == 1125  # geoId UK
    assert one(full.observations, "GRC", day, Metric.CASES_DAILY).value == 2  # geoId EL
    assert one(full.observations, "XKX", day, Metric.CASES_DAILY).value == 13  # geoId XK
    assert one(full.observations, "TWN", day, Metric.CASES_DAILY).value == 0  # code CNG1925
    assert one(full.observations, "GBR", day, Metric.DEATHS_DAILY).value == 60


def test_full_file_negative_daily_count_is_kept(full: ParseResult) -> None:
    benin = one(full.observations, "BEN", date(2020, 5, 20), Metric.CASES_DAILY)
    assert (benin.value, benin.source_row, benin.source_field) == (-209, 4401, "cases")


def test_full_file_counts(full: ParseResult) -> None:
    assert full.records == 42673
    assert set(unmapped(full)) == {"Cases_on_an_international_conveyance_Japan"}
    assert len(full.observations) == 2 * (42673 - 64)
