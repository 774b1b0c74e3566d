"""Filters and sort keys of the figures domain's lists: checked arguments in, SQL conditions out."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import strawberry
from sqlalchemy import BigInteger, Boolean, cast, exists, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import LargeBinary

from api.relay import Keyset
from api.sources.filters import date_range, publisher_slug, region_codes
from models.ledger import LedgerEntry
from models.reconcile import AttestedFigure

_FIGURE = AttestedFigure.__table__  # type: ignore[attr-defined]
_ENTRY = LedgerEntry.__table__  # type: ignore[attr-defined]

# Latest versions are unique per (date, region, metric): the key of a figure, kept by every new
# version, so a cursor stays valid however many figures or versions are added.
FIGURE_KEYSET = Keyset(
    "figures", (_FIGURE.c.date, _FIGURE.c.region, _FIGURE.c.metric), ("date", "str", "str")
)

# The relative spread as an integer (parts per billion) so that it can sit in a cursor; a zero
# consensus (no ratio) sorts after every ratio, by its absolute spread.
_RATIO = func.coalesce(cast(_FIGURE.c.spread_ratio * 1_000_000_000, BigInteger), -1)


@strawberry.enum(description="How to sort discrepancies; each ends on the figure's ledger index.")
class DiscrepancyOrder(enum.Enum):
    SIZE = strawberry.enum_value(
        "size",
        description="Largest relative spread first (a zero consensus after the others, by "
        "absolute spread).",
    )
    DATE = strawberry.enum_value(
        "date", description="Latest figure date first, then by relative spread."
    )
    UPDATED = strawberry.enum_value(
        "updated", description="Most recently written version first (the log's order)."
    )


DISCREPANCY_KEYSETS = {
    DiscrepancyOrder.SIZE: Keyset(
        "discrepancies-size",
        (_RATIO, _FIGURE.c.spread, _FIGURE.c.ledger_index),
        ("int", "int", "int"),
        descending=True,
    ),
    DiscrepancyOrder.DATE: Keyset(
        "discrepancies-date",
        (_FIGURE.c.date, _RATIO, _FIGURE.c.ledger_index),
        ("date", "int", "int"),
        descending=True,
    ),
    DiscrepancyOrder.UPDATED: Keyset(
        "discrepancies-updated", (_FIGURE.c.ledger_index,), ("int",), descending=True
    ),
}


class contains_bytes(FunctionElement[bool]):
    """``haystack`` (bytes) contains ``needle``: ``instr`` on SQLite (whose LIKE never matches a
    BLOB), ``position`` on PostgreSQL; byte-exact on both, no wildcards."""

    type = Boolean()
    name = "contains_bytes"
    inherit_cache = True


@compiles(contains_bytes, "sqlite")
def _contains_sqlite(element: contains_bytes, compiler: Any, **kw: Any) -> str:
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"instr({haystack}, {needle}) > 0"


@compiles(contains_bytes, "postgresql")
def _contains_postgresql(element: contains_bytes, compiler: Any, **kw: Any) -> str:
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"position({needle} in {haystack}) > 0"


def has_input_from(slug: str) -> Any:
    """The figure version's attestation names an input from publisher ``slug``.

    Inputs live in the attestation leaf only. Its body is RFC 8785 JSON, with no whitespace and
    every quote inside a string escaped, so the bytes ``"publisher":"<slug>"`` occur exactly when
    an input is that publisher's (lineages list theirs under ``"publishers"``).
    """
    needle = f'"publisher":"{publisher_slug(slug)}"'.encode()
    return exists().where(
        _ENTRY.c.idx == _FIGURE.c.ledger_index,
        contains_bytes(_ENTRY.c.body, literal(needle, LargeBinary)),
    )


def figure_conditions(
    *,
    region: str | None,
    include_descendants: bool,
    metric: str | None,
    since: dt.date | None,
    until: dt.date | None,
    status: str | None = None,
    publisher: str | None = None,
) -> list[Any]:
    """Conditions on the latest figure versions."""
    f = _FIGURE.c
    found: list[Any] = [f.latest.is_(True)]
    if region is not None:
        codes = region_codes(region, descendants=include_descendants, counties=False)
        found.append(f.region == codes[0] if len(codes) == 1 else f.region.in_(codes))
    if metric is not None:
        found.append(f.metric == metric)
    found += date_range(f.date, since, until)
    if status is not None:
        found.append(f.status == status)
    if publisher is not None:
        found.append(has_input_from(publisher))
    return found
