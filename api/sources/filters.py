"""Filters and sort keys of the sources domain's lists: checked arguments in, SQL conditions out.

Each list's keyset is a unique sort key, so a cursor stays valid however many rows are appended
before or after it (``api/relay.py``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import column, select
from sqlalchemy.sql.elements import ColumnElement

from api.errors import ApiError, ErrorCode
from api.relay import Keyset, Page, PageArgs
from ingest import regions
from ingest.queries import child_regions, region_and_descendants
from models.ingest import Document, Observation, Publisher

_PUBLISHER = Publisher.__table__  # type: ignore[attr-defined]
_DOCUMENT = Document.__table__  # type: ignore[attr-defined]
_OBSERVATION = Observation.__table__  # type: ignore[attr-defined]
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")

REGION_KEYSET = Keyset("regions", (column("code"),), ("str",))
PUBLISHER_KEYSET = Keyset("publishers", (_PUBLISHER.c.slug,), ("str",))
DOCUMENT_KEYSET = Keyset("documents", (_DOCUMENT.c.ledger_index,), ("int",))
# by date, then region and metric; the ledger index makes the key unique (and orders a
# publisher's versions and the publishers of a day by arrival)
OBSERVATION_KEYSET = Keyset(
    "observations",
    (
        _OBSERVATION.c.date,
        _OBSERVATION.c.region,
        _OBSERVATION.c.metric,
        _OBSERVATION.c.ledger_index,
    ),
    ("date", "str", "str", "int"),
)


def bad_input(message: str, argument: str) -> ApiError:
    return ApiError(message, ErrorCode.BAD_USER_INPUT, argument=argument)


def region_code(code: str, argument: str = "region") -> regions.Region:
    """The catalogue's region for ``code``; refuses an unknown code, saying what a code looks like."""
    found = regions.region(code)
    if found is None:
        raise bad_input(
            f"expected `{argument}` to be a region code such as ITA, US-NY or US-FIPS-36061 "
            f"(see `regions`), got {code[:40]!r}",
            argument,
        )
    return found


def region_codes(code: str, *, descendants: bool, counties: bool = True) -> list[str]:
    """``code`` alone, or with every region below it (``includeDescendants``)."""
    region_code(code)
    return region_and_descendants(code, counties=counties) if descendants else [code]


def publisher_slug(slug: str, argument: str = "publisher") -> str:
    if not _SLUG.fullmatch(slug):
        raise bad_input(
            f"expected `{argument}` to be a publisher slug (lower-case letters, digits and "
            f"inner hyphens, e.g. jhu-csse), got {slug[:70]!r}",
            argument,
        )
    return slug


def publisher_id(slug: str) -> Any:
    """The id of the publisher ``slug`` as a scalar subquery (no row matches an unknown slug)."""
    return (
        select(_PUBLISHER.c.id).where(_PUBLISHER.c.slug == publisher_slug(slug)).scalar_subquery()
    )


def date_range(
    column_: ColumnElement[Any], since: dt.date | None, until: dt.date | None
) -> list[Any]:
    if since is not None and until is not None and since > until:
        raise bad_input(
            f"expected `from` on or before `to`, got from {since.isoformat()} and to "
            f"{until.isoformat()}",
            "from",
        )
    found = []
    if since is not None:
        found.append(column_ >= since)
    if until is not None:
        found.append(column_ <= until)
    return found


def document_conditions(publisher: str | None) -> list[Any]:
    if publisher is None:
        return []
    return [_DOCUMENT.c.publisher_id == publisher_id(publisher)]


def observation_conditions(
    *,
    region: str,
    include_descendants: bool,
    metric: str | None,
    since: dt.date | None,
    until: dt.date | None,
    publisher: str | None,
    all_versions: bool,
) -> list[Any]:
    o = _OBSERVATION.c
    codes = region_codes(region, descendants=include_descendants)
    found: list[Any] = [o.region == codes[0] if len(codes) == 1 else o.region.in_(codes)]
    if metric is not None:
        found.append(o.metric == metric)
    found += date_range(o.date, since, until)
    if publisher is not None:
        found.append(o.publisher_id == publisher_id(publisher))
    if not all_versions:
        found.append(o.latest.is_(True))
    return found


def regions_page(
    parent: str | None, level: str | None, args: PageArgs
) -> tuple[Page[regions.Region], Callable[[], Awaitable[int]]]:
    """A page of the region catalogue (in memory) by code, with the same cursors as SQL pages."""
    if parent is not None:
        region_code(parent, "parent")
        listed: Sequence[regions.Region] = child_regions(parent)
    else:
        listed = sorted(regions.all_regions(), key=lambda r: r.code)
    if level is not None:
        listed = [r for r in listed if r.level == level]
    chosen = list(listed)
    if args.after is not None:
        (after,) = REGION_KEYSET.decode(args.after, "after")
        chosen = [r for r in chosen if r.code > after]
    if args.before is not None:
        (before,) = REGION_KEYSET.decode(args.before, "before")
        chosen = [r for r in chosen if r.code < before]
    page: Page[regions.Region]
    if args.first is not None:
        more = len(chosen) > args.first
        chosen = chosen[: args.first]
        page = Page(chosen, [(r.code,) for r in chosen], more, args.after is not None)
    else:
        more = len(chosen) > args.size
        chosen = chosen[-args.size :]
        page = Page(chosen, [(r.code,) for r in chosen], args.before is not None, more)
    total = len(listed)

    async def count() -> int:
        return total

    return page, count
