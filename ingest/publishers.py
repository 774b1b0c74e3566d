"""Publishers and their signing keys.

A publisher is registered once (``add_publisher``); registering the same record again changes
nothing, a different record under a taken slug is refused. Its Ed25519 keys are C2SP signed-note
verifier keys (``<name>+<key id>+<base64>``). Adding, rotating and revoking a key each append a
``key`` leaf to the ledger in the same transaction as the change, so the history of which key could
sign for whom, and when, is provable.

Validity: a key signs for its publisher from ``valid_from`` until ``valid_until`` (exclusive; open
when unset) unless revoked, from ``revoked_at`` on. Rotation registers the new key and ends the old
keys' windows after a grace period (default one day): documents signed with an old key before the
rotation are accepted if they arrive within the grace (a key must be valid when a document is
signed and when it arrives).

Formats: a publisher's record declares the document formats (adapter names) it publishes, and a
document in any other format is refused (``ingest.documents.check_format``), so that one publisher's key cannot
put another publisher's file on its record. Only an operator widens them (``add_formats``), and
each widening appends a ``publisher`` leaf, so the change is on the log for anyone to see.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest import regions
from ingest.kinds import PUBLISHER_KINDS
from ledger.leaf import leaf_body
from ledger.note import NoteError, Verifier, parse_vkey
from ledger.store import TransparencyLog
from ledger.times import rfc3339
from models import Publisher, PublisherKey

KINDS = PUBLISHER_KINDS
WORLDWIDE = "*"
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_HOMEPAGE = re.compile(r"https?://[^\s]+")
DEFAULT_GRACE = dt.timedelta(days=1)


class PublisherError(ValueError):
    """A publisher or key operation that cannot be done; the message says what was expected."""


@dataclass(frozen=True)
class PublisherSpec:
    """What registering a publisher takes; ``conventions`` holds ``report_lag_days`` (a report
    dated D covers counts up to D - report_lag_days) and ``description``."""

    slug: str
    name: str
    homepage: str
    licence: str
    kind: str
    jurisdictions: tuple[str, ...]
    conventions: dict[str, Any] = field(default_factory=dict)
    formats: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        found = []
        if not _SLUG.fullmatch(self.slug):
            found.append(
                f"slug {self.slug!r}: expected 1-64 lower-case letters, digits and inner hyphens"
            )
        for name, value in (("name", self.name), ("licence", self.licence)):
            if not value.strip():
                found.append(f"{name}: expected text, got nothing")
        if not _HOMEPAGE.fullmatch(self.homepage):
            found.append(f"homepage {self.homepage!r}: expected an http(s) URL")
        if self.kind not in KINDS:
            found.append(f"kind {self.kind!r}: expected one of {', '.join(KINDS)}")
        if not self.jurisdictions:
            found.append(f"jurisdictions: expected region codes or {WORLDWIDE!r}, got none")
        for code in self.jurisdictions:
            if code != WORLDWIDE and regions.region(code) is None:
                found.append(f"jurisdiction {code!r}: expected a region code such as ITA or US-NY")
        lag = self.conventions.get("report_lag_days", 0)
        if not isinstance(lag, int) or isinstance(lag, bool) or not -7 <= lag <= 30:
            found.append(f"report_lag_days {lag!r}: expected an integer from -7 to 30")
        if not isinstance(self.conventions.get("description", ""), str):
            found.append("conventions.description: expected text")
        unknown = set(self.conventions) - {"report_lag_days", "description"}
        if unknown:
            found.append(
                f"conventions: unexpected {', '.join(sorted(unknown))}; "
                "expected report_lag_days and description"
            )
        found.extend(format_problems(self.formats))
        return found

    def record(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "homepage": self.homepage,
            "licence": self.licence,
            "kind": self.kind,
            "jurisdictions": list(self.jurisdictions),
            "conventions": {
                "report_lag_days": self.conventions.get("report_lag_days", 0),
                "description": self.conventions.get("description", "not declared"),
            },
            "formats": sorted(set(self.formats)),
        }


def format_problems(formats: Sequence[str]) -> list[str]:
    """What is wrong with a list of document formats: each must be an adapter's name."""
    from ingest.adapters import ADAPTERS

    unknown = [name for name in formats if name not in ADAPTERS]
    if not unknown:
        return []
    return [
        f"format {', '.join(repr(name) for name in unknown)}: expected adapter names, one of "
        f"{', '.join(sorted(ADAPTERS))}"
    ]


def catalogue() -> dict[str, PublisherSpec]:
    """The publishers of the real files, from ``ingest/data/publishers.toml``, by slug."""
    text = resources.files("ingest.data").joinpath("publishers.toml").read_text(encoding="utf-8")
    return {spec.slug: spec for spec in specs_from_toml(text, "ingest/data/publishers.toml")}


def specs_from_toml(text: str, where: str) -> list[PublisherSpec]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PublisherError(f"{where}: expected TOML, {exc}") from None
    entries = data.get("publisher")
    if not isinstance(entries, list) or not entries:
        raise PublisherError(f"{where}: expected [[publisher]] tables, found none")
    specs = []
    for number, entry in enumerate(entries, 1):
        try:
            spec = PublisherSpec(
                slug=str(entry["slug"]),
                name=str(entry["name"]),
                homepage=str(entry["homepage"]),
                licence=str(entry["licence"]),
                kind=str(entry["kind"]),
                jurisdictions=tuple(str(code) for code in entry["jurisdictions"]),
                conventions=dict(entry.get("conventions", {})),
                formats=tuple(str(name) for name in entry.get("formats", ())),
            )
        except (KeyError, TypeError) as exc:
            raise PublisherError(
                f"{where}: publisher {number} lacks {exc}: expected slug, name, homepage, "
                "licence, kind, jurisdictions"
            ) from None
        problems = spec.problems()
        if problems:
            raise PublisherError(f"{where}: publisher {spec.slug!r}: {'; '.join(problems)}")
        specs.append(spec)
    return specs


def _same(publisher: Publisher, spec: PublisherSpec) -> bool:
    """Whether ``spec`` describes the registered publisher: the same record, and formats the
    publisher already declares (an operator may have widened them since, on the log)."""
    record = spec.record()
    formats = set(record.pop("formats"))
    return formats <= set(publisher.formats or ()) and all(
        getattr(publisher, name) == record[name] for name in record
    )


async def add_publisher(
    session: AsyncSession, spec: PublisherSpec, *, now: dt.datetime | None = None
) -> tuple[Publisher, bool]:
    """Register ``spec``; returns the publisher and whether it was new. Idempotent."""
    problems = spec.problems()
    if problems:
        raise PublisherError(f"publisher {spec.slug!r}: {'; '.join(problems)}")
    existing = await find_publisher(session, spec.slug)
    if existing is not None:
        if _same(existing, spec):
            return existing, False
        missing = sorted(set(spec.formats) - set(existing.formats or ()))
        widen = (
            f" (its formats lack {', '.join(missing)}: an operator widens them with "
            f"`corroborate publishers formats add {spec.slug} FORMAT --reason TEXT`)"
            if missing
            else ""
        )
        raise PublisherError(
            f"publisher {spec.slug!r} is already registered with other details{widen}; "
            "a publisher's record is not rewritten"
        )
    publisher = Publisher(**spec.record(), created_at=now or dt.datetime.now(dt.UTC))
    session.add(publisher)
    await session.flush()
    return publisher, True


async def find_publisher(session: AsyncSession, slug: str) -> Publisher | None:
    result = await session.execute(select(Publisher).where(Publisher.slug == slug))  # type: ignore[arg-type]
    return result.scalar_one_or_none()


async def get_publisher(session: AsyncSession, slug: str) -> Publisher:
    publisher = await find_publisher(session, slug)
    if publisher is None:
        known = [p.slug for p in await list_publishers(session)]
        raise PublisherError(
            f"unknown publisher {slug!r}: expected one of {', '.join(known) or '(none registered)'}"
        )
    return publisher


async def list_publishers(session: AsyncSession) -> list[Publisher]:
    result = await session.execute(select(Publisher).order_by(Publisher.slug))
    return list(result.scalars())


async def publisher_keys(session: AsyncSession, publisher_id: int) -> list[PublisherKey]:
    result = await session.execute(
        select(PublisherKey)
        .where(PublisherKey.publisher_id == publisher_id)  # type: ignore[arg-type]
        .order_by(PublisherKey.id)  # type: ignore[arg-type]
    )
    return list(result.scalars())


async def add_formats(
    session: AsyncSession,
    log: TransparencyLog,
    slug: str,
    formats: Sequence[str],
    *,
    reason: str,
    now: dt.datetime | None = None,
) -> tuple[Publisher, list[str], int | None]:
    """Widen ``slug``'s declared formats; returns the publisher, the formats added and the
    ledger index of the ``publisher`` leaf that records it (None when all were declared
    already: nothing is written)."""
    problems = format_problems(formats)
    if problems:
        raise PublisherError(f"publisher {slug!r}: {'; '.join(problems)}")
    if not formats:
        raise PublisherError("expected at least one format to add, got none")
    if not reason.strip():
        raise PublisherError("widening a publisher's formats needs a reason, got none")
    publisher = await get_publisher(session, slug)
    declared = list(publisher.formats or ())
    added = sorted(set(formats) - set(declared))
    if not added:
        return publisher, [], None
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    widened = sorted({*declared, *added})
    record = {
        "action": "formats",
        "publisher": slug,
        "added": added,
        "formats": widened,
        "reason": " ".join(reason.split()),
        "at": iso_utc(moment),
    }
    appended = await log.append(session, [("publisher", leaf_body("publisher", record))])
    publisher.formats = widened  # a new list: the JSON column sees the change
    await session.flush()
    return publisher, added, appended.first_index


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Datetimes come back from SQLite naive; every one we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def key_problem(key: PublisherKey, moment: dt.datetime) -> str | None:
    """Why ``key`` cannot sign at ``moment``, or None when it can."""
    label = f"key {key.name}+{key.key_id:08x}"
    if key.revoked_at is not None and moment >= as_utc(key.revoked_at):
        reason = f" ({key.revocation_reason})" if key.revocation_reason else ""
        return f"{label} was revoked at {iso_utc(key.revoked_at)}{reason}"
    if moment < as_utc(key.valid_from):
        return f"{label} is valid only from {iso_utc(key.valid_from)}"
    if key.valid_until is not None and moment >= as_utc(key.valid_until):
        return f"{label} expired at {iso_utc(key.valid_until)}"
    return None


def iso_utc(moment: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``, as every record and message here writes times (naive = UTC):
    the one form of ``ledger.times``."""
    return rfc3339(moment)


def parse_publisher_vkey(vkey: str) -> Verifier:
    try:
        verifier = parse_vkey(vkey.strip())
    except NoteError as exc:
        raise PublisherError(f"not a signed-note verifier key: {exc}") from None
    if verifier.kind != "ed25519":
        raise PublisherError(f"expected an Ed25519 key, got a {verifier.kind} key")
    return verifier


def _key_record(
    action: str, publisher: Publisher, key: PublisherKey, **extra: Any
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "action": action,
        "publisher": publisher.slug,
        "key": key.vkey,
        "valid_from": iso_utc(key.valid_from),
        "valid_until": iso_utc(key.valid_until) if key.valid_until else None,
    }
    if key.revoked_at is not None:
        record["revoked_at"] = iso_utc(key.revoked_at)
        record["reason"] = key.revocation_reason or ""
    record.update(extra)
    return record


async def add_key(
    session: AsyncSession,
    log: TransparencyLog,
    slug: str,
    vkey: str,
    *,
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> PublisherKey:
    """Register a verifier key for ``slug`` (a ``key`` leaf with action ``add``)."""
    keys = await _register(session, log, slug, vkey, valid_from, valid_until, now, retire=False)
    return keys[0]


async def rotate_key(
    session: AsyncSession,
    log: TransparencyLog,
    slug: str,
    vkey: str,
    *,
    grace: dt.timedelta = DEFAULT_GRACE,
    now: dt.datetime | None = None,
) -> list[PublisherKey]:
    """Register a new key and end every other current key's window after ``grace``.

    Returns the new key then the retired ones; one ``key`` leaf each, in one append.
    """
    if grace < dt.timedelta(0):
        raise PublisherError(f"grace must not be negative, got {grace}")
    return await _register(session, log, slug, vkey, None, None, now, retire=True, grace=grace)


async def _register(
    session: AsyncSession,
    log: TransparencyLog,
    slug: str,
    vkey: str,
    valid_from: dt.datetime | None,
    valid_until: dt.datetime | None,
    now: dt.datetime | None,
    *,
    retire: bool,
    grace: dt.timedelta = DEFAULT_GRACE,
) -> list[PublisherKey]:
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    verifier = parse_publisher_vkey(vkey)
    publisher = await get_publisher(session, slug)
    start = valid_from or now
    if valid_until is not None and valid_until <= start:
        raise PublisherError(
            f"valid_until {iso_utc(valid_until)} must be after valid_from {iso_utc(start)}"
        )
    taken = await session.execute(
        select(PublisherKey).where(PublisherKey.vkey == verifier.vkey)  # type: ignore[arg-type]
    )
    if taken.scalar_one_or_none() is not None:
        raise PublisherError(f"key {verifier.name}+{verifier.key_id_hex} is already registered")
    existing = await publisher_keys(session, publisher.id or 0)
    for other in existing:
        if (other.name, other.key_id) == (verifier.name, verifier.key_id):
            raise PublisherError(  # pragma: no cover - a key-ID collision, 2^-32
                f"publisher {slug!r} already has a key named {verifier.name}+{verifier.key_id_hex}"
            )
    key = PublisherKey(
        publisher_id=publisher.id or 0,
        name=verifier.name,
        key_id=verifier.key_id,
        vkey=verifier.vkey,
        valid_from=start,
        valid_until=valid_until,
        ledger_index=-1,
    )
    retired: list[PublisherKey] = []
    if retire:
        end = now + grace
        for other in existing:
            if key_problem(other, now) is None and (
                other.valid_until is None or as_utc(other.valid_until) > end
            ):
                other.valid_until = end
                retired.append(other)
    leaves = [("key", leaf_body("key", _key_record("add", publisher, key)))]
    leaves += [
        ("key", leaf_body("key", _key_record("retire", publisher, other, replaced_by=key.vkey)))
        for other in retired
    ]
    appended = await log.append(session, leaves)
    key.ledger_index = appended.first_index
    session.add(key)
    await session.flush()
    return [key, *retired]


async def revoke_key(
    session: AsyncSession,
    log: TransparencyLog,
    slug: str,
    key_ref: str,
    *,
    reason: str,
    at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> PublisherKey:
    """Revoke a key from ``at`` (default now; earlier when it was compromised before).

    ``key_ref`` is the vkey or its hex key ID. Documents received before the revocation stay on
    the record, and verify against the key's window as it was when they arrived.
    """
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    at = at or now
    if not reason.strip():
        raise PublisherError("a revocation needs a reason, got none")
    publisher = await get_publisher(session, slug)
    keys = await publisher_keys(session, publisher.id or 0)
    ref = key_ref.strip().lower()
    matches = [k for k in keys if k.vkey.lower() == ref or f"{k.key_id:08x}" == ref]
    if not matches:
        held = ", ".join(f"{k.name}+{k.key_id:08x}" for k in keys) or "none"
        raise PublisherError(
            f"publisher {slug!r} has no key {key_ref!r}: expected a vkey or key ID of {held}"
        )
    key = matches[0]
    if key.revoked_at is not None:
        raise PublisherError(
            f"key {key.name}+{key.key_id:08x} was already revoked at {iso_utc(key.revoked_at)}"
        )
    key.revoked_at = at
    key.revocation_reason = reason.strip()
    await log.append(session, [("key", leaf_body("key", _key_record("revoke", publisher, key)))])
    await session.flush()
    return key


def describe_key(key: PublisherKey, moment: dt.datetime) -> dict[str, Any]:
    problem = key_problem(key, moment)
    return {
        "key": key.vkey,
        "key_id": f"{key.key_id:08x}",
        "valid_from": iso_utc(key.valid_from),
        "valid_until": iso_utc(key.valid_until) if key.valid_until else None,
        "revoked_at": iso_utc(key.revoked_at) if key.revoked_at else None,
        "status": "valid" if problem is None else problem,
        "ledger_index": key.ledger_index,
    }


def describe_publisher(publisher: Publisher) -> dict[str, Any]:
    return {
        "slug": publisher.slug,
        "name": publisher.name,
        "homepage": publisher.homepage,
        "licence": publisher.licence,
        "kind": publisher.kind,
        "jurisdictions": publisher.jurisdictions,
        "conventions": publisher.conventions,
        "formats": list(publisher.formats or ()),
    }


__all__: Sequence[str] = (
    "KINDS",
    "PublisherError",
    "PublisherSpec",
    "add_formats",
    "add_key",
    "add_publisher",
    "catalogue",
    "get_publisher",
    "key_problem",
    "list_publishers",
    "revoke_key",
    "rotate_key",
)
