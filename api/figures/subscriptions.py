"""Subscriptions of the figures domain."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError, ErrorCode
from api.events import hub_of
from ingest.regions import region as find_region
from models.events import FIGURE
from models.reconcile import AttestedFigure as FigureRow

if TYPE_CHECKING:
    from api.figures.types import FigureVersion, Metric

_FIGURE = FigureRow.__table__  # type: ignore[attr-defined]


def _wanted(region: str, metric: str | None) -> Any:
    def accept(event: dict[str, Any]) -> bool:
        return event.get("region") == region and (metric is None or event.get("metric") == metric)

    return accept


@strawberry.type
class FiguresSubscription:
    @strawberry.subscription(
        description="Each new version of an attested figure of `region` (and `metric`, if "
        "given) from now on, as reconciliation or a correction commits it, in ledger order "
        "(select `figure { id … }` to update the figure a client cache holds). A region's "
        "subdivisions are regions of their own: subscribe to each."
    )
    async def figure_changed(
        self,
        info: Info[Context, None],
        region: Annotated[
            str, strawberry.argument(description="An ISO 3166 code, e.g. FRA or US-NY.")
        ],
        metric: Annotated[
            Annotated[Metric, strawberry.lazy("api.figures.types")] | None,
            strawberry.argument(description="Only figures of this metric (null: every metric)."),
        ] = None,
    ) -> AsyncGenerator[Annotated[FigureVersion, strawberry.lazy("api.figures.types")], None]:
        from api.figures.types import FigureVersion

        if find_region(region) is None:
            raise ApiError(
                f"expected a region code such as FRA or US-NY, got {region[:40]!r}",
                ErrorCode.BAD_USER_INPUT,
            )
        wanted = None if metric is None else str(getattr(metric, "value", metric))
        runtime = info.context.runtime
        async with hub_of(info.context.request).subscribe(
            FIGURE, _wanted(region, wanted)
        ) as events:
            async for event in events:
                first = int(event["ledger_index"])
                query = (
                    select(FigureRow)
                    .where(
                        _FIGURE.c.ledger_index >= first,
                        _FIGURE.c.ledger_index < first + int(event["count"]),
                    )
                    .order_by(_FIGURE.c.ledger_index)
                )
                async with runtime.sessions() as session:
                    rows = (await session.execute(query)).scalars().all()
                # the context (and its DataLoaders' caches) lives as long as the websocket: start
                # each event's figures from fresh loaders, or `versions` would be a stale copy
                info.context.reset_loaders()
                for row in rows:
                    yield FigureVersion.from_row(row)
