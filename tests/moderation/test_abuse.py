"""Abuse, through the database (SQLite and PostgreSQL): flooding, repeated challenges on one
figure, over-long texts, markup in texts, rings of fresh accounts, and the lock after
rejections. Each refusal is checked to write nothing (tests/moderation/test_store_rules.py's
``snapshot``: the ledger's size and the row counts of every table moderation writes)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

import pytest
from sqlalchemy import select

from ledger.leaf import parse_leaf_body
from ledger.times import rfc3339
from models import Challenge, ChallengeEvent, ChallengeSupport, LedgerEntry, PublicText
from moderation import reputation, store
from moderation.actors import MEMBER, Actor
from moderation.errors import Code
from moderation.workflow import State
from service.runtime import Runtime

from .test_store import T0, file, latest_figure
from .test_store_rules import MOD_A, refused, snapshot

CHALLENGES = Challenge.__table__  # type: ignore[attr-defined]
SUPPORTS = ChallengeSupport.__table__  # type: ignore[attr-defined]
TEXTS = PublicText.__table__  # type: ignore[attr-defined]
EVENTS = ChallengeEvent.__table__  # type: ignore[attr-defined]
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)


def member(number: int) -> Actor:
    return Actor(f"account:{number}", frozenset({MEMBER}))


def figure_id(day: str, metric: str = "cases_cumulative") -> str:
    return f"ITA/{metric}/{day}"


async def upheld_filings(rt: Runtime, members: list[Actor], metric: str) -> None:
    """Give each member a track record: a challenge of theirs, upheld (no value changes)."""
    for i, who in enumerate(members, start=1):
        figure = await latest_figure(rt, "ITA", metric, f"2020-07-{i:02d}")
        cid = (await file(rt, who, figure, claimed_value=None)).challenge_id
        for action, rationale in [("triage", ""), ("start_review", ""), ("uphold", "Right.")]:
            await store.act(
                rt.write_sessions, rt.log, MOD_A, cid, action, rationale=rationale, now=T0
            )


async def leaf_record(rt: Runtime, index: int) -> tuple[bytes, dict[str, Any]]:
    async with rt.sessions() as session:
        entry = await session.get(LedgerEntry, index)
        assert entry is not None
        body = bytes(entry.body)
    return body, parse_leaf_body(body)[1]


# --- 1. flooding ------------------------------------------------------------------------------


async def test_flooding_past_the_daily_limit_is_refused_until_a_day_later(
    demo_runtime: Runtime,
) -> None:
    rt = demo_runtime
    flooder = member(201)
    figures = [
        await latest_figure(rt, "ITA", "deaths_daily", f"2020-06-{day:02d}") for day in range(1, 8)
    ]
    for i, figure in enumerate(figures[:5]):
        filed = await file(rt, flooder, figure, now=T0 + dt.timedelta(minutes=i))
        assert filed.state is State.OPEN
    before = await snapshot(rt)
    for moment in (T0 + dt.timedelta(hours=2), T0 + DAY - SECOND):
        error = await refused(
            rt,
            file(rt, flooder, figures[5], now=moment),
            Code.RATE_LIMITED,
            fragment="expected at most 5 challenges in 24 hours",
            before=before,
            label=f"a 6th filing at {moment.isoformat()}",
        )
        assert error.extra["limit"] == "daily"
        assert error.extra["retryAt"] == rfc3339(T0 + DAY)
    # 24 hours after the first filing, one more fits in the window
    later = await file(rt, flooder, figures[5], now=T0 + DAY)
    assert later.state is State.OPEN
    # …but only one: the other four are still within 24 hours
    error = await refused(
        rt,
        file(rt, flooder, figures[6], now=T0 + DAY),
        Code.RATE_LIMITED,
        fragment="expected at most 5",
    )
    assert error.extra["limit"] == "daily"
    assert error.extra["retryAt"] == rfc3339(T0 + DAY + dt.timedelta(minutes=1))


# --- 2. one figure, again and again -----------------------------------------------------------


async def test_repeated_challenges_on_one_figure_are_limited_per_target(
    demo_runtime: Runtime,
) -> None:
    rt = demo_runtime
    repeater, other = member(202), member(203)
    figure = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-01")
    elsewhere = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-02")
    value = figure.value
    first = await file(rt, repeater, figure, claimed_value=value + 1, now=T0)
    assert first.state is State.OPEN
    # the same claim again is still filed (linked to the open one as a duplicate) and counts
    again = await file(rt, repeater, figure, claimed_value=value + 1, now=T0 + SECOND * 60)
    assert again.state is State.DUPLICATE and again.duplicate_of == first.challenge_id
    third = await file(
        rt, repeater, figure, category="wrong_date", claimed_value=None, now=T0 + SECOND * 120
    )
    assert third.state is State.OPEN
    before = await snapshot(rt)
    for moment in (T0 + dt.timedelta(hours=3), T0 + DAY - SECOND):
        error = await refused(
            rt,
            file(rt, repeater, figure, category="double_counting", claimed_value=1, now=moment),
            Code.RATE_LIMITED,
            fragment="expected at most 3 challenges per target in 24 hours",
            before=before,
            label=f"a 4th on the figure at {moment.isoformat()}",
        )
        assert error.extra["limit"] == "per_target"
        assert error.extra["retryAt"] == rfc3339(T0 + DAY)
    # the limit is per member and per target: another figure, another member are unaffected
    moment = T0 + dt.timedelta(hours=3)
    assert (await file(rt, repeater, elsewhere, now=moment)).state is State.OPEN
    assert (await file(rt, other, figure, category="other", now=moment)).state is State.OPEN
    # a day after the first, the figure takes one more from the repeater
    late = await file(rt, repeater, figure, category="double_counting", now=T0 + DAY)
    assert late.state is State.OPEN


# --- 3. text over the limit -------------------------------------------------------------------


async def test_a_text_over_5000_characters_is_refused_and_5000_accepted(
    demo_runtime: Runtime,
) -> None:
    rt = demo_runtime
    texter = member(204)
    figures = [
        await latest_figure(rt, "ITA", "cases_cumulative", f"2020-06-{day:02d}")
        for day in (1, 2, 3)
    ]
    decomposed = "e\u0301"  # é as two code points: one after NFC, and counted as one
    before = await snapshot(rt)
    for label, text in [
        ("5,001 characters", "x" * 5_001),
        ("5,001 characters after NFC", decomposed * 5_001),
        ("5,001 emoji", "\U0001f9ea" * 5_001),
    ]:
        error = await refused(
            rt,
            file(rt, texter, figures[0], text=text),
            Code.BAD_USER_INPUT,
            fragment="expected at most 5,000 characters, got 5,001",
            before=before,
            label=label,
        )
        assert error.field == "evidence.text"
    accepted = [
        ("x" * 4_999 + "!", "x" * 4_999 + "!"),
        (decomposed * 5_000, "\u00e9" * 5_000),
        ("\U0001f9ea" * 5_000, "\U0001f9ea" * 5_000),
    ]
    for figure, (typed, kept) in zip(figures, accepted, strict=True):
        filed = await file(rt, texter, figure, text=typed)
        assert filed.state is State.OPEN
        async with rt.sessions() as session:
            row = await session.get(Challenge, filed.challenge_id)
            assert row is not None
            stored = await session.get(PublicText, row.text_id)
            assert stored is not None and stored.body == kept and len(stored.body) == 5_000
        _, record = await leaf_record(rt, filed.events[0])
        assert record["filing"]["evidence"]["text"] == kept
        assert unicodedata.is_normalized("NFC", kept)


# --- 4. markup is kept as typed ---------------------------------------------------------------

HOSTILE = (
    "<script>alert(1)</script><img src=x onerror=alert(1)>\n"
    "&amp; &lt;b&gt;bold&lt;/b&gt; &#x3C;svg onload=alert(2)&#x3E; </textarea>"
    " \"double\" 'single' `back` \\ javascript:alert(3) {{7*7}} ${7*7}"
)


async def test_html_and_script_in_texts_are_stored_as_typed(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    filer, commenter = member(205), member(206)
    figure = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-01")
    link = "https://example.org/search?q=<script>alert(1)</script>&amp;x='1'"
    filed = await file(rt, filer, figure, text=HOSTILE, links=[link])
    cid = filed.challenge_id
    comment = "<b onmouseover=alert(4)>+1</b> &amp;"
    await store.take_stance(
        rt.write_sessions, commenter, cid, stance="support", comment=comment, now=T0
    )
    w, log = rt.write_sessions, rt.log
    await store.act(w, log, MOD_A, cid, "triage", now=T0)
    await store.act(w, log, MOD_A, cid, "start_review", now=T0)
    question = "Which <a href='javascript:alert(5)'>page</a>?"
    await store.act(w, log, MOD_A, cid, "request_info", rationale=question, now=T0)
    answer = "Page <iframe src=//evil.example></iframe> 3 &amp; 4"
    answered = await store.act(w, log, filer, cid, "answer", rationale=answer, now=T0)

    async with rt.sessions() as session:
        texts = {
            text.kind: text
            for text in (
                await session.execute(select(PublicText).where(TEXTS.c.challenge_id == cid))
            ).scalars()
        }
        assert {kind: t.body for kind, t in texts.items()} == {
            "challenge": HOSTILE,
            "comment": comment,
            "answer": answer,
        }
        row = await session.get(Challenge, cid)
        assert row is not None and row.links == [link]
        events = {
            event.action: event.rationale
            for event in (
                await session.execute(select(ChallengeEvent).where(EVENTS.c.challenge_id == cid))
            ).scalars()
        }
        assert events["request_info"] == question and events["answer"] == answer

    body, record = await leaf_record(rt, filed.events[0])
    assert record["filing"]["evidence"] == {"links": [link], "text": HOSTILE}
    # RFC 8785 escapes only quotes, backslashes and control characters: the markup is on the
    # log byte for byte
    for fragment in ("<script>alert(1)</script><img src=x onerror=alert(1)>", "&amp; &lt;b&gt;"):
        assert fragment.encode() in body
    assert b"\\u003c" not in body.lower() and b"&lt;script" not in body
    _, answered_record = await leaf_record(rt, answered.events[0])
    assert answered_record["rationale"] == answer


# --- 5. a ring of fresh accounts ----------------------------------------------------------------


async def test_a_ring_of_fresh_accounts_does_not_outrank_members_with_a_record(
    demo_runtime: Runtime,
) -> None:
    rt = demo_runtime
    trusted = [member(300 + i) for i in range(3)]
    ring = [member(400 + i) for i in range(30)]
    await upheld_filings(rt, trusted, "deaths_cumulative")
    async with rt.sessions() as session:
        for who in trusted:
            record = await store.track_record(session, who.id)
            assert (record.upheld, record.fresh) == (1, False)
            assert record.weight == pytest.approx(0.8)
        assert (await store.track_record(session, ring[0].id)).fresh
    # two challenges alike but for who backs them: the same spread (0) and discrepancy (a
    # claim of twice the value: 0.5), filed at the same moment
    filed_at = T0 + dt.timedelta(hours=1)
    ids = []
    for day, filer in [("2020-06-01", member(210)), ("2020-06-02", member(211))]:
        figure = await latest_figure(rt, "ITA", "cases_cumulative", day)
        assert (figure.spread_ratio or 0.0) == 0.0
        filed = await file(rt, filer, figure, claimed_value=2 * figure.value, now=filed_at)
        ids.append(filed.challenge_id)
    ringed, backed = ids
    moment = filed_at + dt.timedelta(minutes=5)
    for who in ring:
        await store.take_stance(rt.write_sessions, who, ringed, stance="support", now=moment)
    for who in trusted:
        await store.take_stance(rt.write_sessions, who, backed, stance="support", now=moment)

    async with rt.sessions() as session:
        rows = {
            row.id: row
            for row in (
                await session.execute(select(Challenge).where(CHALLENGES.c.id.in_(ids)))
            ).scalars()
        }
        weights = (
            await session.execute(
                select(SUPPORTS.c.challenge_id, SUPPORTS.c.weight, SUPPORTS.c.fresh).where(
                    SUPPORTS.c.challenge_id.in_(ids)
                )
            )
        ).all()
        as_of = filed_at + dt.timedelta(days=2)
        priority = store.priority_expression(as_of)
        queue = (
            await session.execute(
                select(CHALLENGES.c.id, priority.label("priority"))
                .where(CHALLENGES.c.state.in_([str(s) for s in store.QUEUE_STATES]))
                .order_by(priority.desc(), CHALLENGES.c.id)
            )
        ).all()
    assert sorted((cid, w, f) for cid, w, f in weights if cid == ringed) == [
        (ringed, pytest.approx(reputation.FRESH_WEIGHT), True)
    ] * len(ring)
    assert [(w, f) for cid, w, f in weights if cid == backed] == [(pytest.approx(0.8), False)] * 3
    ring_row, backed_row = rows[ringed], rows[backed]
    assert (ring_row.supporters, backed_row.supporters) == (30, 3)
    assert ring_row.discrepancy == backed_row.discrepancy == pytest.approx(0.5)
    assert ring_row.filed_epoch == backed_row.filed_epoch
    # 30 × 0.2 = 6, capped at 1; three members with a record weigh 3 × 0.8
    assert ring_row.fresh_support == pytest.approx(6.0)
    assert ring_row.support_weight == pytest.approx(reputation.FRESH_CAP)
    assert backed_row.support_weight > ring_row.support_weight
    assert backed_row.support_weight >= 3 * 0.8 - 1e-9
    # and in the queue, the backed challenge comes first
    order = [cid for cid, _ in queue]
    assert order.index(backed) < order.index(ringed)
    scores: dict[int, float] = {cid: float(value) for cid, value in queue}
    for cid in ids:
        row = rows[cid]
        expected = reputation.priority(row.discrepancy, row.support_weight, as_of - filed_at)
        assert scores[cid] == pytest.approx(expected)
    assert scores[backed] > scores[ringed]


async def test_a_trusted_stance_counts_once(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    trusted = [member(300 + i) for i in range(3)]
    await upheld_filings(rt, trusted, "deaths_cumulative")
    figure = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-01")
    cid = (await file(rt, member(210), figure)).challenge_id
    expected = []
    for who, side in zip(trusted, ["support", "support", "oppose"], strict=True):
        await store.take_stance(rt.write_sessions, who, cid, stance=side, now=T0)
        async with rt.sessions() as session:
            row = await session.get(Challenge, cid)
            assert row is not None
            expected.append((row.support_weight, side))
    assert [weight for weight, _ in expected] == [
        pytest.approx(0.8),
        pytest.approx(1.6),
        pytest.approx(0.8),
    ], expected


# --- 6. locked after rejections ---------------------------------------------------------------


async def test_three_rejections_of_the_last_five_lock_filing_for_seven_days(
    demo_runtime: Runtime,
) -> None:
    rt = demo_runtime
    loser = member(207)
    w, log = rt.write_sessions, rt.log
    figures = [
        await latest_figure(rt, "ITA", "cases_daily", f"2020-06-{day:02d}") for day in range(1, 8)
    ]
    ids = [(await file(rt, loser, figure, now=T0)).challenge_id for figure in figures[:5]]
    for cid in ids:
        await store.act(w, log, MOD_A, cid, "triage", now=T0)
        await store.act(w, log, MOD_A, cid, "start_review", now=T0)
    decisions = ["uphold", "reject", "uphold", "reject", "reject"]
    for hour, (cid, decision) in enumerate(zip(ids, decisions, strict=True), start=1):
        if hour == 5:  # two rejections of five: not locked yet
            async with rt.sessions() as session:
                assert (await store.track_record(session, loser.id)).locked_until() is None
        rationale = f"{decision} #{hour}"
        await store.act(
            w, log, MOD_A, cid, decision, rationale=rationale, now=T0 + dt.timedelta(hours=hour)
        )
    unlocks = T0 + dt.timedelta(hours=5) + reputation.LOCK_FOR
    async with rt.sessions() as session:
        record = await store.track_record(session, loser.id)
    assert (record.upheld, record.rejected) == (2, 3)
    assert record.locked_until() == unlocks
    before = await snapshot(rt)
    # past the daily window (no daily limit in the way) and until the lock lifts: refused
    for moment in (T0 + DAY + dt.timedelta(hours=1), unlocks - SECOND):
        error = await refused(
            rt,
            file(rt, loser, figures[5], now=moment),
            Code.RATE_LIMITED,
            fragment="filing is locked until",
            before=before,
            label=f"filing at {moment.isoformat()}",
        )
        assert error.extra["limit"] == "locked"
        assert error.extra["retryAt"] == rfc3339(unlocks)
    # the lock is the member's: others file on the same figure
    assert (await file(rt, member(208), figures[5], now=T0 + DAY)).state is State.OPEN
    # appealing a rejection does not lift the lock: the decision counts until the appeal's
    appealed = ids[4]
    await store.act(w, log, loser, appealed, "appeal", rationale="please look again", now=T0 + DAY)
    async with rt.sessions() as session:
        assert (await store.track_record(session, loser.id)).locked_until() == unlocks
    await refused(
        rt,
        file(rt, loser, figures[5], now=T0 + 2 * DAY),
        Code.RATE_LIMITED,
        fragment="filing is locked until",
        label="filing while a rejection is under appeal",
    )
    # seven days after the last rejection, the member files again
    assert (await file(rt, loser, figures[6], now=unlocks)).state is State.OPEN
