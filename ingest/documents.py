"""Signed documents: a publisher's CSV exactly as published, its signed statement, and ingestion.

A publisher signs a C2SP signed note whose text is a *document statement*::

    corroborate/document/v1
    publisher who
    format who-covid-19-global-data
    name WHO-COVID-19-global-data.csv
    size 6384021
    sha256 867df4c3…(64 hex digits)
    signed 2026-11-21T10:00:00Z

Ingestion (``ingest_document``) checks the statement against the bytes and the format against
the ones the publisher's record declares (``check_format``), parses them with the format's
adapter, then in one writer transaction: verifies the signature against a key of that
publisher valid both when it says it signed and now, keeps the original content-addressed under
``<data dir>/documents/``, appends a ``document`` leaf and one ``observation`` leaf per new or
changed value, and stores the rows. Any failure rolls everything back (and removes an original it
had just written): a refused document leaves no trace but the error.

Values are stored as the publisher gave them. Two things are refused per row, listed in the
report with the record and the reason, never dropped silently: a negative *cumulative* count, and
a second value for a region, date and metric the same document already gave. A value that differs
from the publisher's latest stored version becomes the next version; an equal value adds nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ingest.adapters import FormatError, ParsedObservation, ParseResult, detect_format, get_adapter
from ingest.publishers import (
    PublisherError,
    as_utc,
    get_publisher,
    iso_utc,
    key_problem,
    parse_publisher_vkey,
    publisher_keys,
)
from ledger import merkle
from ledger.leaf import leaf_body
from ledger.note import NoteError, Signer, open_note, parse_note, sign_note
from ledger.store import TransparencyLog
from models import Document, Observation, Publisher, PublisherKey
from models.db import bulk_insert, driver_date

STATEMENT_HEADER = "corroborate/document/v1"
_STATEMENT_FIELDS = ("publisher", "format", "name", "size", "sha256", "signed")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
CLOCK_SKEW = dt.timedelta(minutes=5)
CHUNK = 20_000  # observations per ledger append and per insert
MAX_COUNT = 10**15  # beyond any real count; keeps values exact as JSON numbers (RFC 8785)
MAX_LISTED = 100  # refusals listed in a report (all are counted)

Progress = Callable[[int, int], None]


class DocumentError(ValueError):
    """A document refused as a whole; the message says what was expected and what arrived."""


@dataclass(frozen=True)
class Statement:
    publisher: str
    format: str
    name: str
    size: int
    sha256: str
    signed_at: dt.datetime

    def text(self) -> bytes:
        signed = iso_utc(self.signed_at)
        lines = [
            STATEMENT_HEADER,
            f"publisher {self.publisher}",
            f"format {self.format}",
            f"name {self.name}",
            f"size {self.size}",
            f"sha256 {self.sha256}",
            f"signed {signed}",
        ]
        return ("\n".join(lines) + "\n").encode()


def parse_statement(text: bytes) -> Statement:
    """The statement in a note's text; strict: the lines above, in that order, nothing else."""
    try:
        lines = text.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise DocumentError("document statement is not UTF-8 text") from None
    if lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != STATEMENT_HEADER:
        first = lines[0] if lines else ""
        raise DocumentError(
            f"expected a document statement starting {STATEMENT_HEADER!r}, got {first[:60]!r}"
        )
    expected = len(_STATEMENT_FIELDS) + 1
    if len(lines) != expected:
        raise DocumentError(
            f"document statement has {len(lines)} lines, expected {expected}: "
            f"{STATEMENT_HEADER} then {', '.join(_STATEMENT_FIELDS)}"
        )
    values: dict[str, str] = {}
    for wanted, line in zip(_STATEMENT_FIELDS, lines[1:], strict=True):
        key, _, value = line.partition(" ")
        if key != wanted or not value:
            raise DocumentError(f"document statement: expected '{wanted} <value>', got {line!r}")
        values[wanted] = value
    if not values["size"].isdigit():
        raise DocumentError(f"document statement: size {values['size']!r} is not a byte count")
    if not _SHA256.fullmatch(values["sha256"]):
        raise DocumentError(
            f"document statement: sha256 {values['sha256']!r} is not 64 lower-case hex digits"
        )
    if not _TIMESTAMP.fullmatch(values["signed"]):
        raise DocumentError(
            f"document statement: signed {values['signed']!r} is not YYYY-MM-DDTHH:MM:SSZ"
        )
    try:
        signed_at = dt.datetime.strptime(values["signed"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=dt.UTC
        )
    except ValueError:
        raise DocumentError(f"document statement: signed {values['signed']!r} is no date") from None
    return Statement(
        publisher=values["publisher"],
        format=values["format"],
        name=values["name"],
        size=int(values["size"]),
        sha256=values["sha256"],
        signed_at=signed_at,
    )


def sign_document(
    content: bytes,
    *,
    publisher: str,
    format: str,
    name: str,
    signer: Signer,
    signed_at: dt.datetime | None = None,
) -> bytes:
    """The signed note a publisher sends with ``content``."""
    moment = (signed_at or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    statement = Statement(
        publisher=publisher,
        format=format,
        name=name,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        signed_at=moment,
    )
    return sign_note(statement.text(), signer)


def check_statement(
    note: bytes, content: bytes, *, publisher: str, format: str
) -> tuple[Statement, str]:
    """Parse the note's statement and check it describes ``content``; returns it and its sha256."""
    try:
        parsed = parse_note(note)
    except NoteError as exc:
        raise DocumentError(f"signature file is not a signed note: {exc}") from None
    statement = parse_statement(parsed.text)
    digest = hashlib.sha256(content).hexdigest()
    if statement.publisher != publisher:
        raise DocumentError(
            f"the signed statement names publisher {statement.publisher!r}, not {publisher!r}"
        )
    if statement.format != format:
        raise DocumentError(
            f"the signed statement names format {statement.format!r}, not {format!r}"
        )
    if statement.size != len(content) or statement.sha256 != digest:
        raise DocumentError(
            f"the document does not match its signed statement: expected {statement.size} bytes "
            f"with sha256 {statement.sha256}, got {len(content)} bytes with sha256 {digest} "
            "(truncated or altered?)"
        )
    return statement, digest


def verify_signature(
    note: bytes, keys: Sequence[PublisherKey], slug: str, *moments: dt.datetime
) -> PublisherKey:
    """The key among ``keys`` whose signature on ``note`` verifies and that was valid at every
    one of ``moments``; DocumentError naming the problem otherwise."""
    verifiers = {}
    for key in keys:
        try:
            verifiers[key.id] = parse_publisher_vkey(key.vkey)
        except PublisherError:  # pragma: no cover - only valid keys are stored
            continue
    try:
        opened = open_note(note, verifiers.values())
    except NoteError as exc:
        if "no signature by a known key" in str(exc):
            found = ", ".join(f"{s.name}+{s.key_id_hex}" for s in parse_note(note).signatures)
            raise DocumentError(
                f"unknown key: the document is signed by [{found}], which is no key of "
                f"publisher {slug!r} (its keys: "
                f"{', '.join(f'{k.name}+{k.key_id:08x}' for k in keys) or 'none'})"
            ) from None
        raise DocumentError(f"wrong signature: {exc}") from None
    problems: list[str] = []
    for signature in opened.verified:
        for key in keys:
            if (key.name, key.key_id) != (signature.name, signature.key_id):
                continue
            issues = [p for p in (key_problem(key, moment) for moment in moments) if p]
            if not issues:
                return key
            problems.extend(issues)
    raise DocumentError(f"the document's key cannot sign now: {'; '.join(dict.fromkeys(problems))}")


def check_format(publisher: Publisher, format: str) -> None:
    """Refuse a document in a format ``publisher``'s record does not declare: one publisher's
    key must not put another publisher's file (and figures) on its record."""
    declared = list(publisher.formats or ())
    if format in declared:
        return
    raise DocumentError(
        f"publisher {publisher.slug!r} does not publish format {format!r}: its record declares "
        f"{', '.join(declared) or 'no formats'}, expected a document in one of those. If it "
        "really publishes this format too, an operator first runs `corroborate publishers "
        f"formats add {publisher.slug} {format} --reason TEXT` (recorded on the log)"
    )


async def _check_declared_format(
    sessions: async_sessionmaker[AsyncSession], publisher: str, format: str
) -> None:
    """The format check before parsing, so that a large document in a format its publisher does
    not declare is refused at once (the transaction checks again, under the log's lock)."""
    async with sessions() as session:
        check_format(await get_publisher(session, publisher), format)


# --- what a parse result becomes ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    row: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason}


def screen(result: ParseResult) -> tuple[list[ParsedObservation], list[Refusal]]:
    """The observations a document contributes, in record order, and the ones refused.

    Deterministic, so that ``verify_documents`` re-derives exactly what ingestion stored.
    """
    accepted: list[ParsedObservation] = []
    refused: list[Refusal] = []
    first: dict[tuple[str, dt.date, str], ParsedObservation] = {}
    for obs in result.observations:
        if not -MAX_COUNT < obs.value < MAX_COUNT:
            refused.append(
                Refusal(
                    obs.source_row,
                    obs.source_field,
                    f"count {obs.value} is out of range: expected at most 15 digits",
                )
            )
            continue
        if obs.value < 0 and "_cumulative" in obs.metric:
            refused.append(
                Refusal(
                    obs.source_row,
                    obs.source_field,
                    f"negative cumulative count {obs.value} for {obs.region} {obs.date} "
                    f"{obs.metric}: expected a count of 0 or more",
                )
            )
            continue
        key = (obs.region, obs.date, obs.metric)
        earlier = first.get(key)
        if earlier is not None:
            same = "the same value" if earlier.value == obs.value else f"value {earlier.value}"
            refused.append(
                Refusal(
                    obs.source_row,
                    obs.source_field,
                    f"duplicate: {obs.region} {obs.date} {obs.metric} was already given by "
                    f"record {earlier.source_row} with {same}; this record says {obs.value}",
                )
            )
            continue
        first[key] = obs
        accepted.append(obs)
    return accepted, refused


def parse_document(format: str, content: bytes) -> ParseResult:
    """Parse with the named format's adapter; a mismatch names the format the bytes look like."""
    adapter = get_adapter(format)
    try:
        return adapter.parse(content)
    except FormatError as exc:
        hint = ""
        try:
            looks = detect_format(content)
            if looks != format:
                hint = f" (the content looks like {looks!r})"
        except FormatError:
            pass
        raise DocumentError(f"{exc}{hint}") from None


# --- leaf records ---------------------------------------------------------------------------


def document_record(document: Document, publisher: Publisher, key: PublisherKey) -> dict[str, Any]:
    return {
        "publisher": publisher.slug,
        "format": document.format,
        "name": document.name,
        "size": document.size,
        "sha256": document.sha256,
        "signed_at": iso_utc(document.signed_at),
        "received_at": iso_utc(document.received_at),
        "key": key.vkey,
        "note": document.note,
    }


def observation_record(
    slug: str,
    sha256: str,
    document_index: int,
    region: str,
    date: dt.date,
    metric: str,
    value: int,
    version: int,
    row: int,
    field: str,
    derived_from: Sequence[str] | None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "publisher": slug,
        "document": sha256,
        "document_index": document_index,
        "region": region,
        "date": date.isoformat(),
        "metric": metric,
        "value": value,
        "version": version,
        "row": row,
        "field": field,
    }
    if derived_from:
        record["derived_from"] = list(derived_from)
    return record


# --- originals ------------------------------------------------------------------------------


def original_path(data_dir: Path, sha256: str) -> Path:
    return data_dir / "documents" / sha256[:2] / sha256


def store_original(data_dir: Path, sha256: str, content: bytes) -> bool:
    """Write the original (fsynced, atomically renamed); returns whether this call created it."""
    path = original_path(data_dir, sha256)
    if path.exists():
        if hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
            return False
        raise DocumentError(f"the stored original {path} does not match its name: tampered?")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o444)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return True


# --- ingestion ------------------------------------------------------------------------------


@dataclass
class IngestReport:
    """The ingestion summary (``as_dict`` is the CLI's ``--json`` object)."""

    publisher: str
    format: str
    name: str
    sha256: str
    size: int
    status: str = "ingested"  # or "unchanged" when the same bytes were ingested before
    document_id: int | None = None
    ledger_index: int | None = None
    records: int = 0
    observations: int = 0
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    skipped_empty: int = 0
    unmapped: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    refusals: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    leaves: int = 0
    log_size: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "document": {
                "id": self.document_id,
                "publisher": self.publisher,
                "format": self.format,
                "name": self.name,
                "sha256": self.sha256,
                "size": self.size,
                "ledger_index": self.ledger_index,
            },
            "rows_read": self.records,
            "observations": {
                "parsed": self.observations,
                "new": self.new,
                "revised": self.revised,
                "unchanged": self.unchanged,
            },
            "skipped_empty_cells": self.skipped_empty,
            "unmapped": self.unmapped,
            "rows_refused": self.refused,
            "refusals": self.refusals,
            "notes": self.notes,
            "ledger": {"leaves": self.leaves, "size": self.log_size},
            "seconds": round(self.seconds, 3),
        }


_OBSERVATION_COLUMNS = (
    "ledger_index",
    "publisher_id",
    "document_id",
    "region",
    "date",
    "metric",
    "version",
    "value",
    "source_row",
    "source_field",
    "derived_from",
    "latest",
)
SeriesKey = tuple[str, str, dt.date]  # (region, metric, date)


async def _latest_versions(
    session: AsyncSession, publisher_id: int, metrics: Iterable[str]
) -> dict[SeriesKey, tuple[int, int, int]]:
    """(version, value, ledger index) of the publisher's latest version of each series point."""
    table = Observation.__table__  # type: ignore[attr-defined]
    rows = await session.execute(
        select(
            table.c.region,
            table.c.metric,
            table.c.date,
            table.c.version,
            table.c.value,
            table.c.ledger_index,
        ).where(
            table.c.publisher_id == publisher_id,
            table.c.metric.in_(sorted(set(metrics))),
            table.c.latest.is_(True),
        )
    )
    return {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in rows}


async def ingest_document(
    sessions: async_sessionmaker[AsyncSession],
    log: TransparencyLog,
    data_dir: Path,
    *,
    publisher: str,
    format: str,
    content: bytes,
    note: bytes,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> IngestReport:
    """Verify, keep, parse and record one document, all or nothing (see the module docstring).

    ``sessions`` must open writer sessions (``models.writer``): SQLite's write lock is taken at
    BEGIN. Parsing happens before the transaction, so a large file holds the lock only while its
    rows are written.
    """
    started = time.perf_counter()
    statement, digest = check_statement(note, content, publisher=publisher, format=format)
    get_adapter(format)  # an unknown format is named as such, before the publisher's formats
    await _check_declared_format(sessions, publisher, format)
    result = parse_document(format, content)
    accepted, refusals = screen(result)
    report = IngestReport(
        publisher=publisher,
        format=format,
        name=statement.name,
        sha256=digest,
        size=len(content),
        records=result.records,
        observations=len(accepted),
        skipped_empty=result.skipped_empty,
        unmapped=[{"name": u.raw, "rows": u.rows, "reason": u.reason} for u in result.unmapped],
        refused=len(refusals),
        refusals=[r.as_dict() for r in refusals[:MAX_LISTED]],
        notes=list(result.notes),
    )
    created_file = False
    try:
        async with sessions() as session, session.begin():
            await log.lock(session)
            received = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
            if statement.signed_at > received + CLOCK_SKEW:
                raise DocumentError(
                    f"the statement says it was signed at {iso_utc(statement.signed_at)}, "
                    f"after now ({iso_utc(received)}): expected a time in the past"
                )
            owner = await get_publisher(session, publisher)
            check_format(owner, format)
            keys = await publisher_keys(session, owner.id or 0)
            key = verify_signature(note, keys, publisher, statement.signed_at, received)
            seen = await session.execute(
                select(Document).where(
                    Document.publisher_id == owner.id,  # type: ignore[arg-type]
                    Document.sha256 == digest,  # type: ignore[arg-type]
                )
            )
            earlier = seen.scalar_one_or_none()
            if earlier is not None:
                report.status = "unchanged"
                report.document_id = earlier.id
                report.ledger_index = earlier.ledger_index
                report.unchanged = len(accepted)
                report.log_size = await log.size(session)
                report.notes.append(
                    f"the same bytes were ingested before as document {earlier.id} "
                    f"(received {iso_utc(earlier.received_at)}); nothing changed"
                )
                report.seconds = time.perf_counter() - started
                return report

            created_file = store_original(data_dir, digest, content)
            document = Document(
                publisher_id=owner.id or 0,
                key_id=key.id or 0,
                format=format,
                sha256=digest,
                size=len(content),
                name=statement.name,
                note=note.decode("utf-8"),
                signed_at=statement.signed_at,
                received_at=received,
                ledger_index=-1,
                report={},
            )
            body = leaf_body("document", document_record(document, owner, key))
            appended = await log.append(session, [("document", body)])
            document.ledger_index = appended.first_index
            session.add(document)
            await session.flush()
            report.document_id = document.id
            report.ledger_index = document.ledger_index
            report.leaves = 1
            report.log_size = appended.size

            latest = await _latest_versions(
                session, owner.id or 0, {obs.metric for obs in accepted}
            )
            await _write_observations(
                session, log, owner, document, accepted, latest, report, progress
            )
            document.report = report.as_dict() | {"seconds": None}
            await session.flush()
    except BaseException:
        if created_file:
            _forget_original(data_dir, digest)
        raise
    report.seconds = time.perf_counter() - started
    return report


def _forget_original(data_dir: Path, sha256: str) -> None:
    """Remove an original written by a transaction that rolled back (nothing refers to it)."""
    original_path(data_dir, sha256).unlink(missing_ok=True)


async def _write_observations(
    session: AsyncSession,
    log: TransparencyLog,
    owner: Publisher,
    document: Document,
    accepted: list[ParsedObservation],
    latest: dict[SeriesKey, tuple[int, int, int]],
    report: IngestReport,
    progress: Progress | None,
) -> None:
    table = Observation.__table__  # type: ignore[attr-defined]
    native_dates = driver_date(session)
    slug, sha, doc_index, doc_id, pub_id = (
        owner.slug,
        document.sha256,
        document.ledger_index,
        document.id,
        owner.id,
    )
    pending: list[tuple[ParsedObservation, int]] = []  # (observation, version)
    superseded: list[int] = []
    for obs in accepted:
        metric = str(obs.metric)
        current = latest.get((obs.region, metric, obs.date))
        if current is None:
            pending.append((obs, 1))
            report.new += 1
        elif current[1] == obs.value:
            report.unchanged += 1
        else:
            pending.append((obs, current[0] + 1))
            superseded.append(current[2])
            report.revised += 1
    total = len(pending)
    if progress:
        progress(0, total)
    for start in range(0, total, CHUNK):
        chunk = pending[start : start + CHUNK]
        leaves = []
        for obs, version in chunk:
            record = observation_record(
                slug,
                sha,
                doc_index,
                obs.region,
                obs.date,
                str(obs.metric),
                obs.value,
                version,
                obs.source_row,
                obs.source_field,
                obs.derived_from,
            )
            leaves.append(("observation", leaf_body("observation", record, plain=True)))
        appended = await log.append(session, leaves)
        first = appended.first_index
        await bulk_insert(
            session,
            "observation",
            _OBSERVATION_COLUMNS,
            [
                (
                    first + i,
                    pub_id,
                    doc_id,
                    obs.region,
                    obs.date if native_dates else obs.date.isoformat(),
                    str(obs.metric),
                    version,
                    obs.value,
                    obs.source_row,
                    obs.source_field,
                    json.dumps(list(obs.derived_from)) if obs.derived_from else None,
                    True,
                )
                for i, (obs, version) in enumerate(chunk)
            ],
        )
        report.leaves += len(chunk)
        report.log_size = appended.size
        if progress:
            progress(min(start + CHUNK, total), total)
    for start in range(0, len(superseded), 1000):
        await session.execute(
            update(table)
            .where(table.c.ledger_index.in_(superseded[start : start + 1000]))
            .values(latest=False)
        )


# --- validation against the original -------------------------------------------------------


@dataclass
class DocumentCheck:
    document_id: int
    publisher: str
    name: str
    sha256: str
    observations: int = 0
    problems: list[str] = field(default_factory=list)
    more_problems: int = 0

    def add(self, problem: str) -> None:
        if len(self.problems) < MAX_LISTED:
            self.problems.append(problem)
        else:
            self.more_problems += 1

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "document": self.document_id,
            "publisher": self.publisher,
            "name": self.name,
            "sha256": self.sha256,
            "observations_checked": self.observations,
            "ok": self.ok,
            "problems": self.problems,
            "more_problems": self.more_problems,
        }


async def verify_documents(
    session: AsyncSession,
    log: TransparencyLog,
    data_dir: Path,
    document_ids: Sequence[int] | None = None,
) -> list[DocumentCheck]:
    """Validation 2: for each document (all when ``document_ids`` is None), check that

    - the kept original is there and its bytes have the recorded SHA-256 and size;
    - the signed statement describes those bytes and the publisher's signature verifies with the
      recorded key, which was valid when the document was received;
    - the ``document`` leaf and every ``observation`` leaf hash to what the log's tiles hold
      (which ``corroborate ledger audit`` ties to the signed checkpoint);
    - re-parsing the original yields exactly the stored observations: every value this document
      introduced, and for every other value it gave, the version current when it arrived.
    """
    query = select(Document).order_by(Document.id)  # type: ignore[arg-type]
    if document_ids is not None:
        query = query.where(Document.id.in_(list(document_ids)))  # type: ignore[union-attr]
    documents = list((await session.execute(query)).scalars())
    if document_ids is not None:
        missing = sorted(set(document_ids) - {d.id for d in documents})
        if missing:
            raise DocumentError(f"no document with id {', '.join(map(str, missing))}")
    hashes = _TileHashes(log, session)
    checks = []
    for document in documents:
        checks.append(await _verify_one(session, hashes, data_dir, document))
    return checks


class _TileHashes:
    """Leaf hashes as the log's level-0 tiles hold them, read one tile at a time."""

    def __init__(self, log: TransparencyLog, session: AsyncSession) -> None:
        self._log, self._session = log, session
        self._cache: dict[int, bytes] = {}

    async def load(self, indices: Iterable[int]) -> None:
        """Read the tiles holding ``indices`` that are not cached yet."""
        needed = {index // 256 for index in indices}
        if len(self._cache) + len(needed - self._cache.keys()) > 4096:
            self._cache = {t: self._cache[t] for t in needed if t in self._cache}
        for tile_index in sorted(needed - self._cache.keys()):
            self._cache[tile_index] = await self._log.tile(self._session, 0, tile_index) or b""

    def get(self, index: int) -> bytes | None:
        """The hash of leaf ``index``, from a tile ``load`` read (None if the log lacks it)."""
        tile = self._cache.get(index // 256, b"")
        offset = (index % 256) * 32
        found = tile[offset : offset + 32]
        return found if len(found) == 32 else None

    async def __call__(self, index: int) -> bytes | None:
        await self.load((index,))
        return self.get(index)


async def _verify_one(
    session: AsyncSession, hashes: _TileHashes, data_dir: Path, document: Document
) -> DocumentCheck:
    owner = await session.get(Publisher, document.publisher_id)
    key = await session.get(PublisherKey, document.key_id)
    assert owner is not None and key is not None  # foreign keys
    check = DocumentCheck(document.id or 0, owner.slug, document.name, document.sha256)
    path = original_path(data_dir, document.sha256)
    try:
        content = path.read_bytes()
    except OSError as exc:
        check.add(f"the original {path} cannot be read: {exc.strerror or exc}")
        return check
    digest = hashlib.sha256(content).hexdigest()
    if digest != document.sha256 or len(content) != document.size:
        check.add(
            f"the original {path} has changed: expected {document.size} bytes with sha256 "
            f"{document.sha256}, found {len(content)} bytes with sha256 {digest}"
        )
        return check
    note = document.note.encode("utf-8")
    try:
        check_statement(note, content, publisher=owner.slug, format=document.format)
        verify_signature(note, [key], owner.slug, as_utc(document.received_at))
    except DocumentError as exc:
        check.add(f"signature: {exc}")
    body = leaf_body("document", document_record(document, owner, key))
    if await hashes(document.ledger_index) != merkle.leaf_hash(body):
        check.add(
            f"the document leaf {document.ledger_index} does not hash to what the log holds: "
            "the stored document record differs from what was appended"
        )
    try:
        expected, _refusals = screen(parse_document(document.format, content))
    except (DocumentError, FormatError) as exc:
        check.add(f"the original no longer parses: {exc}")
        return check
    await _compare_observations(session, hashes, owner, document, expected, check)
    return check


async def _compare_observations(
    session: AsyncSession,
    hashes: _TileHashes,
    owner: Publisher,
    document: Document,
    expected: list[ParsedObservation],
    check: DocumentCheck,
) -> None:
    """Walk the publisher's stored versions series point by series point (the unique index's
    order), so that only the document's own parse is held in memory."""
    table = Observation.__table__  # type: ignore[attr-defined]
    wanted = {(o.region, str(o.metric), o.date): o for o in expected}
    expected.clear()
    metrics = sorted({key[1] for key in wanted})
    rows = await session.stream(
        select(table)
        .where(
            table.c.publisher_id == owner.id,
            table.c.metric.in_(metrics),
            table.c.ledger_index <= _last_index_bound(document),
        )
        .order_by(table.c.region, table.c.metric, table.c.date, table.c.version)
        .execution_options(yield_per=CHUNK)
    )

    def settle(key: SeriesKey, current: tuple[int, int] | None) -> None:
        """Compare the version current when the document arrived with what the original says."""
        obs = wanted.pop(key, None)
        if obs is None:
            return  # a point only other documents give
        if current is None:
            check.add(
                f"record {obs.source_row} ({obs.source_field}): {obs.region} {obs.date} "
                f"{obs.metric} = {obs.value} is in the original but not stored"
            )
        elif current[1] != obs.value:
            check.add(
                f"record {obs.source_row} ({obs.source_field}): {obs.region} {obs.date} "
                f"{obs.metric}: the original gives {obs.value}, the version stored when the "
                f"document arrived (leaf {current[0]}) says {current[1]}"
            )

    last_key: SeriesKey | None = None
    current: tuple[int, int] | None = None  # (ledger index, value)
    async for batch in rows.partitions():
        await hashes.load(row.ledger_index for row in batch if row.document_id == document.id)
        for row in batch:
            key = (row.region, row.metric, row.date)
            if key != last_key:
                if last_key is not None:
                    settle(last_key, current)
                last_key, current = key, None
            if row.document_id == document.id:
                check.observations += 1
                _check_own_row(hashes, owner, document, row, wanted.get(key), check)
            if row.document_id == document.id or row.ledger_index < document.ledger_index:
                current = (row.ledger_index, row.value)
    if last_key is not None:
        settle(last_key, current)
    for key in list(wanted):
        settle(key, None)


def _check_own_row(
    hashes: _TileHashes,
    owner: Publisher,
    document: Document,
    row: Any,
    obs: ParsedObservation | None,
    check: DocumentCheck,
) -> None:
    """A version this document introduced: it is in the original, and it is what was logged."""
    where = f"record {row.source_row} ({row.source_field})"
    if obs is None:
        check.add(
            f"{where}: stored observation {row.region} {row.date} {row.metric} = "
            f"{row.value} (leaf {row.ledger_index}) is not in the original"
        )
    elif (row.value, row.source_row, row.source_field, tuple(row.derived_from or ())) != (
        obs.value,
        obs.source_row,
        obs.source_field,
        obs.derived_from,
    ):
        check.add(
            f"record {obs.source_row} ({obs.source_field}): stored {row.region} "
            f"{row.date} {row.metric} = {row.value} (record {row.source_row}, leaf "
            f"{row.ledger_index}), the original gives {obs.value}"
        )
    body = leaf_body(
        "observation",
        observation_record(
            owner.slug,
            document.sha256,
            document.ledger_index,
            row.region,
            row.date,
            row.metric,
            row.value,
            row.version,
            row.source_row,
            row.source_field,
            row.derived_from,
        ),
        plain=True,
    )
    if hashes.get(row.ledger_index) != merkle.leaf_hash(body):
        check.add(
            f"{where}: observation {row.region} {row.date} {row.metric} = {row.value} "
            f"(leaf {row.ledger_index}) differs from what was appended to the log"
        )


def _last_index_bound(document: Document) -> int:
    """Observation leaves of a document follow its document leaf; those of later documents
    come after. An upper bound for the query; rows are filtered exactly in Python."""
    report = document.report or {}
    ledger = report.get("ledger", {}) if isinstance(report, dict) else {}
    size = ledger.get("size") if isinstance(ledger, dict) else None
    return int(size) - 1 if isinstance(size, int) else 2**62
