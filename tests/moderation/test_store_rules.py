"""Every forbidden transition, role and conflict, through the database (SQLite and PostgreSQL):
each is refused with the right code, and nothing is written — not a leaf, not a row, not a change
to the challenge's row.

For every state a challenge can reach (and the decisions after the appeal round), a test drives a
real challenge there through ``moderation.store``, then tries every action the table does not
allow from it (``BAD_USER_INPUT``), and every action it allows by each wrong kind of actor
(``FORBIDDEN``: a plain member, the filer where a moderator is needed, a moderator where the filer
is needed, a moderator who filed, supported or opposed it, one bound to a publisher it concerns,
the proposer confirming their own uphold, a moderator who decided before deciding the appeal).
The pure table is tested in test_workflow_table.py and test_workflow_rules.py; these tests are
about the store refusing before it writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from ledger.leaf import parse_leaf_body
from models import (
    AttestedFigure,
    Challenge,
    ChallengeEvent,
    ChallengeSupport,
    Correction,
    LedgerEntry,
    PublicText,
)
from moderation import store
from moderation.actors import ADMIN, MEMBER, MODERATOR, PUBLISHER, SYSTEM, Actor
from moderation.errors import Code, ModerationError
from moderation.workflow import State
from service.runtime import Runtime

from .test_store import T0, file, latest_figure

CHALLENGES = Challenge.__table__  # type: ignore[attr-defined]
EVENTS = ChallengeEvent.__table__  # type: ignore[attr-defined]
TEXTS = PublicText.__table__  # type: ignore[attr-defined]
FIGURES = AttestedFigure.__table__  # type: ignore[attr-defined]
#: the tables a moderation write may touch (with the ledger's size)
COUNTED = (ChallengeEvent, Challenge, ChallengeSupport, Correction, PublicText, AttestedFigure)
#: when the refused attempts are made (after every step that drove the challenge)
LATER = T0 + dt.timedelta(hours=6)

FILER = Actor("account:101", frozenset({MEMBER}))
#: the filer's account holding the moderator role too (a moderator who filed it)
FILER_AS_MOD = Actor(FILER.id, frozenset({MEMBER, MODERATOR}))
#: the filer's ID without the member role (a token without the member scope)
FILER_NO_ROLE = Actor(FILER.id, frozenset())
MEMBER_X = Actor("account:102", frozenset({MEMBER}))
SUP_MOD = Actor("account:103", frozenset({MEMBER, MODERATOR}))  # supports the challenge
OPP_MOD = Actor("account:104", frozenset({MEMBER, MODERATOR}))  # opposes it
MOD_A = Actor("account:110", frozenset({MEMBER, MODERATOR}))  # triages, reviews, decides
MOD_B = Actor("account:111", frozenset({MEMBER, MODERATOR}))  # confirms A's uphold
MOD_C = Actor("account:112", frozenset({MEMBER, MODERATOR}))  # decides the appeal
MOD_D = Actor("account:113", frozenset({MEMBER, MODERATOR}))  # confirms C's; else uninvolved
ADMIN_X = Actor("account:120", frozenset({MEMBER, ADMIN}))  # uninvolved
OTHER_FILER = Actor("account:130", frozenset({MEMBER}))
PUBLISHER_CLIENT = Actor("client:who-feed", frozenset({PUBLISHER}), publisher="who")

ACTIONS = (
    "triage",
    "start_review",
    "request_info",
    "answer",
    "uphold",
    "confirm_uphold",
    "decline_uphold",
    "reject",
    "mark_duplicate",
    "appeal",
)


# --- helpers ----------------------------------------------------------------------------------


async def snapshot(rt: Runtime, challenge_id: int | None = None) -> dict[str, Any]:
    """The ledger's size, the row counts of every table moderation writes, and the challenge's
    whole row."""
    async with rt.sessions() as session:
        taken: dict[str, Any] = {"ledger size": await rt.log.size(session)}
        for model in COUNTED:
            table = getattr(model, "__table__")  # noqa: B009 — SQLModel's stubs lack it
            query = select(func.count()).select_from(table)
            taken[table.name] = int((await session.execute(query)).scalar_one())
        if challenge_id is not None:
            row = (
                await session.execute(select(CHALLENGES).where(CHALLENGES.c.id == challenge_id))
            ).mappings()
            taken["challenge row"] = dict(row.one())
    return taken


async def refused(
    rt: Runtime,
    attempt: Awaitable[object],
    code: Code,
    *,
    fragment: str = "",
    challenge_id: int | None = None,
    before: dict[str, Any] | None = None,
    label: str = "",
) -> ModerationError:
    """Await ``attempt``, expect a refusal with ``code`` (its message holding ``fragment``) and
    check that nothing was written (against ``before``, else a snapshot taken now)."""
    if before is None:
        before = await snapshot(rt, challenge_id)
    try:
        await attempt
    except ModerationError as exc:
        error = exc
    else:
        raise AssertionError(f"{label}: expected a refusal ({code}), it was accepted")
    assert error.code is code, f"{label}: expected {code}, got {error.code}: {error.message}"
    assert fragment in error.message, f"{label}: expected {fragment!r} in {error.message!r}"
    after = await snapshot(rt, challenge_id)
    assert after == before, f"{label}: the refusal wrote something"
    return error


def act(
    rt: Runtime, actor: Actor, challenge_id: int, action: str, **kw: Any
) -> Coroutine[Any, Any, store.Recorded]:
    kw.setdefault("now", LATER)
    return store.act(rt.write_sessions, rt.log, actor, challenge_id, action, **kw)


def stance(
    rt: Runtime, actor: Actor, challenge_id: int, side: str, **kw: Any
) -> Coroutine[Any, Any, ChallengeSupport]:
    kw.setdefault("now", LATER)
    return store.take_stance(rt.write_sessions, actor, challenge_id, stance=side, **kw)


def claim_refusal(actor: Actor, state: State, conflict: str | None = None) -> tuple[Code, str]:
    """How a claim by ``actor`` on a challenge in ``state`` is refused: members are not
    moderators; a moderator in conflict (``conflict`` says how) never claims it, whatever the
    state; a challenge not waiting on a moderator cannot be claimed; a moderator must be able to
    act on it."""
    if actor.is_system or not actor.has_role("moderator"):
        return Code.FORBIDDEN, "expected a moderator"
    if conflict is not None:
        return Code.FORBIDDEN, conflict
    if state not in store.QUEUE_STATES:
        return Code.BAD_USER_INPUT, "not waiting on a moderator"
    return Code.FORBIDDEN, "can take no action"


def claim(
    rt: Runtime, actor: Actor, challenge_id: int, **kw: Any
) -> Coroutine[Any, Any, Challenge]:
    kw.setdefault("now", LATER)
    return store.claim(rt.write_sessions, actor, challenge_id, **kw)


async def state_of(rt: Runtime, challenge_id: int) -> State:
    async with rt.sessions() as session:
        row = await session.get(Challenge, challenge_id)
        assert row is not None
        return State(row.state)


# --- a challenge in every state -----------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    challenge: int
    other: int  # another challenge, for duplicate_of
    figure: AttestedFigure  # the figure challenged, as filed
    bound_mod: Actor  # a moderator bound to a publisher the challenge concerns
    bound_admin: Actor  # an admin bound to another one
    stances: bool  # whether SUP_MOD and OPP_MOD took sides


#: the steps: who, what, and its arguments (``duplicate_of`` True: the other challenge;
#: ``corrected_value``: added to the figure's value)
STEPS: dict[str, tuple[Actor, str, dict[str, Any]]] = {
    "triage": (MOD_A, "triage", {}),
    "start_review": (MOD_A, "start_review", {}),
    "request_info": (MOD_A, "request_info", {"rationale": "Which bulletin, which page?"}),
    "propose": (MOD_A, "uphold", {"rationale": "The DPC file agrees.", "corrected_value": 10}),
    "confirm": (MOD_B, "confirm_uphold", {"rationale": "Checked the DPC file."}),
    "reject": (MOD_A, "reject", {"rationale": "The bulletin is about another day."}),
    "mark_duplicate": (MOD_A, "mark_duplicate", {"rationale": "Same claim.", "duplicate_of": True}),
    "appeal": (FILER, "appeal", {"rationale": "Please look again at the bulletin."}),
    "appeal_propose": (MOD_C, "uphold", {"rationale": "On appeal: 20.", "corrected_value": 20}),
    "appeal_confirm": (MOD_D, "confirm_uphold", {"rationale": "Agreed on appeal."}),
    "appeal_reject": (MOD_C, "reject", {"rationale": "The rejection stands."}),
    "appeal_duplicate": (
        MOD_C,
        "mark_duplicate",
        {"rationale": "It is a duplicate.", "duplicate_of": True},
    ),
}
REVIEW = ["triage", "start_review"]
UPHELD = [*REVIEW, "propose", "confirm"]
APPEALED = [*UPHELD, "appeal"]
#: (the state reached, the steps after filing)
PATHS: dict[str, tuple[State, list[str]]] = {
    "OPEN": (State.OPEN, []),
    "TRIAGED": (State.TRIAGED, ["triage"]),
    "IN_REVIEW": (State.IN_REVIEW, REVIEW),
    "NEEDS_INFO": (State.NEEDS_INFO, [*REVIEW, "request_info"]),
    "UPHOLD_PENDING": (State.UPHOLD_PENDING, [*REVIEW, "propose"]),
    "UPHELD": (State.UPHELD, UPHELD),
    "REJECTED": (State.REJECTED, [*REVIEW, "reject"]),
    "DUPLICATE": (State.DUPLICATE, [*REVIEW, "mark_duplicate"]),
    "DUPLICATE linked at filing": (State.DUPLICATE, []),
    "APPEALED": (State.APPEALED, APPEALED),
    "APPEAL_UPHOLD_PENDING": (State.APPEAL_UPHOLD_PENDING, [*APPEALED, "appeal_propose"]),
    "UPHELD after appeal": (State.UPHELD, [*APPEALED, "appeal_propose", "appeal_confirm"]),
    "REJECTED after appeal": (State.REJECTED, [*REVIEW, "reject", "appeal", "appeal_reject"]),
    "DUPLICATE after appeal": (
        State.DUPLICATE,
        [*REVIEW, "mark_duplicate", "appeal", "appeal_duplicate"],
    ),
}


def expected_state(path: str) -> State:
    return PATHS[path][0]


async def build(rt: Runtime, path: str) -> Built:
    """FILER's challenge on ITA cases 2020-06-01, supported by SUP_MOD and opposed by OPP_MOD,
    driven along ``path``."""
    figure = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-01")
    expected, steps = PATHS[path]
    if path == "DUPLICATE linked at filing":
        other = (await file(rt, OTHER_FILER, figure)).challenge_id
        filed = await file(rt, FILER, figure, text="The same claim, my own evidence.")
        assert filed.duplicate_of == other
    else:
        elsewhere = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-02")
        other = (await file(rt, OTHER_FILER, elsewhere)).challenge_id
        filed = await file(rt, FILER, figure)
    cid = filed.challenge_id
    stances = filed.state is State.OPEN
    if stances:
        await stance(rt, SUP_MOD, cid, "support", now=T0)
        await stance(rt, OPP_MOD, cid, "oppose", now=T0)
    for minute, name in enumerate(steps, start=1):
        actor, action, args = STEPS[name]
        kw = dict(args)
        if kw.get("duplicate_of"):
            kw["duplicate_of"] = other
        if "corrected_value" in kw:
            kw["corrected_value"] += figure.value
        await act(rt, actor, cid, action, now=T0 + dt.timedelta(minutes=minute), **kw)
    assert await state_of(rt, cid) is expected
    async with rt.sessions() as session:
        row = await session.get(Challenge, cid)
        assert row is not None
        publishers = list(row.publishers)
    assert len(publishers) >= 2, publishers
    bound_mod = Actor("account:105", frozenset({MEMBER, MODERATOR}), publisher=publishers[0])
    bound_admin = Actor("account:106", frozenset({MEMBER, ADMIN}), publisher=publishers[-1])
    return Built(cid, other, figure, bound_mod, bound_admin, stances)


# --- what each state allows -------------------------------------------------------------------

M, F, S = "moderator", "filer", "system"
#: per path: the actions allowed from the state reached and who takes them (written out here,
#: not read from workflow.TABLE)
ALLOWED: dict[str, dict[str, str]] = {
    "OPEN": {"triage": M, "mark_duplicate": S},
    "TRIAGED": {"start_review": M},
    "IN_REVIEW": {"uphold": M, "reject": M, "mark_duplicate": M, "request_info": M},
    "NEEDS_INFO": {"answer": F},
    "UPHOLD_PENDING": {"confirm_uphold": M, "decline_uphold": M},
    "UPHELD": {"appeal": F},
    "REJECTED": {"appeal": F},
    "DUPLICATE": {"appeal": F},
    "DUPLICATE linked at filing": {"appeal": F},
    "APPEALED": {"uphold": M, "reject": M, "mark_duplicate": M},
    "APPEAL_UPHOLD_PENDING": {"confirm_uphold": M, "decline_uphold": M},
    "UPHELD after appeal": {},
    "REJECTED after appeal": {},
    "DUPLICATE after appeal": {},
}
FINAL = {"UPHELD after appeal", "REJECTED after appeal", "DUPLICATE after appeal"}
#: who takes each action in some state (written out here, not read from workflow.TABLE)
MODERATORS_ACTIONS: tuple[str, ...] = ("triage", "start_review", "request_info", "uphold")
MODERATORS_ACTIONS += ("confirm_uphold", "decline_uphold", "reject")
TAKERS: dict[str, frozenset[str]] = {
    **dict.fromkeys(MODERATORS_ACTIONS, frozenset({M})),
    "mark_duplicate": frozenset({M, S}),
    "answer": frozenset({F}),
    "appeal": frozenset({F}),
}
NOT_DECIDER = "took no decision before the appeal"
#: per path: refusals on top of the wrong kinds of actor (actor, action, message fragment)
EXTRA: dict[str, list[tuple[Actor, str, str]]] = {
    "UPHOLD_PENDING": [(MOD_A, "confirm_uphold", "four-eyes")],
    "APPEALED": [
        (decider, action, NOT_DECIDER)
        for decider in (MOD_A, MOD_B)  # A proposed the uphold, B confirmed it
        for action in ("uphold", "reject", "mark_duplicate")
    ],
    "APPEAL_UPHOLD_PENDING": [
        (MOD_C, "confirm_uphold", "four-eyes"),
        *[
            (decider, action, NOT_DECIDER)
            for decider in (MOD_A, MOD_B)
            for action in ("confirm_uphold", "decline_uphold")
        ],
    ],
}


def wrong_actors(kind: str, built: Built) -> list[tuple[str, Actor, str]]:
    """Who may not take an action of ``kind``: (label, actor, what the refusal says)."""
    not_mod = "expected a moderator or admin"
    if kind == M:
        wrong = [
            ("a plain member", MEMBER_X, not_mod),
            ("the filer", FILER, not_mod),
            ("a publisher's client", PUBLISHER_CLIENT, not_mod),
            ("the system", SYSTEM, not_mod),
            ("a moderator who filed it", FILER_AS_MOD, "filed this challenge"),
            ("a moderator bound to its publisher", built.bound_mod, "is bound to publisher"),
            ("an admin bound to its publisher", built.bound_admin, "is bound to publisher"),
        ]
        if built.stances:
            wrong += [
                ("a moderator who supports it", SUP_MOD, "supports this challenge"),
                ("a moderator who opposes it", OPP_MOD, "supports this challenge"),
            ]
        return wrong
    if kind == F:
        not_filer = f"expected its filer {FILER.id}"
        return [
            ("a plain member", MEMBER_X, not_filer),
            ("a moderator", MOD_D, not_filer),
            ("an admin", ADMIN_X, not_filer),
            ("another moderator", SUP_MOD, not_filer),
            ("a publisher's client", PUBLISHER_CLIENT, "the challenge's filer (a member)"),
            ("the system", SYSTEM, "the challenge's filer (a member)"),
            (
                "the filer without the member role",
                FILER_NO_ROLE,
                "the challenge's filer (a member)",
            ),
        ]
    assert kind == S  # moderators mark duplicates in other states: a state error for them
    return [
        (label, actor, "the system")
        for label, actor in [("the filer", FILER), ("a plain member", MEMBER_X)]
    ]


def arguments(action: str, built: Built) -> dict[str, Any]:
    """What a well-formed request for ``action`` carries, so only who or the state is wrong."""
    kw: dict[str, Any] = {"rationale": f"a reason to {action}"}
    if action == "mark_duplicate":
        kw["duplicate_of"] = built.other
    return kw


@pytest.mark.parametrize("path", list(PATHS))
async def test_every_forbidden_action_and_actor_is_refused_and_writes_nothing(
    demo_runtime: Runtime, path: str
) -> None:
    rt = demo_runtime
    built = await build(rt, path)
    cid = built.challenge
    before = await snapshot(rt, cid)
    allowed = ALLOWED[path]
    tried = 0

    async def expect(actor: Actor, action: str, code: Code, fragment: str, label: str) -> None:
        nonlocal tried
        tried += 1
        attempt = act(rt, actor, cid, action, **arguments(action, built))
        await refused(
            rt,
            attempt,
            code,
            fragment=fragment,
            challenge_id=cid,
            before=before,
            label=f"{path}: {action} by {label} ({actor.id})",
        )

    # what the table does not allow from here: who comes first — FORBIDDEN for an asker who
    # may take the action in no state, BAD_USER_INPUT for one who may elsewhere (the state
    # does not fit); after the appeal round, nothing at all
    fragment = "is final" if path in FINAL else "is not allowed on"
    askers: list[tuple[str, Actor, str | None]] = [
        ("a moderator", MOD_D, M),
        ("an admin", ADMIN_X, M),
        ("the filer", FILER, F),
    ]
    askers += [("a plain member", MEMBER_X, None), ("the system", SYSTEM, S)]
    for action in ACTIONS:
        if action in allowed:
            continue
        for label, actor, kind in askers:
            if kind in TAKERS[action]:
                await expect(actor, action, Code.BAD_USER_INPUT, fragment, label)
            else:
                await expect(actor, action, Code.FORBIDDEN, "expected", label)
    if allowed.get("mark_duplicate") == S:  # the system's in OPEN; moderators' in review
        for label, actor in (("a moderator", MOD_D), ("an admin", ADMIN_X)):
            await expect(actor, "mark_duplicate", Code.BAD_USER_INPUT, "is for the system", label)
    # what it allows, asked by the wrong actor: FORBIDDEN (the system, which marks duplicates
    # at filing, is told the state does not fit)
    for action, kind in allowed.items():
        for label, actor, says in wrong_actors(kind, built):
            if actor is SYSTEM and action == "mark_duplicate":
                await expect(actor, action, Code.BAD_USER_INPUT, "is for the moderator", label)
            else:
                await expect(actor, action, Code.FORBIDDEN, says, label)
    for actor, action, says in EXTRA.get(path, []):
        await expect(actor, action, Code.FORBIDDEN, says, "a conflicted moderator")
    assert tried >= 9

    # claims: only who may act on it now may claim it
    moderator_can_act = M in allowed.values()
    claimers = [("a plain member", MEMBER_X), ("a publisher's client", PUBLISHER_CLIENT)]
    if built.stances:
        claimers.append(("a moderator who supports it", SUP_MOD))
    if not moderator_can_act:
        claimers += [("a moderator", MOD_D), ("an admin", ADMIN_X)]
    for label, actor in claimers:
        conflict = "supports this challenge" if actor is SUP_MOD else None
        code, says = claim_refusal(actor, expected_state(path), conflict)
        await refused(
            rt,
            claim(rt, actor, cid),
            code,
            fragment=says,
            challenge_id=cid,
            before=before,
            label=f"{path}: claim by {label}",
        )

    # stances: members only, not the filer, once, and only while the challenge is open
    is_open = expected_state(path) in store.OPEN_STATES
    attempts: list[tuple[str, Actor, Code, str]] = [
        ("a publisher's client", PUBLISHER_CLIENT, Code.FORBIDDEN, "signed-in member"),
        ("the system", SYSTEM, Code.FORBIDDEN, "signed-in member"),
        (
            "the filer",
            FILER,
            Code.FORBIDDEN,  # never theirs, open or not: who before state
            "filed challenge",
        ),
    ]
    if built.stances:
        attempts.append(
            (
                "a member taking a second side",
                SUP_MOD,
                Code.BAD_USER_INPUT,
                "one stance per member" if is_open else "expected an open challenge",
            )
        )
    if not is_open:
        attempts.append(
            ("a fresh member", MEMBER_X, Code.BAD_USER_INPUT, "expected an open challenge")
        )
    for label, actor, code, says in attempts:
        await refused(
            rt,
            stance(rt, actor, cid, "oppose", comment="no"),
            code,
            fragment=says,
            challenge_id=cid,
            before=before,
            label=f"{path}: a stance by {label}",
        )
    assert await state_of(rt, cid) is expected_state(path)


# --- the allowed paths, through the database ----------------------------------------------------


async def test_a_confirmed_uphold_writes_the_correction_and_keeps_the_old_version(
    demo_runtime: Runtime,
) -> None:
    rt = demo_runtime
    built = await build(rt, "UPHOLD_PENDING")
    figure = built.figure
    before = await snapshot(rt, built.challenge)
    done = await act(rt, MOD_B, built.challenge, "confirm_uphold", rationale="Checked.")
    assert done.state is State.UPHELD and done.correction is not None
    after = await snapshot(rt, built.challenge)
    assert after["ledger size"] == before["ledger size"] + 2  # the event and the correction
    for table, more in [("challenge_event", 1), ("correction", 1), ("attested_figure", 1)]:
        assert after[table] == before[table] + more, table
    assert after["public_text"] == before["public_text"]
    assert after["challenge row"]["decided_at"] is not None

    now = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-01")
    assert (now.ledger_index, now.status) == (done.correction, "CORRECTED")
    assert (now.value, now.version) == (figure.value + 10, figure.version + 1)
    async with rt.sessions() as session:
        old = await session.get(AttestedFigure, figure.ledger_index)
        assert old is not None
        assert (old.latest, old.value, old.status) == (False, figure.value, figure.status)
        versions = (
            await session.execute(
                select(FIGURES.c.version, FIGURES.c.latest)
                .where(
                    FIGURES.c.region == "ITA",
                    FIGURES.c.metric == "cases_cumulative",
                    FIGURES.c.date == figure.date,
                )
                .order_by(FIGURES.c.version)
            )
        ).all()
        assert [tuple(v) for v in versions] == [
            *[(v, False) for v in range(1, figure.version + 1)],
            (figure.version + 1, True),
        ]
        correction = await session.get(Correction, done.correction)
        assert correction is not None
        assert (correction.old_value, correction.new_value) == (figure.value, figure.value + 10)
        assert correction.supersedes == figure.ledger_index
        assert correction.decided_by == [MOD_A.id, MOD_B.id] and correction.quorum == 2
        assert correction.challenge_id == built.challenge
        entry = await session.get(LedgerEntry, done.correction)
        assert entry is not None
        kind, record = parse_leaf_body(bytes(entry.body))
        assert kind == "correction" and record["figure"]["status"] == "CORRECTED"
        assert record["figure"]["value"] == figure.value + 10


async def test_declining_an_uphold_returns_to_review_without_a_correction(
    demo_runtime: Runtime,
) -> None:
    rt = demo_runtime
    built = await build(rt, "UPHOLD_PENDING")
    cid, figure = built.challenge, built.figure
    before = await snapshot(rt, cid)
    # the proposer may withdraw their own proposal
    back = await act(rt, MOD_A, cid, "decline_uphold", rationale="I misread the file.")
    assert back.state is State.IN_REVIEW and back.correction is None and len(back.events) == 1
    after = await snapshot(rt, cid)
    for table in ("correction", "attested_figure", "public_text", "challenge_support"):
        assert after[table] == before[table], table
    assert after["challenge_event"] == before["challenge_event"] + 1
    assert after["challenge row"]["decided_at"] is None
    same = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-01")
    assert (same.ledger_index, same.value, same.status) == (
        figure.ledger_index,
        figure.value,
        figure.status,
    )
    # a new uphold is a new proposal: its author (B) may not confirm it, A now may
    await act(rt, MOD_B, cid, "uphold", rationale="It is 7.", corrected_value=figure.value + 7)
    await refused(
        rt,
        act(rt, MOD_B, cid, "confirm_uphold", rationale="me"),
        Code.FORBIDDEN,
        fragment="four-eyes",
        challenge_id=cid,
    )
    done = await act(rt, MOD_A, cid, "confirm_uphold", rationale="Yes, 7.")
    assert done.state is State.UPHELD and done.correction is not None
    async with rt.sessions() as session:
        correction = await session.get(Correction, done.correction)
        assert correction is not None
        assert correction.new_value == figure.value + 7
        assert correction.decided_by == [MOD_B.id, MOD_A.id]


async def test_request_info_then_the_filers_answer_reopens_it(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    built = await build(rt, "NEEDS_INFO")
    cid = built.challenge
    answer = "Page 3 of the 1 June bulletin:\nhttps://example.org/bulletin.pdf\t(table 2)"
    await refused(
        rt,
        act(rt, FILER, cid, "answer", rationale="   "),
        Code.BAD_USER_INPUT,
        fragment="expected a non-empty text",
        challenge_id=cid,
    )
    await refused(
        rt,
        act(rt, FILER, cid, "answer", rationale="x" * 5_001),
        Code.BAD_USER_INPUT,
        fragment="at most 5,000 characters",
        challenge_id=cid,
    )
    before = await snapshot(rt, cid)
    done = await act(rt, FILER, cid, "answer", rationale=answer)
    assert done.state is State.OPEN and len(done.events) == 1
    after = await snapshot(rt, cid)
    assert after["public_text"] == before["public_text"] + 1
    assert after["ledger size"] == before["ledger size"] + 1
    async with rt.sessions() as session:
        text = (
            await session.execute(
                select(PublicText).where(TEXTS.c.challenge_id == cid, TEXTS.c.kind == "answer")
            )
        ).scalar_one()
        assert (text.body, text.author) == (answer, FILER.id)
        event = await session.get(ChallengeEvent, done.events[0])
        assert event is not None
        assert (event.action, event.actor, event.rationale) == ("answer", FILER.id, answer)
        assert (event.from_state, event.to_state) == ("NEEDS_INFO", "OPEN")
    # back in OPEN, but not at filing: the system may no longer link it as a duplicate
    await refused(
        rt,
        act(rt, SYSTEM, cid, "mark_duplicate", rationale="dup", duplicate_of=built.other),
        Code.BAD_USER_INPUT,
        fragment="at filing only",
        challenge_id=cid,
    )
    # and the filer cannot answer twice
    await refused(
        rt,
        act(rt, FILER, cid, "answer", rationale="more"),
        Code.BAD_USER_INPUT,
        fragment="is not allowed on",
        challenge_id=cid,
    )
    assert (await act(rt, MOD_A, cid, "triage")).state is State.TRIAGED


async def test_one_appeal_then_the_decision_is_final(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    built = await build(rt, "REJECTED")
    cid = built.challenge
    await refused(
        rt,
        act(rt, FILER, cid, "appeal", rationale=""),
        Code.BAD_USER_INPUT,
        fragment="expected a non-empty text",
        challenge_id=cid,
    )
    assert (await act(rt, FILER, cid, "appeal", rationale="Look again.")).state is State.APPEALED
    await refused(
        rt,
        act(rt, FILER, cid, "appeal", rationale="And again."),
        Code.BAD_USER_INPUT,
        fragment="is not allowed on",
        challenge_id=cid,
    )
    # the appeal round goes straight to a decision: no triage, no request for information
    for action in ("triage", "start_review", "request_info"):
        await refused(
            rt,
            act(rt, MOD_C, cid, action, rationale="r"),
            Code.BAD_USER_INPUT,
            fragment="is not allowed on",
            challenge_id=cid,
        )
    # MOD_A rejected it first: not theirs to decide the appeal
    await refused(
        rt,
        act(rt, MOD_A, cid, "reject", rationale="Still no."),
        Code.FORBIDDEN,
        fragment=NOT_DECIDER,
        challenge_id=cid,
    )
    assert (await act(rt, MOD_C, cid, "reject", rationale="Still no.")).state is State.REJECTED
    for actor, action in [(FILER, "appeal"), (MOD_D, "uphold"), (ADMIN_X, "reject")]:
        await refused(
            rt,
            act(rt, actor, cid, action, rationale="once more"),
            Code.BAD_USER_INPUT,
            fragment="its appeal round is over",
            challenge_id=cid,
        )


async def test_mark_duplicate_needs_an_existing_other_challenge(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    built = await build(rt, "IN_REVIEW")
    cid = built.challenge
    for duplicate_of, code, says in [
        (None, Code.BAD_USER_INPUT, "expected duplicate_of"),
        (cid, Code.BAD_USER_INPUT, "expected duplicate_of"),
        (0, Code.NOT_FOUND, "expected an existing challenge"),
        (999_999, Code.NOT_FOUND, "expected an existing challenge"),
    ]:
        error = await refused(
            rt,
            act(rt, MOD_A, cid, "mark_duplicate", rationale="dup", duplicate_of=duplicate_of),
            code,
            fragment=says,
            challenge_id=cid,
            label=f"duplicate_of={duplicate_of}",
        )
        assert error.field == "duplicate_of"
    done = await act(rt, MOD_A, cid, "mark_duplicate", rationale="dup", duplicate_of=built.other)
    assert done.state is State.DUPLICATE
    async with rt.sessions() as session:
        row = await session.get(Challenge, cid)
        assert row is not None and row.duplicate_of == built.other
        event = await session.get(ChallengeEvent, done.events[0])
        assert event is not None and event.duplicate_of == built.other
        entry = await session.get(LedgerEntry, done.events[0])
        assert entry is not None
        assert parse_leaf_body(bytes(entry.body))[1]["duplicate_of"] == built.other


async def test_what_is_asked_is_checked_before_anything_is_written(demo_runtime: Runtime) -> None:
    """An allowed action by the right moderator, asked for wrongly: BAD_USER_INPUT (or
    NOT_FOUND), nothing written."""
    rt = demo_runtime
    built = await build(rt, "IN_REVIEW")
    cid = built.challenge
    before = await snapshot(rt, cid)
    value = built.figure.value
    cases: list[tuple[str, Awaitable[object], Code, str]] = [
        ("an unknown action", act(rt, MOD_A, cid, "approve"), Code.BAD_USER_INPUT, "among"),
        ("the filing action", act(rt, MOD_A, cid, "file"), Code.BAD_USER_INPUT, "not an action"),
        ("no rationale", act(rt, MOD_A, cid, "reject"), Code.BAD_USER_INPUT, "non-empty"),
        (
            "a rationale over 5,000 characters",
            act(rt, MOD_A, cid, "reject", rationale="r" * 5_001),
            Code.BAD_USER_INPUT,
            "at most 5,000",
        ),
        (
            "a control character",
            act(rt, MOD_A, cid, "reject", rationale="no\rpe"),
            Code.BAD_USER_INPUT,
            "control character",
        ),
        (
            "duplicate_of with reject",
            act(rt, MOD_A, cid, "reject", rationale="r", duplicate_of=built.other),
            Code.BAD_USER_INPUT,
            "expected no duplicate_of",
        ),
        (
            "a corrected value with reject",
            act(rt, MOD_A, cid, "reject", rationale="r", corrected_value=value),
            Code.BAD_USER_INPUT,
            "only with uphold",
        ),
        (
            "a corrected value past what JSON keeps exactly",
            act(rt, MOD_A, cid, "uphold", rationale="r", corrected_value=-(2**53)),
            Code.BAD_USER_INPUT,
            "expected an integer",
        ),
        (
            "an unknown challenge",
            act(rt, MOD_A, 999_999, "triage"),
            Code.NOT_FOUND,
            "expected an existing challenge",
        ),
        (
            "a stance that is neither side",
            stance(rt, MEMBER_X, cid, "maybe"),
            Code.BAD_USER_INPUT,
            "support or oppose",
        ),
        (
            "a comment over 1,000 characters",
            stance(rt, MEMBER_X, cid, "support", comment="c" * 1_001),
            Code.BAD_USER_INPUT,
            "at most 1,000",
        ),
        (
            "a claim on an unknown challenge",
            claim(rt, MOD_A, 999_999),
            Code.NOT_FOUND,
            "expected an existing challenge",
        ),
    ]
    for label, attempt, code, says in cases:
        await refused(
            rt, attempt, code, fragment=says, challenge_id=cid, before=before, label=label
        )


async def test_filing_refusals_write_nothing(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    figure = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-01")
    before = await snapshot(rt)
    moderator_only = Actor("account:140", frozenset({MODERATOR}))  # no member role
    cases: list[tuple[str, Actor, dict[str, Any], Code, str]] = [
        ("a moderator without the member role", moderator_only, {}, Code.FORBIDDEN, "member"),
        ("a publisher's client", PUBLISHER_CLIENT, {}, Code.FORBIDDEN, "member"),
        ("the system", SYSTEM, {}, Code.FORBIDDEN, "member"),
        (
            "a version that does not exist",
            FILER,
            {"version_seen": figure.version + 5},
            Code.BAD_USER_INPUT,
            "version_seen",
        ),
        (
            "a figure that does not exist",
            FILER,
            {"target_id": "ITA/cases_cumulative/1999-01-01"},
            Code.NOT_FOUND,
            "expected an attested figure",
        ),
        ("an unknown category", FILER, {"category": "lies"}, Code.BAD_USER_INPUT, "category"),
        (
            "a javascript: link",
            FILER,
            {"links": ["javascript:alert(1)"]},
            Code.BAD_USER_INPUT,
            "http or https",
        ),
        ("an empty text", FILER, {"text": " \n\t "}, Code.BAD_USER_INPUT, "non-empty"),
    ]
    for label, actor, kw, code, says in cases:
        await refused(
            rt, file(rt, actor, figure, **kw), code, fragment=says, before=before, label=label
        )


async def test_a_system_challenge_has_no_filer_and_its_decision_is_final(
    demo_runtime: Runtime,
) -> None:
    rt = demo_runtime
    async with rt.sessions() as session:
        worst = (
            await session.execute(
                select(AttestedFigure)
                .where(FIGURES.c.latest.is_(True), FIGURES.c.status == "DISPUTED")
                .order_by(FIGURES.c.spread_ratio.desc(), FIGURES.c.ledger_index)
                .limit(1)
            )
        ).scalar_one()
    report = await store.open_system_challenges(
        rt.write_sessions,
        rt.log,
        worst.run_id,
        min_spread_ratio=worst.spread_ratio or 0.0,
        max_per_run=1,
        now=T0,
    )
    assert report.opened == 1
    async with rt.sessions() as session:
        cid = (
            await session.execute(select(CHALLENGES.c.id).where(CHALLENGES.c.filer == "system"))
        ).scalar_one()
    member_filer = Actor("account:150", frozenset({MEMBER}))
    before = await snapshot(rt, cid)
    for actor, action, code, says in [
        (member_filer, "answer", Code.FORBIDDEN, "a system challenge has no filer"),
        (SYSTEM, "triage", Code.FORBIDDEN, "expected a moderator"),
        (MEMBER_X, "triage", Code.FORBIDDEN, "expected a moderator"),
    ]:
        await refused(
            rt,
            act(rt, actor, cid, action, rationale="r"),
            code,
            fragment=says,
            challenge_id=cid,
            before=before,
            label=f"{action} by {actor.id}",
        )
    await act(rt, MOD_A, cid, "triage", now=T0)
    await refused(
        rt,
        act(rt, SYSTEM, cid, "mark_duplicate", rationale="dup", duplicate_of=cid),
        Code.BAD_USER_INPUT,
        fragment="is not allowed on",
        challenge_id=cid,
        label="the system linking a duplicate after filing",
    )
    await act(rt, MOD_A, cid, "start_review", now=T0)
    await refused(
        rt,
        act(rt, MOD_A, cid, "request_info", rationale="Which lineage?"),
        Code.BAD_USER_INPUT,
        fragment="no filer to answer",
        challenge_id=cid,
    )
    decided = await act(rt, MOD_A, cid, "reject", rationale="The spread is a lag, not an error.")
    assert decided.state is State.REJECTED
    before = await snapshot(rt, cid)
    for actor, action, code, says in [
        (SYSTEM, "appeal", Code.FORBIDDEN, "filer"),  # nobody's to appeal: who first
        (MOD_B, "uphold", Code.BAD_USER_INPUT, "a system challenge has no appeal"),
        (ADMIN_X, "reject", Code.BAD_USER_INPUT, "a system challenge has no appeal"),
    ]:
        await refused(
            rt,
            act(rt, actor, cid, action, rationale="r"),
            code,
            fragment=says,
            challenge_id=cid,
            before=before,
            label=f"{action} by {actor.id}",
        )


# --- claims -------------------------------------------------------------------------------------


async def test_claims_hold_for_one_moderator_and_members_cannot_claim(
    demo_runtime: Runtime,
) -> None:
    rt = demo_runtime
    built = await build(rt, "IN_REVIEW")
    cid = built.challenge
    at = LATER
    for label, actor, conflict in [
        ("a plain member", MEMBER_X, None),
        ("the filer", FILER, None),
        ("a moderator who filed it", FILER_AS_MOD, "filed this challenge"),
        ("a moderator who supports it", SUP_MOD, "supports this challenge"),
        ("a moderator bound to its publisher", built.bound_mod, "is bound to publisher"),
    ]:
        code, says = claim_refusal(actor, State.IN_REVIEW, conflict)
        await refused(
            rt,
            claim(rt, actor, cid, now=at),
            code,
            fragment=says,
            challenge_id=cid,
            label=f"claim by {label}",
        )
    held = await claim(rt, MOD_A, cid, now=at)
    assert held.claimed_by == MOD_A.id
    assert held.claimed_until == at + store.CLAIM_FOR
    # while A's claim holds, B can neither claim nor release it
    for release in (False, True):
        await refused(
            rt,
            claim(rt, MOD_B, cid, release=release, now=at + dt.timedelta(minutes=29)),
            Code.BAD_USER_INPUT,
            fragment="claimed by account:110" if not release else "holds no claim",
            challenge_id=cid,
            label=f"B {'releasing' if release else 'claiming'} A's claim",
        )
    # A may renew their own claim
    renewed = await claim(rt, MOD_A, cid, now=at + dt.timedelta(minutes=10))
    assert renewed.claimed_until == at + dt.timedelta(minutes=40)
    # once it lapses, B may claim; A can no longer release it
    lapsed = at + dt.timedelta(minutes=40)
    await refused(
        rt,
        claim(rt, MOD_A, cid, release=True, now=lapsed),
        Code.BAD_USER_INPUT,
        fragment="holds no claim",
        challenge_id=cid,
    )
    taken = await claim(rt, MOD_B, cid, now=lapsed)
    assert taken.claimed_by == MOD_B.id
    released = await claim(rt, MOD_B, cid, release=True, now=lapsed + dt.timedelta(minutes=1))
    assert released.claimed_by is None and released.claimed_until is None
    # a claim is a courtesy, not a lock: a decision by another moderator clears it
    await claim(rt, MOD_C, cid, now=lapsed + dt.timedelta(minutes=2))
    done = await act(
        rt, MOD_D, cid, "reject", rationale="No.", now=lapsed + dt.timedelta(minutes=3)
    )
    assert done.state is State.REJECTED
    async with rt.sessions() as session:
        row = await session.get(Challenge, cid)
        assert row is not None and row.claimed_by is None and row.claimed_until is None


async def test_the_filer_cannot_claim_their_own_challenge(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    built = await build(rt, "NEEDS_INFO")
    await refused(
        rt,
        claim(rt, FILER, built.challenge),
        Code.FORBIDDEN,
        challenge_id=built.challenge,
        label="the filer (a plain member) claiming their challenge in NEEDS_INFO",
    )
