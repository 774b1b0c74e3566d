"""GraphQL types of the figures domain: attested figures, their inputs and lineages, discrepancies.

What a figure rests on (inputs, lineages, tolerance, the version it supersedes) is read from its
`attestation` leaf, the bytes its proof covers, not from a copy (``api/figures/dataloaders.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry import relay
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError, ErrorCode
from api.figures import dataloaders
from api.ledger.types import InclusionProof, LedgerEntry
from api.relay import Connection, Keyset, PageArgs, list_connection
from api.sources import dataloaders as source_loaders
from api.sources.schema import After, Before, First, Last
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
from ingest.adapters.base import Metric as DomainMetric
from ingest.publishers import as_utc
from ingest.reconcile.figures import Derivation as DomainDerivation
from ingest.reconcile.figures import Status, derivation_of
from ingest.reconcile.query import RunningSum
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


if TYPE_CHECKING:
    Derivation = DomainDerivation
else:
    Derivation = enum_from_domain(
        DomainDerivation,
        "Derivation",
        "How an input's value was made from its publisher's observations (docs/reconciliation.md"
        ", Alignment); `derivedFrom` lists the observations it was made from.",
        {
            "AS_PUBLISHED": "The publisher's value itself: `derivedFrom` is its one observation.",
            "CUMULATIVE_FROM_DAILY": "The running sum of the publisher's daily values (it gives "
            "no running total): `derivedFrom` is every daily observation summed, by date.",
            "DAILY_FROM_CUMULATIVE": "The day-to-day difference of the publisher's running "
            "total: `derivedFrom` is the day before's observation and the day's.",
            "COMPOSED_FROM_PARTS": "The sum of the parts the publisher gives a region in (the "
            "CDC's US-NY-NYC + US-NY-EXCL-NYC = US-NY): `derivedFrom` is each part's observation.",
        },
    )

#: The order of an input's `derivedFrom`: by date, then region, then ledger index.
DERIVED_FROM = Keyset("figure-input-observations", (), ("date", "str", "int"))


def _observation_key(observation: Observation) -> tuple[dt.date, str, int]:
    return (observation.date, observation.region_code, observation.ledger_index)


@strawberry.type(description="What one publisher contributed to a figure.")
class FigureInput:
    date: dt.date = strawberry.field(
        description="The publisher's own date for it (the figure's date plus `dateShiftDays`)."
    )
    date_shift_days: int = strawberry.field(
        description="How many days the publisher's date is after the figure's: its declared "
        "report lag (WHO and ECDC: 1, a value dated D counts up to D − 1); 0 when not shifted."
    )
    value: int = strawberry.field(description="The value it gave (or that was derived from it).")
    derivation: Derivation = strawberry.field(
        description="How `value` was made from the publisher's observations (AS_PUBLISHED when "
        "it is one of them); `derivedFrom` names them."
    )
    derived: str | None = strawberry.field(
        description="`derivation` in the attestation's words (a running sum names its days); "
        "null when published."
    )
    counted: bool = strawberry.field(description="Whether its value is its lineage's value.")
    anomalies: list[AnomalyType] = strawberry.field(
        description="The anomaly flags on the observations of that date it rests on."
    )
    lineage: Lineage = strawberry.field(description="The lineage it belongs to.")
    publisher_slug: strawberry.Private[str]
    observation_indices: strawberry.Private[list[int]]
    region_code: strawberry.Private[str]
    running_sum: strawberry.Private[RunningSum | None]
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
        description="The observations the attestation names (two for a day-to-day difference, "
        "the parts of a composed region, the last day of a running sum), in its order. "
        "`derivedFrom` has every observation the value was made from.",
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

    @strawberry.field(
        description="Every observation `value` was made from, by date: `value` is the one "
        "observation's value (AS_PUBLISHED), the sum of theirs (CUMULATIVE_FROM_DAILY, "
        "COMPOSED_FROM_PARTS), or the later minus the earlier (DAILY_FROM_CUMULATIVE). For a "
        "running sum, each day's version as it stood when the figure was attested."
    )
    async def derived_from(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Observation]:
        args = PageArgs.of(first, after, last, before)
        if self.running_sum is not None:
            rows = await dataloaders.summed(info.context).load(self.running_sum)
            found = [Observation.of(row) for row in rows]
        else:
            found = list((await _observations_of(info, set(self.observation_indices))).values())
        found.sort(key=_observation_key)
        return list_connection(found, _observation_key, DERIVED_FROM, args)

    @classmethod
    def of(
        cls,
        record: dict[str, Any],
        figure: FigureContent,
        lineages: list[Lineage],
        publishers: dict[str, Publisher],
        observations: dict[int, Observation] | None,
    ) -> FigureInput:
        lineage = lineages[int(record["lineage"])]
        day = dt.date.fromisoformat(record["date"])
        derived = record.get("derived")
        derivation = derivation_of(derived)
        running_sum = None
        if derivation.method is DomainDerivation.CUMULATIVE_FROM_DAILY:
            assert derivation.summed_metric is not None
            running_sum = RunningSum(
                publisher=str(record["publisher"]),
                region=figure.region_code,
                metric=derivation.summed_metric,
                first=derivation.first_day,
                last=day,
                attestation=figure.ledger_index,
            )
        return cls(
            date=day,
            date_shift_days=(day - figure.date).days,
            value=int(record["value"]),
            derivation=Derivation(derivation.method.value),
            derived=derived,
            counted=lineage.counted_slug == record["publisher"],
            anomalies=[AnomalyType(kind) for kind in record.get("anomalies", [])],
            lineage=lineage,
            publisher_slug=str(record["publisher"]),
            observation_indices=[int(i) for i in record["observations"]],
            region_code=figure.region_code,
            running_sum=running_sum,
            loaded_publishers=publishers,
            loaded_observations=observations,
        )


@strawberry.type(description="How far lineages may differ for the figure to be ATTESTED.")
class Tolerance:
    relative: str = strawberry.field(description="A share of the figure's value, e.g. 0.02.")
    absolute: int = strawberry.field(description="A count always allowed, for small figures.")


@strawberry.interface(
    description="What an attested figure version says: the median of the independent "
    "lineages' values, with its status, spread and the observations it rests on, and its "
    "`attestation` (or `correction`) leaf. An `AttestedFigure` shows its latest version; a "
    "`FigureVersion` is one version, kept for good."
)
class FigureContent:
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
    digest: str = strawberry.field(
        description="SHA-256 of the attested content without its version: equal content, no new "
        "version."
    )
    created_at: dt.datetime = strawberry.field(description="When this version was written.")
    ledger_index: int = strawberry.field(
        description="Its `attestation` (or `correction`) leaf on the log."
    )
    latest: bool = strawberry.field(
        description="Whether this is the figure's current version (always, for an AttestedFigure)."
    )
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
        return [
            FigureInput.of(item, self, lineages, publishers or {}, observations) for item in items
        ]

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
        description="Every version of the figure, oldest first (this one included).",
        metadata={"list_size": 3},
    )
    async def versions(self, info: Info[Context, None]) -> list[FigureVersion]:
        key = (self.region_code, self.metric.value, self.date)
        return [
            FigureVersion.from_row(row)
            for row in await dataloaders.versions(info.context).load(key)
        ]

    @strawberry.field(description="The version this one replaced (null for the first).")
    async def supersedes(self, info: Info[Context, None]) -> FigureVersion | None:
        previous = (await _record(info, self.ledger_index))["supersedes"]
        if previous is None:
            return None
        row = await dataloaders.figures(info.context).load(int(previous))
        return None if row is None else FigureVersion.from_row(row)

    @strawberry.field(description="Proof that its leaf is on the log.")
    async def proof(self, info: Info[Context, None]) -> InclusionProof:
        return await proof_of(info, self.ledger_index)

    @strawberry.field(description="Its leaf itself: the exact bytes the proof covers.")
    async def leaf(self, info: Info[Context, None]) -> LedgerEntry:
        return await leaf_of(info, self.ledger_index)

    @classmethod
    def from_row(cls, row: FigureRow) -> Self:
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
            digest=row.digest,
            created_at=as_utc(row.created_at),
            ledger_index=row.ledger_index,
            region_code=row.region,
            latest=row.latest,
        )

    @classmethod
    def from_content(cls, other: FigureContent) -> Self:
        """The same version seen as another type (an AttestedFigure as its FigureVersion)."""
        return cls(**{f.name: getattr(other, f.name) for f in dataclasses.fields(other) if f.init})


def figure_key(region: str, metric: str, day: dt.date) -> str:
    """The key in a figure's stable global ID: ``ITA/cases_cumulative/2020-06-01``, the form the
    log's challenge records name a figure by (``moderation.challenges.figure_target_id``)."""
    return f"{region}/{metric}/{day.isoformat()}"


def parse_figure_key(key: str, argument: str | None = None) -> tuple[str, str, dt.date]:
    """(region, metric, date) of a figure key; ApiError BAD_USER_INPUT for anything else (its
    message starting with ``argument``, when given)."""
    region, _, rest = key.partition("/")
    metric, _, day = rest.partition("/")
    try:
        parsed = dt.date.fromisoformat(day)
        if not region or region.upper() != region or "/" in day:
            raise ValueError(key)
        DomainMetric(metric)
    except ValueError:
        raise ApiError(
            f"{'' if argument is None else argument + ': '}expected an AttestedFigure id whose "
            f"key is REGION/metric/YYYY-MM-DD, got key {key[:80]!r}",
            ErrorCode.BAD_USER_INPUT,
        ) from None
    return region, metric, parsed


@strawberry.type(
    description="The attested figure for a region, metric and date, as its latest version says. "
    "Its `id` stays the same across versions (a client cache updates it in place); each "
    "version is a `FigureVersion` of its own, an `attestation` leaf on the log, kept for good."
)
class AttestedFigure(FigureContent, relay.Node):
    @strawberry.field(
        description="The version it shows now (its `id` names that version for good)."
    )
    def current_version(self) -> FigureVersion:
        return FigureVersion.from_content(self)

    @classmethod
    def resolve_id(cls, root: AttestedFigure, *, info: Info[Context, None]) -> str:
        return figure_key(root.region_code, root.metric.value, root.date)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[FigureContent | None]:
        wanted: list[tuple[str, str, dt.date] | int] = []
        for node_id in node_ids:
            if node_id.isdecimal() and len(node_id) < 17:
                wanted.append(int(node_id))  # an ID issued before figures had stable ones
            else:
                wanted.append(parse_figure_key(node_id))
        keys = [k for k in wanted if not isinstance(k, int)]
        versions = await dataloaders.versions(info.context).load_many(keys)
        latest = {key: latest_of(rows) for key, rows in zip(keys, versions, strict=True)}
        legacy = await dataloaders.figures(info.context).load_many(
            [k for k in wanted if isinstance(k, int)]
        )
        old = iter(legacy)
        found: list[FigureContent | None] = []
        for key in wanted:
            if isinstance(key, int):
                row = next(old)
                found.append(None if row is None else FigureVersion.from_row(row))
            else:
                row = latest[key]
                found.append(None if row is None else cls.from_row(row))
        return found


def latest_of(rows: list[FigureRow]) -> FigureRow | None:
    """The latest of a figure's versions (oldest first), None for none."""
    return next((row for row in rows if row.latest), rows[-1] if rows else None)


@strawberry.type(
    description="One version of an attested figure, as its `attestation` (or `correction`) leaf "
    "says: its `id` names this version for good; `figure` is the figure as it is now."
)
class FigureVersion(FigureContent, relay.Node):
    @strawberry.field(description="The figure, as its latest version says (a stable `id`).")
    async def figure(self, info: Info[Context, None]) -> AttestedFigure:
        if self.latest:
            return AttestedFigure.from_content(self)
        key = (self.region_code, self.metric.value, self.date)
        row = latest_of(await dataloaders.versions(info.context).load(key))
        assert row is not None  # this version is one of them
        return AttestedFigure.from_row(row)

    @classmethod
    def resolve_id(cls, root: FigureVersion, *, info: Info[Context, None]) -> str:
        return str(root.ledger_index)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[FigureVersion | None]:
        keys = node_keys("FigureVersion", node_ids)
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
