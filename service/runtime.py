"""What a running Corroborate holds: settings, the engine, the log and its sequencer.

``open_runtime`` checks everything a start needs and fails with a one-line ``StartupError``:
the database is reachable, its schema is at the migrations' head, the log key loads (or is
generated on first start) and matches the log stored in the database.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    if current != head:
        raise StartupError(
            f"the database {safe_url(database_url)} is at migration {current or 'none'}, "
            f"this code needs {head}: run `corroborate migrate`"
        )


async def open_runtime(settings: Settings) -> Runtime:
    engine = create_engine(settings.database_url)
    try:
        await check_database(engine, settings.database_url)
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
