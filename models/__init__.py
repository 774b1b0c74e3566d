"""SQLModel tables, the engine and the session factory — nothing else."""

from sqlmodel import SQLModel

from models.db import create_engine, is_sqlite, session_factory, writer
from models.ingest import Document, Observation, Publisher, PublisherKey
from models.ledger import (
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerEntry,
    LedgerState,
    LedgerTile,
)

metadata = SQLModel.metadata

__all__ = [
    "Document",
    "LedgerCheckpoint",
    "LedgerCosignature",
    "LedgerEntry",
    "LedgerState",
    "LedgerTile",
    "Observation",
    "Publisher",
    "PublisherKey",
    "create_engine",
    "is_sqlite",
    "metadata",
    "session_factory",
    "writer",
]
