"""What a running Corroborate holds: settings, the engine, the log and its sequencer.

``open_runtime`` checks everything a start needs and fails with a one-line ``StartupError``:
the database is reachable, its schema is at the migrations' head, the log key loads (or is
generated on first start) and matches the log stored in the database.

It creates nothing it was not asked to: a SQLite file that does not exist is not created (only
``corroborate migrate`` makes a database), and the log key is generated only for a log that has
no entries yet. A relative path (the default ``./var``) is relative to the current directory,
so every refusal names the absolute path it looked at and the settings that point elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ledger.keys import KeyFileError, load_or_create_signer
from ledger.note import Signer
from ledger.sequencer import Sequencer
from ledger.store import LedgerError, TransparencyLog
from models.db import create_engine, session_factory, writer
from service import migrations
from service.settings import Settings


class StartupError(RuntimeError):
    """Corroborate cannot start; the message is one line saying why and what to do."""


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


#: how to point a command at the service's own database and data directory
POINT_AT_SERVICE = (
    "point at the service's database with --database-url or CORROBORATE_DATABASE_URL and at "
    "its data directory with --data-dir or CORROBORATE_DATA_DIR (relative paths are relative "
    "to the current directory, {cwd})"
)


def sqlite_file(database_url: str) -> Path | None:
    """The absolute path of a SQLite database file, None for PostgreSQL or ``:memory:``."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(os.path.abspath(str(parsed.database)))


def describe_database(database_url: str) -> str:
    """The URL without its password, and for SQLite the absolute path of its file."""
    path = sqlite_file(database_url)
    shown = safe_url(database_url)
    return f"{shown} (the file {path})" if path is not None and str(path) not in shown else shown


def _point_at_service() -> str:
    return POINT_AT_SERVICE.format(cwd=os.getcwd())


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    write_sessions: async_sessionmaker[AsyncSession]
    signer: Signer
    log: TransparencyLog
    sequencer: Sequencer

    async def close(self) -> None:
        await self.sequencer.close()
        await self.engine.dispose()


async def check_database(engine: AsyncEngine, database_url: str) -> None:
    """Raise StartupError unless the database answers and is at the migrations' head."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "unreachable" to an operator
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StartupError(
            f"cannot reach the database {safe_url(database_url)}: {reason}"
        ) from None
    head = migrations.head_revision(database_url)
    current = await migrations.current_revision(engine)
    if current is None:
        raise StartupError(
            f"the database {describe_database(database_url)} is at migration none (it has no "
            f"tables), this code needs {head}: if it is meant to be a new database, run "
            f"`corroborate migrate`; if the service's database is elsewhere, {_point_at_service()}"
        )
    if current != head:
        raise StartupError(
            f"the database {describe_database(database_url)} is at migration {current}, "
            f"this code needs {head}: run `corroborate migrate`"
        )


def check_database_exists(database_url: str) -> None:
    """A SQLite file must exist already: connecting would create an empty one (and its folder)."""
    path = sqlite_file(database_url)
    if path is not None and not path.exists():
        raise StartupError(
            f"no database at {path} (CORROBORATE_DATABASE_URL {safe_url(database_url)}): "
            f"{_point_at_service()}; `corroborate migrate` makes a new, empty database there"
        )


async def _log_exists(engine: AsyncEngine) -> bool:
    """Whether the database already holds a log (then its key must exist, not be made anew)."""
    async with engine.connect() as connection:
        row = (await connection.execute(text("SELECT size FROM ledger_state"))).first()
    return row is not None


def _check_key_exists(settings: Settings) -> None:
    key = Path(os.path.abspath(settings.log_key_path))
    if not key.exists():
        raise StartupError(
            f"the database {describe_database(settings.database_url)} holds a log, but its key "
            f"is not at {key} (CORROBORATE_DATA_DIR {settings.data_dir}): {_point_at_service()}"
        )


async def open_runtime(settings: Settings) -> Runtime:
    check_database_exists(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        await check_database(engine, settings.database_url)
        if await _log_exists(engine):
            _check_key_exists(settings)  # a new key in the wrong data dir would be left behind
        try:
            signer = load_or_create_signer(settings.log_key_path, settings.log_origin)
        except KeyFileError as exc:
            raise StartupError(str(exc)) from None
        log = TransparencyLog(origin=settings.log_origin, signer=signer)
        write_sessions = session_factory(writer(engine))
        try:
            async with write_sessions() as session, session.begin():
                await log.initialise(session)
        except LedgerError as exc:
            raise StartupError(str(exc)) from None
    except BaseException:
        await engine.dispose()
        raise
    sequencer = Sequencer(
        log,
        engine,
        batch_max=settings.ledger_batch_max,
        batch_wait_ms=settings.ledger_batch_wait_ms,
    )
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        write_sessions=write_sessions,
        signer=signer,
        log=log,
        sequencer=sequencer,
    )
