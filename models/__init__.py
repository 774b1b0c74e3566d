"""SQLModel tables, the engine and the session factory — nothing else."""

from sqlmodel import SQLModel

from models.api import PersistedQuery
from models.db import create_engine, is_sqlite, session_factory, writer
from models.ingest import Document, Observation, Publisher, PublisherKey
from models.ledger import (
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerEntry,
    LedgerState,
    LedgerTile,
)
from models.reconcile import Anomaly, AttestedFigure, ReconcileRun

metadata = SQLModel.metadata

__all__ = [
    "Anomaly",
    "AttestedFigure",
    "Document",
    "LedgerCheckpoint",
    "LedgerCosignature",
    "LedgerEntry",
    "LedgerState",
    "LedgerTile",
    "Observation",
    "PersistedQuery",
    "Publisher",
    "PublisherKey",
    "ReconcileRun",
    "create_engine",
    "is_sqlite",
    "metadata",
    "session_factory",
    "writer",
]
