"""Migration 0009 on a database that named people ``account:<n>``: every account gets a random
public ID, moderation's rows name people by pseudonym (the log itself is never rewritten), and
the downgrade gives the old names back."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models import create_engine
from service import migrations

NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)


def _dummy(column: Any) -> Any:
    kind = column["type"]
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.Float | sa.Numeric):
        return 0.0
    if isinstance(kind, sa.DateTime):
        return NOW
    if isinstance(kind, sa.Date):
        return NOW.date()
    if isinstance(kind, sa.JSON):
        return []
    return "x"


def _insert(connection: Connection, table: str, **values: Any) -> None:
    """A row with ``values`` and a dummy value in every other NOT NULL column."""
    for column in sa.inspect(connection).get_columns(table):
        if column["name"] not in values and not column["nullable"]:
            values[column["name"]] = _dummy(column)
    reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
    connection.execute(reflected.insert().values(**values))


def _seed(connection: Connection) -> None:
    for n, name in ((1, "ada"), (2, "mia"), (3, "max")):
        _insert(
            connection,
            "account",
            id=n,
            email=f"{name}@example.org",
            pseudonym=name,
            pseudonym_key=name,
            state="active",
        )
    _insert(connection, "public_text", id=1, author="account:1", challenge_id=1)
    _insert(connection, "public_text", id=2, author="system", challenge_id=1)
    _insert(
        connection,
        "challenge",
        id=1,
        text_id=1,
        filer="account:1",
        claimed_by="account:2",
        filer_account_id=1,
        duplicate_of=None,
        publishers=["who"],
        links=[],
    )
    for sequence, actor in enumerate(("account:1", "account:2", "system")):
        _insert(
            connection,
            "challenge_event",
            challenge_id=1,
            sequence=sequence,
            actor=actor,
            ledger_index=10 + sequence,
            duplicate_of=None,
        )
    _insert(connection, "challenge_support", challenge_id=1, member="account:3", text_id=None)
    _insert(connection, "challenge_note", challenge_id=1, author="account:2")
    _insert(
        connection,
        "correction",
        ledger_index=20,
        challenge_id=1,
        decided_by=["account:2", "account:3"],
        publishers=["who"],
        reverts=None,
    )


def _names(connection: Connection) -> dict[str, Any]:
    one = lambda sql: connection.execute(sa.text(sql)).scalars().all()  # noqa: E731
    decided = one("SELECT decided_by FROM correction")[0]
    return {
        "filer": one("SELECT filer FROM challenge"),
        "claimed_by": one("SELECT claimed_by FROM challenge"),
        "actors": one("SELECT actor FROM challenge_event ORDER BY sequence"),
        "texts": one("SELECT author FROM public_text ORDER BY id"),
        "support": one("SELECT member FROM challenge_support"),
        "notes": one("SELECT author FROM challenge_note"),
        "decided_by": json.loads(decided) if isinstance(decided, str) else decided,
    }


async def _run(url: str, work: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def test_0009_names_people_by_pseudonym_and_gives_accounts_public_ids(
    empty_db_url: str,
) -> None:
    migrations.upgrade(empty_db_url, "0008")
    asyncio.run(_run(empty_db_url, _seed))
    migrations.upgrade(empty_db_url, "0009")
    after = asyncio.run(_run(empty_db_url, _names))
    assert after == {
        "filer": ["ada"],
        "claimed_by": ["mia"],
        "actors": ["ada", "mia", "system"],
        "texts": ["ada", "system"],
        "support": ["max"],
        "notes": ["mia"],
        "decided_by": ["mia", "max"],
    }
    ids = asyncio.run(
        _run(
            empty_db_url,
            lambda c: c.execute(sa.text("SELECT public_id FROM account")).scalars().all(),
        )
    )
    assert len(set(ids)) == 3 and all(len(i) == 16 and not i.isdigit() for i in ids)

    migrations.downgrade(empty_db_url, "0008")
    back = asyncio.run(_run(empty_db_url, _names))
    assert back["filer"] == ["account:1"] and back["actors"] == ["account:1", "account:2", "system"]
    assert back["decided_by"] == ["account:2", "account:3"]


def test_0009_refuses_a_member_named_system(empty_db_url: str) -> None:
    migrations.upgrade(empty_db_url, "0008")

    def seed(connection: Connection) -> None:
        _insert(
            connection,
            "account",
            id=1,
            email="s@example.org",
            pseudonym="System",
            pseudonym_key="system",
            state="active",
        )

    asyncio.run(_run(empty_db_url, seed))
    try:
        migrations.upgrade(empty_db_url, "0009")
    except RuntimeError as error:
        assert "pseudonym 'system'" in str(error)
    else:
        raise AssertionError("expected migration 0009 to refuse a member named system")
