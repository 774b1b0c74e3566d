"""Tables of moderation: challenges, their events, members' support, corrections, and the public
texts scored for sentiment.

The ledger holds what was decided (``challenge-event`` and ``correction`` leaves); these tables
index it for queries and keep what the queue needs (priority inputs, claims). A challenge's
``state`` is always where its last event left it; events, supports, corrections and texts are
only ever inserted. The few columns that change on ``challenge`` are derived or operational
(state, the next sequence number, support weight, the moderator's claim).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


class PublicText(SQLModel, table=True):
    """A text a member (or the system) wrote in public — a challenge's evidence, a comment on
    one, an answer to a moderator — with its sentiment (VADER) and the dimensions analytics group
    it by. Never updated."""

    __tablename__ = "public_text"
    __table_args__ = (
        Index("ix_public_text_created", "created_at"),
        Index("ix_public_text_region", "region", "created_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    kind: str = Field(
        sa_column=Column(String(16), nullable=False),
        description="challenge (its evidence text), comment (with a support or an opposition) "
        "or answer (the filer answering a request for information).",
    )
    challenge_id: int = Field(sa_column=Column(Integer, nullable=False))
    author: str = Field(
        sa_column=Column(String(64), nullable=False),
        description="The author's public name (a pseudonym, ext:…) or system.",
    )
    body: str = Field(sa_column=Column(Text, nullable=False), description="As typed (NFC).")
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    compound: float = Field(sa_column=Column(Float, nullable=False))
    positive: float = Field(sa_column=Column(Float, nullable=False))
    negative: float = Field(sa_column=Column(Float, nullable=False))
    neutral: float = Field(sa_column=Column(Float, nullable=False))
    label: str = Field(
        sa_column=Column(String(8), nullable=False), description="positive, neutral or negative."
    )
    region: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    metric: str | None = Field(default=None, sa_column=Column(String(48), nullable=True))
    publisher: str | None = Field(
        default=None,
        sa_column=Column(String(64), nullable=True),
        description="The publisher the challenge concerns, when it concerns one.",
    )
    category: str = Field(sa_column=Column(String(24), nullable=False))


class Challenge(SQLModel, table=True):
    """A challenge to a figure, an observation or a document."""

    __tablename__ = "challenge"
    __table_args__ = (
        Index("ix_challenge_state", "state", "id"),
        Index("ix_challenge_duplicate_key", "duplicate_key", "state"),
        Index("ix_challenge_filer", "filer", "filed_at"),
        Index("ix_challenge_target", "target_kind", "target_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    target_kind: str = Field(sa_column=Column(String(16), nullable=False))
    target_id: str = Field(sa_column=Column(String(96), nullable=False))
    version_seen: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    target_index: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, nullable=True),
        description="The ledger index of what was challenged: the figure version seen, the "
        "observation or the document.",
    )
    region: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    metric: str | None = Field(default=None, sa_column=Column(String(48), nullable=True))
    date: dt.date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    publishers: list[str] = Field(
        sa_column=Column(JSON, nullable=False),
        description="The publishers the target concerns (their staff may not moderate it).",
    )
    category: str = Field(sa_column=Column(String(24), nullable=False))
    claimed_value: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    current_value: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, nullable=True),
        description="The challenged value when it was filed (the figure's or observation's).",
    )
    links: list[str] = Field(sa_column=Column(JSON, nullable=False))
    text_id: int = Field(
        sa_column=Column(Integer, ForeignKey("public_text.id", ondelete="RESTRICT"), nullable=False)
    )
    filer: str = Field(sa_column=Column(String(64), nullable=False))
    filer_account_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("account.id", ondelete="RESTRICT"), nullable=True),
    )
    state: str = Field(sa_column=Column(String(24), nullable=False))
    duplicate_key: str = Field(sa_column=Column(String(64), nullable=False))
    duplicate_of: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("challenge.id", ondelete="RESTRICT"), nullable=True),
    )
    discrepancy: float = Field(
        sa_column=Column(Float, nullable=False),
        description="How far the challenged value is from the claim or from the other "
        "lineages, relative to it (0 … 1, capped): the queue's first priority input.",
    )
    support_weight: float = Field(
        default=0.0,
        sa_column=Column(Float, nullable=False),
        description="Supports minus oppositions, weighted by the supporters' reputation "
        "(members with no track record count for little, and together for at most 1).",
    )
    fresh_support: float = Field(
        default=0.0,
        sa_column=Column(Float, nullable=False),
        description="The part of the weight from members with no track record, before its cap.",
    )
    supporters: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    opponents: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_sequence: int = Field(sa_column=Column(Integer, nullable=False))
    filed_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    filed_epoch: int = Field(
        sa_column=Column(BigInteger, nullable=False),
        description="filed_at in seconds since 1970, for the queue's age term in SQL.",
    )
    updated_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    triaged_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    decided_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    claimed_by: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    claimed_until: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class ChallengeEvent(SQLModel, table=True):
    """One workflow event: the index of its ``challenge-event`` leaf."""

    __tablename__ = "challenge_event"
    __table_args__ = (
        UniqueConstraint("challenge_id", "sequence", name="uq_challenge_event_sequence"),
        Index("ix_challenge_event_actor", "actor"),
    )

    ledger_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    challenge_id: int = Field(
        sa_column=Column(Integer, ForeignKey("challenge.id", ondelete="RESTRICT"), nullable=False)
    )
    sequence: int = Field(sa_column=Column(Integer, nullable=False))
    from_state: str | None = Field(default=None, sa_column=Column(String(24), nullable=True))
    to_state: str = Field(sa_column=Column(String(24), nullable=False))
    action: str = Field(sa_column=Column(String(24), nullable=False))
    actor: str = Field(sa_column=Column(String(64), nullable=False))
    at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    rationale: str = Field(sa_column=Column(Text, nullable=False))
    changes_value: bool = Field(sa_column=Column(Boolean, nullable=False))
    duplicate_of: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    proposed_value: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, nullable=True),
        description="The corrected value an uphold proposes (four-eyes confirms it).",
    )


class ChallengeSupport(SQLModel, table=True):
    """A member's support for (or opposition to) a challenge, once per member, never changed."""

    __tablename__ = "challenge_support"
    __table_args__ = (
        UniqueConstraint("challenge_id", "member", name="uq_challenge_support_member"),
        Index("ix_challenge_support_member", "member"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    challenge_id: int = Field(
        sa_column=Column(Integer, ForeignKey("challenge.id", ondelete="RESTRICT"), nullable=False)
    )
    member: str = Field(
        sa_column=Column(String(64), nullable=False),
        description="The member's public name (a pseudonym, or ext:… for an external issuer's).",
    )
    stance: str = Field(
        sa_column=Column(String(8), nullable=False), description="support or oppose."
    )
    weight: float = Field(
        sa_column=Column(Float, nullable=False),
        description="The member's weight when they took the stance (reputation.py).",
    )
    fresh: bool = Field(
        sa_column=Column(Boolean, nullable=False),
        description="Whether the member had no track record then.",
    )
    text_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("public_text.id", ondelete="RESTRICT"), nullable=True),
    )
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Correction(SQLModel, table=True):
    """A figure corrected by an upheld challenge: the index of its ``correction`` leaf, which is
    also the figure's new version (status ``CORRECTED``)."""

    __tablename__ = "correction"
    __table_args__ = (Index("ix_correction_figure", "region", "metric", "date"),)

    ledger_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    challenge_id: int = Field(
        sa_column=Column(Integer, ForeignKey("challenge.id", ondelete="RESTRICT"), nullable=False)
    )
    region: str = Field(sa_column=Column(String(32), nullable=False))
    metric: str = Field(sa_column=Column(String(48), nullable=False))
    date: dt.date = Field(sa_column=Column(Date, nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    supersedes: int = Field(
        sa_column=Column(BigInteger, nullable=False),
        description="The ledger index of the figure version it deprecates.",
    )
    old_value: int = Field(sa_column=Column(BigInteger, nullable=False))
    new_value: int = Field(sa_column=Column(BigInteger, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    evidence_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    decided_by: list[str] = Field(sa_column=Column(JSON, nullable=False))
    quorum: int = Field(sa_column=Column(Integer, nullable=False))
    publishers: list[str] = Field(sa_column=Column(JSON, nullable=False))
    reverts: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, nullable=True),
        description="The correction an appeal overturned, whose superseded value this restores.",
    )
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ChallengeNote(SQLModel, table=True):
    """A moderator's note on a challenge, for the other moderators only (never on the log)."""

    __tablename__ = "challenge_note"
    __table_args__ = (Index("ix_challenge_note_challenge", "challenge_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    challenge_id: int = Field(
        sa_column=Column(Integer, ForeignKey("challenge.id", ondelete="RESTRICT"), nullable=False)
    )
    author: str = Field(sa_column=Column(String(64), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
