"""Our World in Data owid-covid-data.csv (derived from ECDC at this vintage)."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.adapters import Metric, ParseResult
from tests.ingest.support import one, parse, sample_bytes, shared_bytes, unmapped

OWID = "owid-covid-data"


@pytest.fixture(scope="module")
def sample() -> ParseResult:
    return parse(OWID, sample_bytes("owid/owid-covid-data.csv"))


@pytest.fixture(scope="module")
def full() -> ParseResult:
    return parse(OWID, shared_bytes("real/owid/owid-covid-data.csv"))


def test_aggregates_and_conveyances_are_unmapped(sample: ParseResult) -> None:
    world_rows, world_reason = unmapped(sample)["World"]
    assert (world_rows, world_reason) == (150, "aggregate")
    international_rows, international_reason = unmapped(sample)["International"]
    assert international_rows == 64 and "international conveyance" in international_reason
    assert not any(o.region.startswith("OWID") for o in sample.observations)


def test_sample_values(sample: ParseResult) -> None:
    kosovo = [o for o in sample.observations if o.region == "XKX" and o.date == date(2020, 5, 20)]
    assert {(o.metric, o.value) for o in kosovo} == {
        (Metric.CASES_CUMULATIVE, 989),
        (Metric.CASES_DAILY, 34),
        (Metric.DEATHS_CUMULATIVE, 29),
        (Metric.DEATHS_DAILY, 0),
    }
    assert {o.region for o in sample.observations} == {"XKX", "YEM", "ZAF", "ZMB", "ZWE"}


def test_full_file_negative_daily_count_is_kept(full: ParseResult) -> None:
    benin = one(full.observations, "BEN", date(2020, 5, 20), Metric.CASES_DAILY)
    assert (benin.value, benin.source_row) == (-209, 1649)
    assert one(full.observations, "BEN", date(2020, 5, 20), Metric.CASES_CUMULATIVE).value == 130


def test_full_file_counts(full: ParseResult) -> None:
    assert full.records == 20338
    assert set(unmapped(full)) == {"World", "International"}
    assert len(full.observations) == 4 * (20338 - 150 - 64)
