"""SQLModel tables, the engine and the session factory — nothing else."""

from sqlmodel import SQLModel

from models.api import PersistedQuery
from models.db import create_engine, is_sqlite, session_factory, writer
from models.events import EventOutbox
from models.identity import (
    Account,
    AccountRole,
    AuthorizationCode,
    LoginAttempt,
    OAuthClient,
    RefreshToken,
    RevokedAccessToken,
    SigningKey,
    TokenFamily,
)
from models.ingest import Document, Observation, Publisher, PublisherKey
from models.ledger import (
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerEntry,
    LedgerState,
    LedgerTile,
)
from models.moderation import (
    Challenge,
    ChallengeEvent,
    ChallengeNote,
    ChallengeSupport,
    Correction,
    PublicText,
)
from models.reconcile import Anomaly, AttestedFigure, ReconcileRun

metadata = SQLModel.metadata

__all__ = [
    "Account",
    "AccountRole",
    "Anomaly",
    "AttestedFigure",
    "AuthorizationCode",
    "Challenge",
    "ChallengeEvent",
    "ChallengeNote",
    "ChallengeSupport",
    "Correction",
    "Document",
    "EventOutbox",
    "LedgerCheckpoint",
    "LedgerCosignature",
    "LedgerEntry",
    "LedgerState",
    "LedgerTile",
    "LoginAttempt",
    "OAuthClient",
    "Observation",
    "PersistedQuery",
    "PublicText",
    "Publisher",
    "PublisherKey",
    "ReconcileRun",
    "RefreshToken",
    "RevokedAccessToken",
    "SigningKey",
    "TokenFamily",
    "create_engine",
    "is_sqlite",
    "metadata",
    "session_factory",
    "writer",
]
