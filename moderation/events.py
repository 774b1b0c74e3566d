"""The ``challenge-event`` ledger leaf: one per workflow transition, the filing included.

A record always has the same keys, so a verifier reads every event the same way::

    corroborate/challenge-event/v1
    {"action":"uphold","actor":"mia","at":"2026-11-21T13:19:20Z","challenge":42,
     "changes_value":true,"duplicate_of":null,"filing":null,"from":"IN_REVIEW",
     "rationale":"ECDC's file has 1,128 for that day","sequence":3,"to":"UPHOLD_PENDING",
     "values":null}

- ``challenge``: the challenge's ID; ``sequence``: 0 for the filing, then 1, 2, … with no gap, so
  a challenge's history is its events in sequence order;
- ``from`` / ``to``: states (``from`` is null for the filing); ``action``: what was done;
- ``actor``: the actor's public name — a member's pseudonym, ``ext:<digest>`` for an external
  issuer's user, or ``system`` — never an email or an account number (events written before
  migration 0009 say ``account:<n>``; docs/ledger.md says how they map);
- ``at``: the time in RFC 3339 UTC, to the second (``YYYY-MM-DDTHH:MM:SSZ``, as ``key`` leaves);
- ``rationale``: the text as typed (NFC), ``""`` where none is asked for;
- ``changes_value``: whether an uphold changes a figure's value (the four-eyes rule applies);
- ``duplicate_of``: the challenge this one repeats (``mark_duplicate``), else null;
- ``filing``: the challenge as filed (``ChallengeFiling.record()``), on the filing event only;
- ``values``: reserved for corrections (the old and new values), null until they are built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ledger import times
from ledger.leaf import leaf_body

KIND = "challenge-event"


def rfc3339(moment: dt.datetime) -> str:
    """``moment`` in UTC as ``YYYY-MM-DDTHH:MM:SSZ``; a naive datetime is a programming error."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {moment.isoformat()}")
    return times.rfc3339(moment)


def challenge_event_record(
    *,
    challenge: int,
    sequence: int,
    from_state: str | None,
    to_state: str,
    action: str,
    actor: str,
    at: dt.datetime,
    rationale: str,
    changes_value: bool = False,
    duplicate_of: int | None = None,
    filing: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The canonical record of one event (keys as in the module docstring)."""
    if sequence < 0:
        raise ValueError(f"expected a sequence number >= 0, got {sequence}")
    if (sequence == 0) != (from_state is None):
        raise ValueError("the filing, and only it, has sequence 0 and no from-state")
    return {
        "action": str(action),
        "actor": actor,
        "at": rfc3339(at),
        "challenge": challenge,
        "changes_value": changes_value,
        "duplicate_of": duplicate_of,
        "filing": None if filing is None else dict(filing),
        "from": None if from_state is None else str(from_state),
        "rationale": rationale,
        "sequence": sequence,
        "to": str(to_state),
        "values": None if values is None else dict(values),
    }


def challenge_event_body(record: Mapping[str, Any]) -> bytes:
    """The leaf bytes: ``corroborate/challenge-event/v1\\n`` + the record's RFC 8785 JSON."""
    return leaf_body(KIND, dict(record))
