"""Signed documents end to end, on every backend: a publisher's key, a signed statement, the
original kept byte for byte, one ``document`` leaf and one ``observation`` leaf per new or changed
value, revisions as versions, refusals that leave no trace, and ``verify_documents`` catching
tampering with the original, the rows and the note.

Expected counts are computed here from the raw CSV with nothing but the csv module (see
``who_cells``), never from the adapter, so that a test compares ingestion with the file.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import os
import stat
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from ingest.adapters import FormatError, Metric, ParsedObservation, ParseResult
from ingest.documents import (
    DocumentError,
    IngestReport,
    ingest_document,
    original_path,
    screen,
    sign_document,
    verify_documents,
)
from ingest.publishers import (
    PublisherError,
    add_formats,
    add_key,
    add_publisher,
    catalogue,
    revoke_key,
    rotate_key,
)
from ledger.audit import audit_log
from ledger.leaf import parse_leaf_body
from ledger.note import Signer, generate_signer, parse_note
from models import Document, Observation
from service.runtime import Runtime
from tests.conftest import TEST_ORIGIN
from tests.ingest.support import sample_bytes, set_cell

WHO = "who-covid-19-global-data"
NAME = "WHO-COVID-19-global-data.csv"
SAMPLE = "who/WHO-COVID-19-global-data.csv"
DEMO_OLD = "demo/who/vintage-2020-11-09/WHO-COVID-19-global-data.csv"
DEMO_NEW = "demo/who/WHO-COVID-19-global-data.csv"

KEY_FROM = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
SIGNED = NOW - dt.timedelta(hours=1)

# WHO's alpha-2 codes in the sample and the demo extracts, and the region codes they stand for.
REGION = {
    "OM": "OMN",
    "PK": "PAK",
    "PW": "PLW",
    "PA": "PAN",
    "PG": "PNG",
    "PY": "PRY",
    "IT": "ITA",
    "DE": "DEU",
    "FR": "FRA",
    "ES": "ESP",
    "GB": "GBR",
}
METRIC = {
    " New_cases": "cases_daily",
    " Cumulative_cases": "cases_cumulative",
    " New_deaths": "deaths_daily",
    " Cumulative_deaths": "deaths_cumulative",
}

Key = tuple[str, dt.date, str]  # (region, date, metric)


# --- the raw file, read with csv only ---------------------------------------------------------


@dataclass
class Cells:
    records: int
    values: dict[Key, tuple[int, int, str]]  # -> (value, record, column)
    unmapped: Counter[str]  # country name -> records (blank code)
    blank: int


def who_cells(content: bytes) -> Cells:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    header, records = rows[0], rows[1:]
    values: dict[Key, tuple[int, int, str]] = {}
    unmapped: Counter[str] = Counter()
    blank = 0
    for number, fields in enumerate(records, 1):
        record = dict(zip(header, fields, strict=True))
        code = record[" Country_code"].strip()
        if not code:
            unmapped[record[" Country"]] += 1
            continue
        day = dt.date.fromisoformat(record["Date_reported"])
        for column, metric in METRIC.items():
            if record[column] == "":
                blank += 1
                continue
            key = (REGION[code], day, metric)
            assert key not in values, f"record {number} repeats {key}"
            values[key] = (int(record[column]), number, column)
    return Cells(len(records), values, unmapped, blank)


# --- a publisher, a key, and what the database holds ------------------------------------------


async def register_who(
    runtime: Runtime,
    signer: Signer,
    *,
    valid_from: dt.datetime = KEY_FROM,
    valid_until: dt.datetime | None = None,
) -> None:
    async with runtime.write_sessions() as s, s.begin():
        await runtime.log.lock(s)
        await add_publisher(s, catalogue()["who"], now=KEY_FROM)
        await add_key(
            s,
            runtime.log,
            "who",
            signer.vkey,
            valid_from=valid_from,
            valid_until=valid_until,
            now=KEY_FROM,
        )


@pytest.fixture
async def signer(runtime: Runtime) -> Signer:
    """WHO registered with one key, valid from KEY_FROM on."""
    key = generate_signer("who")
    await register_who(runtime, key)
    return key


async def ingest(
    runtime: Runtime,
    content: bytes,
    signer: Signer,
    *,
    signed_at: dt.datetime = SIGNED,
    now: dt.datetime = NOW,
    format: str = WHO,
    note: bytes | None = None,
) -> IngestReport:
    if note is None:
        note = sign_document(
            content, publisher="who", format=format, name=NAME, signer=signer, signed_at=signed_at
        )
    return await ingest_document(
        runtime.write_sessions,
        runtime.log,
        runtime.settings.data_dir,
        publisher="who",
        format=format,
        content=content,
        note=note,
        now=now,
    )


@dataclass(frozen=True)
class Snapshot:
    log_size: int
    documents: int
    observations: int
    files: tuple[str, ...]


def stored_files(data_dir: Path) -> tuple[str, ...]:
    root = data_dir / "documents"
    if not root.exists():
        return ()
    return tuple(sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()))


async def snapshot(runtime: Runtime) -> Snapshot:
    async with runtime.sessions() as s:
        documents = (await s.execute(select(func.count()).select_from(Document))).scalar_one()
        observations = (await s.execute(select(func.count()).select_from(Observation))).scalar_one()
        size = await runtime.log.size(s)
    return Snapshot(size, documents, observations, stored_files(runtime.settings.data_dir))


async def observation_rows(runtime: Runtime) -> list[Any]:
    table = Observation.__table__  # type: ignore[attr-defined]
    async with runtime.sessions() as s:
        return list(await s.execute(select(table).order_by(table.c.ledger_index)))


async def refused(
    runtime: Runtime,
    content: bytes,
    signer: Signer,
    match: str,
    *,
    error: type[Exception] = DocumentError,
    **kwargs: Any,
) -> str:
    """Ingest and expect a refusal whose message matches; nothing may be left behind."""
    before = await snapshot(runtime)
    with pytest.raises(error, match=match) as caught:
        await ingest(runtime, content, signer, **kwargs)
    assert await snapshot(runtime) == before
    return str(caught.value)


async def verify(runtime: Runtime, ids: list[int] | None = None) -> list[Any]:
    async with runtime.sessions() as s:
        return await verify_documents(s, runtime.log, runtime.settings.data_dir, ids)


def alter_signature(note: bytes) -> bytes:
    """The note with one bit of its (only) signature flipped, key name and ID kept."""
    parsed = parse_note(note)
    body, _, line = note[:-1].rpartition(b"\n")
    assert parsed.signatures and line.startswith("— ".encode())

    name, b64 = line.decode()[2:].split(" ")
    blob = bytearray(base64.b64decode(b64))
    blob[10] ^= 0x01
    return body + b"\n" + f"— {name} {base64.b64encode(bytes(blob)).decode()}".encode() + b"\n"


# --- 1. the happy path ------------------------------------------------------------------------


async def test_sample_is_stored_as_published_with_one_leaf_per_observation(
    runtime: Runtime, signer: Signer
) -> None:
    content = sample_bytes(SAMPLE)
    assert content.startswith(b"\xef\xbb\xbf")  # WHO's byte-order mark, kept
    cells = who_cells(content)
    assert cells.unmapped == {"Other": 322} and cells.blank == 0
    before = await snapshot(runtime)

    report = await ingest(runtime, content, signer)

    n = len(cells.values)
    assert n == 4 * (1698 - 322)
    assert (report.status, report.records, report.observations) == ("ingested", cells.records, n)
    assert (report.new, report.revised, report.unchanged, report.refused) == (n, 0, 0, 0)
    assert report.skipped_empty == cells.blank
    assert [(u["name"], u["rows"]) for u in report.unmapped] == [("Other", 322)]
    assert report.leaves == n + 1
    assert report.log_size == before.log_size + n + 1
    digest = hashlib.sha256(content).hexdigest()
    assert (report.sha256, report.size, report.name) == (digest, len(content), NAME)
    data = report.as_dict()
    assert data["rows_read"] == 1698 and data["observations"]["new"] == n

    after = await snapshot(runtime)
    assert after.log_size == before.log_size + n + 1
    assert (after.documents, after.observations) == (1, n)
    assert after.files == (f"{digest[:2]}/{digest}",)
    path = original_path(runtime.settings.data_dir, digest)
    assert path == runtime.settings.data_dir / "documents" / digest[:2] / digest
    assert path.read_bytes() == content
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)

    # the leaves: one document leaf, then one observation leaf per stored row
    async with runtime.sessions() as s:
        bodies = await runtime.log.entries(s, before.log_size, after.log_size)
        document = (await s.execute(select(Document))).scalar_one()
    assert document.ledger_index == report.ledger_index == before.log_size
    kinds = [parse_leaf_body(body) for body in bodies]
    assert [k for k, _ in kinds] == ["document"] + ["observation"] * n
    doc_record = kinds[0][1]
    assert (doc_record["publisher"], doc_record["sha256"], doc_record["size"]) == (
        "who",
        digest,
        len(content),
    )
    assert doc_record["key"] == signer.vkey
    assert doc_record["signed_at"] == "2026-06-01T11:00:00Z"
    assert doc_record["received_at"] == "2026-06-01T12:00:00Z"

    # every stored row is a cell of the file, and every cell is stored once, with its leaf
    rows = await observation_rows(runtime)
    stored = {}
    for row, (_, record) in zip(rows, kinds[1:], strict=True):
        key = (row.region, row.date, row.metric)
        assert key not in stored
        stored[key] = (row.value, row.source_row, row.source_field)
        assert (row.version, row.latest, row.document_id) == (1, True, document.id)
        assert record == {
            "publisher": "who",
            "document": digest,
            "document_index": document.ledger_index,
            "region": row.region,
            "date": row.date.isoformat(),
            "metric": row.metric,
            "value": row.value,
            "version": 1,
            "row": row.source_row,
            "field": row.source_field,
        }
    assert stored == cells.values
    # Paraguay's negative daily count on 2020-03-20 is kept as published
    assert stored[("PRY", dt.date(2020, 3, 20), "cases_daily")] == (-2, 1698, " New_cases")

    [check] = await verify(runtime)
    assert check.ok, check.problems
    assert check.observations == n


async def test_same_bytes_twice_change_nothing(runtime: Runtime, signer: Signer) -> None:
    content = sample_bytes(SAMPLE)
    first = await ingest(runtime, content, signer)
    before = await snapshot(runtime)
    later = NOW + dt.timedelta(days=1)
    again = await ingest(
        runtime, content, signer, signed_at=later - dt.timedelta(minutes=1), now=later
    )
    assert again.status == "unchanged"
    assert (again.document_id, again.ledger_index) == (first.document_id, first.ledger_index)
    assert (again.new, again.revised, again.leaves) == (0, 0, 0)
    assert again.unchanged == first.observations
    assert again.log_size == before.log_size
    assert any("ingested before" in n for n in again.notes)
    assert await snapshot(runtime) == before


# --- 3. revisions -----------------------------------------------------------------------------


async def test_a_later_download_revises_values_as_new_versions(
    runtime: Runtime, signer: Signer
) -> None:
    old_content, new_content = sample_bytes(DEMO_OLD), sample_bytes(DEMO_NEW)
    old, new = who_cells(old_content).values, who_cells(new_content).values
    revised = {k for k in new.keys() & old.keys() if new[k][0] != old[k][0]}
    equal = {k for k in new.keys() & old.keys() if new[k][0] == old[k][0]}
    added = new.keys() - old.keys()
    assert revised and added and equal  # the two WHO downloads differ in both ways
    for cells in (old, new):  # nothing here is refused, so every cell counts
        assert not any(v < 0 for k, (v, _, _) in cells.items() if k[2].endswith("_cumulative"))

    first = await ingest(runtime, old_content, signer)
    assert (first.new, first.revised, first.unchanged, first.refused) == (len(old), 0, 0, 0)
    before = await snapshot(runtime)
    later = NOW + dt.timedelta(days=1)
    second = await ingest(
        runtime, new_content, signer, signed_at=later - dt.timedelta(hours=1), now=later
    )

    assert second.status == "ingested" and second.refused == 0
    assert (second.revised, second.new, second.unchanged) == (len(revised), len(added), len(equal))
    assert second.observations == len(new)
    assert second.leaves == 1 + len(revised) + len(added)
    after = await snapshot(runtime)
    assert after.log_size == before.log_size + 1 + len(revised) + len(added)
    assert after.observations == before.observations + len(revised) + len(added)
    assert after.documents == 2 and len(after.files) == 2

    versions: dict[Key, list[Any]] = {}
    for row in await observation_rows(runtime):
        versions.setdefault((row.region, row.date, row.metric), []).append(row)
    assert versions.keys() == old.keys() | new.keys()
    for key, found in versions.items():
        found.sort(key=lambda r: r.version)
        shape = [(r.version, r.value, r.latest, r.document_id) for r in found]
        if key in revised:
            assert shape == [
                (1, old[key][0], False, first.document_id),
                (2, new[key][0], True, second.document_id),
            ]
            assert found[1].ledger_index > found[0].ledger_index
        elif key in added:
            assert shape == [(1, new[key][0], True, second.document_id)]
        else:  # equal, or only in the old download: the old version stays the latest
            assert shape == [(1, old[key][0], True, first.document_id)]

    checks = await verify(runtime)
    assert [c.document_id for c in checks] == [first.document_id, second.document_id]
    assert all(c.ok for c in checks), [c.problems for c in checks]
    assert checks[1].observations == len(revised) + len(added)


# --- 4. bad input: refused whole, nothing left behind -----------------------------------------


async def test_altered_signature_is_refused(runtime: Runtime, signer: Signer) -> None:
    content = sample_bytes(SAMPLE)
    note = sign_document(
        content, publisher="who", format=WHO, name=NAME, signer=signer, signed_at=SIGNED
    )
    message = await refused(runtime, content, signer, "wrong signature", note=alter_signature(note))
    assert f"who+{signer.key_id_hex}" in message and "does not verify" in message


async def test_another_key_with_the_same_name_is_refused(runtime: Runtime, signer: Signer) -> None:
    impostor = generate_signer("who")  # same key name, another key (so another key ID)
    message = await refused(runtime, sample_bytes(SAMPLE), impostor, "unknown key")
    assert f"who+{impostor.key_id_hex}" in message
    assert f"its keys: who+{signer.key_id_hex}" in message


async def test_unregistered_key_is_refused(runtime: Runtime, signer: Signer) -> None:
    stranger = generate_signer("someone-else")
    message = await refused(runtime, sample_bytes(SAMPLE), stranger, "unknown key")
    assert f"someone-else+{stranger.key_id_hex}" in message and "'who'" in message


async def test_revoked_key_is_refused(runtime: Runtime, signer: Signer) -> None:
    earlier = NOW - dt.timedelta(days=2)
    kept = await ingest(
        runtime,
        sample_bytes(SAMPLE),
        signer,
        signed_at=earlier - dt.timedelta(hours=1),
        now=earlier,
    )
    async with runtime.write_sessions() as s, s.begin():
        await runtime.log.lock(s)
        await revoke_key(
            s,
            runtime.log,
            "who",
            signer.key_id_hex,
            reason="leaked",
            at=NOW - dt.timedelta(days=1),
            now=NOW,
        )
    revised = set_cell(sample_bytes(SAMPLE), 10, " New_cases", "412")
    message = await refused(runtime, revised, signer, "cannot sign now")
    assert "was revoked at 2026-05-31T12:00:00Z (leaked)" in message
    # a document received before the revocation stays on the record and still verifies
    [check] = await verify(runtime)
    assert check.document_id == kept.document_id and check.ok, check.problems


async def test_expired_key_is_refused(runtime: Runtime) -> None:
    key = generate_signer("who")
    await register_who(runtime, key, valid_until=NOW - dt.timedelta(days=1))
    message = await refused(runtime, sample_bytes(SAMPLE), key, "cannot sign now")
    assert "expired at 2026-05-31T12:00:00Z" in message
    # signed while the key was valid, but received after it expired: refused too
    message = await refused(
        runtime, sample_bytes(SAMPLE), key, "expired", signed_at=NOW - dt.timedelta(days=2)
    )
    assert "cannot sign now" in message


async def test_key_not_yet_valid_is_refused(runtime: Runtime) -> None:
    key = generate_signer("who")
    await register_who(runtime, key, valid_from=NOW + dt.timedelta(days=1))
    message = await refused(runtime, sample_bytes(SAMPLE), key, "cannot sign now")
    assert "is valid only from 2026-06-02T12:00:00Z" in message


async def test_format_named_in_the_note_must_be_the_format_given(
    runtime: Runtime, signer: Signer
) -> None:
    content = sample_bytes(SAMPLE)
    note = sign_document(
        content,
        publisher="who",
        format="ecdc-case-distribution",
        name=NAME,
        signer=signer,
        signed_at=SIGNED,
    )
    message = await refused(runtime, content, signer, "names format", note=note)
    assert "'ecdc-case-distribution', not 'who-covid-19-global-data'" in message


async def test_another_publishers_format_is_named_in_the_refusal(
    runtime: Runtime, signer: Signer
) -> None:
    message = await refused(
        runtime, sample_bytes("ecdc/ecdc.csv"), signer, "the content looks like"
    )
    assert message.startswith("who-covid-19-global-data: expected header")
    assert "(the content looks like 'ecdc-case-distribution')" in message


async def test_content_cut_after_signing_is_refused(runtime: Runtime, signer: Signer) -> None:
    content = sample_bytes(SAMPLE)
    note = sign_document(
        content, publisher="who", format=WHO, name=NAME, signer=signer, signed_at=SIGNED
    )
    cut = content[: len(content) // 2]
    message = await refused(runtime, cut, signer, "does not match its signed statement", note=note)
    assert f"expected {len(content)} bytes" in message and f"got {len(cut)} bytes" in message
    assert "truncated or altered?" in message


async def test_file_truncated_mid_record_then_signed_is_refused(
    runtime: Runtime, signer: Signer
) -> None:
    content = sample_bytes(SAMPLE)
    lines = content.splitlines(keepends=True)
    # record 10 cut after its fourth field: "2020-11-19,OM,Oman,EMRO"
    tenth = lines[10]
    cut = b"".join(lines[:10]) + tenth[: tenth.index(b",EMRO,") + len(b",EMRO")]
    message = await refused(runtime, cut, signer, "expected 8 fields as in the header, got 4")
    assert "record 10 (line 11)" in message


async def test_non_numeric_cell_is_refused_naming_record_and_column(
    runtime: Runtime, signer: Signer
) -> None:
    content = set_cell(sample_bytes(SAMPLE), 10, " Cumulative_cases", "12a")
    message = await refused(runtime, content, signer, "expected an integer count")
    assert "record 10 (line 11), column ' Cumulative_cases'" in message and "'12a'" in message


async def test_empty_file_is_refused(runtime: Runtime, signer: Signer) -> None:
    message = await refused(runtime, b"", signer, "got 0 bytes")
    assert message == "who-covid-19-global-data: expected a CSV document, got 0 bytes"


async def test_statement_signed_in_the_future_is_refused(runtime: Runtime, signer: Signer) -> None:
    message = await refused(
        runtime, sample_bytes(SAMPLE), signer, "after now", signed_at=NOW + dt.timedelta(hours=1)
    )
    assert "signed at 2026-06-01T13:00:00Z, after now (2026-06-01T12:00:00Z)" in message
    # a clock a minute ahead is within the allowed skew
    report = await ingest(
        runtime, sample_bytes(SAMPLE), signer, signed_at=NOW + dt.timedelta(minutes=1)
    )
    assert report.status == "ingested"


async def test_unknown_format_and_publisher_are_refused(runtime: Runtime, signer: Signer) -> None:
    content = sample_bytes(SAMPLE)
    message = await refused(
        runtime, content, signer, "unknown format 'who-csv'", format="who-csv", error=FormatError
    )
    assert "expected one of" in message and WHO in message
    note = sign_document(
        content, publisher="ecdc", format=WHO, name=NAME, signer=signer, signed_at=SIGNED
    )
    await refused(runtime, content, signer, "names publisher 'ecdc', not 'who'", note=note)
    # a publisher of the catalogue that was never registered
    before = await snapshot(runtime)
    with pytest.raises(PublisherError, match="unknown publisher 'ecdc': expected one of who"):
        await ingest_document(
            runtime.write_sessions,
            runtime.log,
            runtime.settings.data_dir,
            publisher="ecdc",
            format=WHO,
            content=content,
            note=note,
            now=NOW,
        )
    assert await snapshot(runtime) == before


async def test_failure_after_the_original_was_written_rolls_everything_back(
    runtime: Runtime, signer: Signer
) -> None:
    """A failure once the original is kept and the document leaf appended (here: the progress
    callback raising) leaves no original, no rows and no leaves; the same document then goes in
    whole, and the log still audits clean."""
    content = sample_bytes(SAMPLE)
    note = sign_document(
        content, publisher="who", format=WHO, name=NAME, signer=signer, signed_at=SIGNED
    )
    before = await snapshot(runtime)
    seen: list[str] = []

    def progress(done: int, total: int) -> None:
        seen.extend(stored_files(runtime.settings.data_dir))
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        await ingest_document(
            runtime.write_sessions,
            runtime.log,
            runtime.settings.data_dir,
            publisher="who",
            format=WHO,
            content=content,
            note=note,
            progress=progress,
            now=NOW,
        )
    digest = hashlib.sha256(content).hexdigest()
    assert seen == [f"{digest[:2]}/{digest}"]  # it had been written ...
    assert await snapshot(runtime) == before  # ... and is gone, with everything else

    report = await ingest(runtime, content, signer, note=note)
    assert report.status == "ingested" and report.ledger_index == before.log_size
    assert report.log_size == before.log_size + 1 + report.observations
    [check] = await verify(runtime)
    assert check.ok, check.problems
    async with runtime.sessions() as s:
        audit = await audit_log(s, origin=TEST_ORIGIN, vkey=runtime.signer.vkey)
    assert audit.ok, audit.problems


# --- refused per row: the rest is stored ------------------------------------------------------


async def test_negative_cumulative_is_refused_per_row_and_negative_daily_kept(
    runtime: Runtime, signer: Signer
) -> None:
    content = set_cell(sample_bytes(SAMPLE), 10, " Cumulative_cases", "-5")
    content = set_cell(content, 9, " New_deaths", "-3")
    cells = who_cells(content)
    bad = ("OMN", dt.date(2020, 11, 19), "cases_cumulative")
    assert cells.values[bad] == (-5, 10, " Cumulative_cases")

    report = await ingest(runtime, content, signer)

    assert report.status == "ingested"
    assert report.refused == 1
    [refusal] = report.refusals
    assert (refusal["row"], refusal["field"]) == (10, " Cumulative_cases")
    assert "negative cumulative count -5 for OMN 2020-11-19 cases_cumulative" in refusal["reason"]
    assert "expected a count of 0 or more" in refusal["reason"]
    assert report.observations == report.new == len(cells.values) - 1
    stored = {(r.region, r.date, r.metric): r.value for r in await observation_rows(runtime)}
    assert bad not in stored
    assert stored[("OMN", dt.date(2020, 11, 18), "deaths_daily")] == -3  # record 9, kept
    assert stored == {k: v for k, (v, _, _) in cells.values.items() if k != bad}
    [check] = await verify(runtime)
    assert check.ok, check.problems


@pytest.mark.parametrize("differs", [False, True], ids=["same-values", "another-value"])
async def test_repeated_record_is_refused_per_row_naming_the_earlier_one(
    runtime: Runtime, signer: Signer, differs: bool
) -> None:
    original = sample_bytes(SAMPLE)
    lines = original.splitlines(keepends=True)
    repeat = lines[10]  # record 10: Oman, 2020-11-19
    if differs:
        repeat = set_cell(lines[0] + repeat, 1, " New_deaths", "99").splitlines(keepends=True)[1]
    content = original + repeat  # record 1699
    cells = who_cells(original)

    report = await ingest(runtime, content, signer)

    assert report.records == 1699
    assert report.refused == 4
    assert [(r["row"], r["field"]) for r in report.refusals] == [(1699, c) for c in METRIC]
    deaths = next(r for r in report.refusals if r["field"] == " New_deaths")
    assert (
        "duplicate: OMN 2020-11-19 deaths_daily was already given by record 10"
        in (deaths["reason"])
    )
    first_value = cells.values[("OMN", dt.date(2020, 11, 19), "deaths_daily")][0]
    if differs:
        assert f"with value {first_value}; this record says 99" in deaths["reason"]
    else:
        assert f"with the same value; this record says {first_value}" in deaths["reason"]
    stored = {(r.region, r.date, r.metric): r.value for r in await observation_rows(runtime)}
    assert stored == {k: v for k, (v, _, _) in cells.values.items()}  # the first one is kept
    [check] = await verify(runtime)
    assert check.ok, check.problems


async def test_crlf_and_no_bom_copies_give_the_same_observations(
    runtime: Runtime, signer: Signer
) -> None:
    original = sample_bytes(SAMPLE)
    assert b"\r" not in original
    crlf = original.replace(b"\n", b"\r\n")
    no_bom = original.removeprefix(b"\xef\xbb\xbf")
    cells = who_cells(original)

    report = await ingest(runtime, crlf, signer)
    assert (report.records, report.new, report.refused) == (1698, len(cells.values), 0)
    stored = {
        (r.region, r.date, r.metric): (r.value, r.source_row, r.source_field)
        for r in await observation_rows(runtime)
    }
    assert stored == cells.values
    for i, other in enumerate((original, no_bom), 1):
        again = await ingest(runtime, other, signer, now=NOW + dt.timedelta(minutes=i))
        assert again.status == "ingested"  # other bytes: another document ...
        assert (again.new, again.revised, again.unchanged) == (0, 0, len(cells.values))
        assert again.leaves == 1  # ... that adds no value
    checks = await verify(runtime)
    assert len(checks) == 3 and all(c.ok for c in checks), [c.problems for c in checks]


# --- 5. tampering that verify_documents catches -----------------------------------------------


@pytest.fixture
async def ingested(runtime: Runtime, signer: Signer) -> IngestReport:
    report = await ingest(runtime, sample_bytes(SAMPLE), signer)
    [check] = await verify(runtime)
    assert check.ok, check.problems
    return report


async def test_verify_catches_an_overwritten_original(
    runtime: Runtime, ingested: IngestReport
) -> None:
    path = original_path(runtime.settings.data_dir, ingested.sha256)
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes().replace(b"121129", b"121130", 1))
    [check] = await verify(runtime)
    assert not check.ok
    assert check.problems == [
        f"the original {path} has changed: expected {ingested.size} bytes with sha256 "
        f"{ingested.sha256}, found {ingested.size} bytes with sha256 "
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}"
    ]


async def one_row(runtime: Runtime, region: str, day: dt.date, metric: str) -> Any:
    [row] = [
        r
        for r in await observation_rows(runtime)
        if (r.region, r.date, r.metric) == (region, day, metric)
    ]
    return row


async def execute(runtime: Runtime, statement: str, **params: Any) -> None:
    async with runtime.write_sessions() as s, s.begin():
        result: Any = await s.execute(text(statement), params)
        assert result.rowcount == 1


async def test_verify_catches_a_changed_value(runtime: Runtime, ingested: IngestReport) -> None:
    row = await one_row(runtime, "OMN", dt.date(2020, 11, 19), "cases_cumulative")
    assert (row.value, row.source_row) == (121129, 10)
    await execute(
        runtime,
        "UPDATE observation SET value = value + 1 WHERE ledger_index = :i",
        i=row.ledger_index,
    )
    [check] = await verify(runtime)
    assert not check.ok
    assert all("record 10 ( Cumulative_cases)" in p for p in check.problems), check.problems
    assert any("121130" in p and "the original gives 121129" in p for p in check.problems)
    assert any(
        f"(leaf {row.ledger_index}) differs from what was appended to the log" in p
        for p in check.problems
    )


async def test_verify_catches_a_changed_source_row(
    runtime: Runtime, ingested: IngestReport
) -> None:
    row = await one_row(runtime, "OMN", dt.date(2020, 11, 19), "cases_cumulative")
    await execute(
        runtime,
        "UPDATE observation SET source_row = 11 WHERE ledger_index = :i",
        i=row.ledger_index,
    )
    [check] = await verify(runtime)
    assert not check.ok
    assert any(
        "record 10 ( Cumulative_cases)" in p and "(record 11," in p for p in check.problems
    ), check.problems
    assert any("differs from what was appended to the log" in p for p in check.problems)


async def test_verify_catches_a_changed_note(
    runtime: Runtime, signer: Signer, ingested: IngestReport
) -> None:
    async with runtime.sessions() as s:
        note = (await s.execute(select(Document.note))).scalar_one()  # type: ignore[call-overload]
    await execute(
        runtime,
        "UPDATE document SET note = :note WHERE id = :i",
        note=alter_signature(note.encode()).decode(),
        i=ingested.document_id,
    )
    [check] = await verify(runtime)
    assert not check.ok
    assert any(p.startswith("signature: wrong signature") for p in check.problems)
    assert any(
        f"the document leaf {ingested.ledger_index} does not hash to what the log holds" in p
        for p in check.problems
    ), check.problems


async def test_verify_catches_a_note_re_signed_by_another_registered_key(
    runtime: Runtime, signer: Signer, ingested: IngestReport
) -> None:
    """A valid signature by the publisher's other key still differs from what was logged."""
    other = generate_signer("who")
    async with runtime.write_sessions() as s, s.begin():
        await runtime.log.lock(s)
        await add_key(s, runtime.log, "who", other.vkey, valid_from=KEY_FROM, now=KEY_FROM)
    content = sample_bytes(SAMPLE)
    note = sign_document(
        content, publisher="who", format=WHO, name=NAME, signer=other, signed_at=SIGNED
    )
    await execute(
        runtime,
        "UPDATE document SET note = :note WHERE id = :i",
        note=note.decode(),
        i=ingested.document_id,
    )
    [check] = await verify(runtime)
    assert any(p.startswith("signature: unknown key") for p in check.problems), check.problems
    assert any("does not hash to what the log holds" in p for p in check.problems)


async def test_verify_of_unknown_document_is_an_error(
    runtime: Runtime, ingested: IngestReport
) -> None:
    with pytest.raises(DocumentError, match="no document with id 999"):
        await verify(runtime, [999])


# --- 6. keys ----------------------------------------------------------------------------------


async def test_rotation_keeps_the_old_key_for_the_grace_only(
    runtime: Runtime, signer: Signer
) -> None:
    new_key = generate_signer("who")
    async with runtime.write_sessions() as s, s.begin():
        await runtime.log.lock(s)
        keys = await rotate_key(
            s, runtime.log, "who", new_key.vkey, grace=dt.timedelta(days=1), now=NOW
        )
    assert [k.vkey for k in keys] == [new_key.vkey, signer.vkey]
    end = NOW + dt.timedelta(days=1)
    content = sample_bytes(SAMPLE)
    revised = set_cell(content, 10, " New_cases", "412")

    # within the grace the old key still signs
    within = NOW + dt.timedelta(hours=23)
    report = await ingest(
        runtime, content, signer, signed_at=within - dt.timedelta(hours=1), now=within
    )
    assert report.status == "ingested"

    # after it, the old key is refused, even for a statement signed during the grace
    after = end + dt.timedelta(hours=1)
    message = await refused(
        runtime, revised, signer, "cannot sign now", signed_at=after - dt.timedelta(minutes=5),
        now=after,
    )  # fmt: skip
    assert f"who+{signer.key_id_hex} expired at 2026-06-02T12:00:00Z" in message
    await refused(runtime, revised, signer, "expired at", signed_at=within, now=after)

    # the new key signs after the grace
    report = await ingest(
        runtime, revised, new_key, signed_at=after - dt.timedelta(minutes=5), now=after
    )
    assert (report.status, report.revised, report.new) == ("ingested", 1, 0)
    assert all(c.ok for c in await verify(runtime))


async def test_every_key_change_appends_a_key_leaf(runtime: Runtime) -> None:
    first, second = generate_signer("who"), generate_signer("who")

    async def key_leaves(start: int) -> list[dict[str, Any]]:
        async with runtime.sessions() as s:
            size = await runtime.log.size(s)
            found = []
            for index in range(start, size):
                kind, body = await runtime.log.entry(s, index)
                leaf_kind, record = parse_leaf_body(body)
                assert kind == leaf_kind == "key"
                found.append(record)
        return found

    async with runtime.sessions() as s:
        start = await runtime.log.size(s)
    await register_who(runtime, first)
    [added] = await key_leaves(start)
    assert added == {
        "action": "add",
        "publisher": "who",
        "key": first.vkey,
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": None,
    }

    async with runtime.write_sessions() as s, s.begin():
        await runtime.log.lock(s)
        new, retired = await rotate_key(
            s, runtime.log, "who", second.vkey, grace=dt.timedelta(hours=6), now=NOW
        )
    assert new.ledger_index == start + 1
    assert retired.vkey == first.vkey
    rotated = await key_leaves(start + 1)
    assert rotated == [
        {
            "action": "add",
            "publisher": "who",
            "key": second.vkey,
            "valid_from": "2026-06-01T12:00:00Z",
            "valid_until": None,
        },
        {
            "action": "retire",
            "publisher": "who",
            "key": first.vkey,
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2026-06-01T18:00:00Z",
            "replaced_by": second.vkey,
        },
    ]

    async with runtime.write_sessions() as s, s.begin():
        await runtime.log.lock(s)
        await revoke_key(s, runtime.log, "who", second.vkey, reason=" compromised ", now=NOW)
    [revoked] = await key_leaves(start + 3)
    assert revoked == {
        "action": "revoke",
        "publisher": "who",
        "key": second.vkey,
        "valid_from": "2026-06-01T12:00:00Z",
        "valid_until": None,
        "revoked_at": "2026-06-01T12:00:00Z",
        "reason": "compromised",
    }

    # a refused key change appends nothing
    async with runtime.sessions() as s:
        size = await runtime.log.size(s)
    with pytest.raises(PublisherError, match="already revoked"):
        async with runtime.write_sessions() as s, s.begin():
            await runtime.log.lock(s)
            await revoke_key(s, runtime.log, "who", second.key_id_hex, reason="again", now=NOW)
    assert await key_leaves(size) == []


@pytest.mark.parametrize("metric", [m for m in Metric if "cumulative" in m.value])
def test_screen_refuses_negative_counts_of_every_cumulative_metric(metric: Metric) -> None:
    day = dt.date(2020, 3, 1)
    result = ParseResult(
        format="test",
        observations=[
            ParsedObservation("ITA", day, metric, -1, 1, "c"),
            ParsedObservation("DEU", day, metric, 5, 2, "c"),
            ParsedObservation("FRA", day, Metric.CASES_DAILY, -3, 3, "d"),
        ],
        unmapped=[],
        skipped_empty=0,
        notes=[],
    )
    accepted, refused = screen(result)
    assert [o.region for o in accepted] == ["DEU", "FRA"]  # a negative daily value is kept
    assert [(r.row, r.field) for r in refused] == [(1, "c")]
    assert "negative cumulative count -1" in refused[0].reason


# --- the formats a publisher declares (issue 15, item 1) -----------------------------------------

DPC = "dpc-ita-andamento-nazionale"
DPC_SAMPLE = "italy_dpc/dpc-covid19-ita-andamento-nazionale.csv"


async def test_a_format_the_publisher_does_not_declare_is_refused_before_parsing(
    runtime: Runtime, signer: Signer
) -> None:
    """WHO's valid key on Italy's DPC file, as DPC's format: refused, naming WHO's formats and
    how an operator widens them; garbage in that format gets the same refusal (not a parse
    error), so the check runs before the content is read."""
    message = await refused(
        runtime, sample_bytes(DPC_SAMPLE), signer, "does not publish format", format=DPC
    )
    assert message.startswith(
        f"publisher 'who' does not publish format '{DPC}': its record declares {WHO}"
    )
    assert f"`corroborate publishers formats add who {DPC} --reason TEXT`" in message
    await refused(runtime, b"not,a,csv\x00\n", signer, "does not publish format", format=DPC)


async def test_widening_formats_is_a_publisher_leaf_then_the_document_goes_in(
    runtime: Runtime, signer: Signer
) -> None:
    async with runtime.sessions() as s:
        start = await runtime.log.size(s)
    for formats, reason, problem in (
        (["who-csv"], "x", "format 'who-csv': expected adapter names"),
        ([], "x", "expected at least one format"),
        ([DPC], "  ", "needs a reason"),
    ):
        with pytest.raises(PublisherError, match=problem):
            async with runtime.write_sessions() as s, s.begin():
                await add_formats(s, runtime.log, "who", formats, reason=reason, now=NOW)
    with pytest.raises(PublisherError, match="unknown publisher 'nobody'"):
        async with runtime.write_sessions() as s, s.begin():
            await add_formats(s, runtime.log, "nobody", [DPC], reason="x", now=NOW)

    async with runtime.write_sessions() as s, s.begin():
        publisher, added, index = await add_formats(
            s, runtime.log, "who", [DPC, WHO], reason="WHO  republishes\nit", now=NOW
        )
    assert (added, index, publisher.formats) == ([DPC], start, [DPC, WHO])
    async with runtime.sessions() as s:
        assert await runtime.log.size(s) == start + 1
        kind, body = await runtime.log.entry(s, start)
    assert kind == "publisher"
    assert parse_leaf_body(body) == (
        "publisher",
        {
            "action": "formats",
            "publisher": "who",
            "added": [DPC],
            "formats": [DPC, WHO],
            "reason": "WHO republishes it",
            "at": "2026-06-01T12:00:00Z",
        },
    )
    async with runtime.write_sessions() as s, s.begin():  # again: nothing to add, no leaf
        _publisher, added, index = await add_formats(s, runtime.log, "who", [DPC], reason="x")
        assert (added, index) == ([], None)
        # the catalogue record is still the publisher's: registering it again changes nothing
        _publisher, created = await add_publisher(s, catalogue()["who"])
        assert not created
        # a record declaring formats the publisher lacks is refused, saying how to widen
        wider = replace(catalogue()["who"], formats=(WHO, "owid-covid-data"))
        with pytest.raises(PublisherError, match="formats add who FORMAT"):
            await add_publisher(s, wider)
    report = await ingest(runtime, sample_bytes(DPC_SAMPLE), signer, format=DPC)
    assert report.status == "ingested" and report.new > 0
