"""The adapter registry: format detection, and what every adapter does with input that is not
its format (another publisher's file, garbage, truncated or non-UTF-8 bytes)."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from ingest.adapters import ADAPTERS, FormatError, detect_format, get_adapter
from tests.ingest.support import parse, replace_in_record, sample_bytes, set_cell, shared_bytes

# (sample, full file under shared/data, format)
FILES = [
    (
        "jhu_csse/time_series_covid19_confirmed_global.csv",
        "real/jhu_csse/time_series_covid19_confirmed_global.csv",
        "jhu-csse-global-confirmed",
    ),
    (
        "jhu_csse/time_series_covid19_deaths_global.csv",
        "real/jhu_csse/time_series_covid19_deaths_global.csv",
        "jhu-csse-global-deaths",
    ),
    (
        "jhu_csse/time_series_covid19_confirmed_US.csv",
        "real/jhu_csse/time_series_covid19_confirmed_US.csv",
        "jhu-csse-us-confirmed",
    ),
    (
        "jhu_csse/time_series_covid19_deaths_US.csv",
        "real/jhu_csse/time_series_covid19_deaths_US.csv",
        "jhu-csse-us-deaths",
    ),
    (
        "who/WHO-COVID-19-global-data.csv",
        "real/who/WHO-COVID-19-global-data.csv",
        "who-covid-19-global-data",
    ),
    (
        "who/WHO-COVID-19-global-data.csv",
        "real/who/vintage-2020-11-09/WHO-COVID-19-global-data.csv",
        "who-covid-19-global-data",
    ),
    ("ecdc/ecdc.csv", "real/ecdc/ecdc.csv", "ecdc-case-distribution"),
    ("owid/owid-covid-data.csv", "real/owid/owid-covid-data.csv", "owid-covid-data"),
    ("nyt/us-states.csv", "real/nyt/us-states.csv", "nyt-us-states"),
    ("ctp/states_daily_4pm_et.csv", "real/ctp/states_daily_4pm_et.csv", "ctp-states-daily"),
    (
        "ctp_website/all-states-history.csv",
        "eval/ctp_website/all-states-history.csv",
        "ctp-all-states-history",
    ),
    (
        "italy_dpc/dpc-covid19-ita-andamento-nazionale.csv",
        "real/italy_dpc/dpc-covid19-ita-andamento-nazionale.csv",
        "dpc-ita-andamento-nazionale",
    ),
    (
        "rki/COVID-19-Todesfaelle_Deutschland.csv",
        "real/rki/COVID-19-Todesfaelle_Deutschland.csv",
        "rki-todesfaelle-deutschland",
    ),
    (
        "rki/COVID-19-Faelle_7-Tage-Inzidenz_Deutschland.csv",
        "real/rki/COVID-19-Faelle_7-Tage-Inzidenz_Deutschland.csv",
        "rki-faelle-7-tage-inzidenz",
    ),
    (
        "cdc/United_States_COVID-19_Cases_and_Deaths_by_State_over_Time.csv",
        "eval/cdc/United_States_COVID-19_Cases_and_Deaths_by_State_over_Time.csv",
        "cdc-cases-deaths-by-state",
    ),
]
SAMPLES = sorted({(sample, fmt) for sample, _, fmt in FILES})
JHU_GLOBAL = {"jhu-csse-global-confirmed", "jhu-csse-global-deaths"}


def _ids(value: object) -> str:
    return str(value)


def test_every_format_has_a_sample_and_a_full_file() -> None:
    assert {fmt for _, _, fmt in FILES} == set(ADAPTERS)


@pytest.mark.parametrize(("sample", "fmt"), SAMPLES, ids=_ids)
def test_detects_each_sample(sample: str, fmt: str) -> None:
    content = sample_bytes(sample)
    assert detect_format(content, PurePosixPath(sample).name) == fmt
    if fmt not in JHU_GLOBAL:
        assert detect_format(content) == fmt


@pytest.mark.parametrize(("sample", "full", "fmt"), FILES, ids=_ids)
def test_detects_each_full_file(sample: str, full: str, fmt: str) -> None:
    assert detect_format(shared_bytes(full), PurePosixPath(full).name) == fmt


def test_jhu_global_confirmed_and_deaths_cannot_be_told_apart_by_content() -> None:
    content = sample_bytes("jhu_csse/time_series_covid19_deaths_global.csv")
    with pytest.raises(FormatError, match="ambiguous format") as raised:
        detect_format(content)
    assert "jhu-csse-global-confirmed" in str(raised.value)
    assert "jhu-csse-global-deaths" in str(raised.value)
    assert (
        detect_format(content, "time_series_covid19_deaths_global.csv") == "jhu-csse-global-deaths"
    )


@pytest.mark.parametrize(("sample", "fmt"), SAMPLES, ids=_ids)
def test_other_adapters_refuse_the_sample_naming_expected_and_arrived(
    sample: str, fmt: str
) -> None:
    content = sample_bytes(sample)
    arrived = content.decode("utf-8-sig").split(",", 1)[0].strip('"')
    for other in ADAPTERS:
        if other == fmt or {other, fmt} == JHU_GLOBAL:
            continue
        with pytest.raises(FormatError) as raised:
            parse(other, content)
        message = str(raised.value)
        assert message.startswith(f"{other}: expected header"), message
        assert f"got '{arrived}" in message, message


def test_message_for_a_file_of_another_format() -> None:
    with pytest.raises(FormatError) as raised:
        parse("jhu-csse-global-confirmed", sample_bytes("nyt/us-states.csv"))
    assert str(raised.value) == (
        "jhu-csse-global-confirmed: expected header starting "
        "'Province/State,Country/Region,Lat,Long', got 'date,state,fips,cases,deaths'"
    )
    with pytest.raises(
        FormatError, match=r"missing 'pending', .*; unexpected 'totalTestEncountersViralIncrease'"
    ):
        parse("ctp-states-daily", sample_bytes("ctp_website/all-states-history.csv"))


def test_unknown_format_name_lists_the_known_ones() -> None:
    with pytest.raises(FormatError, match="unknown format 'csv'") as raised:
        get_adapter("csv")
    assert all(name in str(raised.value) for name in ADAPTERS)


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01\x02garbage\xff\xfe", b"hello,world\n1,2\n", bytes(range(256)) * 4],
    ids=["empty", "binary", "unknown-csv", "all-bytes"],
)
def test_garbage_is_refused_by_detection_and_by_every_adapter(content: bytes) -> None:
    with pytest.raises(FormatError):
        detect_format(content)
    for fmt in ADAPTERS:
        with pytest.raises(FormatError, match=f"^{fmt}: "):
            parse(fmt, content)


@pytest.mark.parametrize(("sample", "fmt"), SAMPLES, ids=_ids)
def test_non_utf8_is_refused(sample: str, fmt: str) -> None:
    utf16 = sample_bytes(sample).decode("utf-8").encode("utf-16")
    with pytest.raises(FormatError, match=f"^{fmt}: expected UTF-8 text, got byte 0x"):
        parse(fmt, utf16)
    latin1_in_a_record = replace_in_record(sample_bytes(sample), 1, b",", b"\xe9,")
    with pytest.raises(FormatError, match="expected UTF-8 text"):
        parse(fmt, latin1_in_a_record)


@pytest.mark.parametrize(("sample", "fmt"), SAMPLES, ids=_ids)
def test_truncated_document_is_refused(sample: str, fmt: str) -> None:
    content = sample_bytes(sample)
    lines = content.splitlines(keepends=True)
    cut = len(b"".join(lines[:3])) + 5  # five bytes into record 3
    expected = r"(expected \d+ fields|malformed CSV)"
    with pytest.raises(FormatError, match=rf"^{fmt}: record 3 \(line 4\): {expected}"):
        parse(fmt, content[:cut])


def test_truncated_inside_a_quoted_field_is_refused() -> None:
    content = sample_bytes("ctp_website/all-states-history.csv")
    cut = content.index(b'"', len(content.splitlines(keepends=True)[0]) + 1) + 3
    with pytest.raises(FormatError, match=r"^ctp-all-states-history: record 1 .*malformed CSV"):
        parse("ctp-all-states-history", content[:cut])


@pytest.mark.parametrize(("sample", "fmt"), SAMPLES, ids=_ids)
def test_header_alone_gives_no_observations(sample: str, fmt: str) -> None:
    header = sample_bytes(sample).splitlines(keepends=True)[0]
    result = parse(fmt, header)
    assert (result.observations, result.records, result.unmapped) == ([], 0, [])


# A date in another format than the file's own, in the first record: (format, old, new).
WRONG_DATES = [
    ("who-covid-19-global-data", b"2020-11-10,", b"10/11/2020,"),
    ("ecdc-case-distribution", b"28/05/2020,", b"2020-05-28,"),
    ("owid-covid-data", b",2020-03-16,", b",16/03/2020,"),
    ("nyt-us-states", b"2021-04-13,", b"4/13/21,"),
    ("ctp-states-daily", b"20200427,", b"2020-04-27,"),
    ("ctp-all-states-history", b'"2020-04-27",', b'"20200427",'),
    ("dpc-ita-andamento-nazionale", b"2020-02-24T18:00:00,", b"2020-02-24,"),
    ("rki-todesfaelle-deutschland", b"2020-03-09,", b"2020-03-32,"),
    ("rki-faelle-7-tage-inzidenz", b"2020-01-03,", b"03.01.2020,"),
    ("cdc-cases-deaths-by-state", b"01/20/2021,", b"2021-01-20,"),
]


@pytest.mark.parametrize(("fmt", "old", "new"), WRONG_DATES, ids=_ids)
def test_a_date_in_another_format_names_format_record_and_value(
    fmt: str, old: bytes, new: bytes
) -> None:
    sample = next(s for s, f in SAMPLES if f == fmt)
    content = replace_in_record(sample_bytes(sample), 1, old, new)
    with pytest.raises(FormatError) as raised:
        parse(fmt, content)
    message = str(raised.value)
    assert message.startswith(f"{fmt}: record 1 (line 2), column "), message
    assert repr(new.strip(b",").strip(b'"').decode()) in message, message


@pytest.mark.parametrize(
    "fmt", sorted(JHU_GLOBAL | {"jhu-csse-us-confirmed", "jhu-csse-us-deaths"})
)
def test_a_jhu_date_column_in_another_format_is_refused(fmt: str) -> None:
    sample = next(s for s, f in SAMPLES if f == fmt)
    content = sample_bytes(sample).replace(b",1/22/20,", b",2020-01-22,", 1)
    expected = (
        rf"^{fmt}: expected header .* then dates as M/D/YY, got .*\(column \d+ is '2020-01-22'\)"
    )
    with pytest.raises(FormatError, match=expected):
        parse(fmt, content)


@pytest.mark.parametrize(("sample", "fmt"), SAMPLES, ids=_ids)
def test_a_count_that_is_no_integer_names_format_record_and_value(sample: str, fmt: str) -> None:
    content = sample_bytes(sample)
    first = next(o for o in parse(fmt, content).observations if not o.derived_from)
    bad = set_cell(content, first.source_row, first.source_field, f"{first.value}.5")
    with pytest.raises(FormatError) as raised:
        parse(fmt, bad)
    assert str(raised.value) == (
        f"{fmt}: record {first.source_row} (line {first.source_row + 1}), column "
        f"{first.source_field!r}: expected an integer count, got '{first.value}.5'"
    )
