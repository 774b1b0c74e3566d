"""Scalars whose form the API fixes itself rather than take strawberry's defaults.

``DateTime``: strawberry writes ``datetime.isoformat()``, so a naive value from SQLite came out
with no zone (``2026-12-08T01:56:33.091174``) and an aware one with ``+00:00``. Every
``DateTime`` is written by :func:`ledger.times.rfc3339` instead: UTC, to the second, ``Z``.
Input stays as lenient as RFC 3339 is (any offset; parsed by strawberry's own parser).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

from ledger.times import rfc3339


def _serialize(value: Any) -> str:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime for a DateTime field, got {type(value).__name__}")
    return rfc3339(value)


DateTime = ScalarDefinition(
    name="DateTime",
    description="A moment, written in RFC 3339 in UTC to the second: `2026-12-08T01:56:33Z`. "
    "Accepted with any offset (`2026-12-08T02:56:33+01:00`).",
    specified_by_url="https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
    serialize=_serialize,
    parse_value=DateTimeDefinition.parse_value,
    parse_literal=None,
    origin=dt.datetime,
)

#: For ``strawberry.Schema(scalar_overrides=...)``.
OVERRIDES: dict[object, ScalarDefinition] = {dt.datetime: DateTime}
