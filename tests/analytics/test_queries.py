"""Sentiment analytics read from a real database (SQLite and PostgreSQL): filters, series,
negative terms, correction effects and the row caps, against values computed from the texts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from analytics import aggregate, queries
from analytics.aggregate import ScoredText, SeriesPoint
from analytics.queries import TextFilter
from analytics.sentiment import score
from models.moderation import Challenge, Correction, PublicText
from service.runtime import Runtime

UTC = dt.UTC
# 2 March 2026 is a Monday.
MONDAY = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PLUS_TWO = dt.timezone(dt.timedelta(hours=2))

POSITIVE = [
    "Thank you, the corrected figures are great.",
    "Excellent and helpful data, well done.",
    "Good to see this fixed so quickly, I love it.",
    "Wonderful transparency, thanks to the ministry.",
]
NEGATIVE = [
    "The undercount is terrible.",
    "Awful undercount, this is simply wrong.",
    "Another undercount: a disgrace and a lie.",
    "Undercount again. Horrible work, so sad.",
    "I hate this undercount, shameful.",
]


def text(
    body: str,
    when: dt.datetime,
    *,
    region: str | None = "FRA",
    publisher: str | None = "who",
    metric: str | None = "cases",
    category: str = "wrong_value",
    kind: str = "comment",
) -> PublicText:
    scored = score(body)
    return PublicText(
        kind=kind,
        challenge_id=1,
        author="account:1",
        body=body,
        created_at=when,
        compound=scored.compound,
        positive=scored.pos,
        negative=scored.neg,
        neutral=scored.neu,
        label=scored.label,
        region=region,
        metric=metric,
        publisher=publisher,
        category=category,
    )


def as_item(row: PublicText) -> ScoredText:
    """What the row should read back as, for the aggregate functions called directly."""
    return ScoredText(
        row.created_at,
        row.region,  # type: ignore[arg-type]
        row.publisher,
        row.metric,
        row.category,
        score(row.body),
        row.body,
    )


async def insert(runtime: Runtime, *rows: Any) -> None:
    async with runtime.write_sessions() as session, session.begin():
        for row in rows:
            session.add(row)
            await session.flush()


async def add_challenge(runtime: Runtime, when: dt.datetime) -> int:
    """A minimal challenge (with its evidence text, far from every test's texts)."""
    evidence = text("Evidence.", when, region="ZZZ", kind="challenge")
    await insert(runtime, evidence)
    challenge = Challenge(
        target_kind="figure",
        target_id="FRA/cases/2026-03-01",
        region="FRA",
        metric="cases",
        date=dt.date(2026, 3, 1),
        publishers=["who", "ecdc"],
        category="wrong_value",
        links=[],
        text_id=evidence.id or 0,
        filer="account:1",
        state="upheld",
        duplicate_key="k" * 64,
        discrepancy=0.5,
        next_sequence=1,
        filed_at=when,
        filed_epoch=int(when.timestamp()),
        updated_at=when,
    )
    await insert(runtime, challenge)
    assert challenge.id is not None
    return challenge.id


def correction(
    index: int, challenge_id: int, when: dt.datetime, *, region: str = "FRA", **kw: Any
) -> Correction:
    args: dict[str, Any] = {
        "ledger_index": index,
        "challenge_id": challenge_id,
        "region": region,
        "metric": "cases",
        "date": dt.date(2026, 3, 1),
        "version": 2,
        "supersedes": index - 1,
        "old_value": 100,
        "new_value": 120,
        "reason": "The bulletin was misread.",
        "evidence_sha256": "0" * 64,
        "decided_by": ["account:10", "account:11"],
        "quorum": 2,
        "publishers": ["who", "ecdc"],
        "created_at": when,
    } | kw
    return Correction(**args)


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def same(got: list[Any], want: list[Any]) -> bool:
    """Lists of the same dataclasses, floats equal to 1e-9 (sums may run in another order)."""
    if len(got) != len(want):
        return False
    for a, b in zip(got, want, strict=True):
        for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b), strict=True):
            if isinstance(y, float) and not isinstance(y, bool):
                if x != pytest.approx(y, rel=1e-9, abs=1e-12):
                    return False
            elif x != y:
                return False
    return True


# --- filters and summaries --------------------------------------------------------------------


def mixed_rows() -> list[PublicText]:
    return [
        text(POSITIVE[0], MONDAY),
        text(NEGATIVE[0], MONDAY + dt.timedelta(hours=1), publisher=None),
        text(POSITIVE[1], MONDAY + dt.timedelta(days=1), region="DEU", publisher="ecdc"),
        text(NEGATIVE[1], MONDAY + dt.timedelta(days=2), metric="deaths", category="missing"),
        text(POSITIVE[2], MONDAY + dt.timedelta(days=8), kind="challenge"),
        text(NEGATIVE[2], MONDAY + dt.timedelta(days=9), region="DEU", kind="answer"),
    ]


def expected(rows: list[PublicText]) -> aggregate.Summary:
    return aggregate.summarize(score(row.body) for row in rows)


async def test_summary_applies_each_filter(runtime: Runtime) -> None:
    rows = mixed_rows()
    await insert(runtime, *rows)
    cases: list[tuple[TextFilter, list[PublicText]]] = [
        (TextFilter(), rows),
        (TextFilter(region="FRA"), [rows[0], rows[1], rows[3], rows[4]]),
        (TextFilter(region="DEU"), [rows[2], rows[5]]),
        (TextFilter(publisher="who"), [rows[0], rows[3], rows[4], rows[5]]),
        (TextFilter(publisher="ecdc"), [rows[2]]),
        (TextFilter(metric="deaths"), [rows[3]]),
        (TextFilter(category="missing"), [rows[3]]),
        (TextFilter(kinds=frozenset({"challenge", "answer"})), [rows[4], rows[5]]),
        # half-open: since is in, until is out
        (
            TextFilter(since=MONDAY + dt.timedelta(hours=1), until=MONDAY + dt.timedelta(days=2)),
            [rows[1], rows[2]],
        ),
        # 14:00 at UTC+2 is rows[4]'s 12:00 UTC: compared in UTC
        (TextFilter(since=dt.datetime(2026, 3, 10, 14, 0, tzinfo=PLUS_TWO)), [rows[4], rows[5]]),
        (TextFilter(since=dt.datetime(2026, 3, 10, 14, 0, 1, tzinfo=PLUS_TWO)), [rows[5]]),
        (TextFilter(until=dt.datetime(2026, 3, 10, 14, 0, 1, tzinfo=PLUS_TWO)), rows[:5]),
        (
            TextFilter(region="FRA", metric="cases", publisher="who", kinds=frozenset({"comment"})),
            [rows[0]],
        ),
        (TextFilter(region="ITA"), []),
    ]
    async with runtime.sessions() as session:
        for where, wanted in cases:
            got = await queries.summary(session, where)
            want = expected(wanted)
            assert got.count == want.count, where
            assert got.count == await queries.count_texts(session, where), where
            if want.count:
                assert got.mean_compound == pytest.approx(want.mean_compound), where
                assert got.share_negative == pytest.approx(want.share_negative), where
            else:
                assert got.mean_compound is None and got.share_negative is None


async def test_stored_scores_are_read_not_recomputed(runtime: Runtime) -> None:
    """The Score comes from the stored columns: a row stored with made-up scores reads back
    with them."""
    row = text(POSITIVE[0], MONDAY)
    row.compound, row.label = -0.9, "negative"
    await insert(runtime, row)
    async with runtime.sessions() as session:
        got = await queries.summary(session, TextFilter())
    assert got == aggregate.Summary(count=1, mean_compound=-0.9, share_negative=1.0)


def test_filters_refuse_naive_times_and_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="since"):
        TextFilter(since=dt.datetime(2026, 3, 2))
    with pytest.raises(ValueError, match="until"):
        TextFilter(until=dt.datetime(2026, 3, 2))
    with pytest.raises(ValueError, match="kinds"):
        TextFilter(kinds=frozenset({"comment", "tweet"}))
    with pytest.raises(ValueError, match="kinds"):
        TextFilter(kinds=frozenset())
    moved = TextFilter(since=dt.datetime(2026, 3, 2, 14, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    assert moved.since == dt.datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert moved.since is not None and moved.since.tzinfo is UTC


# --- series -----------------------------------------------------------------------------------


async def test_series_groups_and_buckets_like_aggregate(runtime: Runtime) -> None:
    rows = [
        *mixed_rows(),
        # 23:30 UTC on Sunday 8 March: still the first ISO week and 8 March (SQLite reads it back
        # naive; it must be taken as UTC, not local time)
        text(NEGATIVE[3], dt.datetime(2026, 3, 8, 23, 30, tzinfo=UTC)),
        text(POSITIVE[3], MONDAY + dt.timedelta(days=30), region=None, publisher=None),
    ]
    await insert(runtime, *rows)
    items = [as_item(row) for row in rows]
    async with runtime.sessions() as session:
        weekly = await queries.series(session, TextFilter(), by=("region",), bucket="week")
        assert same(weekly, aggregate.sentiment_series(items, by=("region",), bucket="week"))
        by_region = {(p.group, p.bucket_start): p.count for p in weekly}
        assert by_region == {
            ((("region", None),), dt.date(2026, 3, 30)): 1,
            ((("region", "DEU"),), dt.date(2026, 3, 2)): 1,
            ((("region", "DEU"),), dt.date(2026, 3, 9)): 1,
            ((("region", "FRA"),), dt.date(2026, 3, 2)): 4,
            ((("region", "FRA"),), dt.date(2026, 3, 9)): 1,
        }
        daily = await queries.series(
            session, TextFilter(region="FRA"), by=("publisher", "metric"), bucket="day"
        )
        assert [(p.group, p.bucket_start, p.count) for p in daily] == [
            ((("publisher", None), ("metric", "cases")), dt.date(2026, 3, 2), 1),
            ((("publisher", "who"), ("metric", "cases")), dt.date(2026, 3, 2), 1),
            ((("publisher", "who"), ("metric", "cases")), dt.date(2026, 3, 8), 1),
            ((("publisher", "who"), ("metric", "cases")), dt.date(2026, 3, 10), 1),
            ((("publisher", "who"), ("metric", "deaths")), dt.date(2026, 3, 4), 1),
        ]
        sunday = daily[2]
        assert sunday.mean_compound == pytest.approx(score(NEGATIVE[3]).compound)
        assert sunday.share_negative == 1.0
        monthly = await queries.series(session, TextFilter(), bucket="month")
        assert [(p.group, p.bucket_start, p.count) for p in monthly] == [
            ((), dt.date(2026, 3, 1), 7),
            ((), dt.date(2026, 4, 1), 1),
        ]
        assert monthly[0].mean_compound == pytest.approx(
            mean([i.score.compound for i in items[:7]])
        )
        with pytest.raises(ValueError, match="grouping keys"):
            await queries.series(session, TextFilter(), by=("author",))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="bucket"):
            await queries.series(session, TextFilter(), bucket="year")  # type: ignore[arg-type]
        assert await queries.series(session, TextFilter(region="ITA")) == []


def test_same_compares_floats_approximately() -> None:
    point = SeriesPoint((), dt.date(2026, 3, 2), 1, 0.5, 0.0)
    assert same([point], [SeriesPoint((), dt.date(2026, 3, 2), 1, 0.5 + 1e-12, 0.0)])
    assert not same([point], [SeriesPoint((), dt.date(2026, 3, 2), 1, 0.6, 0.0)])
    assert not same([point], [SeriesPoint((), dt.date(2026, 3, 3), 1, 0.5, 0.0)])
    assert not same([point], [])


# --- negative terms ---------------------------------------------------------------------------


async def test_a_term_planted_in_negative_texts_comes_first(runtime: Runtime) -> None:
    start = MONDAY
    rows = [
        *(text(body, start + dt.timedelta(hours=i)) for i, body in enumerate(NEGATIVE)),
        *(text(body, start + dt.timedelta(hours=10 + i)) for i, body in enumerate(POSITIVE)),
        text("The figures are fine, thanks.", start + dt.timedelta(hours=20)),
        text("Figures updated, good.", start + dt.timedelta(hours=21)),
        # in another region: the filter keeps it out
        text("Undercount, awful undercount!", start, region="DEU"),
    ]
    assert all(score(body).label == "negative" for body in NEGATIVE)
    assert not any(score(body).label == "negative" for body in POSITIVE)
    await insert(runtime, *rows)
    async with runtime.sessions() as session:
        found = await queries.negative_terms(session, TextFilter(region="FRA"))
        assert found
        first = found[0]
        assert first.term == "undercount"
        assert (first.negative_texts, first.all_texts) == (5, 5)
        assert first.z > 0
        want = aggregate.negative_terms([as_item(row) for row in rows if row.region == "FRA"])
        assert same(found, want)
        # every negative text in both regions: the DEU one counts too
        both = await queries.negative_terms(session, TextFilter())
        assert (both[0].term, both[0].negative_texts) == ("undercount", 6)
        # only the positive ones: no negative texts, no terms
        assert (
            await queries.negative_terms(session, TextFilter(since=start + dt.timedelta(hours=10)))
            == []
        )
        with pytest.raises(ValueError, match="limit"):
            await queries.negative_terms(session, TextFilter(), limit=0)


# --- corrections ------------------------------------------------------------------------------


async def test_correction_effect_shows_the_change(runtime: Runtime) -> None:
    corrected = MONDAY + dt.timedelta(days=10)
    challenge_id = await add_challenge(runtime, MONDAY - dt.timedelta(days=60))
    day = dt.timedelta(days=1)
    before = [text(body, corrected - (i + 1) * day) for i, body in enumerate(NEGATIVE[:3])]
    after = [text(body, corrected + i * day) for i, body in enumerate(POSITIVE[:3])]
    others = [
        text(POSITIVE[3], corrected - 8 * day),  # before the window
        text(NEGATIVE[3], corrected + 7 * day),  # the window's end is out
        text(NEGATIVE[4], corrected + day, metric="deaths"),  # another metric
        text(NEGATIVE[4], corrected + day, region="DEU"),  # another region
        text(NEGATIVE[4], corrected + day, publisher=None),  # same figure, no one publisher
    ]
    await insert(
        runtime,
        *before,
        *after,
        *others,
        correction(7, challenge_id, corrected),
        correction(9, challenge_id, corrected + 20 * day, region="DEU", publishers=["rki"]),
    )
    async with runtime.sessions() as session:
        found = await queries.correction_effects(session)
        assert [c.ledger_index for c in found] == [9, 7]  # most recent first
        fra = found[1]
        assert (fra.region, fra.metric, fra.date) == ("FRA", "cases", dt.date(2026, 3, 1))
        assert (fra.old_value, fra.new_value, fra.publishers) == (100, 120, ("who", "ecdc"))
        assert fra.corrected_at == corrected and fra.challenge_id == challenge_id
        effect = fra.effect
        assert effect.window == dt.timedelta(days=7)
        assert effect.before.count == 3 and effect.before.share_negative == 1.0
        assert effect.after.count == 4  # the three positive texts and the one without publisher
        assert effect.after.share_negative == pytest.approx(1 / 4)
        after_scores = [score(r.body).compound for r in [*after, others[4]]]
        before_scores = [score(r.body).compound for r in before]
        assert effect.change_mean_compound == pytest.approx(
            mean(after_scores) - mean(before_scores)
        )
        assert effect.change_mean_compound is not None and effect.change_mean_compound > 0.5
        assert effect.change_share_negative == pytest.approx(1 / 4 - 1)
        # the DEU correction has a text 19 days before it: outside its window
        assert found[0].effect.before.count == found[0].effect.after.count == 0
        assert found[0].effect.change_mean_compound is None

        async def indices(**kw: Any) -> list[int]:
            return [c.ledger_index for c in await queries.correction_effects(session, **kw)]

        assert await indices(region="FRA") == [7]
        assert await indices(metric="deaths") == []
        assert await indices(publisher="ecdc") == [7]
        assert await indices(publisher="rki") == [9]
        assert await indices(publisher="ecd") == []
        assert await indices(since=corrected + day) == [9]
        assert await indices(until=corrected) == []
        assert await indices(until=corrected + day) == [7]
        assert await indices(limit=1) == [9]

        wider = await queries.correction_effects(session, region="FRA", window=9 * day)
        assert wider[0].effect.before.count == 4 and wider[0].effect.after.count == 5
        answers = await queries.correction_effects(
            session, region="FRA", kinds=frozenset({"answer"})
        )
        assert answers[0].effect.before.count == 0
        # a side capped keeps the texts nearest the correction
        capped = await queries.correction_effects(session, region="FRA", max_rows_per_side=1)
        assert capped[0].effect.before.count == capped[0].effect.after.count == 1
        assert capped[0].effect.before.mean_compound == pytest.approx(score(NEGATIVE[0]).compound)
        assert capped[0].effect.after.mean_compound == pytest.approx(score(POSITIVE[0]).compound)
        with pytest.raises(ValueError, match="window"):
            await queries.correction_effects(session, window=dt.timedelta(0))
        with pytest.raises(ValueError, match="limit"):
            await queries.correction_effects(session, limit=queries.MAX_CORRECTIONS + 1)


# --- the caps ---------------------------------------------------------------------------------


async def test_the_row_cap_keeps_the_most_recent_texts(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # oldest first: three negative, then three positive
    bodies = [*NEGATIVE[:3], *POSITIVE[:3]]
    rows = [text(body, MONDAY + dt.timedelta(hours=i)) for i, body in enumerate(bodies)]
    await insert(runtime, *rows)
    recent = [score(body).compound for body in bodies[2:]]
    async with runtime.sessions() as session:
        assert await queries.count_texts(session, TextFilter()) == 6
        capped = await queries.summary(session, TextFilter(), max_rows=4)
        assert capped.count == 4
        assert capped.mean_compound == pytest.approx(mean(recent))
        assert capped.share_negative == pytest.approx(1 / 4)
        # the default cap is MAX_ROWS, read when called
        assert queries.MAX_ROWS == 50_000
        assert (await queries.summary(session, TextFilter())).count == 6
        monkeypatch.setattr(queries, "MAX_ROWS", 2)
        assert (await queries.summary(session, TextFilter())).share_negative == 0.0
        points = await queries.series(session, TextFilter(), bucket="day")
        assert [p.count for p in points] == [2]
        monkeypatch.setattr(queries, "MAX_TERM_ROWS", 3)
        # the three most recent texts are positive: no negative texts to rank
        assert await queries.negative_terms(session, TextFilter(), min_negative_texts=1) == []
        with pytest.raises(ValueError, match="max_rows"):
            await queries.summary(session, TextFilter(), max_rows=0)
        with pytest.raises(ValueError, match="max_rows"):
            await queries.summary(session, TextFilter(), max_rows=3)  # above MAX_ROWS, now 2
