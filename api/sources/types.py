"""GraphQL types of the sources domain: regions, publishers and their keys, documents, observations.

Every object of its own is a Relay ``Node`` with an opaque global ID; every relation resolves
through a DataLoader (``api/sources/dataloaders.py``), so a page costs a fixed number of queries
whatever its size. Regions come from the catalogue in ``ingest/regions.py``, not the database.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError, ErrorCode
from api.ledger import dataloaders as ledger_loaders
from api.ledger.types import InclusionProof, LedgerEntry
from api.sources import dataloaders
from api.sources.routes import original_url
from ingest import regions
from ingest.adapters.base import Metric as DomainMetric
from ingest.publishers import as_utc
from ingest.queries import child_regions
from ingest.reconcile.anomalies import AnomalyType as DomainAnomalyType
from models import ingest as rows
from models.reconcile import Anomaly as AnomalyRow

if TYPE_CHECKING:
    Metric = DomainMetric
    AnomalyType = DomainAnomalyType


def enum_from_domain(
    domain: type[enum.Enum], name: str, description: str, values: Mapping[str, str]
) -> Any:
    """A GraphQL enum with the members of a domain enum (same names and values), described."""
    members = {
        member.name: strawberry.enum_value(
            member.value, description=values.get(member.name, f"`{member.value}`")
        )
        for member in domain
    }
    made: Any = enum.Enum(name, members)  # type: ignore[misc]
    return strawberry.enum(made, name=name, description=description)


if not TYPE_CHECKING:
    Metric = enum_from_domain(
        DomainMetric,
        "Metric",
        "What a figure counts. Cumulative metrics are running totals; daily ones new counts.",
        {
            "CASES_CUMULATIVE": "Confirmed cases since the start of the epidemic.",
            "CASES_DAILY": "New confirmed cases reported that day.",
            "DEATHS_CUMULATIVE": "Deaths since the start of the epidemic.",
            "DEATHS_DAILY": "New deaths reported that day.",
            "CASES_CUMULATIVE_BY_NOTIFICATION_DATE": "Confirmed cases by the date the local "
            "health office was notified (RKI's Meldedatum), running total; a definition of its "
            "own, never compared with report-date counts.",
            "CASES_DAILY_BY_NOTIFICATION_DATE": "Confirmed cases by notification date, per day.",
        },
    )
    AnomalyType = enum_from_domain(
        DomainAnomalyType,
        "AnomalyType",
        "Something in a publisher's series that looks wrong (docs/reconciliation.md, Anomalies).",
        {
            "CUMULATIVE_DECREASE": "A cumulative count below the publisher's previous day.",
            "NEGATIVE_DAILY": "A daily count below zero.",
            "BACK_DISTRIBUTION_SPIKE": "A day's count at least 5 times the median of the 7 "
            "reported days either side (and at least 50): a backlog reported in one go.",
            "FROZEN": "A cumulative count repeated 7 or more days after it had been rising.",
            "DEFINITION_CHANGE": "A jump after which the publisher stays apart from the other "
            "lineages: a change in what it counts.",
        },
    )


@strawberry.enum(description="Where a region sits in the hierarchy country → subdivision → county.")
class RegionLevel(enum.Enum):
    COUNTRY = strawberry.enum_value(
        "country", description="A country or territory (ISO 3166-1 alpha-3, e.g. ITA; XKX)."
    )
    SUBDIVISION = strawberry.enum_value(
        "subdivision", description="A top-level subdivision (ISO 3166-2, e.g. US-NY, CA-ON)."
    )
    COUNTY = strawberry.enum_value(
        "county", description="A US county by its FIPS code (US-FIPS-36061)."
    )
    JURISDICTION = strawberry.enum_value(
        "jurisdiction",
        description="A publisher's jurisdiction that together with others makes up its parent "
        "(the CDC's US-NY-NYC and US-NY-EXCL-NYC).",
    )


@strawberry.enum(description="What kind of body a publisher is.")
class PublisherKind(enum.Enum):
    OFFICIAL_AGENCY = strawberry.enum_value(
        "official-agency", description="A public-health agency or ministry."
    )
    ACADEMIC_AGGREGATOR = strawberry.enum_value(
        "academic-aggregator", description="A university project compiling others' reports."
    )
    NEWSROOM = strawberry.enum_value("newsroom", description="A news organisation's data desk.")
    VOLUNTEER_PROJECT = strawberry.enum_value(
        "volunteer-project", description="A project run by volunteers."
    )


def node_keys(type_name: str, node_ids: Iterable[str]) -> list[int]:
    """The integer keys of a type's global IDs (ledger indices); refuses anything else."""
    keys = []
    for node_id in node_ids:
        try:
            keys.append(int(node_id))
        except ValueError:
            raise ApiError(
                f"expected a {type_name} id (an integer key), got key {node_id!r}",
                ErrorCode.BAD_USER_INPUT,
            ) from None
    return keys


async def proof_of(info: Info[Context, None], ledger_index: int) -> InclusionProof:
    """The inclusion proof of a leaf under the latest checkpoint, batched with the page's others."""
    return await ledger_loaders.inclusion_proofs(info.context).load(ledger_index)


async def leaf_of(info: Info[Context, None], ledger_index: int) -> LedgerEntry:
    """The log entry at ``ledger_index`` (its exact bytes), batched."""
    found = await ledger_loaders.entries(info.context).load(ledger_index)
    if found is None:  # every row's leaf is on the log: a missing one is a broken database
        raise LookupError(f"expected a ledger entry at index {ledger_index}, found none")
    return LedgerEntry.of(ledger_index, *found)


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else as_utc(moment)


@strawberry.type(
    description="A place figures are given for: a country, a subdivision, a US county or a "
    "publisher's jurisdiction. Codes are ISO 3166 (ITA, US-NY), US-FIPS-<5 digits> for counties."
)
class Region(relay.Node):
    code: str = strawberry.field(description="The region's code, e.g. ITA, US-NY, US-FIPS-36061.")
    name: str = strawberry.field(description="The region's everyday English name.")
    level: RegionLevel = strawberry.field(
        description="Country, subdivision, county or jurisdiction."
    )
    parent_code: strawberry.Private[str | None]
    same_as_code: strawberry.Private[str | None]

    @strawberry.field(description="The region this one is part of (null for a country).")
    def parent(self) -> Region | None:
        return Region.find(self.parent_code)

    @strawberry.field(
        description="The regions directly below this one, by code.", metadata={"list_size": 60}
    )
    def children(self) -> list[Region]:
        return [Region.of(child) for child in child_regions(self.code)]

    @strawberry.field(
        description="The same territory under its other code: US-PR (a US subdivision, as US "
        "publishers report it) and PRI (an ISO 3166-1 entity, as WHO, ECDC and OWID do)."
    )
    def same_as(self) -> Region | None:
        return Region.find(self.same_as_code)

    @classmethod
    def of(cls, region: regions.Region) -> Region:
        return cls(
            code=region.code,
            name=region.name,
            level=RegionLevel(region.level),
            parent_code=region.parent,
            same_as_code=region.same_as,
        )

    @classmethod
    def find(cls, code: str | None) -> Region | None:
        found = None if code is None else regions.region(code)
        return None if found is None else cls.of(found)

    @classmethod
    def known(cls, code: str) -> Region:
        """The region a stored row names (every stored code is in the catalogue)."""
        found = cls.find(code)
        if found is None:
            raise LookupError(f"expected a region of the catalogue, got {code!r}")
        return found

    @classmethod
    def resolve_id(cls, root: Region, *, info: Info[Context, None]) -> str:
        return root.code

    @classmethod
    def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Region | None]:
        return [cls.find(code) for code in node_ids]


@strawberry.type(description="An Ed25519 key a publisher signs its documents with (C2SP vkey).")
class PublisherKey(relay.Node):
    name: str = strawberry.field(description="The key's name, as in its signatures.")
    key_id: str = strawberry.field(description="The signed-note key ID, 8 hex digits.")
    vkey: str = strawberry.field(description="The verifier key: name+keyid+base64 key.")
    valid_from: dt.datetime = strawberry.field(description="From when documents it signs count.")
    valid_until: dt.datetime | None = strawberry.field(
        description="Until when (exclusive; null: no end set)."
    )
    revoked_at: dt.datetime | None = strawberry.field(
        description="When it was revoked (null: never); nothing signed from then on counts."
    )
    revocation_reason: str | None = strawberry.field(description="Why it was revoked.")
    ledger_index: int = strawberry.field(description="The `key` leaf that registered it.")
    publisher_id: strawberry.Private[int]

    @strawberry.field(description="The publisher the key belongs to.")
    async def publisher(self, info: Info[Context, None]) -> Publisher:
        return Publisher.of(await _publisher(info, self.publisher_id))

    @strawberry.field(description="Proof that the key's registration is on the log.")
    async def proof(self, info: Info[Context, None]) -> InclusionProof:
        return await proof_of(info, self.ledger_index)

    @strawberry.field(description="The `key` leaf itself: the exact bytes the proof covers.")
    async def leaf(self, info: Info[Context, None]) -> LedgerEntry:
        return await leaf_of(info, self.ledger_index)

    @classmethod
    def of(cls, row: rows.PublisherKey) -> PublisherKey:
        return cls(
            name=row.name,
            key_id=f"{row.key_id:08x}",
            vkey=row.vkey,
            valid_from=as_utc(row.valid_from),
            valid_until=_utc(row.valid_until),
            revoked_at=_utc(row.revoked_at),
            revocation_reason=row.revocation_reason,
            ledger_index=row.ledger_index,
            publisher_id=row.publisher_id,
        )

    @classmethod
    def resolve_id(cls, root: PublisherKey, *, info: Info[Context, None]) -> str:
        return str(root.ledger_index)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[PublisherKey | None]:
        keys = node_keys("PublisherKey", node_ids)
        found = await dataloaders.keys_by_ledger_index(info.context).load_many(keys)
        return [None if row is None else cls.of(row) for row in found]


@strawberry.type(
    description="A source of documents: a public-health agency, an academic aggregator, a "
    "newsroom or a volunteer project."
)
class Publisher(relay.Node):
    slug: str = strawberry.field(description="Short stable name, e.g. who, jhu-csse, it-dpc.")
    name: str = strawberry.field(description="The publisher's full name.")
    homepage: str = strawberry.field(description="Where it publishes its data.")
    licence: str = strawberry.field(description="The terms its data is published under.")
    kind: PublisherKind = strawberry.field(description="What kind of body it is.")
    jurisdictions: list[str] = strawberry.field(
        description='Region codes it covers; ["*"] means worldwide.',
        metadata={"list_size": 60},
    )
    report_lag_days: int = strawberry.field(
        description="Its declared date convention: a value dated D counts up to D minus this "
        "many days (WHO and ECDC: 1; JHU: 0)."
    )
    conventions: str = strawberry.field(
        description="Its reporting conventions in words, with where they are documented."
    )
    row_id: strawberry.Private[int]

    @strawberry.field(
        description="Its signing keys, oldest first, revoked ones included.",
        metadata={"list_size": 3},
    )
    async def keys(self, info: Info[Context, None]) -> list[PublisherKey]:
        found = await dataloaders.keys_of_publisher(info.context).load(self.row_id)
        return [PublisherKey.of(row) for row in found]

    @classmethod
    def of(cls, row: rows.Publisher) -> Publisher:
        conventions = row.conventions or {}
        return cls(
            slug=row.slug,
            name=row.name,
            homepage=row.homepage,
            licence=row.licence,
            kind=PublisherKind(row.kind),
            jurisdictions=list(row.jurisdictions),
            report_lag_days=int(conventions.get("report_lag_days", 0)),
            conventions=str(conventions.get("description", "")),
            row_id=int(row.id or 0),
        )

    @classmethod
    def resolve_id(cls, root: Publisher, *, info: Info[Context, None]) -> str:
        return root.slug

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Publisher | None]:
        found = await dataloaders.publishers_by_slug(info.context).load_many(list(node_ids))
        return [None if row is None else cls.of(row) for row in found]


async def _publisher(info: Info[Context, None], publisher_id: int) -> rows.Publisher:
    row = await dataloaders.publishers(info.context).load(publisher_id)
    if row is None:  # a foreign key: cannot happen in a consistent database
        raise LookupError(f"expected publisher {publisher_id}, found none")
    return row


@strawberry.type(
    description="A publisher's document as received: its file exactly as published (see "
    "`downloadUrl`), the signed note that vouches for it, and its `document` leaf on the log."
)
class Document(relay.Node):
    format: str = strawberry.field(description="The adapter that parsed it, e.g. owid-covid-data.")
    name: str = strawberry.field(description="The file name as published.")
    size: int = strawberry.field(description="Its size in bytes.")
    sha256: str = strawberry.field(description="SHA-256 of its bytes, 64 lower-case hex digits.")
    note: str = strawberry.field(
        description="The signed note: the statement (publisher, format, name, size, sha256, "
        "signed) and the publisher's signature line."
    )
    signed_at: dt.datetime = strawberry.field(description="When the publisher signed it.")
    received_at: dt.datetime = strawberry.field(description="When Corroborate received it.")
    ledger_index: int = strawberry.field(description="Its `document` leaf on the log.")
    publisher_id: strawberry.Private[int]
    key_row_id: strawberry.Private[int]

    @strawberry.field(description="The note's signature lines (`— <key name> <base64>`).")
    def signatures(self) -> list[str]:
        _, _, tail = self.note.partition("\n\n")
        return [line for line in tail.split("\n") if line]

    @strawberry.field(
        description="Where to download the original bytes (immutable; the ETag is the SHA-256)."
    )
    def download_url(self, info: Info[Context, None]) -> str:
        return original_url(str(info.context.request.base_url), self.ledger_index)

    @strawberry.field(description="The publisher that sent it.")
    async def publisher(self, info: Info[Context, None]) -> Publisher:
        return Publisher.of(await _publisher(info, self.publisher_id))

    @strawberry.field(description="The key it was signed with.")
    async def key(self, info: Info[Context, None]) -> PublisherKey:
        row = await dataloaders.keys(info.context).load(self.key_row_id)
        if row is None:
            raise LookupError(f"expected publisher key {self.key_row_id}, found none")
        return PublisherKey.of(row)

    @strawberry.field(description="Proof that its `document` leaf is on the log.")
    async def proof(self, info: Info[Context, None]) -> InclusionProof:
        return await proof_of(info, self.ledger_index)

    @strawberry.field(description="The `document` leaf itself: the exact bytes the proof covers.")
    async def leaf(self, info: Info[Context, None]) -> LedgerEntry:
        return await leaf_of(info, self.ledger_index)

    @classmethod
    def of(cls, row: rows.Document) -> Document:
        return cls(
            format=row.format,
            name=row.name,
            size=row.size,
            sha256=row.sha256,
            note=row.note,
            signed_at=as_utc(row.signed_at),
            received_at=as_utc(row.received_at),
            ledger_index=row.ledger_index,
            publisher_id=row.publisher_id,
            key_row_id=row.key_id,
        )

    @classmethod
    def resolve_id(cls, root: Document, *, info: Info[Context, None]) -> str:
        return str(root.ledger_index)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Document | None]:
        keys = node_keys("Document", node_ids)
        found = await dataloaders.documents_by_ledger_index(info.context).load_many(keys)
        return [None if row is None else cls.of(row) for row in found]


@strawberry.type(description="A flag the reconciler put on an observation.")
class AnomalyFlag:
    type: AnomalyType = strawberry.field(description="What looks wrong.")
    detail: str = strawberry.field(description="The numbers behind the flag, in words.")

    @classmethod
    def of(cls, row: AnomalyRow) -> AnomalyFlag:
        return cls(type=AnomalyType(row.type), detail=row.detail)


@strawberry.type(
    description="One version of one publisher's figure for a region, date and metric, as parsed "
    "from one of its documents; an `observation` leaf on the log. A later document that changes "
    "the value adds a version; the old one stays, with `latest` false."
)
class Observation(relay.Node):
    date: dt.date = strawberry.field(description="The date as the publisher labelled it.")
    metric: Metric = strawberry.field(description="What it counts.")
    value: int = strawberry.field(description="The count.")
    version: int = strawberry.field(description="1 for the first value, +1 for each revision.")
    latest: bool = strawberry.field(description="Whether this is the publisher's current value.")
    source_row: int = strawberry.field(
        description="The record of the document it was read from (1 = the first data record)."
    )
    source_field: str = strawberry.field(description="The column it was read from.")
    derived_from: list[str] | None = strawberry.field(
        description="For a roll-up (JHU's counties summed to a state), the components summed: "
        "region codes, or `<parent>:<label>` for rows that are no region (Unassigned); null "
        "for a value read from one cell.",
        metadata={"list_size": 60},
    )
    ledger_index: int = strawberry.field(description="Its `observation` leaf on the log.")
    region_code: strawberry.Private[str]
    publisher_id: strawberry.Private[int]
    document_id: strawberry.Private[int]

    @strawberry.field(description="The region it is for.")
    def region(self) -> Region:
        return Region.known(self.region_code)

    @strawberry.field(description="The publisher that gave it.")
    async def publisher(self, info: Info[Context, None]) -> Publisher:
        return Publisher.of(await _publisher(info, self.publisher_id))

    @strawberry.field(description="The document that introduced this version.")
    async def document(self, info: Info[Context, None]) -> Document:
        row = await dataloaders.documents(info.context).load(self.document_id)
        if row is None:
            raise LookupError(f"expected document {self.document_id}, found none")
        return Document.of(row)

    @strawberry.field(
        description="Every version of this publisher's figure for the same region, metric and "
        "date, oldest first (this one included).",
        metadata={"list_size": 3},
    )
    async def versions(self, info: Info[Context, None]) -> list[Observation]:
        series = (self.publisher_id, self.region_code, self.metric.value, self.date)
        found = await dataloaders.observation_versions(info.context).load(series)
        return [Observation.of(row) for row in found]

    @strawberry.field(description="The reconciler's anomaly flags on it.")
    async def anomalies(self, info: Info[Context, None]) -> list[AnomalyFlag]:
        found = await dataloaders.anomalies(info.context).load(self.ledger_index)
        return [AnomalyFlag.of(row) for row in found]

    @strawberry.field(description="Proof that its `observation` leaf is on the log.")
    async def proof(self, info: Info[Context, None]) -> InclusionProof:
        return await proof_of(info, self.ledger_index)

    @strawberry.field(
        description="The `observation` leaf itself: the exact bytes the proof covers."
    )
    async def leaf(self, info: Info[Context, None]) -> LedgerEntry:
        return await leaf_of(info, self.ledger_index)

    @classmethod
    def of(cls, row: rows.Observation) -> Observation:
        return cls(
            date=row.date,
            metric=Metric(row.metric),
            value=row.value,
            version=row.version,
            latest=row.latest,
            source_row=row.source_row,
            source_field=row.source_field,
            derived_from=None if row.derived_from is None else list(row.derived_from),
            ledger_index=row.ledger_index,
            region_code=row.region,
            publisher_id=row.publisher_id,
            document_id=row.document_id,
        )

    @classmethod
    def resolve_id(cls, root: Observation, *, info: Info[Context, None]) -> str:
        return str(root.ledger_index)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Observation | None]:
        keys = node_keys("Observation", node_ids)
        found = await dataloaders.observations(info.context).load_many(keys)
        return [None if row is None else cls.of(row) for row in found]
