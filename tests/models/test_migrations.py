"""Alembic is the only way the schema is made: upgrade, downgrade, upgrade, and no drift."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from models import create_engine, metadata
from service import migrations


async def _diff_and_tables(url: str) -> tuple[list[Any], set[str]]:
    engine = create_engine(url)

    def run(connection: Connection) -> tuple[list[Any], set[str]]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata), set(inspect(connection).get_table_names())

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(run)
    finally:
        await engine.dispose()


def test_upgrade_downgrade_upgrade_matches_models(empty_db_url: str) -> None:
    migrations.upgrade(empty_db_url)
    diff, tables = asyncio.run(_diff_and_tables(empty_db_url))
    assert diff == []
    assert {"ledger_entry", "ledger_tile", "ledger_checkpoint", "ledger_state"} <= tables

    migrations.downgrade(empty_db_url, "base")
    _diff, tables = asyncio.run(_diff_and_tables(empty_db_url))
    assert tables <= {"alembic_version"}

    migrations.upgrade(empty_db_url)
    diff, _tables = asyncio.run(_diff_and_tables(empty_db_url))
    assert diff == []
