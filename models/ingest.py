"""Tables of publishers, their signing keys, the documents they sent and the observations parsed
from them.

Nothing a publisher sent is edited or deleted: a document row and its original bytes are kept as
received, and a value that a later document changes becomes a new observation *version*; the old
one stays, with ``latest`` cleared. The only columns ever updated are bookkeeping ones: a key's
validity window (each change is a ``key`` leaf on the ledger) and ``Observation.latest``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel


class Publisher(SQLModel, table=True):
    """A source of documents: an agency, an aggregator, a newsroom or a volunteer project."""

    __tablename__ = "publisher"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    slug: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    homepage: str = Field(sa_column=Column(Text, nullable=False))
    licence: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(
        sa_column=Column(String(32), nullable=False),
        description="official-agency, academic-aggregator, newsroom or volunteer-project",
    )
    jurisdictions: list[str] = Field(
        sa_column=Column(JSON, nullable=False),
        description='Region codes the publisher covers; ["*"] means worldwide.',
    )
    conventions: dict[str, Any] = Field(
        sa_column=Column(JSON, nullable=False),
        description="Declared reporting conventions: report_lag_days (a report dated D covers "
        "counts up to D - report_lag_days) and a description in words.",
    )
    formats: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default=text("'[]'")),
        description="The document formats (adapter names) the publisher may submit; widened "
        "only by an operator, each time with a `publisher` leaf on the log.",
    )
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PublisherKey(SQLModel, table=True):
    """An Ed25519 key a publisher signs documents with, and the window in which it is valid.

    A document is accepted only if it was signed, and received, while its key was valid:
    ``valid_from <= t < valid_until`` and not at or after ``revoked_at``.
    """

    __tablename__ = "publisher_key"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    publisher_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("publisher.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    name: str = Field(sa_column=Column(String(255), nullable=False))
    key_id: int = Field(
        sa_column=Column(BigInteger, nullable=False),
        description="The signed-note key ID (4 bytes, as an unsigned integer).",
    )
    vkey: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    valid_from: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    valid_until: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    revoked_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    revocation_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ledger_index: int = Field(
        sa_column=Column(BigInteger, nullable=False),
        description="The `key` leaf that registered the key.",
    )


class Document(SQLModel, table=True):
    """A publisher's document as received: its signed note and where its original is kept."""

    __tablename__ = "document"
    __table_args__ = (
        UniqueConstraint("publisher_id", "sha256", name="uq_document_publisher_sha256"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    publisher_id: int = Field(
        sa_column=Column(Integer, ForeignKey("publisher.id", ondelete="RESTRICT"), nullable=False)
    )
    key_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("publisher_key.id", ondelete="RESTRICT"), nullable=False
        )
    )
    format: str = Field(sa_column=Column(String(64), nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False), description="File name as published.")
    note: str = Field(sa_column=Column(Text, nullable=False), description="The signed note.")
    signed_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    received_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ledger_index: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    report: dict[str, Any] = Field(
        sa_column=Column(JSON, nullable=False), description="The ingestion summary."
    )


class Observation(SQLModel, table=True):
    """One version of one publisher's figure for a region, date and metric; a ledger leaf.

    Keyed by its ledger index. ``document_id`` is the document that introduced this version; a
    later document that repeats the same value adds nothing.
    """

    __tablename__ = "observation"
    __table_args__ = (
        UniqueConstraint(
            "publisher_id", "region", "metric", "date", "version", name="uq_observation_version"
        ),
        Index("ix_observation_document", "document_id"),
        # the API's observations(region:, metric:, from:, to:) pages by (date, region, metric)
        Index("ix_observation_region_metric_date", "region", "metric", "date"),
    )

    ledger_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    publisher_id: int = Field(
        sa_column=Column(Integer, ForeignKey("publisher.id", ondelete="RESTRICT"), nullable=False)
    )
    document_id: int = Field(
        sa_column=Column(Integer, ForeignKey("document.id", ondelete="RESTRICT"), nullable=False)
    )
    region: str = Field(sa_column=Column(String(32), nullable=False))
    date: dt.date = Field(sa_column=Column(Date, nullable=False))
    metric: str = Field(sa_column=Column(String(48), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    value: int = Field(sa_column=Column(BigInteger, nullable=False))
    source_row: int = Field(sa_column=Column(Integer, nullable=False))
    source_field: str = Field(sa_column=Column(String(64), nullable=False))
    derived_from: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    latest: bool = Field(sa_column=Column(Boolean, nullable=False))
