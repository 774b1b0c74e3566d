"""National ministries and institutes: Italy's Civil Protection and Germany's RKI (two files)."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.adapters import FormatError, Metric, ParseResult
from tests.ingest.support import find, one, parse, replace_in_record, sample_bytes, shared_bytes

DPC = "dpc-ita-andamento-nazionale"
RKI_DEATHS = "rki-todesfaelle-deutschland"
RKI_INCIDENCE = "rki-faelle-7-tage-inzidenz"
DPC_SAMPLE = "italy_dpc/dpc-covid19-ita-andamento-nazionale.csv"
INCIDENCE_SAMPLE = "rki/COVID-19-Faelle_7-Tage-Inzidenz_Deutschland.csv"


def _values(result: ParseResult, region: str, day: date) -> dict[Metric, int]:
    return {o.metric: o.value for o in result.observations if o.region == region and o.date == day}


# Italy -------------------------------------------------------------------------------------


def test_dpc_first_report_is_dated_as_labelled() -> None:
    result = parse(DPC, sample_bytes(DPC_SAMPLE))
    # "2020-02-24T18:00:00": the date part, not shifted.
    assert _values(result, "ITA", date(2020, 2, 24)) == {
        Metric.CASES_CUMULATIVE: 229,
        Metric.CASES_DAILY: 221,
        Metric.DEATHS_CUMULATIVE: 7,
    }
    assert result.records == 40 and len(result.observations) == 120


def test_dpc_time_must_be_a_time() -> None:
    content = replace_in_record(sample_bytes(DPC_SAMPLE), 2, b"T18:00:00", b"T25:00:00")
    with pytest.raises(FormatError, match=rf"{DPC}: record 2 .*YYYY-MM-DDTHH:MM:SS.*T25:00:00"):
        parse(DPC, content)


def test_dpc_full_file() -> None:
    result = parse(DPC, shared_bytes("real/italy_dpc/dpc-covid19-ita-andamento-nazionale.csv"))
    assert _values(result, "ITA", date(2025, 1, 8)) == {
        Metric.CASES_CUMULATIVE: 26964654,
        Metric.CASES_DAILY: 390,
        Metric.DEATHS_CUMULATIVE: 198683,
    }
    assert result.records == 1781 and len(result.observations) == 3 * 1781


# RKI, deaths file (report date) ------------------------------------------------------------


def test_rki_deaths_sample() -> None:
    result = parse(RKI_DEATHS, sample_bytes("rki/COVID-19-Todesfaelle_Deutschland.csv"))
    assert _values(result, "DEU", date(2020, 3, 9)) == {
        Metric.CASES_CUMULATIVE: 1112,
        Metric.DEATHS_CUMULATIVE: 2,
        Metric.DEATHS_DAILY: 2,
    }
    assert result.records == 40


def test_rki_deaths_full_file_keeps_negative_daily_deaths() -> None:
    result = parse(RKI_DEATHS, shared_bytes("real/rki/COVID-19-Todesfaelle_Deutschland.csv"))
    assert _values(result, "DEU", date(2020, 9, 14)) == {
        Metric.CASES_CUMULATIVE: 260355,
        Metric.DEATHS_CUMULATIVE: 9350,
        Metric.DEATHS_DAILY: 1,
    }
    correction = one(result.observations, "DEU", date(2020, 6, 21), Metric.DEATHS_DAILY)
    assert (correction.value, correction.source_row) == (-1, 105)
    assert result.records == 2358


# RKI, 7-day incidence file (notification date) ---------------------------------------------


def test_rki_incidence_reads_all_ages_only_with_its_own_metrics() -> None:
    result = parse(RKI_INCIDENCE, sample_bytes(INCIDENCE_SAMPLE))
    assert result.records == 280
    assert len(result.observations) == 2 * 40
    assert {o.metric for o in result.observations} == {
        Metric.CASES_CUMULATIVE_BY_NOTIFICATION_DATE,
        Metric.CASES_DAILY_BY_NOTIFICATION_DATE,
    }
    assert any(note.startswith("240 age-group records left out") for note in result.notes)
    assert find(result.observations, "DEU", date(2020, 1, 3), Metric.CASES_CUMULATIVE) == []


def test_rki_incidence_full_file() -> None:
    result = parse(
        RKI_INCIDENCE, shared_bytes("real/rki/COVID-19-Faelle_7-Tage-Inzidenz_Deutschland.csv")
    )
    april_first = one(
        result.observations, "DEU", date(2020, 4, 1), Metric.CASES_CUMULATIVE_BY_NOTIFICATION_DATE
    )
    assert (april_first.value, april_first.source_row) == (74002, 625)
    daily = one(
        result.observations, "DEU", date(2020, 4, 1), Metric.CASES_DAILY_BY_NOTIFICATION_DATE
    )
    assert daily.value == 6040
    assert len(result.observations) == 2 * 2424
