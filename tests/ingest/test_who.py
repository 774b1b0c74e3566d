"""WHO COVID-19 dashboard download."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.adapters import Metric, ParseResult
from tests.ingest.support import one, parse, sample_bytes, shared_bytes, unmapped

WHO = "who-covid-19-global-data"
SAMPLE = "who/WHO-COVID-19-global-data.csv"


@pytest.fixture(scope="module")
def sample() -> ParseResult:
    return parse(WHO, sample_bytes(SAMPLE))


@pytest.fixture(scope="module")
def current() -> ParseResult:
    return parse(WHO, shared_bytes("real/who/WHO-COVID-19-global-data.csv"))


@pytest.fixture(scope="module")
def vintage() -> ParseResult:
    return parse(WHO, shared_bytes("real/who/vintage-2020-11-09/WHO-COVID-19-global-data.csv"))


def test_sample_gives_all_four_metrics_with_header_names_as_published(sample: ParseResult) -> None:
    oman = [o for o in sample.observations if o.region == "OMN" and o.date == date(2020, 11, 19)]
    assert {(o.metric, o.value, o.source_field) for o in oman} == {
        (Metric.CASES_DAILY, 411, " New_cases"),
        (Metric.CASES_CUMULATIVE, 121129, " Cumulative_cases"),
        (Metric.DEATHS_DAILY, 10, " New_deaths"),
        (Metric.DEATHS_CUMULATIVE, 1360, " Cumulative_deaths"),
    }
    assert {o.source_row for o in oman} == {10}  # original record 50796
    assert sample.records == 1698


def test_negative_daily_count_is_kept(sample: ParseResult) -> None:
    assert one(sample.observations, "PRY", date(2020, 3, 20), Metric.CASES_DAILY).value == -2
    assert one(sample.observations, "PRY", date(2020, 3, 20), Metric.CASES_CUMULATIVE).value == 13


def test_other_with_blank_code_is_unmapped(sample: ParseResult) -> None:
    rows, reason = unmapped(sample)["Other"]
    assert rows == 322 and "international conveyance" in reason
    assert {o.region for o in sample.observations} == {"OMN", "PAK", "PLW", "PAN", "PNG", "PRY"}


def test_full_file_codes_including_kosovo_and_namibia(current: ParseResult) -> None:
    kosovo = one(current.observations, "XKX", date(2020, 11, 18), Metric.CASES_CUMULATIVE)
    assert (kosovo.value, kosovo.source_row) == (30452, 36007)
    namibia = one(current.observations, "NAM", date(2020, 10, 1), Metric.DEATHS_CUMULATIVE)
    assert namibia.value == 121
    assert current.records == 75558
    assert len({o.region for o in current.observations}) == 234
    assert set(unmapped(current)) == {"Other"}


def test_revision_between_vintages_is_visible(current: ParseResult, vintage: ParseResult) -> None:
    # PROVENANCE.md: Belgium's cumulative deaths for 2020-03-17 went from 30 to 31.
    day = date(2020, 3, 17)
    assert one(vintage.observations, "BEL", day, Metric.DEATHS_CUMULATIVE).value == 30
    assert one(current.observations, "BEL", day, Metric.DEATHS_CUMULATIVE).value == 31
    assert vintage.records == 73320
