"""The ``sentiment`` root field: the sentiment analytics of ``analytics/queries.py`` for health
officials. Aggregates over public texts, so public (no sign-in) and cacheable like any anonymous
query; the reads are bounded by the caps of ``analytics/queries.py`` and the arguments' ranges
here. docs/analytics.md has the formulas."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, cast

import strawberry
from strawberry.types import Info

from analytics import queries
from analytics.aggregate import Bucket, GroupKey
from analytics.queries import TextFilter
from api.analytics.types import (
    MAX_DIMENSIONS,
    CorrectionSentiment,
    NegativeSentimentTerm,
    SentimentBucket,
    SentimentDimension,
    SentimentFilter,
    SentimentPoint,
    SentimentSummary,
)
from api.context import Context
from api.errors import ApiError, ErrorCode
from api.sources.filters import publisher_slug, region_code

#: The most points a series may have; past it the request is refused (a coarser bucket, fewer
#: dimensions or a narrower filter make fewer).
MAX_SERIES_POINTS = 10_000
#: The longest window before and after a correction, in days.
MAX_WINDOW_DAYS = 90
#: The length of a series declared for the cost analysis (api/limits.py): a typical one (a
#: quarter by day, two years by week), not the most (that would cost more than any query may).
#: ``negativeTerms`` and ``correctionEffects`` declare the most they may return.
SERIES_LIST_SIZE = 100


def _bad(message: str, argument: str) -> ApiError:
    return ApiError(message, ErrorCode.BAD_USER_INPUT, argument=argument)


def _aware(moment: dt.datetime | None, argument: str) -> dt.datetime | None:
    if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
        raise _bad(
            f"expected `{argument}` to be a date-time with a time zone offset (e.g. "
            f"2026-03-02T00:00:00Z), got {moment.isoformat()} without one",
            argument,
        )
    return moment


def text_filter(given: SentimentFilter | None) -> TextFilter:
    """The filter checked (BAD_USER_INPUT naming the field and what arrived), for the queries."""
    if given is None:
        return TextFilter()
    if given.region is not None:
        region_code(given.region, "filter.region")
    if given.publisher is not None:
        publisher_slug(given.publisher, "filter.publisher")
    since = _aware(given.since, "filter.since")
    until = _aware(given.until, "filter.until")
    if since is not None and until is not None and since > until:
        raise _bad(
            f"expected `filter.since` at or before `filter.until` (texts written in [since, "
            f"until)), got since {since.isoformat()} after until {until.isoformat()}",
            "filter.since",
        )
    kinds = None
    if given.kinds is not None:
        if not given.kinds:
            raise _bad(
                "expected `filter.kinds` to name at least one of CHALLENGE, COMMENT, ANSWER (or "
                "to be null for all), got an empty list",
                "filter.kinds",
            )
        kinds = frozenset(str(kind.value) for kind in given.kinds)
    return TextFilter(
        region=given.region,
        publisher=given.publisher,
        metric=None if given.metric is None else given.metric.value,
        category=None if given.category is None else given.category.value,
        since=since,
        until=until,
        kinds=kinds,
    )


def _in_range(value: int, low: int, high: int, argument: str) -> int:
    if not low <= value <= high:
        raise _bad(f"expected `{argument}` in {low}..{high}, got {value}", argument)
    return value


@strawberry.type(
    description="Sentiment analytics over the public texts a filter matches (challenges' "
    "evidence, comments, answers; each scored with VADER when written): a summary, a series, "
    "the words driving negative sentiment and the change around corrections. Aggregates only: "
    "no text or author is shown, and a word only when at least 3 negative texts hold it. "
    "docs/analytics.md has the formulas."
)
class SentimentAnalytics:
    where: strawberry.Private[TextFilter]

    @strawberry.field(
        description="Count, mean compound score and share negative of the texts: the "
        f"{queries.MAX_ROWS:,} most recent when more match (`capped`)."
    )
    async def summary(self, info: Info[Context, None]) -> SentimentSummary:
        async with info.context.runtime.sessions() as session:
            matched = await queries.count_texts(session, self.where)
            found = await queries.summary(session, self.where)
        return SentimentSummary(
            count=found.count,
            mean_compound=found.mean_compound,
            share_negative=found.share_negative,
            matched=matched,
            capped=matched > queries.MAX_ROWS,
        )

    @strawberry.field(
        description="The sentiment per group and time bucket, for the buckets holding texts, "
        f"sorted by group (null first) then bucket; at most {MAX_SERIES_POINTS:,} points "
        "(BAD_USER_INPUT past that: ask for a coarser bucket, fewer dimensions or a narrower "
        f"filter). Reads the {queries.MAX_ROWS:,} most recent texts, like `summary` (see its "
        "`capped`).",
        metadata={"list_size": SERIES_LIST_SIZE},
    )
    async def series(
        self,
        info: Info[Context, None],
        by: Annotated[
            list[SentimentDimension],
            strawberry.argument(
                description="Group by these dimensions, each at most once, in this order "
                "(empty: one group of all texts)."
            ),
        ] = [],  # noqa: B006 (never mutated: strawberry's default for the schema)
        bucket: Annotated[
            SentimentBucket, strawberry.argument(description="The time buckets (UTC).")
        ] = SentimentBucket.DAY,
    ) -> list[SentimentPoint]:
        if len(set(by)) != len(by):
            raise _bad(
                f"expected distinct dimensions in `by` (at most {MAX_DIMENSIONS}), got "
                f"{', '.join(d.name for d in by)}",
                "by",
            )
        async with info.context.runtime.sessions() as session:
            points = await queries.series(
                session,
                self.where,
                by=tuple(cast(GroupKey, d.value) for d in by),
                bucket=cast(Bucket, bucket.value),
            )
        if len(points) > MAX_SERIES_POINTS:
            raise _bad(
                f"expected a series of at most {MAX_SERIES_POINTS:,} points, got "
                f"{len(points):,}: ask for a coarser `bucket`, fewer dimensions in `by` or a "
                "narrower filter",
                "by",
            )
        return [SentimentPoint.of(point) for point in points]

    @strawberry.field(
        description="The words most over-represented in the negative texts against the others, "
        f"highest z first; each in at least 3 negative texts. Reads the {queries.MAX_TERM_ROWS:,} most recent "
        "texts. Empty without negative texts or without others.",
        metadata={"list_size": queries.MAX_TERMS},
    )
    async def negative_terms(
        self,
        info: Info[Context, None],
        limit: Annotated[
            int,
            strawberry.argument(description=f"How many terms at most (1..{queries.MAX_TERMS})."),
        ] = 20,
    ) -> list[NegativeSentimentTerm]:
        _in_range(limit, 1, queries.MAX_TERMS, "limit")
        async with info.context.runtime.sessions() as session:
            found = await queries.negative_terms(session, self.where, limit=limit)
        return [NegativeSentimentTerm.of(term) for term in found]

    @strawberry.field(
        description="Corrections, most recent first, each with the sentiment of the texts on "
        "its region and metric (of the filter's `kinds`) in the window before it against the "
        "window after it. The filter picks the corrections: their region and metric, a "
        "publisher among theirs, made in [since, until); `category` is not accepted. Each "
        f"window reads the {queries.MAX_ROWS_PER_SIDE:,} texts nearest the correction.",
        metadata={"list_size": queries.MAX_CORRECTIONS},
    )
    async def correction_effects(
        self,
        info: Info[Context, None],
        window_days: Annotated[
            int,
            strawberry.argument(
                description=f"The length of each window, in days (1..{MAX_WINDOW_DAYS})."
            ),
        ] = 7,
        limit: Annotated[
            int,
            strawberry.argument(
                description=f"How many corrections at most (1..{queries.MAX_CORRECTIONS})."
            ),
        ] = queries.DEFAULT_CORRECTIONS,
    ) -> list[CorrectionSentiment]:
        _in_range(window_days, 1, MAX_WINDOW_DAYS, "windowDays")
        _in_range(limit, 1, queries.MAX_CORRECTIONS, "limit")
        where = self.where
        if where.category is not None:
            raise _bad(
                "expected no `filter.category` with `correctionEffects` (a correction's "
                "windows hold the texts of every category on its figure), got "
                f"{where.category.upper()}",
                "filter.category",
            )
        async with info.context.runtime.sessions() as session:
            found = await queries.correction_effects(
                session,
                region=where.region,
                publisher=where.publisher,
                metric=where.metric,
                since=where.since,
                until=where.until,
                kinds=where.kinds,
                window=dt.timedelta(days=window_days),
                limit=limit,
            )
        return [CorrectionSentiment.of(item) for item in found]


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(
        description="Sentiment analytics of the public texts on challenges, for health "
        "officials: public, aggregates only. BAD_USER_INPUT for a filter that cannot match "
        "(an unknown region, a time without a time zone, `since` after `until`, no kinds)."
    )
    def sentiment(
        self,
        filter: Annotated[
            SentimentFilter | None,
            strawberry.argument(description="Which texts (null: all of them)."),
        ] = None,
    ) -> SentimentAnalytics:
        return SentimentAnalytics(where=text_filter(filter))
