"""Plain reads for the API: the region hierarchy below a code, and one attested figure's version.

Functions take a session (when they read the database) and plain values, and return rows or
plain values; nothing here knows about GraphQL.
"""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.regions import PARTITIONS, Region, all_regions
from models.reconcile import AttestedFigure


@functools.cache
def _children_by_parent() -> dict[str, tuple[Region, ...]]:
    found: dict[str, list[Region]] = {}
    for region in all_regions():
        if region.parent is not None:
            found.setdefault(region.parent, []).append(region)
    return {parent: tuple(sorted(kids, key=lambda r: r.code)) for parent, kids in found.items()}


def child_regions(code: str) -> tuple[Region, ...]:
    """The regions whose parent is ``code``, by code (an index built once, not a scan per call)."""
    return _children_by_parent().get(code, ())


def region_and_descendants(code: str, *, counties: bool = True) -> list[str]:
    """``code`` and every region below it (children, their children…), sorted.

    ``counties=False`` leaves US counties out: no figure is attested for a county (decision
    0007), so a figure filter need not name three thousand of them. The jurisdictions a region
    is partitioned into (``PARTITIONS``: New York City and the rest of New York State) are its
    children already; the whole of a part is not added (it is no descendant).
    """
    found, stack = {code}, [code]
    while stack:
        for child in child_regions(stack.pop()):
            if (counties or child.level != "county") and child.code not in found:
                found.add(child.code)
                stack.append(child.code)
    found.update(PARTITIONS.get(code, ()))
    return sorted(found)


async def figure_version(
    session: AsyncSession, *, region: str, metric: str, day: dt.date, version: int | None = None
) -> AttestedFigure | None:
    """One version of the attested figure for ``region``/``metric``/``day`` (default: the latest),
    or None when there is none."""
    query = select(AttestedFigure).where(
        AttestedFigure.region == region,  # type: ignore[arg-type]
        AttestedFigure.metric == metric,  # type: ignore[arg-type]
        AttestedFigure.date == day,  # type: ignore[arg-type]
    )
    if version is None:
        query = query.where(AttestedFigure.latest.is_(True))  # type: ignore[attr-defined]
    else:
        query = query.where(AttestedFigure.version == version)  # type: ignore[arg-type]
    return (await session.execute(query)).scalar_one_or_none()
