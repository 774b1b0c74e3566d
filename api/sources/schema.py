"""Root fields of the sources domain: regions, publishers, documents and observations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, cast

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError, ErrorCode
from api.relay import Connection, PageArgs, connection, counter, keyset_page
from api.sources import dataloaders, filters
from api.sources.types import Document, Metric, Observation, Publisher, Region, RegionLevel
from models.ingest import Document as DocumentRow
from models.ingest import Observation as ObservationRow
from models.ingest import Publisher as PublisherRow

_PUBLISHER = PublisherRow.__table__  # type: ignore[attr-defined]
_DOCUMENT = DocumentRow.__table__  # type: ignore[attr-defined]
_OBSERVATION = ObservationRow.__table__  # type: ignore[attr-defined]

First = Annotated[
    int | None, strawberry.argument(description="Return the first n rows (1..100) after `after`.")
]
After = Annotated[
    str | None, strawberry.argument(description="Page on after this cursor (an edge's `cursor`).")
]
Last = Annotated[
    int | None, strawberry.argument(description="Return the last n rows (1..100) before `before`.")
]
Before = Annotated[str | None, strawberry.argument(description="Page back before this cursor.")]
RegionCode = Annotated[
    str, strawberry.argument(description="A region code: ITA, US-NY, US-FIPS-36061…")
]
PublisherSlug = Annotated[
    str | None, strawberry.argument(description="Only this publisher's (its slug, e.g. who).")
]
From = Annotated[
    dt.date | None,
    strawberry.argument(name="from", description="Only dates on or after this one."),
]
To = Annotated[dt.date | None, strawberry.argument(description="Only dates on or before this one.")]
IncludeDescendants = Annotated[
    bool,
    strawberry.argument(
        description="Also the regions below `region`: its subdivisions, jurisdictions, counties."
    ),
]


@strawberry.type
class SourcesQuery:
    @strawberry.field(description="A region by its code (ITA, US-NY, US-FIPS-36061).")
    def region(
        self, code: Annotated[str, strawberry.argument(description="The region's code.")]
    ) -> Region | None:
        found = Region.find(code)
        if found is None:
            raise ApiError(
                f"no region with the code {code[:40]!r}: expected a code of the catalogue such "
                "as ITA, US-NY or US-FIPS-36061 (see `regions`)",
                ErrorCode.NOT_FOUND,
            )
        return found

    @strawberry.field(description="Regions of the catalogue by code, optionally below a parent.")
    def regions(
        self,
        parent: Annotated[
            str | None, strawberry.argument(description="Only the regions directly below this one.")
        ] = None,
        level: Annotated[
            RegionLevel | None, strawberry.argument(description="Only regions of this level.")
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Region]:
        page, count = filters.regions_page(
            parent,
            None if level is None else cast(str, level.value),
            PageArgs.of(first, after, last, before),
        )
        return connection(page, filters.REGION_KEYSET, [Region.of(r) for r in page.rows], count)

    @strawberry.field(description="A publisher by its slug (who, jhu-csse, it-dpc…).")
    async def publisher(
        self,
        info: Info[Context, None],
        slug: Annotated[str, strawberry.argument(description="The publisher's slug.")],
    ) -> Publisher | None:
        row = await dataloaders.publishers_by_slug(info.context).load(slug)
        if row is None:
            raise ApiError(
                f"no publisher with the slug {slug[:70]!r}: expected the slug of a registered "
                "publisher, e.g. who or jhu-csse (see `publishers`)",
                ErrorCode.NOT_FOUND,
            )
        return Publisher.of(row)

    @strawberry.field(description="Every publisher, by slug.")
    async def publishers(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Publisher]:
        args = PageArgs.of(first, after, last, before)
        runtime = info.context.runtime
        async with runtime.sessions() as session:
            page = await keyset_page(
                session, select(PublisherRow, _PUBLISHER.c.slug), filters.PUBLISHER_KEYSET, args
            )
        nodes = [Publisher.of(row[0]) for row in page.rows]
        total = counter(runtime.sessions, select(_PUBLISHER.c.id))
        return connection(page, filters.PUBLISHER_KEYSET, nodes, total)

    @strawberry.field(description="Documents as received, in the order they reached the log.")
    async def documents(
        self,
        info: Info[Context, None],
        publisher: PublisherSlug = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Document]:
        args = PageArgs.of(first, after, last, before)
        conditions = filters.document_conditions(publisher)
        runtime = info.context.runtime
        statement = select(DocumentRow, _DOCUMENT.c.ledger_index).where(*conditions)
        async with runtime.sessions() as session:
            page = await keyset_page(session, statement, filters.DOCUMENT_KEYSET, args)
        nodes = [Document.of(row[0]) for row in page.rows]
        total = counter(runtime.sessions, select(_DOCUMENT.c.id).where(*conditions))
        return connection(page, filters.DOCUMENT_KEYSET, nodes, total)

    @strawberry.field(
        description="Publishers' observations of a region by date, region, metric and arrival; "
        "cursors stay valid as observations are added."
    )
    async def observations(
        self,
        info: Info[Context, None],
        region: RegionCode,
        metric: Annotated[
            Metric | None, strawberry.argument(description="Only this metric.")
        ] = None,
        from_: From = None,
        to: To = None,
        publisher: PublisherSlug = None,
        include_descendants: IncludeDescendants = False,
        all_versions: Annotated[
            bool,
            strawberry.argument(
                description="Also the versions later documents revised (default: current only)."
            ),
        ] = False,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Observation]:
        args = PageArgs.of(first, after, last, before)
        conditions = filters.observation_conditions(
            region=region,
            include_descendants=include_descendants,
            metric=None if metric is None else metric.value,
            since=from_,
            until=to,
            publisher=publisher,
            all_versions=all_versions,
        )
        keyset = filters.OBSERVATION_KEYSET
        runtime = info.context.runtime
        statement = select(ObservationRow, *keyset.columns).where(*conditions)
        async with runtime.sessions() as session:
            page = await keyset_page(session, statement, keyset, args)
        nodes = [Observation.of(row[0]) for row in page.rows]
        total = counter(runtime.sessions, select(_OBSERVATION.c.ledger_index).where(*conditions))
        return connection(page, keyset, nodes, total)
