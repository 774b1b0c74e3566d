"""member public names: a random public ID per account; people named by pseudonym

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 11:00:00

Every account gets ``public_id``, a random opaque key for its global ID (``Member:<public_id>``
instead of ``Member:<account number>``). Moderation's tables named people by ``account:<n>``;
they now name them by pseudonym (docs/decisions/0014-public-names.md), so their rows are
rewritten: ``account:<n>`` becomes that account's pseudonym in ``challenge.filer``,
``challenge.claimed_by``, ``challenge_event.actor``, ``challenge_support.member``,
``challenge_note.author``, ``public_text.author`` and ``correction.decided_by``. The leaves
already on the log keep ``account:<n>``: the log is never rewritten (docs/ledger.md says how
they map). A pseudonym spelt ``system`` (the system's own name, reserved since) is refused:
rename it first.
"""

import json
import secrets
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the columns that name a person (or ``system``), by table
NAMED = (
    ("challenge", "filer"),
    ("challenge", "claimed_by"),
    ("challenge_event", "actor"),
    ("challenge_support", "member"),
    ("challenge_note", "author"),
    ("public_text", "author"),
)


def _rename(connection: sa.Connection, names: dict[str, str]) -> None:
    """Rewrite every name in ``names`` (old → new) in moderation's tables."""
    for table, column in NAMED:
        found = connection.execute(sa.text(f"SELECT DISTINCT {column} FROM {table}")).scalars()
        for old in [name for name in found if name in names]:
            connection.execute(
                sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"),
                {"new": names[old], "old": old},
            )
    rows = connection.execute(sa.text("SELECT ledger_index, decided_by FROM correction")).all()
    for index, decided_by in rows:
        people = json.loads(decided_by) if isinstance(decided_by, str) else list(decided_by)
        renamed = [names.get(person, person) for person in people]
        if renamed != people:
            connection.execute(
                sa.text("UPDATE correction SET decided_by = :names WHERE ledger_index = :index"),
                {"names": json.dumps(renamed), "index": index},
            )


def upgrade() -> None:
    connection = op.get_bind()
    reserved = connection.execute(
        sa.text("SELECT id FROM account WHERE pseudonym_key = 'system'")
    ).scalar()
    if reserved is not None:
        raise RuntimeError(
            f"account {reserved} has the pseudonym 'system', which is now the system's own name "
            "on the log: give it another (UPDATE account SET pseudonym = '…', pseudonym_key = "
            "lower('…') WHERE id = …) and migrate again"
        )
    # no table rebuild: on SQLite, rebuilding ``account`` (which other tables refer to) would
    # break their foreign keys; ADD COLUMN with a default and CREATE INDEX need none
    op.add_column(
        "account",
        sa.Column("public_id", sa.String(length=32), nullable=False, server_default=""),
    )
    accounts = connection.execute(sa.text("SELECT id, pseudonym FROM account")).all()
    for account_id, _pseudonym in accounts:
        connection.execute(
            sa.text("UPDATE account SET public_id = :public_id WHERE id = :id"),
            {"public_id": secrets.token_urlsafe(12), "id": account_id},
        )
    if connection.dialect.name != "sqlite":  # SQLite keeps the (never used) default
        op.alter_column("account", "public_id", server_default=None)
    op.create_index("ix_account_public_id", "account", ["public_id"], unique=True)
    _rename(connection, {f"account:{account_id}": name for account_id, name in accounts})


def downgrade() -> None:
    connection = op.get_bind()
    accounts = connection.execute(sa.text("SELECT id, pseudonym FROM account")).all()
    _rename(connection, {name: f"account:{account_id}" for account_id, name in accounts})
    op.drop_index("ix_account_public_id", table_name="account")
    op.execute("ALTER TABLE account DROP COLUMN public_id")  # SQLite 3.35+: no rebuild
