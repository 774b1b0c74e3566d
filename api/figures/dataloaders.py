"""Batch loaders of the figures domain: figure versions and their attestation records.

A figure's inputs, lineages and tolerance are read from its `attestation` leaf (the bytes the
proof covers), one query for a whole page of figures (``ingest.reconcile.query.attestations``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, tuple_

from api.context import Context
from api.dataloader import DataLoader
from api.sources.dataloaders import CHUNK, chunks
from ingest.reconcile.query import RunningSum, attestations, summed_observations
from models.ingest import Observation
from models.reconcile import AttestedFigure

#: (region, metric, date): one figure, all its versions
FigureKey = tuple[str, str, dt.date]

_FIGURE = AttestedFigure.__table__  # type: ignore[attr-defined]


def figures(context: Context) -> DataLoader[int, AttestedFigure | None]:
    """The ledger index of a figure version's `attestation` leaf → its row."""

    async def load(indices: Sequence[int]) -> list[AttestedFigure | None]:
        found: dict[int, AttestedFigure] = {}
        async with context.runtime.sessions() as session:
            for part in chunks(sorted(set(indices))):
                rows = await session.execute(
                    select(AttestedFigure).where(_FIGURE.c.ledger_index.in_(part))
                )
                for row in rows.scalars():
                    found[row.ledger_index] = row
        return [found.get(index) for index in indices]

    return context.loader("figures.figures", lambda _: DataLoader(load_fn=load))


def records(context: Context) -> DataLoader[int, dict[str, Any]]:
    """The ledger index of a figure version → its attestation record (figure, supersedes,
    version), parsed from the leaf."""

    async def load(indices: Sequence[int]) -> list[dict[str, Any]]:
        async with context.runtime.sessions() as session:
            found = await attestations(session, list(indices))
        missing = [index for index in indices if index not in found]
        if missing:  # every figure row has its leaf: a missing one is a broken database
            raise LookupError(f"expected attestation leaves at {missing[:5]}, found none")
        return [found[index] for index in indices]

    return context.loader("figures.records", lambda _: DataLoader(load_fn=load))


def versions(context: Context) -> DataLoader[FigureKey, list[AttestedFigure]]:
    """(region, metric, date) → every version of that figure, oldest first."""

    async def load(keys: Sequence[FigureKey]) -> list[list[AttestedFigure]]:
        found: dict[FigureKey, list[AttestedFigure]] = {}
        key = tuple_(_FIGURE.c.region, _FIGURE.c.metric, _FIGURE.c.date)
        async with context.runtime.sessions() as session:
            for part in chunks(sorted(set(keys)), CHUNK // 3):
                rows = await session.execute(
                    select(AttestedFigure).where(key.in_(part)).order_by(_FIGURE.c.version)
                )
                for row in rows.scalars():
                    found.setdefault((row.region, row.metric, row.date), []).append(row)
        loaded = figures(context)
        for rows_of_key in found.values():
            for row in rows_of_key:
                loaded.prime(row.ledger_index, row)
        return [found.get(k, []) for k in keys]

    return context.loader("figures.versions", lambda _: DataLoader(load_fn=load))


def summed(context: Context) -> DataLoader[RunningSum, list[Observation]]:
    """An input derived by a running sum → the daily observations it adds up, by date."""

    async def load(sums: Sequence[RunningSum]) -> list[list[Observation]]:
        async with context.runtime.sessions() as session:
            found = await summed_observations(session, list(sums))
        return [found.get(s, []) for s in sums]

    return context.loader("figures.summed", lambda _: DataLoader(load_fn=load))
