"""Root fields of the figures domain: one figure, lists of figures, the discrepancies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError, ErrorCode
from api.figures import filters
from api.figures.types import AttestedFigure, Discrepancy, FigureStatus, FigureVersion
from api.relay import Connection, Keyset, PageArgs, connection, counter, keyset_page
from api.sources.filters import region_code
from api.sources.schema import (
    After,
    Before,
    First,
    From,
    IncludeDescendants,
    Last,
    RegionCode,
    To,
)
from api.sources.types import Metric
from ingest.queries import figure_version
from models.reconcile import AttestedFigure as FigureRow

_FIGURE = FigureRow.__table__  # type: ignore[attr-defined]
NodeType = TypeVar("NodeType")
MetricFilter = Annotated[Metric | None, strawberry.argument(description="Only this metric.")]


@strawberry.type
class FiguresQuery:
    @strawberry.field(
        description="The attested figure for a region, metric and date, as its latest version "
        "says (NOT_FOUND when there is none); `figureVersion` gives an older version."
    )
    async def figure(
        self,
        info: Info[Context, None],
        region: RegionCode,
        metric: Annotated[Metric, strawberry.argument(description="What it counts.")],
        date: Annotated[dt.date, strawberry.argument(description="The day the counts go up to.")],
    ) -> AttestedFigure | None:
        row = await _version(info, region, metric, date, None)
        return AttestedFigure.from_row(row)

    @strawberry.field(
        description="One version of the attested figure for a region, metric and date "
        "(NOT_FOUND when there is none)."
    )
    async def figure_version(
        self,
        info: Info[Context, None],
        region: RegionCode,
        metric: Annotated[Metric, strawberry.argument(description="What it counts.")],
        date: Annotated[dt.date, strawberry.argument(description="The day the counts go up to.")],
        version: Annotated[int, strawberry.argument(description="The version, 1 for the first.")],
    ) -> FigureVersion | None:
        row = await _version(info, region, metric, date, version)
        return FigureVersion.from_row(row)

    @strawberry.field(
        description="The latest versions of the figures of a region, by date, region and "
        "metric; cursors stay valid as figures are added or revised."
    )
    async def figures(
        self,
        info: Info[Context, None],
        region: RegionCode,
        metric: MetricFilter = None,
        from_: From = None,
        to: To = None,
        status: Annotated[
            FigureStatus | None, strawberry.argument(description="Only figures of this status.")
        ] = None,
        publisher: Annotated[
            str | None,
            strawberry.argument(description="Only figures with an input from this publisher."),
        ] = None,
        include_descendants: IncludeDescendants = False,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[AttestedFigure]:
        args = PageArgs.of(first, after, last, before)
        conditions = filters.figure_conditions(
            region=region,
            include_descendants=include_descendants,
            metric=None if metric is None else metric.value,
            since=from_,
            until=to,
            status=None if status is None else status.value,
            publisher=publisher,
        )
        return await _page(info, conditions, filters.FIGURE_KEYSET, args, AttestedFigure.from_row)

    @strawberry.field(
        description="The latest figure versions that are DISPUTED, each with every lineage's "
        "value: where the publishers disagree, for review."
    )
    async def discrepancies(
        self,
        info: Info[Context, None],
        region: Annotated[
            str | None, strawberry.argument(description="Only this region's (its code).")
        ] = None,
        metric: MetricFilter = None,
        from_: From = None,
        to: To = None,
        include_descendants: IncludeDescendants = False,
        order_by: Annotated[
            filters.DiscrepancyOrder, strawberry.argument(description="How to sort them.")
        ] = filters.DiscrepancyOrder.SIZE,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Discrepancy]:
        args = PageArgs.of(first, after, last, before)
        conditions = filters.figure_conditions(
            region=region,
            include_descendants=include_descendants,
            metric=None if metric is None else metric.value,
            since=from_,
            until=to,
            status="DISPUTED",
        )
        keyset = filters.DISCREPANCY_KEYSETS[order_by]
        return await _page(
            info, conditions, keyset, args, lambda row: Discrepancy.of(AttestedFigure.from_row(row))
        )


async def _version(
    info: Info[Context, None], region: str, metric: Metric, date: dt.date, version: int | None
) -> FigureRow:
    region_code(region)
    async with info.context.runtime.sessions() as session:
        row = await figure_version(
            session, region=region, metric=metric.value, day=date, version=version
        )
    if row is None:
        which = "" if version is None else f" version {version}"
        raise ApiError(
            f"no attested figure{which} for {region} {metric.name} on {date.isoformat()}: "
            "expected a region, metric and date some publisher gives (the date is the day "
            "the counts go up to; see `figures` for what there is)",
            ErrorCode.NOT_FOUND,
        )
    return row


async def _page(
    info: Info[Context, None],
    conditions: list[Any],
    keyset: Keyset,
    args: PageArgs,
    node: Callable[[FigureRow], NodeType],
) -> Connection[NodeType]:
    """A page of figure versions matching ``conditions`` in ``keyset`` order, as nodes."""
    runtime = info.context.runtime
    statement = select(FigureRow, *keyset.columns).where(*conditions)
    async with runtime.sessions() as session:
        page = await keyset_page(session, statement, keyset, args)
    nodes = [node(row[0]) for row in page.rows]
    total = counter(runtime.sessions, select(_FIGURE.c.ledger_index).where(*conditions))
    return connection(page, keyset, nodes, total)
