"""Sentiment over scored texts, for health officials: series, driving terms, corrections.

Pure functions over plain values (``ScoredText`` records in, frozen dataclasses out); where the
records come from (challenges and comments, stored with their scores) is the caller's business.
The formulas are in docs/analytics.md.

- ``summarize``: count, mean compound and share negative of some texts.
- ``sentiment_series``: the same per group (any subset of region, publisher, metric, category)
  and per time bucket (UTC day, ISO week starting Monday, or calendar month).
- ``negative_terms``: the words most over-represented in negative texts against the others,
  ranked by the z-score of a log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi
  & Quinn 2008, "Fightin' Words"), counting each word once per text.
- ``correction_effect``: texts in a scope in a window before a correction was published against
  the same window after it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from analytics.sentiment import Score

Bucket = Literal["day", "week", "month"]
GroupKey = Literal["region", "publisher", "metric", "category"]
GROUP_KEYS: tuple[GroupKey, ...] = get_args(GroupKey)
BUCKETS: tuple[Bucket, ...] = get_args(Bucket)

# Words too common to say anything about what a text is about: English function words (apostrophes
# dropped; not "ill" or "id", which are words too) and the parts of a link or an escaped "&".
# Short on purpose: everything else may matter to an official.
_STOP_WORDS = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves
    im ive its dont doesnt didnt isnt arent wasnt werent cant couldnt wont wouldnt shouldnt
    thats theres theyre youre weve youve lets get got also
    http https www com amp
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
# A word: letters (any script) with inner apostrophes; digits and underscores split words.
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


@dataclass(frozen=True, slots=True)
class ScoredText:
    """One scored text and what it is about. ``scored_at`` must be timezone-aware."""

    scored_at: dt.datetime
    region: str
    publisher: str | None
    metric: str | None
    category: str
    score: Score
    text: str


@dataclass(frozen=True, slots=True)
class Summary:
    """``mean_compound`` and ``share_negative`` are None when ``count`` is 0."""

    count: int
    mean_compound: float | None
    share_negative: float | None


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One group's texts in one bucket. ``group`` pairs each grouping key asked for, in the order
    asked, with its value (None for a text without a publisher or a metric)."""

    group: tuple[tuple[GroupKey, str | None], ...]
    bucket_start: dt.date
    count: int
    mean_compound: float
    share_negative: float


@dataclass(frozen=True, slots=True)
class NegativeTerm:
    """``z`` > 0: the word is over-represented in negative texts. Counts are texts, not uses."""

    term: str
    z: float
    log_odds_ratio: float
    negative_texts: int
    all_texts: int


@dataclass(frozen=True, slots=True)
class CorrectionEffect:
    """Texts in ``[corrected_at - window, corrected_at)`` against ``[corrected_at,
    corrected_at + window)``; a change is None when either side has no texts."""

    corrected_at: dt.datetime
    window: dt.timedelta
    before: Summary
    after: Summary
    change_mean_compound: float | None
    change_share_negative: float | None


def summarize(scores: Iterable[Score]) -> Summary:
    """Count, mean compound and share of negative labels (None, None for no scores)."""
    count = negatives = 0
    total = 0.0
    for item in scores:
        count += 1
        total += item.compound
        negatives += item.label == "negative"
    if count == 0:
        return Summary(count=0, mean_compound=None, share_negative=None)
    return Summary(count=count, mean_compound=total / count, share_negative=negatives / count)


def bucket_start(moment: dt.datetime, bucket: Bucket) -> dt.date:
    """The first day (UTC) of the bucket holding ``moment``: the day, the ISO week's Monday or
    the month's first day."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {moment.isoformat()}")
    day = moment.astimezone(dt.UTC).date()
    if bucket == "day":
        return day
    if bucket == "week":
        return day - dt.timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    raise ValueError(f"expected a bucket in {BUCKETS}, got {bucket!r}")


def sentiment_series(
    items: Iterable[ScoredText], *, by: Sequence[GroupKey] = (), bucket: Bucket = "day"
) -> list[SeriesPoint]:
    """Count, mean compound and share negative per group and bucket, for the buckets that hold
    texts (a bucket without texts is absent), sorted by group then bucket. ``by=()`` makes one
    group of all texts."""
    keys = tuple(by)
    unknown = [key for key in keys if key not in GROUP_KEYS]
    if unknown or len(set(keys)) != len(keys):
        raise ValueError(f"expected distinct grouping keys among {GROUP_KEYS}, got {keys}")
    if bucket not in BUCKETS:
        raise ValueError(f"expected a bucket in {BUCKETS}, got {bucket!r}")
    cells: dict[tuple[tuple[str | None, ...], dt.date], list[Score]] = defaultdict(list)
    for item in items:
        values = tuple(getattr(item, key) for key in keys)
        cells[values, bucket_start(item.scored_at, bucket)].append(item.score)
    points = []
    for (values, start), scores in cells.items():
        summary = summarize(scores)
        assert summary.mean_compound is not None and summary.share_negative is not None
        points.append(
            SeriesPoint(
                group=tuple(zip(keys, values, strict=True)),
                bucket_start=start,
                count=summary.count,
                mean_compound=summary.mean_compound,
                share_negative=summary.share_negative,
            )
        )
    # None (no publisher, no metric) sorts before any value.
    points.sort(key=lambda p: ([(v is not None, v or "") for _, v in p.group], p.bucket_start))
    return points


def terms(text: str) -> set[str]:
    """The distinct words of ``text``, lowercased, apostrophes dropped, stop words and
    one-letter words removed."""
    words = (m.group().lower().replace("'", "").replace("’", "") for m in _WORD.finditer(text))
    return {word for word in words if len(word) > 1 and word not in STOP_WORDS}


def negative_terms(
    items: Iterable[ScoredText], *, limit: int = 20, min_negative_texts: int = 3
) -> list[NegativeTerm]:
    """The words most over-represented in negative texts against the other texts, by the z-score
    of their log-odds ratio with an informative Dirichlet prior from all the texts (Monroe et al.
    2008, "Fightin' Words"), highest first; only words with ``z > 0`` found in at least
    ``min_negative_texts`` negative texts (so that no word from one person's text is shown).
    Empty when there are no negative texts or no others."""
    negative: Counter[str] = Counter()
    other: Counter[str] = Counter()
    for item in items:
        (negative if item.score.label == "negative" else other).update(terms(item.text))
    n_negative, n_other = sum(negative.values()), sum(other.values())
    if n_negative == 0 or n_other == 0:
        return []
    # The prior: alpha_w = the word's count in all texts, alpha_0 = their total.
    alpha_0 = n_negative + n_other
    found = []
    for word, y_negative in negative.items():
        if y_negative < min_negative_texts:
            continue
        y_other = other[word]
        alpha = y_negative + y_other
        delta = math.log((y_negative + alpha) / (n_negative + alpha_0 - y_negative - alpha))
        delta -= math.log((y_other + alpha) / (n_other + alpha_0 - y_other - alpha))
        z = delta / math.sqrt(1 / (y_negative + alpha) + 1 / (y_other + alpha))
        if z > 0:
            found.append(NegativeTerm(word, z, delta, y_negative, alpha))
    found.sort(key=lambda term: (-term.z, term.term))
    return found[:limit]


def correction_effect(
    items: Iterable[ScoredText],
    *,
    corrected_at: dt.datetime,
    window: dt.timedelta = dt.timedelta(days=7),
    region: str | None = None,
    publisher: str | None = None,
    metric: str | None = None,
) -> CorrectionEffect:
    """Sentiment of the texts in scope (matching every one of ``region``, ``publisher``,
    ``metric`` given; None means any) in the ``window`` before ``corrected_at`` against the same
    window from it. Changes are after minus before."""
    if corrected_at.tzinfo is None or corrected_at.utcoffset() is None:
        raise ValueError(
            f"expected a timezone-aware corrected_at, got naive {corrected_at.isoformat()}"
        )
    if window <= dt.timedelta(0):
        raise ValueError(f"expected a positive window, got {window}")
    before: list[Score] = []
    after: list[Score] = []
    for item in items:
        if (
            (region is not None and item.region != region)
            or (publisher is not None and item.publisher != publisher)
            or (metric is not None and item.metric != metric)
        ):
            continue
        if item.scored_at.tzinfo is None or item.scored_at.utcoffset() is None:
            raise ValueError(
                f"expected a timezone-aware scored_at, got naive {item.scored_at.isoformat()}"
            )
        if corrected_at - window <= item.scored_at < corrected_at:
            before.append(item.score)
        elif corrected_at <= item.scored_at < corrected_at + window:
            after.append(item.score)
    was, now = summarize(before), summarize(after)
    return CorrectionEffect(
        corrected_at=corrected_at,
        window=window,
        before=was,
        after=now,
        change_mean_compound=_difference(now.mean_compound, was.mean_compound),
        change_share_negative=_difference(now.share_negative, was.share_negative),
    )


def _difference(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before
