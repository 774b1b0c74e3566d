"""Automatic persisted queries (Apollo's APQ protocol): a query is registered under its SHA-256
the first time a client sends both, and later requests send ``extensions.persistedQuery``
alone — short GET URLs that HTTP caches can key on.

Registered queries live in the ``persisted_query`` table (shared by every API process), with a
bounded in-process cache in front. A query is stored only once it has parsed and validated, so
the table cannot be filled with garbage; its size is bounded by the request-body cap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import OrderedDict
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.errors import ApiError, ErrorCode
from models.api import PersistedQuery
from service.runtime import Runtime

_TABLE = PersistedQuery.__table__  # type: ignore[attr-defined]


def requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The SHA-256 named by ``extensions.persistedQuery``, checked; None when there is none."""
    if not extensions or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise ApiError(
            'expected extensions.persistedQuery to be {"version": 1, "sha256Hash": "<hex>"}, '
            f"got {str(persisted)[:100]}",
            ErrorCode.BAD_REQUEST,
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or len(digest) != 64 or not _is_hex(digest):
        raise ApiError(
            f"expected sha256Hash to be 64 lowercase hex digits, got {str(digest)[:80]!r}",
            ErrorCode.BAD_REQUEST,
        )
    return digest


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


class PersistedQueries:
    def __init__(self, runtime_cache_size: int = 2048) -> None:
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._max = runtime_cache_size

    def _remember(self, digest: str, query: str) -> None:
        self._cache[digest] = query
        self._cache.move_to_end(digest)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)

    @staticmethod
    def check(digest: str, query: str) -> None:
        actual = hashlib.sha256(query.encode()).hexdigest()
        if actual != digest:
            raise ApiError(
                f"the query's SHA-256 is {actual}, but extensions.persistedQuery says {digest}",
                ErrorCode.PERSISTED_QUERY_HASH_MISMATCH,
            )

    async def lookup(self, runtime: Runtime, digest: str) -> str:
        query = self._cache.get(digest)
        if query is None:
            async with runtime.sessions() as session:
                query = await session.scalar(
                    select(_TABLE.c.query).where(_TABLE.c.sha256 == digest)
                )
            if query is None:
                raise ApiError(
                    "PersistedQueryNotFound: send the query with its hash once to register it",
                    ErrorCode.PERSISTED_QUERY_NOT_FOUND,
                )
            self._remember(digest, query)
        return query

    async def register(self, runtime: Runtime, digest: str, query: str) -> None:
        if digest in self._cache:
            return
        try:
            async with runtime.write_sessions() as session, session.begin():
                known = await session.scalar(
                    select(_TABLE.c.sha256).where(_TABLE.c.sha256 == digest)
                )
                if known is None:
                    await session.execute(
                        _TABLE.insert().values(
                            sha256=digest, query=query, created_at=dt.datetime.now(dt.UTC)
                        )
                    )
        except IntegrityError:
            pass  # registered by another process meanwhile: the same text, by its hash
        self._remember(digest, query)
