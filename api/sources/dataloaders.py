"""Batch loaders of the sources domain: one query per batch, however many rows a page holds.

Each loader is made once per request (``Context.loader``) and caches what it loaded, so a
publisher named by a hundred observations is read once. Rows are the models' own (read-only
here: the session is closed once the batch is loaded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select, tuple_

from api.context import Context
from api.dataloader import DataLoader
from models.ingest import Document, Observation, Publisher, PublisherKey
from models.reconcile import Anomaly

Row = TypeVar("Row")
#: (publisher id, region, metric, date): one publisher's figure, all its versions
SeriesDay = tuple[int, str, str, dt.date]

# Far below SQLite's 32,766 and asyncpg's 32,767 bound parameters, far above what one request
# asks for (100 rows × their relations), so a batch is one statement whatever the page size.
CHUNK = 10_000


def chunks(keys: Sequence[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(keys), size):
        yield list(keys[start : start + size])


def _by_column(
    context: Context, name: str, model: type[Row], column: str
) -> DataLoader[Any, Row | None]:
    """Rows of ``model`` by a unique ``column``, None for a key with no row."""

    async def load(keys: Sequence[Any]) -> list[Row | None]:
        found: dict[Any, Row] = {}
        attribute = getattr(model, column)
        async with context.runtime.sessions() as session:
            for part in chunks(sorted(set(keys))):
                rows = await session.execute(select(model).where(attribute.in_(part)))
                for row in rows.scalars():
                    found[getattr(row, column)] = row
        return [found.get(key) for key in keys]

    return context.loader(f"sources.{name}", lambda _: DataLoader(load_fn=load))


def publishers(context: Context) -> DataLoader[int, Publisher | None]:
    """Publisher id → row."""
    return _by_column(context, "publishers", Publisher, "id")


def publishers_by_slug(context: Context) -> DataLoader[str, Publisher | None]:
    """Slug → row (attestations name their inputs' publishers by slug)."""
    return _by_column(context, "publishers_by_slug", Publisher, "slug")


def keys(context: Context) -> DataLoader[int, PublisherKey | None]:
    """Key id → row."""
    return _by_column(context, "keys", PublisherKey, "id")


def keys_by_ledger_index(context: Context) -> DataLoader[int, PublisherKey | None]:
    """The index of the `key` leaf that registered a key → row."""
    return _by_column(context, "keys_by_ledger_index", PublisherKey, "ledger_index")


def documents(context: Context) -> DataLoader[int, Document | None]:
    """Document id → row."""
    return _by_column(context, "documents", Document, "id")


def documents_by_ledger_index(context: Context) -> DataLoader[int, Document | None]:
    """The index of a `document` leaf → row."""
    return _by_column(context, "documents_by_ledger_index", Document, "ledger_index")


def observations(context: Context) -> DataLoader[int, Observation | None]:
    """The index of an `observation` leaf → row."""
    return _by_column(context, "observations", Observation, "ledger_index")


def keys_of_publisher(context: Context) -> DataLoader[int, list[PublisherKey]]:
    """Publisher id → its keys, oldest first."""

    async def load(ids: Sequence[int]) -> list[list[PublisherKey]]:
        found: dict[int, list[PublisherKey]] = {}
        async with context.runtime.sessions() as session:
            for part in chunks(sorted(set(ids))):
                rows = await session.execute(
                    select(PublisherKey)
                    .where(PublisherKey.publisher_id.in_(part))  # type: ignore[attr-defined]
                    .order_by(PublisherKey.ledger_index)  # type: ignore[arg-type]
                )
                for key in rows.scalars():
                    found.setdefault(key.publisher_id, []).append(key)
        return [found.get(i, []) for i in ids]

    return context.loader("sources.keys_of_publisher", lambda _: DataLoader(load_fn=load))


def observation_versions(context: Context) -> DataLoader[SeriesDay, list[Observation]]:
    """(publisher id, region, metric, date) → every version of that figure, oldest first."""

    async def load(series: Sequence[SeriesDay]) -> list[list[Observation]]:
        found: dict[SeriesDay, list[Observation]] = {}
        o = Observation.__table__.c  # type: ignore[attr-defined]
        key = tuple_(o.publisher_id, o.region, o.metric, o.date)
        async with context.runtime.sessions() as session:
            for part in chunks(sorted(set(series)), CHUNK // 4):
                rows = await session.execute(
                    select(Observation).where(key.in_(part)).order_by(o.version)
                )
                for row in rows.scalars():
                    found.setdefault(
                        (row.publisher_id, row.region, row.metric, row.date), []
                    ).append(row)
        loaded = observations(context)
        for versions in found.values():
            for row in versions:
                loaded.prime(row.ledger_index, row)
        return [found.get(s, []) for s in series]

    return context.loader("sources.observation_versions", lambda _: DataLoader(load_fn=load))


def anomalies(context: Context) -> DataLoader[int, list[Anomaly]]:
    """Observation ledger index → the anomaly flags on it, by type."""

    async def load(indices: Sequence[int]) -> list[list[Anomaly]]:
        found: dict[int, list[Anomaly]] = {}
        async with context.runtime.sessions() as session:
            for part in chunks(sorted(set(indices))):
                rows = await session.execute(
                    select(Anomaly)
                    .where(Anomaly.observation_index.in_(part))  # type: ignore[attr-defined]
                    .order_by(Anomaly.type)
                )
                for flag in rows.scalars():
                    found.setdefault(flag.observation_index, []).append(flag)
        return [found.get(i, []) for i in indices]

    return context.loader("sources.anomalies", lambda _: DataLoader(load_fn=load))
