"""GraphQL types of the figures domain: attested figures, their inputs and lineages, discrepancies.

What a figure rests on (inputs, lineages, tolerance, the version it supersedes) is read from its
`attestation` leaf, the bytes its proof covers, not from a copy (``api/figures/dataloaders.py``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry import relay
from strawberry.types import Info

from api.context import Context
from api.figures import dataloaders
from api.ledger.types import InclusionProof, LedgerEntry
from api.sources import dataloaders as source_loaders
from api.sources.types import (
    AnomalyType,
    Observation,
    Publisher,
    Region,
    enum_from_domain,
    leaf_of,
    node_keys,
    proof_of,
)
from api.sources.types import Metric as Metric  # re-exported: the subscriptions name it here
from ingest.publishers import as_utc
from ingest.reconcile.figures import Status
from models.reconcile import AttestedFigure as FigureRow

if TYPE_CHECKING:
    from api.moderation.types import Correction

    FigureStatus = Status
else:
    FigureStatus = enum_from_domain(
        Status,
        "FigureStatus",
        "How far the independent lineages agree on a figure (docs/reconciliation.md).",
        {
            "ATTESTED": "Two or more independent lineages agree within the metric's tolerance.",
            "DISPUTED": "Independent lineages differ by more than the tolerance.",
            "SINGLE_SOURCE": "One lineage gives it: nothing independent to compare with.",
            "CORRECTED": "Moderation corrected it after a challenge.",
        },
    )


async def _publisher(info: Info[Context, None], slug: str) -> Publisher:
    row = await source_loaders.publishers_by_slug(info.context).load(slug)
    if row is None:  # attestations name registered publishers only
        raise LookupError(f"expected a publisher with the slug {slug!r}, found none")
    return Publisher.of(row)


async def _record(info: Info[Context, None], ledger_index: int) -> dict[str, Any]:
    return await dataloaders.records(info.context).load(ledger_index)


def _selects(info: Info[Context, None], name: str) -> bool:
    """Whether the field being resolved selects ``name`` (through fragments too).

    Reads graphql-core's nodes: strawberry's ``info.selected_fields`` converts the whole
    selection (arguments included) on each call — 25 ms a page of 90 figures."""
    raw = info._raw_info
    seen: set[str] = set()

    def walk(selection_set: SelectionSetNode | None) -> bool:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                if selection.name.value == name:
                    return True
            elif isinstance(selection, InlineFragmentNode):
                if walk(selection.selection_set):
                    return True
            elif isinstance(selection, FragmentSpreadNode):
                fragment = raw.fragments.get(selection.name.value)
                if fragment is not None and fragment.name.value not in seen:
                    seen.add(fragment.name.value)
                    if walk(fragment.selection_set):
                        return True
        return False

    return any(walk(node.selection_set) for node in raw.field_nodes)


async def _none() -> Any:
    return None


async def _in_order(info: Info[Context, None], indices: list[int]) -> list[Observation]:
    found = await _observations_of(info, set(indices))
    return [found[i] for i in indices if i in found]


async def _last(info: Info[Context, None], indices: list[int]) -> Observation | None:
    found = await _observations_of(info, {indices[-1]})
    return found.get(indices[-1])


async def _publishers_of(info: Info[Context, None], slugs: set[str]) -> dict[str, Publisher]:
    ordered = sorted(slugs)
    rows = await source_loaders.publishers_by_slug(info.context).load_many(ordered)
    return {slug: Publisher.of(row) for slug, row in zip(ordered, rows, strict=True) if row}


async def _observations_of(info: Info[Context, None], indices: set[int]) -> dict[int, Observation]:
    ordered = sorted(indices)
    rows = await source_loaders.observations(info.context).load_many(ordered)
    return {index: Observation.of(row) for index, row in zip(ordered, rows, strict=True) if row}


def _lineages(figure: dict[str, Any]) -> list[Lineage]:
    return [Lineage.of(i, item) for i, item in enumerate(figure["lineages"])]


@strawberry.type(
    description="A group of publishers that copy each other, counted once: its value is its "
    "first member's with a value that day."
)
class Lineage:
    index: int = strawberry.field(description="Its position in the figure's `lineages`.")
    value: int = strawberry.field(description="The value the lineage gives.")
    counted_slug: strawberry.Private[str]
    slugs: strawberry.Private[list[str]]

    @strawberry.field(description="The member whose value counts.")
    async def counted(self, info: Info[Context, None]) -> Publisher:
        return await _publisher(info, self.counted_slug)

    @strawberry.field(description="Every member, the counted one first among equals.")
    async def publishers(self, info: Info[Context, None]) -> list[Publisher]:
        found = await source_loaders.publishers_by_slug(info.context).load_many(self.slugs)
        return [Publisher.of(row) for row in found if row is not None]

    @classmethod
    def of(cls, index: int, record: dict[str, Any]) -> Lineage:
        return cls(
            index=index,
            value=int(record["value"]),
            counted_slug=str(record["counted"]),
            slugs=[str(s) for s in record["publishers"]],
        )


@strawberry.type(description="What one publisher contributed to a figure.")
class FigureInput:
    date: dt.date = strawberry.field(
        description="The publisher's own date for it (the figure's date plus its report lag)."
    )
    value: int = strawberry.field(description="The value it gave (or that was derived from it).")
    derived: str | None = strawberry.field(
        description="How the value was derived when the publisher did not give it as such "
        "(a running sum, a day-to-day difference, a region composed of its parts); null when "
        "published."
    )
    counted: bool = strawberry.field(description="Whether its value is its lineage's value.")
    anomalies: list[AnomalyType] = strawberry.field(
        description="The anomaly flags on the observations of that date it rests on."
    )
    lineage: Lineage = strawberry.field(description="The lineage it belongs to.")
    publisher_slug: strawberry.Private[str]
    observation_indices: strawberry.Private[list[int]]
    # Loaded once for the whole list by AttestedFigure.inputs when selected, so that these
    # fields resolve without an await each (a page of 90 figures has ~360 inputs).
    loaded_publishers: strawberry.Private[dict[str, Publisher]]
    loaded_observations: strawberry.Private[dict[int, Observation] | None]

    # The resolvers below are synchronous: they return the preloaded object, or, when it was
    # not preloaded, an awaitable that graphql-core awaits (hence the ignores).
    @strawberry.field(description="The publisher.")
    def publisher(self, info: Info[Context, None]) -> Publisher:
        found = self.loaded_publishers.get(self.publisher_slug)
        return found if found is not None else _publisher(info, self.publisher_slug)  # type: ignore[return-value]

    @strawberry.field(
        description="Every observation the value rests on (two for a day-to-day difference, "
        "the parts of a composed region), in the attestation's order.",
        metadata={"list_size": 2},
    )
    def observations(self, info: Info[Context, None]) -> list[Observation]:
        if self.loaded_observations is None:
            return _in_order(info, self.observation_indices)  # type: ignore[return-value]
        return [
            self.loaded_observations[i]
            for i in self.observation_indices
            if i in self.loaded_observations
        ]

    @strawberry.field(
        description="The observation the value rests on: the last of `observations` (for a "
        "difference, the day's value; null if none)."
    )
    def observation(self, info: Info[Context, None]) -> Observation | None:
        if not self.observation_indices:
            return None
        if self.loaded_observations is None:
            return _last(info, self.observation_indices)  # type: ignore[return-value]
        return self.loaded_observations.get(self.observation_indices[-1])

    @classmethod
    def of(
        cls,
        record: dict[str, Any],
        lineages: list[Lineage],
        publishers: dict[str, Publisher],
        observations: dict[int, Observation] | None,
    ) -> FigureInput:
        lineage = lineages[int(record["lineage"])]
        return cls(
            date=dt.date.fromisoformat(record["date"]),
            value=int(record["value"]),
            derived=record.get("derived"),
            counted=lineage.counted_slug == record["publisher"],
            anomalies=[AnomalyType(kind) for kind in record.get("anomalies", [])],
            lineage=lineage,
            publisher_slug=str(record["publisher"]),
            observation_indices=[int(i) for i in record["observations"]],
            loaded_publishers=publishers,
            loaded_observations=observations,
        )


@strawberry.type(description="How far lineages may differ for the figure to be ATTESTED.")
class Tolerance:
    relative: str = strawberry.field(description="A share of the figure's value, e.g. 0.02.")
    absolute: int = strawberry.field(description="A count always allowed, for small figures.")


@strawberry.type(
    description="The attested figure for a region, metric and date: the median of the "
    "independent lineages' values, with its status, spread and the observations it rests on. "
    "Each change is a new version, an `attestation` leaf on the log; old versions are kept."
)
class AttestedFigure(relay.Node):
    metric: Metric = strawberry.field(description="What it counts.")
    date: dt.date = strawberry.field(description="The day the counts go up to.")
    value: int = strawberry.field(description="The attested value.")
    status: FigureStatus = strawberry.field(description="How far the lineages agree.")
    spread: int = strawberry.field(description="Largest minus smallest lineage value.")
    spread_ratio: float | None = strawberry.field(
        description="`spread` / |`value`| (null when the value is 0)."
    )
    lineage_count: int = strawberry.field(description="How many independent lineages gave it.")
    explanation: str = strawberry.field(description="Every rule applied, in words.")
    version: int = strawberry.field(description="1 for the first attestation, +1 per change.")
    latest: bool = strawberry.field(description="Whether this is the current version.")
    digest: str = strawberry.field(
        description="SHA-256 of the attested content without its version: equal content, no new "
        "version."
    )
    created_at: dt.datetime = strawberry.field(description="When this version was written.")
    ledger_index: int = strawberry.field(description="Its `attestation` leaf on the log.")
    region_code: strawberry.Private[str]

    @strawberry.field(description="The region it is for.")
    def region(self) -> Region:
        return Region.known(self.region_code)

    @strawberry.field(
        description="The correction that wrote this version (status CORRECTED), with the old "
        "value, the reason and who decided it; null for an attestation."
    )
    async def correction(
        self, info: Info[Context, None]
    ) -> Annotated[Correction, strawberry.lazy("api.moderation.types")] | None:
        from api.moderation.types import Correction, figure_corrections

        row = await figure_corrections(info.context, "ledger_index").load(self.ledger_index)
        return None if row is None else Correction.of(row)

    @strawberry.field(
        description="The correction that deprecated this version: its value was replaced by a "
        "moderation decision; the version is kept, never deleted. Null when none did."
    )
    async def deprecated_by(
        self, info: Info[Context, None]
    ) -> Annotated[Correction, strawberry.lazy("api.moderation.types")] | None:
        from api.moderation.types import Correction, figure_corrections

        row = await figure_corrections(info.context, "supersedes").load(self.ledger_index)
        return None if row is None else Correction.of(row)

    @strawberry.field(
        description="What each publisher contributed, lineage by lineage.",
        metadata={"list_size": 6},
    )
    async def inputs(self, info: Info[Context, None]) -> list[FigureInput]:
        figure = (await _record(info, self.ledger_index))["figure"]
        lineages = _lineages(figure)
        items = figure["inputs"]
        wants_observations = _selects(info, "observation") or _selects(info, "observations")
        # one load for the whole list (and, through the loaders, for the whole page)
        publishers, observations = await asyncio.gather(
            _publishers_of(info, {str(i["publisher"]) for i in items})
            if _selects(info, "publisher")
            else _none(),
            _observations_of(info, {int(o) for i in items for o in i["observations"]})
            if wants_observations
            else _none(),
        )
        return [FigureInput.of(item, lineages, publishers or {}, observations) for item in items]

    @strawberry.field(
        description="The independent lineages, each with its value and members.",
        metadata={"list_size": 4},
    )
    async def lineages(self, info: Info[Context, None]) -> list[Lineage]:
        return _lineages((await _record(info, self.ledger_index))["figure"])

    @strawberry.field(description="The tolerance the status was decided with.")
    async def tolerance(self, info: Info[Context, None]) -> Tolerance:
        found = (await _record(info, self.ledger_index))["figure"]["tolerance"]
        return Tolerance(relative=str(found["relative"]), absolute=int(found["absolute"]))

    @strawberry.field(
        description="Every version of this figure, oldest first (this one included).",
        metadata={"list_size": 3},
    )
    async def versions(self, info: Info[Context, None]) -> list[AttestedFigure]:
        key = (self.region_code, self.metric.value, self.date)
        return [
            AttestedFigure.from_row(row)
            for row in await dataloaders.versions(info.context).load(key)
        ]

    @strawberry.field(description="The version this one replaced (null for the first).")
    async def supersedes(self, info: Info[Context, None]) -> AttestedFigure | None:
        previous = (await _record(info, self.ledger_index))["supersedes"]
        if previous is None:
            return None
        row = await dataloaders.figures(info.context).load(int(previous))
        return None if row is None else AttestedFigure.from_row(row)

    @strawberry.field(description="Proof that its `attestation` leaf is on the log.")
    async def proof(self, info: Info[Context, None]) -> InclusionProof:
        return await proof_of(info, self.ledger_index)

    @strawberry.field(
        description="The `attestation` leaf itself: the exact bytes the proof covers."
    )
    async def leaf(self, info: Info[Context, None]) -> LedgerEntry:
        return await leaf_of(info, self.ledger_index)

    @classmethod
    def from_row(cls, row: FigureRow) -> AttestedFigure:
        """The GraphQL figure of a stored version (``models.reconcile.AttestedFigure``)."""
        return cls(
            metric=Metric(row.metric),
            date=row.date,
            value=row.value,
            status=FigureStatus(row.status),
            spread=row.spread,
            spread_ratio=row.spread_ratio,
            lineage_count=row.lineages,
            explanation=row.explanation,
            version=row.version,
            latest=row.latest,
            digest=row.digest,
            created_at=as_utc(row.created_at),
            ledger_index=row.ledger_index,
            region_code=row.region,
        )

    @classmethod
    def resolve_id(cls, root: AttestedFigure, *, info: Info[Context, None]) -> str:
        return str(root.ledger_index)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[AttestedFigure | None]:
        keys = node_keys("AttestedFigure", node_ids)
        found = await dataloaders.figures(info.context).load_many(keys)
        return [None if row is None else cls.from_row(row) for row in found]


@strawberry.type(
    description="A DISPUTED figure: independent lineages differ beyond the tolerance. Ready for "
    "review: the figure, how far apart the lineages are and what each says."
)
class Discrepancy:
    figure: AttestedFigure = strawberry.field(description="The disputed figure (latest version).")
    spread: int = strawberry.field(description="Largest minus smallest lineage value.")
    spread_ratio: float | None = strawberry.field(
        description="`spread` / |value| (null when the value is 0)."
    )

    @strawberry.field(
        description="Each lineage's value with its publishers, as attested.",
        metadata={"list_size": 4},
    )
    async def lineages(self, info: Info[Context, None]) -> list[Lineage]:
        return _lineages((await _record(info, self.figure.ledger_index))["figure"])

    @classmethod
    def of(cls, figure: AttestedFigure) -> Discrepancy:
        return cls(figure=figure, spread=figure.spread, spread_ratio=figure.spread_ratio)
