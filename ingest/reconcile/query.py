"""Reading attested figures: one figure with its inputs and history, and the discrepancies.

A figure's details come from its ``attestation`` leaf (the bytes on the log), not from a copy:
what ``figures show`` prints is what the proof covers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.publishers import as_utc, iso_utc
from ingest.regions import PARTITIONS
from ledger.leaf import parse_leaf_body
from models.ingest import Observation, Publisher
from models.ledger import LedgerEntry
from models.reconcile import Anomaly, AttestedFigure

DiscrepancyOrder = Literal["size", "date", "updated"]
ORDERS: tuple[DiscrepancyOrder, ...] = ("size", "date", "updated")
MAX_LIMIT = 1000


_ENTRY = LedgerEntry.__table__  # type: ignore[attr-defined]
_ANOMALY = Anomaly.__table__  # type: ignore[attr-defined]
_OBSERVATION = Observation.__table__  # type: ignore[attr-defined]
_PUBLISHER = Publisher.__table__  # type: ignore[attr-defined]


class FigureNotFound(LookupError):
    """No attested figure for the region, metric and date asked for."""


async def attestations(session: AsyncSession, indices: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The figure version records at ``indices`` ({"figure", "supersedes", "version"}): the
    ``attestation`` leaves reconciliation writes and the ``correction`` leaves moderation writes
    (which add ``challenge`` and ``correction``)."""
    found: dict[int, dict[str, Any]] = {}
    wanted = sorted(set(indices))
    for start in range(0, len(wanted), 500):
        rows = await session.execute(
            select(_ENTRY.c.idx, _ENTRY.c.body).where(_ENTRY.c.idx.in_(wanted[start : start + 500]))
        )
        for idx, body in rows:
            kind, record = parse_leaf_body(bytes(body), check_canonical=False)
            if kind in ("attestation", "correction"):
                found[int(idx)] = record
    return found


@dataclass(frozen=True)
class RunningSum:
    """An input derived by a running sum, as its attestation names it: ``publisher``'s
    ``metric`` (a daily metric) in ``region``, summed from ``first`` (None: the series' first
    day) to ``last``, as it stood when the attestation at ``attestation`` was written."""

    publisher: str
    region: str
    metric: str
    first: dt.date | None
    last: dt.date
    attestation: int


async def summed_observations(
    session: AsyncSession, sums: Sequence[RunningSum]
) -> dict[RunningSum, list[Observation]]:
    """The daily observations each running sum adds up, by date (then region).

    The reconciler sums the latest version of each day's value; the attestation names only the
    last day's observation (decision 0007), so the others are read back from the log's
    observations: for each day, the highest version written before the attestation. A region the
    publisher gives only in parts (``PARTITIONS``) sums the parts, on the days it gives them all.
    One query per batch of series.
    """
    found: dict[RunningSum, list[Observation]] = {}
    if not sums:
        return found
    o, p = _OBSERVATION.c, _PUBLISHER.c
    series = sorted(
        {
            (s.publisher, r, s.metric)
            for s in sums
            for r in (s.region, *PARTITIONS.get(s.region, ()))
        }
    )
    latest: dict[tuple[str, str, str], dict[dt.date, list[Observation]]] = {}
    bound = max(s.attestation for s in sums)
    for start in range(0, len(series), 1000):
        rows = await session.execute(
            select(Observation, p.slug)
            .join(_PUBLISHER, p.id == o.publisher_id)
            .where(
                tuple_(p.slug, o.region, o.metric).in_(series[start : start + 1000]),
                o.date <= max(s.last for s in sums),
                o.ledger_index < bound,
            )
            .order_by(o.ledger_index)
        )
        for observation, slug in rows:
            key = (slug, observation.region, observation.metric)
            latest.setdefault(key, {}).setdefault(observation.date, []).append(observation)
    for wanted in sums:

        def days(region: str, wanted: RunningSum = wanted) -> dict[dt.date, Observation]:
            """Each day's version as it stood before the attestation (versions in log order)."""
            by_day = latest.get((wanted.publisher, region, wanted.metric), {})
            chosen: dict[dt.date, Observation] = {}
            for day, versions in by_day.items():
                if day > wanted.last or (wanted.first is not None and day < wanted.first):
                    continue
                before = [v for v in versions if v.ledger_index < wanted.attestation]
                if before:
                    chosen[day] = before[-1]
            return chosen

        own = days(wanted.region)
        if own or wanted.region not in PARTITIONS:
            found[wanted] = [own[day] for day in sorted(own)]
            continue
        parts = [days(part) for part in PARTITIONS[wanted.region]]
        common = set.intersection(*(set(part) for part in parts)) if parts else set()
        found[wanted] = [part[day] for day in sorted(common) for part in parts]
    return found


def _row(figure: AttestedFigure) -> dict[str, Any]:
    return {
        "region": figure.region,
        "metric": figure.metric,
        "date": figure.date.isoformat(),
        "version": figure.version,
        "latest": figure.latest,
        "value": figure.value,
        "status": figure.status,
        "spread": figure.spread,
        "spread_ratio": figure.spread_ratio,
        "lineages": figure.lineages,
        "explanation": figure.explanation,
        "ledger_index": figure.ledger_index,
        "created_at": iso_utc(as_utc(figure.created_at)),
    }


async def figure_detail(
    session: AsyncSession, region: str, metric: str, day: dt.date, *, version: int | None = None
) -> dict[str, Any]:
    """A figure (its latest version, or ``version``) with each input, its lineages, the anomaly
    flags on its inputs (with their details) and every version; raises FigureNotFound."""
    versions = (
        (
            await session.execute(
                select(AttestedFigure)
                .where(
                    AttestedFigure.region == region,  # type: ignore[arg-type]
                    AttestedFigure.metric == metric,  # type: ignore[arg-type]
                    AttestedFigure.date == day,  # type: ignore[arg-type]
                )
                .order_by(AttestedFigure.version)  # type: ignore[arg-type]
            )
        )
        .scalars()
        .all()
    )
    if not versions:
        raise FigureNotFound(
            f"no attested figure for {region} {metric} on {day.isoformat()}: run `corroborate "
            "reconcile`, or check the region, metric and date (the figure's date is the day the "
            "counts go up to)"
        )
    if version is None:
        chosen = next((v for v in versions if v.latest), versions[-1])
    else:
        picked = [v for v in versions if v.version == version]
        if not picked:
            raise FigureNotFound(
                f"{region} {metric} {day.isoformat()} has versions 1..{versions[-1].version}, "
                f"not {version}"
            )
        chosen = picked[0]
    record = (await attestations(session, [chosen.ledger_index]))[chosen.ledger_index]
    figure = record["figure"]
    observed = [i for item in figure["inputs"] for i in item["observations"]]
    details: dict[int, list[dict[str, str]]] = {}
    if observed:
        rows = await session.execute(
            select(_ANOMALY.c.observation_index, _ANOMALY.c.type, _ANOMALY.c.detail).where(
                _ANOMALY.c.observation_index.in_(observed)
            )
        )
        for index, kind, detail in rows:
            details.setdefault(int(index), []).append({"type": kind, "detail": detail})
    inputs = []
    for item in figure["inputs"]:
        flags = [f for i in item["observations"] for f in details.get(i, [])]
        inputs.append(
            item
            | {"counted": figure["lineages"][item["lineage"]]["counted"] == item["publisher"]}
            | ({"anomaly_details": flags} if flags else {})
        )
    return _row(chosen) | {
        "tolerance": figure["tolerance"],
        "lineage_values": figure["lineages"],
        "inputs": inputs,
        "supersedes": record["supersedes"],
        "versions": [
            {
                "version": v.version,
                "value": v.value,
                "status": v.status,
                "ledger_index": v.ledger_index,
                "created_at": iso_utc(as_utc(v.created_at)),
                "latest": v.latest,
            }
            for v in versions
        ],
    }


async def discrepancies(
    session: AsyncSession,
    *,
    region: str | None = None,
    metric: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    order: DiscrepancyOrder = "size",
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The latest figure versions that are DISPUTED, each with every lineage's value.

    ``order``: ``size`` (relative spread, largest first; a zero consensus sorts by absolute
    spread after the others), ``date`` (the figure's date, latest first) or ``updated`` (when the
    version was written, newest first). Ready for the moderation queue.
    """
    if order not in ORDERS:
        raise ValueError(f"order {order!r}: expected one of {', '.join(ORDERS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit {limit}: expected 1..{MAX_LIMIT}")
    query = select(AttestedFigure).where(
        AttestedFigure.status == "DISPUTED",  # type: ignore[arg-type]
        AttestedFigure.latest.is_(True),  # type: ignore[attr-defined]
    )
    if region is not None:
        query = query.where(AttestedFigure.region == region)  # type: ignore[arg-type]
    if metric is not None:
        query = query.where(AttestedFigure.metric == metric)  # type: ignore[arg-type]
    if since is not None:
        query = query.where(AttestedFigure.date >= since)  # type: ignore[arg-type]
    if until is not None:
        query = query.where(AttestedFigure.date <= until)  # type: ignore[arg-type]
    column = AttestedFigure.__table__.c  # type: ignore[attr-defined]
    if order == "size":
        query = query.order_by(
            column.spread_ratio.is_(None),
            column.spread_ratio.desc(),
            column.spread.desc(),
            column.ledger_index,
        )
    elif order == "date":
        query = query.order_by(column.date.desc(), column.spread_ratio.desc(), column.ledger_index)
    else:
        query = query.order_by(column.created_at.desc(), column.ledger_index.desc())
    figures = (await session.execute(query.limit(limit).offset(offset))).scalars().all()
    records = await attestations(session, [f.ledger_index for f in figures])
    return [
        _row(f) | {"lineage_values": records[f.ledger_index]["figure"]["lineages"]} for f in figures
    ]


async def series_anomalies(
    session: AsyncSession, *, publisher: str, region: str, metric: str
) -> list[dict[str, Any]]:
    """The anomaly flags on one publisher's series, by date."""
    a, o, p = _ANOMALY.c, _OBSERVATION.c, _PUBLISHER.c
    rows = await session.execute(
        select(a.date, a.type, a.detail, a.observation_index, o.value)
        .join(_OBSERVATION, o.ledger_index == a.observation_index)
        .join(_PUBLISHER, p.id == a.publisher_id)
        .where(p.slug == publisher, a.region == region, a.metric == metric)
        .order_by(a.date, a.type)
    )
    return [
        {"date": d.isoformat(), "type": t, "detail": detail, "observation": i, "value": v}
        for d, t, detail, i, v in rows
    ]
