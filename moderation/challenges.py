"""Filing a challenge: the rules that need no database.

A signed-in member challenges a **target** — an attested figure, an observation or a document —
in a **category**, optionally claiming the right value, with **evidence** (links and a text) and
the version of the figure they saw. :func:`new_challenge` turns the API's plain input into a
frozen :class:`ChallengeFiling` or refuses it with :class:`ChallengeRefused` naming the field,
what was expected and what arrived. :func:`system_challenge` builds the challenge reconciliation
opens by itself on a ``DISPUTED`` figure. :func:`duplicate_key` says when two challenges make the
same claim on the same target (the later one is linked to the open one as a duplicate).

Limits (docs/moderation.md): evidence text 1–5,000 characters; at most 10 links, each an
absolute ``http``/``https`` URL of printable ASCII, at most 2,000 characters, with a host and no
user name or password; a claimed value is an integer within ±(2^53 − 1) (daily counts can be negative). Texts are kept as typed
(``moderation/text.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

from moderation.actors import MEMBER, SYSTEM_ID, Actor
from moderation.errors import ChallengeRefused, Code
from moderation.text import MAX_TEXT_CHARS, clean_text

MAX_LINKS = 10
MAX_LINK_CHARS = 2_000
#: a claimed value must survive JSON (RFC 8785 numbers are doubles)
MAX_CLAIMED_VALUE = 2**53 - 1
MAX_VERSION = 2**53 - 1

E = TypeVar("E", bound=StrEnum)


class TargetKind(StrEnum):
    FIGURE = "figure"  # id: REGION/metric/YYYY-MM-DD; version_seen: the figure version seen
    OBSERVATION = "observation"  # id: the ledger index of the observation (one exact version)
    DOCUMENT = "document"  # id: the ledger index of the document (its bytes never change)


class Category(StrEnum):
    WRONG_VALUE = "wrong_value"
    WRONG_DATE = "wrong_date"
    WRONG_PLACE = "wrong_place"
    DOUBLE_COUNTING = "double_counting"
    MISSING_DATA = "missing_data"
    DEFINITION_CHANGE = "definition_change"
    OTHER = "other"


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    id: str


@dataclass(frozen=True)
class Evidence:
    links: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class ChallengeFiling:
    """A challenge as filed, validated. ``filer`` is a pseudonymous ID or ``system``."""

    filer: str
    target: Target
    version_seen: int | None
    category: Category
    claimed_value: int | None
    evidence: Evidence

    @property
    def system(self) -> bool:
        return self.filer == SYSTEM_ID

    def duplicate_key(self) -> str:
        return duplicate_key(self.target, self.category, self.claimed_value)

    def record(self) -> dict[str, Any]:
        """The challenge as the filing ``challenge-event`` records it (the filer is its actor)."""
        return {
            "category": str(self.category),
            "claimed_value": self.claimed_value,
            "evidence": {"links": list(self.evidence.links), "text": self.evidence.text},
            "target": {"id": self.target.id, "kind": str(self.target.kind)},
            "version_seen": self.version_seen,
        }


def _refuse(field: str, message: str) -> ChallengeRefused:
    return ChallengeRefused(Code.BAD_USER_INPUT, f"{field}: {message}", field=field)


def _choice(enum: type[E], value: object, field: str) -> E:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return enum(value)
    except ValueError:
        expected = ", ".join(member.value for member in enum)
        raise _refuse(field, f"expected one of {expected}, got {value!r:.80}") from None


_REGION = r"[A-Z]{2,3}(?:-[A-Z0-9]{1,5}){0,2}"
_METRIC = r"[a-z][a-z0-9_]{0,63}"
_FIGURE_ID = re.compile(rf"({_REGION})/({_METRIC})/(\d{{4}}-\d{{2}}-\d{{2}})")
_LEDGER_INDEX = re.compile(r"0|[1-9][0-9]{0,15}")


def figure_target_id(region: str, metric: str, date: dt.date | str) -> str:
    """The target ID of the figure of ``region``, ``metric`` and ``date``: ``ITA/cases_cumulative/2020-03-01``."""
    day = date.isoformat() if isinstance(date, dt.date) else date
    return _target_id(TargetKind.FIGURE, f"{region}/{metric}/{day}")


def _target_id(kind: TargetKind, value: object) -> str:
    field = "target.id"
    if not isinstance(value, str):
        raise _refuse(field, f"expected a string, got {type(value).__name__}")
    if kind is TargetKind.FIGURE:
        match = _FIGURE_ID.fullmatch(value)
        valid = match is not None
        if match is not None:
            try:
                dt.date.fromisoformat(match.group(3))
            except ValueError:
                valid = False
        if not valid:
            raise _refuse(
                field,
                "expected a figure as REGION/metric/YYYY-MM-DD "
                f"(e.g. ITA/cases_cumulative/2020-03-01), got {value!r:.80}",
            )
    elif _LEDGER_INDEX.fullmatch(value) is None:
        raise _refuse(field, f"expected the {kind}'s ledger index (digits), got {value!r:.80}")
    return value


def _version_seen(kind: TargetKind, value: object) -> int | None:
    field = "version_seen"
    if kind is not TargetKind.FIGURE:
        if value is not None:
            raise _refuse(
                field,
                f"expected none for a {kind} (its ledger index names one exact version), "
                f"got {value!r:.40}",
            )
        return None
    if type(value) is not int or not 1 <= value <= MAX_VERSION:
        raise _refuse(
            field, f"expected the figure version seen (an integer >= 1), got {value!r:.40}"
        )
    return value


def _claimed_value(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not -MAX_CLAIMED_VALUE <= value <= MAX_CLAIMED_VALUE:
        raise _refuse(
            "claimed_value",
            f"expected none or an integer from -{MAX_CLAIMED_VALUE:,} to {MAX_CLAIMED_VALUE:,} "
            f"(daily counts can be negative), got {value!r:.40}",
        )
    return value


def _link(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise _refuse(field, f"expected a URL string, got {type(value).__name__}")
    if len(value) > MAX_LINK_CHARS:
        raise _refuse(
            field, f"expected a URL of at most {MAX_LINK_CHARS:,} characters, got {len(value):,}"
        )
    bad = next((c for c in value if not "!" <= c <= "~"), None)
    if bad is not None:
        raise _refuse(
            field,
            f"expected a URL of printable ASCII (spaces and other characters percent-encoded), "
            f"got U+{ord(bad):04X} in {value!r:.80}",
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 — parses the port, raising ValueError when it is not one
    except ValueError as exc:
        raise _refuse(field, f"expected a URL, got {value!r:.80} ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _refuse(
            field,
            f"expected an http or https URL, got scheme {parts.scheme or 'none'!r} in {value!r:.80}",
        )
    if not parts.hostname:
        raise _refuse(field, f"expected a URL with a host, got {value!r:.80}")
    if "@" in parts.netloc:
        raise _refuse(field, f"expected a URL without a user name or password, got {value!r:.80}")
    return value


def _links(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise _refuse("evidence.links", f"expected a list of URLs, got {type(value).__name__}")
    if len(value) > MAX_LINKS:
        raise _refuse("evidence.links", f"expected at most {MAX_LINKS} links, got {len(value)}")
    links = tuple(_link(item, f"evidence.links[{i}]") for i, item in enumerate(value))
    for i, link in enumerate(links):
        if link in links[:i]:
            raise _refuse(
                f"evidence.links[{i}]", f"expected each link once, got {link!r:.80} again"
            )
    return links


def check_filer(actor: Actor) -> None:
    """``FORBIDDEN`` unless ``actor`` may file challenges at all (a signed-in member): checked
    before anything in the filing is read."""
    if actor.is_system or not actor.has_role(MEMBER):
        raise ChallengeRefused(
            Code.FORBIDDEN,
            f"expected a signed-in member to file a challenge, got {actor.describe()}",
        )


def new_challenge(
    actor: Actor,
    *,
    target_kind: object,
    target_id: object,
    version_seen: object,
    category: object,
    claimed_value: object = None,
    links: object = (),
    text: object,
) -> ChallengeFiling:
    """A member's challenge, validated; :class:`ChallengeRefused` otherwise (``FORBIDDEN`` for
    a caller who is not a signed-in member, ``BAD_USER_INPUT`` for the input)."""
    check_filer(actor)
    kind = _choice(TargetKind, target_kind, "target.kind")
    return ChallengeFiling(
        filer=actor.id,
        target=Target(kind, _target_id(kind, target_id)),
        version_seen=_version_seen(kind, version_seen),
        category=_choice(Category, category, "category"),
        claimed_value=_claimed_value(claimed_value),
        evidence=Evidence(
            links=_links(links),
            text=clean_text(text, field="evidence.text", required=True, max_chars=MAX_TEXT_CHARS),
        ),
    )


def duplicate_key(target: Target, category: Category, claimed_value: int | None) -> str:
    """Two challenges with equal keys make the same claim on the same target: the target, the
    category and the claimed value (none is a value of its own). The version seen is left out
    (a claim still stands after a new version), and so are the evidence and the filer. Returned
    as the SHA-256 (hex) of ``[kind, id, category, claimed value]`` as compact JSON, for an index.
    """
    key = [str(target.kind), target.id, str(category), claimed_value]
    return hashlib.sha256(json.dumps(key, separators=(",", ":")).encode()).hexdigest()


def system_challenge(
    *,
    region: str,
    metric: str,
    date: dt.date,
    version: int,
    spread: int,
    lineages: Sequence[tuple[str, int]],
) -> ChallengeFiling:
    """The challenge reconciliation opens on a ``DISPUTED`` figure version: filed by the system,
    category ``wrong_value`` with no claimed value (which lineage is wrong is for a moderator to
    find), the figure version as the version seen, and a text naming each lineage's value.

    ``lineages``: (the publisher counted for the lineage, its value), as in the attestation's
    ``lineages``. Inconsistent values (fewer than two lineages, a spread that is not the highest
    minus the lowest value) are a programming error: ``ValueError``.
    """
    if len(lineages) < 2:
        raise ValueError(f"a dispute needs at least 2 lineages, got {len(lineages)}")
    values = [value for _, value in lineages]
    if spread != max(values) - min(values) or spread <= 0:
        raise ValueError(f"spread {spread} is not the highest minus the lowest lineage value")
    target = Target(TargetKind.FIGURE, figure_target_id(region, metric, date))
    ordered = sorted(lineages, key=lambda item: (item[1], item[0]))
    listed = ", ".join(f"{publisher} {value:,}" for publisher, value in ordered)
    text = (
        f"Reconciliation attested {region} {metric} on {date.isoformat()} (version {version}) "
        f"as DISPUTED: its {len(lineages)} independent lineages differ by {spread:,} "
        f"({listed}). Opened by the system for a moderator to review."
    )
    return ChallengeFiling(
        filer=SYSTEM_ID,
        target=target,
        version_seen=_version_seen(TargetKind.FIGURE, version),
        category=Category.WRONG_VALUE,
        claimed_value=None,
        evidence=Evidence(links=(), text=clean_text(text, field="evidence.text", required=True)),
    )
