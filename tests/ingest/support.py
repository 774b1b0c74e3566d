"""Helpers for the ingest tests: where the real files are, and plain-csv lookups in them that do
not go through the adapters (so a test compares an adapter with the raw file, not with itself).

The full files live in ``../shared/data`` beside the repository. Without them a full-file test is
skipped, unless ``CORROBORATE_REQUIRE_SHARED_DATA=1``, when it fails. Samples (``samples/``) are
part of the repository and always tested.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from ingest.adapters import ParsedObservation, ParseResult, get_adapter

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared" / "data"


def sample_bytes(relative: str) -> bytes:
    return (SAMPLES / relative).read_bytes()


def shared_path(relative: str) -> Path:
    path = SHARED / relative
    if not path.is_file():
        message = f"shared data file {path} is missing"
        if os.environ.get("CORROBORATE_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(f"{message} and CORROBORATE_REQUIRE_SHARED_DATA=1")
        pytest.skip(message)
    return path


def shared_bytes(relative: str) -> bytes:
    return shared_path(relative).read_bytes()


def parse(format: str, content: bytes) -> ParseResult:
    return get_adapter(format).parse(content)


def raw_records(content: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and records of a CSV, read with nothing but the csv module."""
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def raw_cell(content: bytes, match: Callable[[dict[str, str]], bool], column: str) -> str:
    header, records = raw_records(content)
    found = [
        dict(zip(header, r, strict=True))[column]
        for r in records
        if match(dict(zip(header, r, strict=True)))
    ]
    assert len(found) == 1, f"expected one record, found {len(found)}"
    return found[0]


def find(
    observations: Iterable[ParsedObservation],
    region: str,
    date: datetime.date,
    metric: str,
) -> list[ParsedObservation]:
    return [o for o in observations if o.region == region and o.date == date and o.metric == metric]


def one(
    observations: Iterable[ParsedObservation],
    region: str,
    date: datetime.date,
    metric: str,
) -> ParsedObservation:
    found = find(observations, region, date, metric)
    assert len(found) == 1, f"expected one {metric} for {region} on {date}, found {found}"
    return found[0]


def unmapped(result: ParseResult) -> dict[str, tuple[int, str]]:
    return {u.raw: (u.rows, u.reason) for u in result.unmapped}


def set_cell(content: bytes, record: int, column: str, value: str) -> bytes:
    """The document with one cell of one record replaced (the record re-written by csv)."""
    lines = content.splitlines(keepends=True)
    header = next(csv.reader([lines[0].decode("utf-8-sig")]))
    fields = next(csv.reader([lines[record].decode("utf-8")]))
    fields[header.index(column)] = value
    ending = "\r\n" if lines[record].endswith(b"\r\n") else "\n"
    out = io.StringIO()
    csv.writer(out, lineterminator=ending).writerow(fields)
    lines[record] = out.getvalue().encode("utf-8")
    return b"".join(lines)


def blank_cell(content: bytes, record: int, column: str) -> bytes:
    """The document with one cell emptied (to test that blanks are skipped, never zeroed)."""
    return set_cell(content, record, column, "")


def replace_in_record(content: bytes, record: int, old: bytes, new: bytes) -> bytes:
    lines = content.splitlines(keepends=True)
    assert old in lines[record], (old, lines[record][:80])
    lines[record] = lines[record].replace(old, new, 1)
    return b"".join(lines)
