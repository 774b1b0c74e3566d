"""The one way Corroborate writes a moment: RFC 3339 in UTC, to the second, ``Z`` for the zone.

``2026-12-08T01:56:33Z`` — in leaves, GraphQL ``DateTime`` values, ``extensions.cost.resetAt``,
error messages and the CLI's ``--json``. One form means a time read from the API compares equal,
as a string, to the same time on the log, and fixed-width strings sort as the moments do.
Seconds, because that is what every leaf since the first has written (key validity, documents'
signed statements, challenge events) and nothing is ordered by a time finer than that: order
comes from log indexes, sequence numbers and IDs (docs/decisions/0012-one-time-form.md).

Stdlib only, with no I/O, so every layer (ledger, domain packages, api, cli) may import it.
"""

from __future__ import annotations

import datetime as dt


def as_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already (SQLite returns them so)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def rfc3339(moment: dt.datetime) -> str:
    """``moment`` as ``YYYY-MM-DDTHH:MM:SSZ`` (naive = UTC; fractions of a second dropped)."""
    return as_utc(moment).replace(microsecond=0, tzinfo=None).isoformat(timespec="seconds") + "Z"


def rfc3339_epoch(seconds: float) -> str:
    """A POSIX time as :func:`rfc3339` writes it."""
    return rfc3339(dt.datetime.fromtimestamp(seconds, dt.UTC))
