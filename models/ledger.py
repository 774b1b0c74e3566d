"""Tables of the transparency log: entries, hash tiles, checkpoints and their cosignatures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlmodel import Field, SQLModel


class LedgerEntry(SQLModel, table=True):
    """One leaf of the log: its body as appended (``corroborate/<kind>/v1\\n`` + canonical JSON)."""

    __tablename__ = "ledger_entry"

    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class LedgerTile(SQLModel, table=True):
    """A C2SP tlog-tiles hash tile: up to 256 hashes of level ``8 * level`` subtrees.

    A tile on the right edge is partial; it grows in place until it holds 256 hashes, after which
    it never changes. A partial tile of any width up to the stored one is its prefix.
    """

    __tablename__ = "ledger_tile"

    level: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hashes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    nodes: bytes | None = Field(
        default=None,
        sa_column=Column(LargeBinary, nullable=True),
        description="For a full tile, its internal node hashes (heights 1..7): not served, "
        "kept so that a proof reads nodes instead of recomputing them.",
    )


class LedgerState(SQLModel, table=True):
    """The single row naming the latest signed checkpoint; updated by compare-and-swap on size."""

    __tablename__ = "ledger_state"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    origin: str = Field(sa_column=Column(Text, nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class LedgerCheckpoint(SQLModel, table=True):
    """Every checkpoint the log signed, as the signed note it published."""

    __tablename__ = "ledger_checkpoint"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    note: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class LedgerCosignature(SQLModel, table=True):
    """A witness's C2SP cosignature/v1 on one checkpoint, verified before it was stored."""

    __tablename__ = "ledger_cosignature"

    checkpoint_size: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("ledger_checkpoint.size", ondelete="RESTRICT"),
            primary_key=True,
            autoincrement=False,
        )
    )
    witness_name: str = Field(sa_column=Column(String(255), primary_key=True))
    key_id: bytes = Field(sa_column=Column(LargeBinary(4), nullable=False))
    timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    signature_line: str = Field(sa_column=Column(Text, nullable=False))
