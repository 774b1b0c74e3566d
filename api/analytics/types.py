"""GraphQL types of the sentiment analytics: the filter, the dimensions and buckets, and what
``analytics/queries.py`` returns (summaries, series points, terms, corrections' effects)."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry
from strawberry.types import Info

from analytics.aggregate import CorrectionEffect, NegativeTerm, SeriesPoint, Summary
from analytics.queries import MAX_ROWS
from analytics.queries import CorrectionSentiment as Found
from api.context import Context
from api.moderation.types import ChallengeCategory, Correction, figure_corrections
from api.sources.types import Metric
from ingest.adapters.base import Metric as DomainMetric
from moderation.challenges import Category

#: The most dimensions a series may be grouped by (each of region, publisher, metric, category).
MAX_DIMENSIONS = 4


@strawberry.enum(description="Which kind of public text: where a member wrote it.")
class SentimentTextKind(enum.Enum):
    CHALLENGE = strawberry.enum_value(
        "challenge", description="A challenge's evidence text, written when it was filed."
    )
    COMMENT = strawberry.enum_value(
        "comment",
        description="A member's comment with their support for or opposition to a challenge.",
    )
    ANSWER = strawberry.enum_value(
        "answer", description="The filer's answer to a moderator's request for information."
    )


@strawberry.enum(description="What a sentiment series may be grouped by.")
class SentimentDimension(enum.Enum):
    REGION = strawberry.enum_value(
        "region", description="The region the text's challenge concerns (its code)."
    )
    PUBLISHER = strawberry.enum_value(
        "publisher",
        description="The publisher the text's challenge concerns, when it concerns exactly one "
        "(its slug; null otherwise).",
    )
    METRIC = strawberry.enum_value(
        "metric", description="The metric the text's challenge concerns (a `Metric` name)."
    )
    CATEGORY = strawberry.enum_value(
        "category",
        description="What the text's challenge says is wrong (a `ChallengeCategory` name).",
    )


@strawberry.enum(description="The time buckets of a sentiment series, in UTC.")
class SentimentBucket(enum.Enum):
    DAY = strawberry.enum_value("day", description="A UTC day.")
    WEEK = strawberry.enum_value("week", description="An ISO week, from Monday (UTC).")
    MONTH = strawberry.enum_value("month", description="A calendar month (UTC).")


@strawberry.input(
    description="Which public texts (challenges' evidence, comments, answers) to analyse: every "
    "field given must match; a field left null matches any. Values match exactly: a country "
    "does not include its states."
)
class SentimentFilter:
    region: str | None = strawberry.field(
        default=None,
        description="Only texts on this region's challenges: a region code such as ITA, US-NY "
        "or US-FIPS-36061.",
    )
    publisher: str | None = strawberry.field(
        default=None,
        description="Only texts on challenges concerning this one publisher (its slug, e.g. "
        "who); for `correctionEffects`, corrections of figures resting on it.",
    )
    metric: Metric | None = strawberry.field(
        default=None, description="Only texts on challenges to this metric."
    )
    category: ChallengeCategory | None = strawberry.field(
        default=None,
        description="Only texts on challenges of this category (not accepted by "
        "`correctionEffects`: a correction's window holds the texts of every category).",
    )
    since: dt.datetime | None = strawberry.field(
        default=None,
        description="Only texts written at or after this time (with a time zone offset, e.g. "
        "2026-03-02T00:00:00Z); for `correctionEffects`, corrections made at or after it.",
    )
    until: dt.datetime | None = strawberry.field(
        default=None,
        description="Only texts written before this time (exclusive; with a time zone offset); "
        "for `correctionEffects`, corrections made before it.",
    )
    kinds: list[SentimentTextKind] | None = strawberry.field(
        default=None,
        description="Only texts of these kinds (at least one; null for all).",
        metadata={"list_size": 3},
    )


@strawberry.type(
    description="The sentiment of the texts a filter matches: how many, their mean VADER "
    f"compound score and the share labelled negative. It describes the {MAX_ROWS:,} most "
    "recent of them when more match (`capped`)."
)
class SentimentSummary:
    count: int = strawberry.field(description="How many texts it describes.")
    mean_compound: float | None = strawberry.field(
        description="Their mean compound score, −1 (most negative) … +1 (most positive); null "
        "without texts."
    )
    share_negative: float | None = strawberry.field(
        description="The share of them labelled negative (compound ≤ −0.05), 0 … 1; null "
        "without texts."
    )
    matched: int = strawberry.field(description="How many texts the filter matches in all.")
    capped: bool = strawberry.field(
        description=f"Whether more texts match than are read ({MAX_ROWS:,}): the "
        "figures then describe the most recent ones, and so does `series`."
    )


@strawberry.type(
    description="The sentiment of the texts in one window of time: how many, their mean "
    "compound score and the share labelled negative."
)
class SentimentWindow:
    start: dt.datetime = strawberry.field(description="The window's start (inclusive).")
    end: dt.datetime = strawberry.field(description="The window's end (exclusive).")
    count: int = strawberry.field(description="How many texts were written in it.")
    mean_compound: float | None = strawberry.field(
        description="Their mean compound score, −1 … +1; null without texts."
    )
    share_negative: float | None = strawberry.field(
        description="The share of them labelled negative, 0 … 1; null without texts."
    )

    @classmethod
    def of(cls, summary: Summary, start: dt.datetime, end: dt.datetime) -> SentimentWindow:
        return cls(
            start=start,
            end=end,
            count=summary.count,
            mean_compound=summary.mean_compound,
            share_negative=summary.share_negative,
        )


@strawberry.type(description="One dimension of a series point's group and its value.")
class SentimentGroupValue:
    dimension: SentimentDimension = strawberry.field(description="The dimension.")
    value: str | None = strawberry.field(
        description="Its value: a region code, a publisher's slug, a `Metric` name or a "
        "`ChallengeCategory` name (as the filter takes them); null for texts on no one "
        "publisher, no metric or no region."
    )


def _shown(key: str, value: str | None) -> str | None:
    """A group's value as the API names it: metrics and categories by their enum names."""
    if value is None:
        return None
    try:
        if key == "metric":
            return DomainMetric(value).name
        if key == "category":
            return Category(value).name
    except ValueError:
        return value  # not a known metric or category: as stored
    return value


@strawberry.type(description="The sentiment of one group's texts in one time bucket.")
class SentimentPoint:
    group: list[SentimentGroupValue] = strawberry.field(
        description="The group: each dimension of `by`, in the order asked, with its value "
        "(empty when `by` is).",
        metadata={"list_size": MAX_DIMENSIONS},
    )
    bucket_start: dt.date = strawberry.field(
        description="The bucket's first day (UTC): the day, the week's Monday or the month's "
        "first day."
    )
    count: int = strawberry.field(description="How many texts (at least 1).")
    mean_compound: float = strawberry.field(description="Their mean compound score, −1 … +1.")
    share_negative: float = strawberry.field(
        description="The share of them labelled negative, 0 … 1."
    )

    @classmethod
    def of(cls, point: SeriesPoint) -> SentimentPoint:
        return cls(
            group=[
                SentimentGroupValue(dimension=SentimentDimension(key), value=_shown(key, value))
                for key, value in point.group
            ],
            bucket_start=point.bucket_start,
            count=point.count,
            mean_compound=point.mean_compound,
            share_negative=point.share_negative,
        )


@strawberry.type(
    description="A word over-represented in the negative texts against the others: its "
    "log-odds ratio with an informative Dirichlet prior and that ratio's z-score (Monroe, "
    "Colaresi & Quinn 2008, “Fightin' Words”). Read the z-scores as a ranking; they are "
    "conservative. Each word counts once per text."
)
class NegativeSentimentTerm:
    term: str = strawberry.field(
        description="The word, lower-cased, apostrophes dropped (shown as text, never markup)."
    )
    z: float = strawberry.field(description="The z-score of its log-odds ratio (> 0).")
    log_odds_ratio: float = strawberry.field(
        description="Its log-odds ratio, negative texts against the others (natural log)."
    )
    negative_texts: int = strawberry.field(
        description="How many negative texts hold it (at least 3, so that no one person's "
        "words are shown)."
    )
    all_texts: int = strawberry.field(description="How many texts hold it in all.")

    @classmethod
    def of(cls, term: NegativeTerm) -> NegativeSentimentTerm:
        return cls(
            term=term.term,
            z=term.z,
            log_odds_ratio=term.log_odds_ratio,
            negative_texts=term.negative_texts,
            all_texts=term.all_texts,
        )


@strawberry.type(
    description="A correction (a figure corrected by an upheld challenge) and the sentiment of "
    "the texts on its region and metric in the window before it against the same window after "
    "it. A comparison of two windows, not a causal estimate: small counts move a lot."
)
class CorrectionSentiment:
    ledger_index: int = strawberry.field(
        description="The correction's `correction` leaf: the figure's new version."
    )
    challenge_number: int = strawberry.field(description="The challenge that led to it.")
    region: str = strawberry.field(description="The corrected figure's region (its code).")
    metric: Metric = strawberry.field(description="The corrected figure's metric.")
    date: dt.date = strawberry.field(description="The corrected figure's date.")
    old_value: int = strawberry.field(description="The value deprecated.")
    new_value: int = strawberry.field(description="The corrected value.")
    publishers: list[str] = strawberry.field(
        description="The publishers the figure rests on (their slugs).",
        metadata={"list_size": 5},
    )
    corrected_at: dt.datetime = strawberry.field(description="When the correction was written.")
    window_days: int = strawberry.field(description="The length of each window, in days.")
    before: SentimentWindow = strawberry.field(
        description="The texts in [correctedAt − windowDays, correctedAt)."
    )
    after: SentimentWindow = strawberry.field(
        description="The texts in [correctedAt, correctedAt + windowDays)."
    )
    change_mean_compound: float | None = strawberry.field(
        description="After's mean compound minus before's; null when a window has no texts."
    )
    change_share_negative: float | None = strawberry.field(
        description="After's share negative minus before's; null when a window has no texts."
    )

    @strawberry.field(description="The correction itself, with its proof and its leaf.")
    async def correction(self, info: Info[Context, None]) -> Correction:
        row = await figure_corrections(info.context, "ledger_index").load(self.ledger_index)
        assert row is not None
        return Correction.of(row)

    @classmethod
    def of(cls, found: Found) -> CorrectionSentiment:
        effect: CorrectionEffect = found.effect
        at, window = effect.corrected_at, effect.window
        return cls(
            ledger_index=found.ledger_index,
            challenge_number=found.challenge_id,
            region=found.region,
            metric=DomainMetric(found.metric),
            date=found.date,
            old_value=found.old_value,
            new_value=found.new_value,
            publishers=list(found.publishers),
            corrected_at=found.corrected_at,
            window_days=window.days,
            before=SentimentWindow.of(effect.before, at - window, at),
            after=SentimentWindow.of(effect.after, at, at + window),
            change_mean_compound=effect.change_mean_compound,
            change_share_negative=effect.change_share_negative,
        )
