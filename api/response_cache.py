"""Results of anonymous queries kept in memory while the data they were read from is unchanged.

Every public datum Corroborate serves changes only by one of a few writes, each of which moves
the **data version** (:class:`DataVersion`, one ``SELECT`` of five numbers):

* anything appended to the ledger (documents, observations, attestations, keys, and later
  challenge events and corrections) moves the signed tree size;
* a witness's cosignature adds a ``ledger_cosignature`` row;
* a reconciliation run (figures, anomalies) adds a ``reconcile_run`` row;
* a publisher registered without a key yet adds a ``publisher`` row.

Each of these only grows, so a version once left never comes back. A result is stored under the
version read *before* it was executed: if a write committed meanwhile, the result may be newer
than its version says, and it is still never served once the version has moved. A new kind of
public write must move one of these numbers (docs/decisions/0010-response-cache.md).

What is kept: the ``data`` of a query (never a mutation) that ran for a caller without
credentials, with no errors, that selects no per-caller field (``api/cache_policy.py``: a field
with a permission class or marked ``@cacheControl(scope: PRIVATE)``, such as ``rateLimit``; a
resolver reading the caller sets ``Context.uncacheable`` too), under the SHA-256 of its document, operation name and variables. A hit is
charged the query's cost like an execution, so budgets, ``extensions.cost`` and the
``x-ratelimit-*`` headers are the same either way. The cache is per process, bounded in bytes
(least recently used out first) and can be turned off (``CORROBORATE_API_RESPONSE_CACHE_BYTES=0``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from service.runtime import Runtime

#: The data version: (tree size, cosignatures, last reconciliation run, publishers, last id).
Version = tuple[int, ...]

VERSION_SQL = text(
    "SELECT "
    "(SELECT coalesce(max(size), 0) FROM ledger_state), "
    "(SELECT count(*) FROM ledger_cosignature), "
    "(SELECT coalesce(max(id), 0) FROM reconcile_run), "
    "(SELECT count(*) FROM publisher), "
    "(SELECT coalesce(max(id), 0) FROM publisher), "
    "(SELECT coalesce(max(id), 0) FROM challenge_support)"
)


class DataVersion:
    """Reads the data version for every anonymous request, so it must be cheap.

    On SQLite through a connection of its own, read-only and synchronous: the query takes some
    microseconds, where a round trip through aiosqlite's thread costs the event loop about as
    much as a whole ``{ __typename }`` request. WAL readers never wait for writers, and each read
    sees the last commit. On PostgreSQL through the pool (asyncpg).
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._path: Path | None = None
        url = make_url(runtime.settings.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            self._path = Path(url.database).resolve()
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    async def read(self) -> Version:
        if self._path is None:
            async with self.runtime.sessions() as session:
                row = tuple((await session.execute(VERSION_SQL)).one())
        else:
            with self._lock:
                if self._connection is None:
                    self._connection = sqlite3.connect(
                        f"{self._path.as_uri()}?mode=ro",
                        uri=True,
                        timeout=5,
                        isolation_level=None,
                        check_same_thread=False,
                    )
                row = self._connection.execute(str(VERSION_SQL)).fetchone()
        return tuple(int(value) for value in row)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def cache_key(query: str, operation_name: str | None, variables: dict[str, Any] | None) -> str:
    """What identifies a result: the document as sent, the operation and the variables."""
    canonical = json.dumps(
        [query, operation_name, variables or {}], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """A stored result: its ``data`` as compact JSON, that JSON's ETag, and the query's cost."""

    version: Version
    cost: int
    data_json: bytes
    etag: str


def encode_data(data: Any) -> tuple[bytes, str]:
    """``data`` as the compact JSON a response carries, and the weak ETag of those bytes."""
    encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return encoded, 'W/"' + hashlib.sha256(encoded).hexdigest()[:32] + '"'


class ResponseCache:
    """Least recently used entries up to ``max_bytes`` of JSON; thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self._version: Version | None = None  # the version of every kept entry
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, version: Version) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: str, version: Version, cost: int, data: Any) -> Entry:
        data_json, etag = encode_data(data)
        entry = Entry(version=version, cost=cost, data_json=data_json, etag=etag)
        if len(data_json) > self.max_bytes:
            return entry  # larger than the whole cache: served, not kept
        with self._lock:
            # Every kept entry has the newest version put so far: one comparison, no scan.
            if self._version is not None and version != self._version:
                if _older(version, self._version):
                    return entry  # read before a write another result has already seen
                self._entries.clear()  # a newer version makes every kept entry useless
                self._bytes = 0
            self._version = version
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous.data_json)
            while self._entries and self._bytes + len(data_json) > self.max_bytes:
                _, oldest = self._entries.popitem(last=False)
                self._bytes -= len(oldest.data_json)
            self._entries[key] = entry
            self._bytes += len(data_json)
        return entry


def _older(a: Version, b: Version) -> bool:
    """Whether version ``a`` came before ``b`` (every number only grows)."""
    return a != b and all(x <= y for x, y in zip(a, b, strict=True))
