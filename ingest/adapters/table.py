"""Reading publisher CSVs strictly: decoding, records, counts, dates, and the generic adapter for
"long" tables (one record per region and date, one column per metric).

Every failure is a ``FormatError`` naming the format, where (record and line) and what arrived.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ingest.adapters.base import FormatError, Metric, ParsedObservation, ParseResult, UnmappedName

_PREVIEW = 160


def preview(fields: Sequence[str]) -> str:
    text = ",".join(fields)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


def decode(fmt: str, content: bytes) -> str:
    """Strict UTF-8, one leading byte-order mark allowed (WHO's file has one)."""
    if not content:
        raise FormatError(f"{fmt}: expected a CSV document, got 0 bytes")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FormatError(
            f"{fmt}: expected UTF-8 text, got byte 0x{content[error.start]:02x} "
            f"at offset {error.start} that is not UTF-8"
        ) from None
    return text.removeprefix("\ufeff")


def first_line_header(content: bytes) -> list[str] | None:
    """The header of a document, read from its first line only (for format detection)."""
    end = content.find(b"\n")
    line = content if end < 0 else content[:end]
    try:
        text = line.decode("utf-8").removeprefix("\ufeff")
        return next(csv.reader([text.rstrip("\r")], strict=True), None)
    except (UnicodeDecodeError, csv.Error):
        return None


Record = tuple[int, int, list[str]]  # (record number, line number where it ends, fields)


def read_csv(fmt: str, content: bytes) -> tuple[list[str], Iterator[Record]]:
    """The header and an iterator of data records, each with exactly as many fields."""
    text = decode(fmt, content)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise FormatError(f"{fmt}: expected a CSV header, got an empty document") from None
    except csv.Error as error:
        raise FormatError(f"{fmt}: expected a CSV header, got malformed CSV ({error})") from None

    def records() -> Iterator[Record]:
        width = len(header)
        record = 0
        try:
            for fields in reader:
                record += 1
                if len(fields) != width:
                    raise FormatError(
                        f"{fmt}: record {record} (line {reader.line_num}): expected {width} "
                        f"fields as in the header, got {len(fields)}: {preview(fields)!r}"
                    )
                yield record, reader.line_num, fields
        except csv.Error as error:
            raise FormatError(
                f"{fmt}: record {record + 1} (line {reader.line_num}): malformed CSV ({error})"
            ) from None

    return header, records()


def columns(header_line: str) -> tuple[str, ...]:
    """A header written as the publisher's first line (no quoting inside names)."""
    return tuple(header_line.split(","))


def expect_header(fmt: str, header: Sequence[str], expected: Sequence[str]) -> None:
    if list(header) == list(expected):
        return
    missing = [c for c in expected if c not in header]
    unexpected = [c for c in header if c not in expected]
    detail = []
    if missing:
        detail.append(f"missing {', '.join(map(repr, missing[:5]))}")
    if unexpected:
        detail.append(f"unexpected {', '.join(map(repr, unexpected[:5]))}")
    if not missing and not unexpected:
        detail.append("same columns in another order")
    raise FormatError(
        f"{fmt}: expected header {preview(expected)!r}, got {preview(header)!r} ({'; '.join(detail)})"
    )


class BadValue(ValueError):
    """A cell that does not fit; the row loop adds the format and record to the message."""

    def __init__(self, column: str, expected: str, value: str) -> None:
        super().__init__(column, expected, value)
        self.column = column
        self.expected = expected
        self.value = value

    def at(self, fmt: str, record: int, line: int) -> FormatError:
        return FormatError(
            f"{fmt}: record {record} (line {line}), column {self.column!r}: "
            f"expected {self.expected}, got {self.value!r}"
        )


def count(column: str, value: str) -> int | None:
    """A published count: ASCII digits with an optional minus; blank is None (never zero)."""
    if not value:
        return None
    digits = value[1:] if value[0] == "-" else value
    if digits.isdigit() and digits.isascii():
        return int(value)
    raise BadValue(column, "an integer count", value)


@dataclass(frozen=True)
class DateFormat:
    label: str  # how the publisher writes dates, for messages: "M/D/YY"
    pattern: re.Pattern[str]  # named groups y, m, d
    century: int = 0  # added to a two-digit year

    def parse(self, value: str) -> datetime.date:
        """The date, or ``ValueError`` if ``value`` is not one in this format."""
        match = self.pattern.fullmatch(value)
        if match is None:
            raise ValueError(value)
        return datetime.date(int(match["y"]) + self.century, int(match["m"]), int(match["d"]))


def _date_format(label: str, pattern: str, century: int = 0) -> DateFormat:
    return DateFormat(label, re.compile(pattern, re.ASCII), century)


ISO_DATE = _date_format("YYYY-MM-DD", r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})")
ISO_DATE_TIME = _date_format(
    "YYYY-MM-DDTHH:MM:SS",
    r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d",
)
COMPACT_DATE = _date_format("YYYYMMDD", r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})")
US_SHORT_DATE = _date_format("M/D/YY", r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{2})", 2000)
US_LONG_DATE = _date_format("MM/DD/YYYY", r"(?P<m>\d{2})/(?P<d>\d{2})/(?P<y>\d{4})")
EUROPEAN_DATE = _date_format("DD/MM/YYYY", r"(?P<d>\d{2})/(?P<m>\d{2})/(?P<y>\d{4})")


class DateReader:
    """Parses one column's dates, remembering each distinct string (files repeat them a lot)."""

    def __init__(self, date_format: DateFormat) -> None:
        self.date_format = date_format
        self._seen: dict[str, datetime.date] = {}

    def __call__(self, column: str, value: str) -> datetime.date:
        day = self._seen.get(value)
        if day is None:
            try:
                day = self.date_format.parse(value)
            except ValueError:
                raise BadValue(column, f"a date as {self.date_format.label}", value) from None
            self._seen[value] = day
        return day


class UnmappedTally:
    def __init__(self) -> None:
        self._rows: dict[str, int] = {}
        self._reasons: dict[str, str] = {}

    def add(self, raw: str, reason: str) -> None:
        self._rows[raw] = self._rows.get(raw, 0) + 1
        self._reasons.setdefault(raw, reason)

    def result(self) -> list[UnmappedName]:
        return [
            UnmappedName(raw, self._rows[raw], self._reasons[raw]) for raw in sorted(self._rows)
        ]


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A record whose place maps to no region: what the publisher wrote and why."""

    raw: str
    reason: str


class LongTableAdapter:
    """A table with one record per region and date and one column per metric.

    Subclasses name the exact header, the date column and its format, the metric columns and the
    columns that identify the region, and implement ``region_for``. The header must match
    exactly: a publisher that adds, drops or renames a column gets a ``FormatError`` naming the
    difference rather than a silent misreading.
    """

    format: str
    description: str
    header: tuple[str, ...]
    date_column: str
    date_format: DateFormat
    metrics: tuple[tuple[str, Metric], ...]
    region_columns: tuple[str, ...]
    left_out = "records left out"  # what ``keep`` drops, for the notes

    def region_for(self, key: tuple[str, ...]) -> str | Unresolved:
        """The region of records whose ``region_columns`` hold ``key``; may raise BadValue."""
        raise NotImplementedError

    def keep(self, fields: Sequence[str]) -> bool:
        """Whether a (valid) record gives observations; records left out are counted in notes."""
        return True

    def check(self, fields: Sequence[str]) -> None:
        """Cross-column checks on a record; raise BadValue when it contradicts itself."""

    def fixed_notes(self) -> list[str]:
        return []

    def column(self, name: str) -> int:
        return self.header.index(name)

    def header_matches(self, header: Sequence[str]) -> bool:
        return tuple(header) == self.header

    def parse(self, content: bytes) -> ParseResult:
        fmt = self.format
        header, records = read_csv(fmt, content)
        expect_header(fmt, header, self.header)
        date_index = self.column(self.date_column)
        metric_columns = [(self.column(name), name, metric) for name, metric in self.metrics]
        region_indexes = [self.column(name) for name in self.region_columns]
        read_date = DateReader(self.date_format)
        regions: dict[tuple[str, ...], str | Unresolved] = {}
        unmapped = UnmappedTally()
        seen: set[tuple[str, datetime.date]] = set()
        observations: list[ParsedObservation] = []
        skipped_empty = dropped = duplicates = total = 0

        for record, line, fields in records:
            total = record
            try:
                day = read_date(self.date_column, fields[date_index])
                values = [
                    (name, metric, count(name, fields[i])) for i, name, metric in metric_columns
                ]
                self.check(fields)
                key = tuple(fields[i] for i in region_indexes)
                region = regions.get(key)
                if region is None:
                    region = regions[key] = self.region_for(key)
            except BadValue as error:
                raise error.at(fmt, record, line) from None
            if not self.keep(fields):
                dropped += 1
                continue
            if isinstance(region, Unresolved):
                unmapped.add(region.raw, region.reason)
                continue
            if (region, day) in seen:
                duplicates += 1
            seen.add((region, day))
            for name, metric, value in values:
                if value is None:
                    skipped_empty += 1
                    continue
                observations.append(ParsedObservation(region, day, metric, value, record, name))

        notes = self.fixed_notes()
        if dropped:
            notes.append(f"{dropped} {self.left_out}")
        if duplicates:
            notes.append(
                f"{duplicates} records repeat a region and date seen earlier (ingestion keeps "
                "the first value and refuses the repeats, naming both records)"
            )
        return ParseResult(fmt, observations, unmapped.result(), skipped_empty, notes, total)
