"""Tables of the API itself: automatic persisted queries (APQ)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, String, Text
from sqlmodel import Field, SQLModel


class PersistedQuery(SQLModel, table=True):
    """A query registered by its SHA-256 (``extensions.persistedQuery``), so that later requests
    send the hash alone: short, cacheable GETs. Shared by every API process."""

    __tablename__ = "persisted_query"

    sha256: str = Field(sa_column=Column(String(64), primary_key=True))
    query: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
