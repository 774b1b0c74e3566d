"""Sentiment analytics read from the database, for health officials (the GraphQL layer's side).

The texts are the ``public_text`` rows moderation writes (a challenge's evidence, comments,
answers), each stored with its VADER scores; corrections are the ``correction`` rows. Each
function here filters in SQL, loads a bounded number of rows, turns them into
``aggregate.ScoredText`` records (their ``Score`` built from the stored columns: nothing is
rescored) and hands them to ``analytics.aggregate``, which does all the arithmetic:

- ``summary``: ``aggregate.summarize`` of the texts a ``TextFilter`` matches;
- ``series``: ``aggregate.sentiment_series`` of them, per group and UTC day, ISO week or month;
- ``negative_terms``: ``aggregate.negative_terms`` of them;
- ``correction_effects``: ``aggregate.correction_effect`` around each correction;
- ``count_texts``: how many texts a filter matches, to tell whether a result was capped.

**Bounds.** ``summary`` and ``series`` read at most ``MAX_ROWS`` (50,000) texts and
``negative_terms`` at most ``MAX_TERM_ROWS`` (10,000, as it reads the bodies, up to 5,000
characters each): the most recent that match (``created_at`` then ``id``, descending). Past the
cap the result describes those most recent texts only; ``count_texts`` says whether there were
more. ``correction_effects`` reads at most ``MAX_CORRECTIONS`` (100) corrections and, for each,
at most ``MAX_ROWS_PER_SIDE`` (5,000) texts on each side of it, the nearest in time. A
``max_rows`` argument may lower a cap (1 … the cap), not raise it.

**Times.** Filters take timezone-aware datetimes (a naive one is refused) and compare them in
UTC, which is what moderation stores; SQLite gives datetimes back naive, and they are read as
UTC. Intervals are half-open: ``since <= created_at < until``.

**Scope values** match exactly (a country does not include its states). A text whose challenge
concerns no region (a challenge to a document) has region None; it is passed to ``aggregate``
as None, like a missing publisher or metric, although ``ScoredText.region`` is typed ``str``:
``sentiment_series`` groups it as ``("region", None)`` (sorted first).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from analytics import aggregate
from analytics.aggregate import (
    Bucket,
    CorrectionEffect,
    GroupKey,
    NegativeTerm,
    ScoredText,
    SeriesPoint,
    Summary,
)
from analytics.sentiment import Label, Score
from models.moderation import Correction, PublicText

#: The most texts ``summary`` and ``series`` read: the most recent that match.
MAX_ROWS = 50_000
#: The most texts ``negative_terms`` reads (it reads their bodies too): the most recent.
MAX_TERM_ROWS = 10_000
#: The most corrections ``correction_effects`` reads (the most recent), and its default.
MAX_CORRECTIONS = 100
DEFAULT_CORRECTIONS = 20
#: The most texts read on each side of one correction: the nearest to it in time.
MAX_ROWS_PER_SIDE = 5_000
#: The most terms ``negative_terms`` returns.
MAX_TERMS = 200

KINDS = frozenset({"challenge", "comment", "answer"})

_TEXT = PublicText.__table__  # type: ignore[attr-defined]
_CORRECTION = Correction.__table__  # type: ignore[attr-defined]

# What a ``Score`` needs, and what a ``ScoredText`` needs besides.
_SCORE_COLUMNS = (
    _TEXT.c.created_at,
    _TEXT.c.compound,
    _TEXT.c.positive,
    _TEXT.c.neutral,
    _TEXT.c.negative,
    _TEXT.c.label,
)
_SCOPE_COLUMNS = (_TEXT.c.region, _TEXT.c.publisher, _TEXT.c.metric, _TEXT.c.category)


def _utc(moment: dt.datetime, name: str) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}: expected a timezone-aware datetime, got {moment.isoformat()}")
    return moment.astimezone(dt.UTC)


def _as_utc(moment: dt.datetime) -> dt.datetime:
    """A datetime read back: SQLite's are naive UTC, PostgreSQL's aware."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class TextFilter:
    """Which texts: every field given must match (None means any). ``since`` and ``until`` bound
    ``created_at`` (``since <= created_at < until``, timezone-aware); ``kinds`` is a non-empty
    subset of ``KINDS`` (challenge, comment, answer)."""

    region: str | None = None
    publisher: str | None = None
    metric: str | None = None
    category: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    kinds: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.since is not None:
            object.__setattr__(self, "since", _utc(self.since, "since"))
        if self.until is not None:
            object.__setattr__(self, "until", _utc(self.until, "until"))
        if self.kinds is not None:
            kinds = frozenset(self.kinds)
            if not kinds or not kinds <= KINDS:
                raise ValueError(
                    f"kinds: expected a non-empty subset of {sorted(KINDS)}, got {sorted(kinds)}"
                )
            object.__setattr__(self, "kinds", kinds)

    def conditions(self) -> list[ColumnElement[bool]]:
        """The filter as SQL conditions on ``public_text``."""
        where: list[ColumnElement[bool]] = []
        for name in ("region", "publisher", "metric", "category"):
            value = getattr(self, name)
            if value is not None:
                where.append(_TEXT.c[name] == value)
        if self.since is not None:
            where.append(_TEXT.c.created_at >= self.since)
        if self.until is not None:
            where.append(_TEXT.c.created_at < self.until)
        if self.kinds is not None:
            where.append(_TEXT.c.kind.in_(sorted(self.kinds)))
        return where


@dataclass(frozen=True, slots=True)
class CorrectionSentiment:
    """One correction (its ``correction`` row) and the sentiment of the texts on its region and
    metric in the window before it against the window after (``effect``)."""

    ledger_index: int
    challenge_id: int
    region: str
    metric: str
    date: dt.date
    old_value: int
    new_value: int
    publishers: tuple[str, ...]
    corrected_at: dt.datetime
    effect: CorrectionEffect


def _cap(max_rows: int | None, default: int) -> int:
    """``max_rows`` may lower a cap, not raise it."""
    if max_rows is None:
        return default
    if not 1 <= max_rows <= default:
        raise ValueError(f"max_rows: expected 1 … {default}, got {max_rows}")
    return max_rows


def _score(row: Any) -> Score:
    """The stored scores (the label as stored; whether the text was truncated when scored is
    not stored, so ``truncated`` is False)."""
    return Score(
        compound=float(row.compound),
        pos=float(row.positive),
        neu=float(row.neutral),
        neg=float(row.negative),
        label=cast(Label, row.label),
    )


def _scored_text(row: Any, *, with_body: bool) -> ScoredText:
    return ScoredText(
        scored_at=_as_utc(row.created_at),
        # None for a text on no region (see the module's docstring)
        region=cast(str, row.region),
        publisher=row.publisher,
        metric=row.metric,
        category=row.category,
        score=_score(row),
        text=row.body if with_body else "",
    )


async def _load(
    session: AsyncSession, where: TextFilter, *, cap: int, with_body: bool = False
) -> list[ScoredText]:
    """The ``cap`` most recent texts ``where`` matches."""
    columns = (*_SCORE_COLUMNS, *_SCOPE_COLUMNS, *((_TEXT.c.body,) if with_body else ()))
    query = (
        select(*columns)
        .where(*where.conditions())
        .order_by(_TEXT.c.created_at.desc(), _TEXT.c.id.desc())
        .limit(cap)
    )
    rows = await session.execute(query)
    return [_scored_text(row, with_body=with_body) for row in rows]


async def count_texts(session: AsyncSession, where: TextFilter) -> int:
    """How many texts ``where`` matches, with no cap: more than ``MAX_ROWS`` (or the
    ``max_rows`` given) means ``summary`` and ``series`` read only the most recent."""
    query = select(func.count()).select_from(_TEXT).where(*where.conditions())
    return int((await session.execute(query)).scalar_one())


async def summary(
    session: AsyncSession, where: TextFilter, *, max_rows: int | None = None
) -> Summary:
    """``aggregate.summarize`` of the scores of the texts ``where`` matches: at most
    ``max_rows`` (default ``MAX_ROWS``, 50,000), the most recent."""
    items = await _load(session, where, cap=_cap(max_rows, MAX_ROWS))
    return aggregate.summarize(item.score for item in items)


async def series(
    session: AsyncSession,
    where: TextFilter,
    *,
    by: Sequence[GroupKey] = (),
    bucket: Bucket = "day",
    max_rows: int | None = None,
) -> list[SeriesPoint]:
    """``aggregate.sentiment_series`` of the texts ``where`` matches, grouped ``by`` any subset
    of region, publisher, metric, category (in that order of keys as given) and per UTC
    ``bucket`` (day, ISO week from Monday, calendar month): at most ``max_rows`` texts (default
    ``MAX_ROWS``, 50,000), the most recent, so a capped series starts later than asked."""
    cap = _cap(max_rows, MAX_ROWS)
    aggregate.sentiment_series([], by=by, bucket=bucket)  # refuse bad keys before reading
    items = await _load(session, where, cap=cap)
    return aggregate.sentiment_series(items, by=by, bucket=bucket)


async def negative_terms(
    session: AsyncSession,
    where: TextFilter,
    *,
    limit: int = 20,
    min_negative_texts: int = 3,
    max_rows: int | None = None,
) -> list[NegativeTerm]:
    """``aggregate.negative_terms`` of the texts ``where`` matches: the words most
    over-represented in the negative ones, highest z first, at most ``limit`` (1 …
    ``MAX_TERMS``), each in at least ``min_negative_texts`` negative texts. Reads at most
    ``max_rows`` texts with their bodies (default ``MAX_TERM_ROWS``, 10,000), the most recent."""
    if not 1 <= limit <= MAX_TERMS:
        raise ValueError(f"limit: expected 1 … {MAX_TERMS}, got {limit}")
    if min_negative_texts < 1:
        raise ValueError(f"min_negative_texts: expected at least 1, got {min_negative_texts}")
    items = await _load(session, where, cap=_cap(max_rows, MAX_TERM_ROWS), with_body=True)
    return aggregate.negative_terms(items, limit=limit, min_negative_texts=min_negative_texts)


def _publisher_named(session: AsyncSession, publisher: str) -> ColumnElement[bool]:
    """A correction whose ``publishers`` (a JSON list) holds ``publisher``."""
    if session.get_bind().dialect.name == "postgresql":
        return _CORRECTION.c.publishers.cast(JSONB).contains([publisher])
    each = func.json_each(_CORRECTION.c.publishers).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value == publisher))


async def correction_effects(
    session: AsyncSession,
    *,
    region: str | None = None,
    publisher: str | None = None,
    metric: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    kinds: frozenset[str] | None = None,
    window: dt.timedelta = dt.timedelta(days=7),
    limit: int = DEFAULT_CORRECTIONS,
    max_rows_per_side: int | None = None,
) -> list[CorrectionSentiment]:
    """The corrections matching ``region``, ``metric`` and ``publisher`` (one of the
    correction's publishers), made in ``[since, until)``, most recent first (at most ``limit``,
    1 … ``MAX_CORRECTIONS``), each with ``aggregate.correction_effect`` of the texts (of
    ``kinds``, default all) on the correction's region and metric in ``[created_at - window,
    created_at)`` against ``[created_at, created_at + window)``. Each side reads at most
    ``max_rows_per_side`` texts (default ``MAX_ROWS_PER_SIDE``, 5,000), the nearest to the
    correction in time."""
    if not 1 <= limit <= MAX_CORRECTIONS:
        raise ValueError(f"limit: expected 1 … {MAX_CORRECTIONS}, got {limit}")
    if window <= dt.timedelta(0):
        raise ValueError(f"window: expected a positive duration, got {window}")
    cap = _cap(max_rows_per_side, MAX_ROWS_PER_SIDE)
    scope = TextFilter(since=since, until=until, kinds=kinds)  # checks the times and kinds
    where: list[ColumnElement[bool]] = []
    if region is not None:
        where.append(_CORRECTION.c.region == region)
    if metric is not None:
        where.append(_CORRECTION.c.metric == metric)
    if publisher is not None:
        where.append(_publisher_named(session, publisher))
    if scope.since is not None:
        where.append(_CORRECTION.c.created_at >= scope.since)
    if scope.until is not None:
        where.append(_CORRECTION.c.created_at < scope.until)
    corrections = (
        await session.execute(
            select(_CORRECTION)
            .where(*where)
            .order_by(_CORRECTION.c.created_at.desc(), _CORRECTION.c.ledger_index.desc())
            .limit(limit)
        )
    ).all()
    found = []
    for row in corrections:
        corrected_at = _as_utc(row.created_at)
        texts = TextFilter(region=row.region, metric=row.metric, kinds=scope.kinds)
        before = select(*_SCORE_COLUMNS, *_SCOPE_COLUMNS).where(
            *texts.conditions(),
            _TEXT.c.created_at >= corrected_at - window,
            _TEXT.c.created_at < corrected_at,
        )
        after = select(*_SCORE_COLUMNS, *_SCOPE_COLUMNS).where(
            *texts.conditions(),
            _TEXT.c.created_at >= corrected_at,
            _TEXT.c.created_at < corrected_at + window,
        )
        rows = [
            *await session.execute(
                before.order_by(_TEXT.c.created_at.desc(), _TEXT.c.id.desc()).limit(cap)
            ),
            *await session.execute(after.order_by(_TEXT.c.created_at, _TEXT.c.id).limit(cap)),
        ]
        effect = aggregate.correction_effect(
            [_scored_text(text, with_body=False) for text in rows],
            corrected_at=corrected_at,
            window=window,
            region=row.region,
            metric=row.metric,
        )
        found.append(
            CorrectionSentiment(
                ledger_index=int(row.ledger_index),
                challenge_id=int(row.challenge_id),
                region=row.region,
                metric=row.metric,
                date=row.date,
                old_value=int(row.old_value),
                new_value=int(row.new_value),
                publishers=tuple(row.publishers),
                corrected_at=corrected_at,
                effect=effect,
            )
        )
    return found
