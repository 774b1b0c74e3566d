"""Challenges in a real database (SQLite and PostgreSQL) on the demo data: the writes, the
ledger leaves they append, corrections, support, limits and system challenges."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from ingest.reconcile.query import attestations
from ledger.leaf import parse_leaf_body
from models import AttestedFigure, Challenge, ChallengeEvent, Correction, LedgerEntry, PublicText
from moderation import store
from moderation.actors import Actor
from moderation.errors import Code, ModerationError
from moderation.workflow import State
from service.runtime import Runtime

FIGURES = AttestedFigure.__table__  # type: ignore[attr-defined]
EVENTS = ChallengeEvent.__table__  # type: ignore[attr-defined]
T0 = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
ADA = Actor("account:1", frozenset({"member"}))
BOB = Actor("account:2", frozenset({"member"}))
MOD_A = Actor("account:10", frozenset({"member", "moderator"}))
MOD_B = Actor("account:11", frozenset({"member", "moderator"}))


async def latest_figure(runtime: Runtime, region: str, metric: str, day: str) -> AttestedFigure:
    async with runtime.sessions() as session:
        return (
            await session.execute(
                select(AttestedFigure).where(
                    FIGURES.c.region == region,
                    FIGURES.c.metric == metric,
                    FIGURES.c.date == dt.date.fromisoformat(day),
                    FIGURES.c.latest.is_(True),
                )
            )
        ).scalar_one()


async def count(runtime: Runtime, table: Any) -> int:
    async with runtime.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def file(runtime: Runtime, actor: Actor, figure: AttestedFigure, **kw: Any) -> store.Recorded:
    args: dict[str, Any] = {
        "target_kind": "figure",
        "target_id": f"{figure.region}/{figure.metric}/{figure.date.isoformat()}",
        "version_seen": figure.version,
        "category": "wrong_value",
        "claimed_value": figure.value + 10,
        "links": ["https://example.org/report"],
        "text": "The ministry's bulletin says otherwise. This is wrong!",
        "now": T0,
    } | kw
    return await store.file_challenge(runtime.write_sessions, runtime.log, actor, **args)


async def test_lifecycle_to_a_correction(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    figure = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-01")
    filed = await file(rt, ADA, figure)
    assert filed.state is State.OPEN and len(filed.events) == 1
    cid = filed.challenge_id
    w, log = rt.write_sessions, rt.log
    await store.act(w, log, MOD_A, cid, "triage", now=T0)
    await store.act(w, log, MOD_A, cid, "start_review", now=T0)
    pending = await store.act(
        w, log, MOD_A, cid, "uphold", rationale="DPC revised it", corrected_value=figure.value + 10
    )
    assert pending.state is State.UPHOLD_PENDING and pending.correction is None
    with pytest.raises(ModerationError) as refused:
        await store.act(w, log, MOD_A, cid, "confirm_uphold", rationale="me again")
    assert refused.value.code is Code.FORBIDDEN
    done = await store.act(w, log, MOD_B, cid, "confirm_uphold", rationale="agreed")
    assert done.state is State.UPHELD and done.correction is not None
    now = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-01")
    assert (now.status, now.value, now.version) == (
        "CORRECTED",
        figure.value + 10,
        figure.version + 1,
    )
    assert now.ledger_index == done.correction
    async with rt.sessions() as session:
        old = await session.get(AttestedFigure, figure.ledger_index)
        assert old is not None and not old.latest and old.value == figure.value
        correction = await session.get(Correction, done.correction)
        assert correction is not None
        assert (correction.old_value, correction.new_value) == (figure.value, figure.value + 10)
        assert correction.decided_by == [MOD_A.id, MOD_B.id] and correction.quorum == 2
        leaf = await session.get(LedgerEntry, done.correction)
        assert leaf is not None
        kind, record = parse_leaf_body(bytes(leaf.body))
        assert kind == "correction" and record["supersedes"] == figure.ledger_index
        assert record["figure"]["status"] == "CORRECTED"
        found = await attestations(session, [done.correction])
        assert found[done.correction]["figure"]["value"] == figure.value + 10
        events = (
            (await session.execute(select(ChallengeEvent).order_by(EVENTS.c.sequence)))
            .scalars()
            .all()
        )
        assert [e.action for e in events] == [
            "file",
            "triage",
            "start_review",
            "uphold",
            "confirm_uphold",
        ]
        for event in events:
            entry = await session.get(LedgerEntry, event.ledger_index)
            assert entry is not None
            kind, rec = parse_leaf_body(bytes(entry.body))
            assert kind == "challenge-event" and rec["sequence"] == event.sequence
            assert rec["challenge"] == cid


async def test_a_repeat_is_linked_as_a_duplicate(demo_runtime: Runtime) -> None:
    figure = await latest_figure(demo_runtime, "ITA", "cases_cumulative", "2020-06-01")
    first = await file(demo_runtime, ADA, figure)
    again = await file(demo_runtime, BOB, figure, text="Same problem here.")
    assert again.state is State.DUPLICATE and again.duplicate_of == first.challenge_id
    assert len(again.events) == 2


async def test_refusals_write_nothing(demo_runtime: Runtime) -> None:
    figure = await latest_figure(demo_runtime, "ITA", "cases_cumulative", "2020-06-01")
    filed = await file(demo_runtime, ADA, figure)
    before = [
        await count(demo_runtime, t) for t in (LedgerEntry, ChallengeEvent, Challenge, PublicText)
    ]
    with pytest.raises(ModerationError) as refused:
        await store.act(
            demo_runtime.write_sessions, demo_runtime.log, ADA, filed.challenge_id, "triage"
        )
    assert refused.value.code is Code.FORBIDDEN
    with pytest.raises(ModerationError) as refused:
        await file(demo_runtime, ADA, figure, version_seen=figure.version + 5)
    assert refused.value.code is Code.BAD_USER_INPUT
    after = [
        await count(demo_runtime, t) for t in (LedgerEntry, ChallengeEvent, Challenge, PublicText)
    ]
    assert after == before


async def test_an_appeal_that_overturns_the_uphold_writes_the_old_value_back(
    demo_runtime: Runtime,
) -> None:
    rt, w = demo_runtime, demo_runtime.write_sessions
    figure = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-01")
    cid = (await file(rt, ADA, figure)).challenge_id
    for actor, action, extra in (
        (MOD_A, "triage", {}),
        (MOD_A, "start_review", {}),
        (MOD_A, "uphold", {"rationale": "seems right", "corrected_value": figure.value + 10}),
        (MOD_B, "confirm_uphold", {"rationale": "agreed"}),
        (ADA, "appeal", {"rationale": "I was wrong after all: DPC's value stands"}),
    ):
        await store.act(w, rt.log, actor, cid, action, **extra)
    with pytest.raises(ModerationError) as refused:  # who decided may not decide the appeal
        await store.act(w, rt.log, MOD_B, cid, "reject", rationale="no")
    assert refused.value.code is Code.FORBIDDEN
    mod_c = Actor("account:12", frozenset({"member", "moderator"}))
    done = await store.act(w, rt.log, mod_c, cid, "reject", rationale="DPC never revised it")
    assert done.state is State.REJECTED and done.correction is not None
    now = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-01")
    assert (now.value, now.status, now.version) == (figure.value, figure.status, figure.version + 2)
    assert now.digest == figure.digest and "overturned on appeal" in now.explanation
    async with rt.sessions() as session:
        revert = await session.get(Correction, done.correction)
        assert revert is not None and revert.reverts is not None
        assert (revert.old_value, revert.new_value) == (figure.value + 10, figure.value)
        leaf = await session.get(LedgerEntry, done.correction)
        assert leaf is not None
        _, record = parse_leaf_body(bytes(leaf.body))
        assert record["correction"]["reverts"] == revert.reverts
        assert record["figure"]["value"] == figure.value
    with pytest.raises(ModerationError):  # final
        await store.act(w, rt.log, ADA, cid, "appeal", rationale="again")
