"""The engine and the async session factory: SQLite (aiosqlite, WAL) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

#: Execution option naming how a SQLite transaction begins ("DEFERRED" or "IMMEDIATE").
SQLITE_BEGIN = "corroborate_sqlite_begin"


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine; for SQLite make the file's folder and switch on WAL and durability.

    SQLite transactions are begun by us (``BEGIN`` or ``BEGIN IMMEDIATE``), not by the driver, so
    that a writer can take the write lock before it reads: see :func:`writer`.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The same engine, whose SQLite transactions take the write lock at BEGIN (IMMEDIATE).

    PostgreSQL is unaffected: its writers serialise with advisory locks where they need to.
    """
    return engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})


async def bulk_insert(
    session: AsyncSession, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order, already in the driver's types) with one
    driver-level executemany: no per-row SQLAlchemy processing, for the hot write paths (ledger
    entries, observations). Dates, booleans and JSON must be given as the driver stores them
    (see ``driver_date``)."""
    if not rows:
        return
    connection = await session.connection()
    style = connection.dialect.paramstyle
    if style == "qmark":
        marks = ", ".join("?" for _ in columns)
    elif style == "numeric_dollar":
        marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    elif style == "format":
        marks = ", ".join("%s" for _ in columns)
    else:  # pragma: no cover - every driver we support is one of the above
        raise RuntimeError(f"unsupported paramstyle {style}")
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    await connection.exec_driver_sql(sql, [tuple(row) for row in rows])


def driver_date(engine_or_session: AsyncEngine | AsyncSession) -> bool:
    """Whether the driver takes ``datetime.date`` values as they are (asyncpg) rather than as
    ISO text (SQLite, as SQLAlchemy's Date type stores them there)."""
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, AsyncSession)
        else engine_or_session
    )
    return bind.dialect.name != "sqlite"


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
