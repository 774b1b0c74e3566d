"""Relay conventions: connections with keyset cursors, page arguments and their checks.

Global IDs and the ``Node`` interface are strawberry's (``strawberry.relay.Node``: an opaque
base64 of ``TypeName:key``); what strawberry lacks is pagination that survives appends. Its
``ListConnection`` slices by offset, so a cursor points somewhere else once rows are added.
Here a cursor encodes the sort key of its row (``keyset`` pagination): ``after: X`` means "rows
whose key is greater than X's", true however many rows arrive before or after.

Every connection takes ``first`` or ``last`` (1..``MAX_PAGE``), like GitHub's API: an unbounded
list is never one request away. ``totalCount`` is a separate ``COUNT`` run only when selected.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import strawberry
from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from strawberry import relay

from api.errors import ApiError, ErrorCode

MAX_PAGE = 100
NodeType = TypeVar("NodeType")
Codec = Literal["int", "float", "str", "date"]


@strawberry.type(description="Where a page sits in its connection.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More rows follow the page's last one.")
    has_previous_page: bool = strawberry.field(description="Rows precede the page's first one.")
    start_cursor: str | None = strawberry.field(description="The cursor of the page's first row.")
    end_cursor: str | None = strawberry.field(description="The cursor of the page's last row.")


@strawberry.type(description="A row of a connection with its cursor.")
class Edge(Generic[NodeType]):
    cursor: str = strawberry.field(description="Pass as `after` or `before` to page from here.")
    node: NodeType = strawberry.field(description="The row.")


@strawberry.type(description="A page of a list: edges with cursors, or the nodes alone.")
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]] = strawberry.field(description="The page's rows with cursors.")
    page_info: PageInfo = strawberry.field(description="How to get the next or previous page.")
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The page's rows, without cursors.")
    def nodes(self) -> list[NodeType]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many rows the whole list has (one extra COUNT query).")
    async def total_count(self) -> int:
        return await self.counter()


@dataclass(frozen=True)
class PageArgs:
    """Checked page arguments: exactly one of ``first``/``last``, each in 1..MAX_PAGE."""

    first: int | None
    after: str | None
    last: int | None
    before: str | None

    @classmethod
    def of(
        cls, first: int | None, after: str | None, last: int | None, before: str | None
    ) -> PageArgs:
        if first is None and last is None:
            raise ApiError(
                f"expected `first` or `last` (1..{MAX_PAGE}) to page this list, got neither",
                ErrorCode.BAD_USER_INPUT,
            )
        if first is not None and last is not None:
            raise ApiError("expected one of `first` and `last`, got both", ErrorCode.BAD_USER_INPUT)
        for name, value in (("first", first), ("last", last)):
            if value is not None and not 1 <= value <= MAX_PAGE:
                raise ApiError(
                    f"expected `{name}` in 1..{MAX_PAGE}, got {value}",
                    ErrorCode.BAD_USER_INPUT,
                    argument=name,
                )
        return cls(first, after, last, before)

    @property
    def size(self) -> int:
        return self.first if self.first is not None else self.last or 0


@dataclass(frozen=True)
class Keyset:
    """How a connection sorts: columns forming a unique key, all ascending or all descending.

    ``name`` is written into each cursor so that a cursor from another list is refused instead
    of silently paging somewhere unrelated.
    """

    name: str
    columns: tuple[ColumnElement[Any], ...]
    codecs: tuple[Codec, ...]
    descending: bool = False

    def encode(self, values: Sequence[Any]) -> str:
        plain = [v.isoformat() if isinstance(v, dt.date) else v for v in values]
        raw = json.dumps([self.name, plain], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, cursor: str, argument: str) -> tuple[Any, ...]:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            name, values = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if name != self.name:
                raise ValueError(f"a cursor of {name!r}")
            if not isinstance(values, list) or len(values) != len(self.codecs):
                raise ValueError("a cursor of another shape")
            return tuple(_decode(v, codec) for v, codec in zip(values, self.codecs, strict=True))
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
            raise ApiError(
                f"expected `{argument}` to be a cursor from this list ({self.name}), "
                f"got {cursor[:60]!r} ({exc})",
                ErrorCode.BAD_USER_INPUT,
                argument=argument,
            ) from None


def _decode(value: Any, codec: Codec) -> Any:
    if codec == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer key, got {value!r}")
        return value
    if codec == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number key, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a text key, got {value!r}")
    return dt.date.fromisoformat(value) if codec == "date" else value


@dataclass(frozen=True)
class Page(Generic[NodeType]):
    rows: list[Any]
    keys: list[tuple[Any, ...]]
    has_next: bool
    has_previous: bool


async def keyset_page(
    session: AsyncSession, statement: Select[Any], keyset: Keyset, args: PageArgs
) -> Page[Any]:
    """One page of ``statement`` (filters applied, no ORDER BY) in ``keyset`` order.

    The statement's rows must end with the keyset's columns (selected last, in order), so each
    row's cursor can be built from it. One query: ``LIMIT size + 1`` tells whether more follow.
    """
    columns = keyset.columns
    key = tuple_(*columns) if len(columns) > 1 else columns[0]

    def bound(cursor: str, argument: str) -> Any:
        values = keyset.decode(cursor, argument)
        return tuple_(*values) if len(values) > 1 else values[0]

    forward_is_up = not keyset.descending
    query = statement
    if args.after is not None:
        after = bound(args.after, "after")
        query = query.where(key > after if forward_is_up else key < after)
    if args.before is not None:
        before = bound(args.before, "before")
        query = query.where(key < before if forward_is_up else key > before)
    backwards = args.first is None
    ascending = forward_is_up != backwards
    query = query.order_by(*(c.asc() if ascending else c.desc() for c in columns))
    rows = list((await session.execute(query.limit(args.size + 1))).all())
    more = len(rows) > args.size
    rows = rows[: args.size]
    if backwards:
        rows.reverse()
    width = len(columns)
    keys = [tuple(row[-width:]) for row in rows]
    if backwards:
        return Page(rows, keys, has_next=args.before is not None, has_previous=more)
    return Page(rows, keys, has_next=more, has_previous=args.after is not None)


def list_connection(
    items: Sequence[NodeType],
    key: Callable[[NodeType], tuple[Any, ...]],
    keyset: Keyset,
    args: PageArgs,
) -> Connection[NodeType]:
    """A page of a list already in memory (sorted by ``key``, which is unique), with the same
    keyset cursors as a database connection (``keyset.columns`` unused)."""
    chosen = list(items)
    if args.after is not None:
        after = keyset.decode(args.after, "after")
        chosen = [item for item in chosen if key(item) > after]
    if args.before is not None:
        before = keyset.decode(args.before, "before")
        chosen = [item for item in chosen if key(item) < before]
    if args.first is not None:
        page, more = chosen[: args.first], len(chosen) > args.first
        has_next, has_previous = more, args.after is not None
    else:
        page, more = chosen[-args.size :], len(chosen) > args.size
        has_next, has_previous = args.before is not None, more
    total = len(items)

    async def count() -> int:
        return total

    found: Page[NodeType] = Page(page, [key(item) for item in page], has_next, has_previous)
    return connection(found, keyset, page, count)


def decode_global_id(raw: object, *expected: str, argument: str = "id") -> relay.GlobalID:
    """The global ID a caller passed (``argument``), of one of the ``expected`` types (any type
    when none is named); BAD_USER_INPUT saying what was expected and what arrived otherwise.

    Arguments that name objects are declared ``ID`` (``strawberry.ID``), never strawberry's
    ``GlobalID``: strawberry decodes a ``GlobalID`` argument before the field's permission
    classes run, so a malformed one reached the caller's check as an internal error. Decoded
    here, in the resolver, the caller is checked first."""
    wanted = " or ".join(f"a {name}'s global ID" for name in expected) or "a global ID"
    shown = json.dumps(raw)[:80] if isinstance(raw, str) else repr(raw)[:80]
    problem = None
    if not isinstance(raw, str) or not raw:
        problem = "nothing" if raw in ("", None) else shown
    else:
        try:
            global_id = relay.GlobalID.from_id(raw)
        except relay.GlobalIDValueError:
            problem = f"{shown}, which is not one this API made (they are opaque base64 strings)"
        else:
            if not global_id.type_name or not global_id.node_id:
                problem = f"{shown}, which is not one this API made"
            elif expected and global_id.type_name not in expected:
                problem = f"an ID of type {global_id.type_name[:40]}"
            else:
                return global_id
    raise ApiError(
        f"expected {wanted} in `{argument}`, got {problem}",
        ErrorCode.BAD_USER_INPUT,
        argument=argument,
    )


def counter(sessions: Callable[[], Any], statement: Select[Any]) -> Callable[[], Awaitable[int]]:
    """A deferred ``COUNT(*)`` of ``statement``, run only if ``totalCount`` is selected."""

    async def count() -> int:
        async with sessions() as session:
            total = await session.scalar(
                select(func.count()).select_from(statement.order_by(None).subquery())
            )
        return int(total or 0)

    return count


def connection(
    page: Page[Any],
    keyset: Keyset,
    nodes: Sequence[NodeType],
    count: Callable[[], Awaitable[int]],
) -> Connection[NodeType]:
    """Build the GraphQL connection from a page and the nodes made from its rows (same order)."""
    edges = [
        Edge(cursor=keyset.encode(key), node=node)
        for key, node in zip(page.keys, nodes, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        counter=count,
    )
