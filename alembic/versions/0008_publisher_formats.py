"""publisher formats: the document formats a publisher's record declares

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00

A publisher may submit documents only in the formats its record declares (docs/ingest.md,
"Formats"); an operator widens them with ``corroborate publishers formats add``, which appends a
``publisher`` leaf. Publishers registered before this revision get the formats the catalogue
(ingest/data/publishers.toml) declared for them when it was written, listed below; a publisher
not in it gets the formats of the documents it already sent (it had declared none, and what was
accepted stays accepted). Formats a catalogue publisher sent outside its catalogue formats are
not added: its next such document is refused until an operator widens its formats, on the log.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: ingest/data/publishers.toml's formats when this revision was written (a migration must not
#: change meaning when the catalogue changes later)
CATALOGUE_FORMATS: dict[str, list[str]] = {
    "jhu-csse": [
        "jhu-csse-global-confirmed",
        "jhu-csse-global-deaths",
        "jhu-csse-us-confirmed",
        "jhu-csse-us-deaths",
    ],
    "who": ["who-covid-19-global-data"],
    "ecdc": ["ecdc-case-distribution"],
    "owid": ["owid-covid-data"],
    "nyt": ["nyt-us-states"],
    "ctp": ["ctp-states-daily", "ctp-all-states-history"],
    "it-dpc": ["dpc-ita-andamento-nazionale"],
    "de-rki": ["rki-todesfaelle-deutschland", "rki-faelle-7-tage-inzidenz"],
    "cdc": ["cdc-cases-deaths-by-state"],
}


def upgrade() -> None:
    with op.batch_alter_table("publisher", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("formats", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    connection = op.get_bind()
    publishers = connection.execute(sa.text("SELECT id, slug FROM publisher")).all()
    for publisher_id, slug in publishers:
        if slug in CATALOGUE_FORMATS:
            formats = CATALOGUE_FORMATS[slug]
        else:
            sent = connection.execute(
                sa.text("SELECT DISTINCT format FROM document WHERE publisher_id = :id"),
                {"id": publisher_id},
            )
            formats = sorted(row[0] for row in sent)
        connection.execute(
            sa.text("UPDATE publisher SET formats = :formats WHERE id = :id"),
            {"formats": json.dumps(formats), "id": publisher_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("publisher", schema=None) as batch_op:
        batch_op.drop_column("formats")
