"""Tables of reconciliation: runs, attested figures (versioned) and anomaly flags.

An attested figure is one (region, metric, date); each change to it is a new *version*, an
``attestation`` leaf on the ledger keyed by its ledger index. Old versions are kept with
``latest`` cleared; nothing else is ever updated. Anomaly flags are the reconciler's current
reading of a publisher's series: a run that re-reads a series replaces that series' flags, and the
flags an attested figure rested on are written into its attestation.
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
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


class ReconcileRun(SQLModel, table=True):
    """One run of the reconciler: what it covered, the analysis it used and what it found."""

    __tablename__ = "reconcile_run"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    mode: str = Field(
        sa_column=Column(String(16), nullable=False),
        description="full (every figure, analysis recomputed), incremental (the figures new "
        "observations touch) or scoped (the figures a --region/--metric/--since filter names).",
    )
    scope: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    started_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    finished_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    watermark: int = Field(
        sa_column=Column(BigInteger, nullable=False),
        description="Every observation with a ledger index up to this one had been reconciled "
        "when the run finished (-1: none).",
    )
    analysis: dict[str, Any] = Field(
        sa_column=Column(JSON, nullable=False),
        description="The date-shift fits and the lineage links the run used.",
    )
    summary: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class AttestedFigure(SQLModel, table=True):
    """One version of the attested figure for a region, metric and date."""

    __tablename__ = "attested_figure"
    __table_args__ = (
        UniqueConstraint("region", "metric", "date", "version", name="uq_figure_version"),
        Index("ix_figure_status", "status", "latest"),
    )

    ledger_index: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False),
        description="The figure version's `attestation` leaf.",
    )
    region: str = Field(sa_column=Column(String(32), nullable=False))
    metric: str = Field(sa_column=Column(String(48), nullable=False))
    date: dt.date = Field(sa_column=Column(Date, nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    latest: bool = Field(sa_column=Column(Boolean, nullable=False))
    value: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(
        sa_column=Column(String(16), nullable=False),
        description="ATTESTED, DISPUTED, SINGLE_SOURCE or CORRECTED.",
    )
    spread: int = Field(
        sa_column=Column(BigInteger, nullable=False),
        description="Largest minus smallest value of the independent lineages.",
    )
    spread_ratio: float | None = Field(
        default=None,
        sa_column=Column(Float, nullable=True),
        description="spread / |value| (None when the value is 0).",
    )
    lineages: int = Field(sa_column=Column(Integer, nullable=False))
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    digest: str = Field(
        sa_column=Column(String(64), nullable=False),
        description="SHA-256 of the attested content without its version: equal content, "
        "no new version.",
    )
    run_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("reconcile_run.id", ondelete="RESTRICT"), nullable=False
        )
    )
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Anomaly(SQLModel, table=True):
    """A flag on one observation: something in its series that looks wrong."""

    __tablename__ = "anomaly"
    __table_args__ = (
        UniqueConstraint("observation_index", "type", name="uq_anomaly_observation_type"),
        Index("ix_anomaly_series", "publisher_id", "region", "metric"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    observation_index: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("observation.ledger_index", ondelete="RESTRICT"),
            nullable=False,
        )
    )
    publisher_id: int = Field(
        sa_column=Column(Integer, ForeignKey("publisher.id", ondelete="RESTRICT"), nullable=False)
    )
    region: str = Field(sa_column=Column(String(32), nullable=False))
    metric: str = Field(sa_column=Column(String(48), nullable=False))
    date: dt.date = Field(sa_column=Column(Date, nullable=False))
    type: str = Field(
        sa_column=Column(String(32), nullable=False),
        description="CUMULATIVE_DECREASE, BACK_DISTRIBUTION_SPIKE, FROZEN, NEGATIVE_DAILY or "
        "DEFINITION_CHANGE.",
    )
    detail: str = Field(sa_column=Column(Text, nullable=False))
    run_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("reconcile_run.id", ondelete="RESTRICT"), nullable=False
        )
    )
