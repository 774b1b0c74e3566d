"""The rules on top of the table: four-eyes, conflicts, the appeal round, answers, the system."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from moderation.actors import ADMIN, MEMBER, MODERATOR, SYSTEM, Actor
from moderation.challenges import system_challenge
from moderation.errors import Code, TransitionRefused
from moderation.workflow import (
    Action,
    ChallengeView,
    State,
    Step,
    allowed_actions,
    apply,
    decide,
    open_challenge,
)

from .support import (
    CHALLENGE_ID,
    FILER,
    FRESH_ADMIN,
    FRESH_MOD,
    MOD,
    MOD2,
    MOD3,
    NOW,
    OTHER_MEMBER,
    SUPPORTER,
    act,
    filing,
    opened,
    reach,
)


def refused(view, actor, action, **kwargs) -> TransitionRefused:
    kwargs.setdefault("rationale", "a reason")
    with pytest.raises(TransitionRefused) as caught:
        decide(view, actor, action, now=NOW, **kwargs)
    return caught.value


# --- four-eyes --------------------------------------------------------------------------------


def test_upholding_without_changing_a_value_needs_one_moderator():
    view = act(reach(State.IN_REVIEW), MOD, Action.UPHOLD, changes=False)
    assert view.state is State.UPHELD


def test_an_uphold_that_changes_a_value_waits_for_a_second_moderator():
    transition = decide(
        reach(State.IN_REVIEW),
        MOD,
        Action.UPHOLD,
        rationale="ECDC agrees",
        claimed_value_change=True,
        now=NOW,
    )
    assert transition.to_state is State.UPHOLD_PENDING
    assert transition.changes_value is True
    assert transition.record()["changes_value"] is True


def test_the_proposer_cannot_confirm_their_own_uphold():
    error = refused(reach(State.UPHOLD_PENDING), MOD, Action.CONFIRM_UPHOLD)
    assert error.code is Code.FORBIDDEN
    assert "four-eyes" in error.message and MOD.id in error.message


@pytest.mark.parametrize("second", [MOD2, FRESH_ADMIN], ids=["moderator", "admin"])
def test_a_second_moderator_or_admin_confirms(second: Actor):
    transition = decide(
        reach(State.UPHOLD_PENDING), second, Action.CONFIRM_UPHOLD, rationale="checked", now=NOW
    )
    assert transition.to_state is State.UPHELD and transition.changes_value is True


def test_a_declined_uphold_goes_back_to_review_and_the_last_proposer_counts():
    pending = reach(State.UPHOLD_PENDING)
    back = act(pending, MOD, Action.DECLINE_UPHOLD)  # the proposer withdraws
    assert back.state is State.IN_REVIEW
    again = act(back, MOD2, Action.UPHOLD, changes=True)  # MOD2 proposes this time
    assert refused(again, MOD2, Action.CONFIRM_UPHOLD).code is Code.FORBIDDEN
    assert act(again, MOD, Action.CONFIRM_UPHOLD).state is State.UPHELD


def test_four_eyes_holds_in_the_appeal_round():
    pending = reach(State.APPEAL_UPHOLD_PENDING)  # proposed by MOD3
    assert refused(pending, MOD3, Action.CONFIRM_UPHOLD).code is Code.FORBIDDEN
    assert act(pending, FRESH_MOD, Action.DECLINE_UPHOLD).state is State.APPEALED
    assert act(pending, FRESH_MOD, Action.CONFIRM_UPHOLD).final


# --- conflicts --------------------------------------------------------------------------------

MODERATOR_ACTIONS = [
    (State.OPEN, Action.TRIAGE),
    (State.TRIAGED, Action.START_REVIEW),
    (State.IN_REVIEW, Action.UPHOLD),
    (State.IN_REVIEW, Action.REJECT),
    (State.IN_REVIEW, Action.MARK_DUPLICATE),
    (State.IN_REVIEW, Action.REQUEST_INFO),
    (State.UPHOLD_PENDING, Action.CONFIRM_UPHOLD),
    (State.UPHOLD_PENDING, Action.DECLINE_UPHOLD),
    (State.APPEALED, Action.REJECT),
    (State.APPEAL_UPHOLD_PENDING, Action.CONFIRM_UPHOLD),
]
CONFLICTED = Actor("account:50", frozenset({MEMBER, MODERATOR}))
CONFLICTED_ADMIN = Actor("account:51", frozenset({MEMBER, ADMIN}))


def _with(view: ChallengeView, **changes) -> ChallengeView:
    return dataclasses.replace(view, **changes)


@pytest.mark.parametrize("conflicted", [CONFLICTED, CONFLICTED_ADMIN], ids=["moderator", "admin"])
@pytest.mark.parametrize(("state", "action"), MODERATOR_ACTIONS, ids=lambda v: str(v))
def test_a_moderator_cannot_act_on_a_challenge_they_support(conflicted, state, action):
    view = _with(reach(State(state)), supporters=frozenset({conflicted.id}))
    error = refused(view, conflicted, action, duplicate_of=7)
    assert error.code is Code.FORBIDDEN
    assert f"{conflicted.id} supports this challenge" in error.message
    # the same moderator, without the conflict, may
    assert decide(
        reach(State(state)),
        conflicted,
        action,
        rationale="r",
        now=NOW,
        duplicate_of=7 if action is Action.MARK_DUPLICATE else None,
    )


@pytest.mark.parametrize("conflicted", [CONFLICTED, CONFLICTED_ADMIN], ids=["moderator", "admin"])
@pytest.mark.parametrize(("state", "action"), MODERATOR_ACTIONS, ids=lambda v: str(v))
def test_a_moderator_cannot_act_on_a_challenge_concerning_their_publisher(
    conflicted, state, action
):
    bound = dataclasses.replace(conflicted, publisher="jhu-csse")
    error = refused(reach(state), bound, action, duplicate_of=7)
    assert error.code is Code.FORBIDDEN
    assert "bound to publisher jhu-csse" in error.message
    other = dataclasses.replace(conflicted, publisher="rki")
    duplicate_of = 7 if action is Action.MARK_DUPLICATE else None
    assert decide(reach(state), other, action, rationale="r", now=NOW, duplicate_of=duplicate_of)


@pytest.mark.parametrize(("state", "action"), MODERATOR_ACTIONS, ids=lambda v: str(v))
def test_a_moderator_cannot_act_on_a_challenge_they_filed(state, action):
    moderator_filer = Actor("account:60", frozenset({MEMBER, MODERATOR}))
    view = reach(state, opened(filing(moderator_filer)))
    error = refused(view, moderator_filer, action, duplicate_of=7)
    assert error.code is Code.FORBIDDEN
    assert "account:60 filed this challenge" in error.message


def test_a_moderator_who_filed_still_answers_and_appeals_as_the_filer():
    moderator_filer = Actor("account:60", frozenset({MEMBER, MODERATOR}))
    view = reach(State.NEEDS_INFO, opened(filing(moderator_filer)))
    assert act(view, moderator_filer, Action.ANSWER).state is State.OPEN
    view = reach(State.REJECTED, opened(filing(moderator_filer)))
    assert act(view, moderator_filer, Action.APPEAL).state is State.APPEALED


# --- the appeal round -------------------------------------------------------------------------


@pytest.mark.parametrize("decision", [State.UPHELD, State.REJECTED, State.DUPLICATE])
def test_the_filer_appeals_a_decision_once_then_it_is_final(decision):
    view = act(reach(decision), FILER, Action.APPEAL)
    assert view.state is State.APPEALED and view.appealed and not view.final
    view = act(view, FRESH_MOD, Action.REJECT)
    assert view.final
    error = refused(view, FILER, Action.APPEAL)
    assert error.code is Code.BAD_USER_INPUT
    assert "final" in error.message


def test_only_the_filer_appeals():
    view = reach(State.REJECTED)
    for actor in (OTHER_MEMBER, SUPPORTER, FRESH_MOD, FRESH_ADMIN, SYSTEM):
        error = refused(view, actor, Action.APPEAL)
        assert error.code is Code.FORBIDDEN
        assert f"expected its filer {FILER.id}" in error.message


@pytest.mark.parametrize("decided", [MOD, MOD2], ids=["proposer", "confirmer"])
def test_who_decided_before_the_appeal_may_not_decide_it(decided):
    view = act(reach(State.UPHELD), FILER, Action.APPEAL)  # MOD proposed, MOD2 confirmed
    for action in (Action.UPHOLD, Action.REJECT, Action.MARK_DUPLICATE):
        error = refused(view, decided, action, duplicate_of=7)
        assert error.code is Code.FORBIDDEN
        assert "took no decision before the appeal" in error.message
    assert act(view, MOD3, Action.UPHOLD).state is State.UPHELD  # who triaged may, too
    assert act(view, MOD3, Action.UPHOLD).final


def test_a_moderator_who_only_triaged_may_decide_the_appeal():
    view = act(reach(State.IN_REVIEW), MOD2, Action.REJECT)  # MOD triaged and started review
    view = act(view, FILER, Action.APPEAL)
    assert act(view, MOD, Action.UPHOLD).state is State.UPHELD
    assert refused(view, MOD2, Action.UPHOLD).code is Code.FORBIDDEN


def test_a_duplicate_linked_by_the_system_is_appealed_to_any_moderator():
    view = act(opened(), SYSTEM, Action.MARK_DUPLICATE, duplicate_of=7)
    view = act(view, FILER, Action.APPEAL)
    assert view.deciders() == frozenset()
    assert act(view, MOD, Action.REJECT).final


def test_an_appeal_cannot_ask_for_information_or_go_back_to_review():
    view = reach(State.APPEALED)
    for action in (Action.REQUEST_INFO, Action.TRIAGE, Action.START_REVIEW):
        assert refused(view, FRESH_MOD, action).code is Code.BAD_USER_INPUT
    assert refused(view, FILER, Action.APPEAL).code is Code.BAD_USER_INPUT  # a second appeal
    assert refused(view, FRESH_MOD, Action.APPEAL).code is Code.FORBIDDEN  # never theirs


# --- NEEDS_INFO → OPEN, by the filer only ------------------------------------------------------


def test_the_filers_answer_reopens_the_challenge():
    transition = decide(
        reach(State.NEEDS_INFO), FILER, Action.ANSWER, rationale="Page 3 of the bulletin.", now=NOW
    )
    assert (transition.from_state, transition.to_state) == (State.NEEDS_INFO, State.OPEN)
    assert transition.rationale == "Page 3 of the bulletin."


@pytest.mark.parametrize(
    "actor",
    [OTHER_MEMBER, SUPPORTER, MOD, FRESH_MOD, FRESH_ADMIN, SYSTEM],
    ids=["member", "supporter", "the moderator who asked", "moderator", "admin", "system"],
)
def test_nobody_but_the_filer_answers(actor):
    error = refused(reach(State.NEEDS_INFO), actor, Action.ANSWER)
    assert error.code is Code.FORBIDDEN


def test_a_filer_who_lost_the_member_role_cannot_answer():
    stripped = Actor(FILER.id, frozenset())
    assert refused(reach(State.NEEDS_INFO), stripped, Action.ANSWER).code is Code.FORBIDDEN


def test_an_empty_answer_is_refused():
    error = refused(reach(State.NEEDS_INFO), FILER, Action.ANSWER, rationale=" \n\t")
    assert error.code is Code.BAD_USER_INPUT and error.field == "rationale"


# --- system challenges ------------------------------------------------------------------------


def _system_view() -> ChallengeView:
    dispute = system_challenge(
        region="ITA",
        metric="cases_cumulative",
        date=dt.date(2020, 3, 1),
        version=3,
        spread=400,
        lineages=[("it-dpc", 1694), ("who", 1294)],
    )
    first = open_challenge(dispute, challenge_id=43, now=NOW)
    assert first.actor == "system" and first.sequence == 0
    return ChallengeView.filed(43, dispute, publishers={"it-dpc", "who", "jhu-csse"})


def test_a_system_challenge_is_moderated_and_its_decision_is_final():
    view = _system_view()
    assert view.system
    assert refused(view, SYSTEM, Action.TRIAGE).code is Code.FORBIDDEN
    view = act(act(view, MOD, Action.TRIAGE), MOD, Action.START_REVIEW)
    error = refused(view, MOD, Action.REQUEST_INFO)
    assert error.code is Code.BAD_USER_INPUT and "no filer to answer" in error.message
    view = act(view, MOD, Action.REJECT)
    assert view.final
    error = refused(view, FILER, Action.APPEAL)  # nobody is its filer: who comes first
    assert error.code is Code.FORBIDDEN and "a system challenge has no filer" in error.message
    error = refused(view, FRESH_MOD, Action.REJECT)
    assert error.code is Code.BAD_USER_INPUT
    assert "a system challenge has no appeal" in error.message


def test_nobody_answers_for_a_system_challenge():
    # decide never asks a system challenge for information; a view that says it did is still
    # not answerable, not even by the system, whose ID is the filer's
    steps = (
        Step("system", Action.FILE, State.OPEN),
        Step(MOD.id, Action.TRIAGE, State.TRIAGED),
        Step(MOD.id, Action.START_REVIEW, State.IN_REVIEW),
        Step(MOD.id, Action.REQUEST_INFO, State.NEEDS_INFO),
    )
    view = ChallengeView(43, State.NEEDS_INFO, "system", frozenset(), frozenset(), steps)
    for actor in (SYSTEM, FILER, MOD2):
        error = refused(view, actor, Action.ANSWER)
        assert error.code is Code.FORBIDDEN and "no filer" in error.message


def test_the_system_links_duplicates_at_filing_only():
    view = opened()
    assert act(view, SYSTEM, Action.MARK_DUPLICATE, duplicate_of=7).state is State.DUPLICATE
    # a moderator marks duplicates in review: in OPEN it is the state that does not fit them
    error = refused(view, FRESH_MOD, Action.MARK_DUPLICATE, duplicate_of=7)
    assert error.code is Code.BAD_USER_INPUT and "IN_REVIEW" in error.message
    member = refused(view, OTHER_MEMBER, Action.MARK_DUPLICATE, duplicate_of=7)
    assert member.code is Code.FORBIDDEN
    reopened = act(reach(State.NEEDS_INFO), FILER, Action.ANSWER)
    assert reopened.state is State.OPEN
    error = refused(reopened, SYSTEM, Action.MARK_DUPLICATE, duplicate_of=7)
    assert error.code is Code.BAD_USER_INPUT and "at filing only" in error.message


# --- rationale, duplicate_of, the inputs --------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (State.IN_REVIEW, Action.UPHOLD),
        (State.IN_REVIEW, Action.REJECT),
        (State.IN_REVIEW, Action.REQUEST_INFO),
        (State.UPHOLD_PENDING, Action.CONFIRM_UPHOLD),
        (State.UPHOLD_PENDING, Action.DECLINE_UPHOLD),
        (State.REJECTED, Action.APPEAL),
    ],
    ids=lambda v: str(v),
)
def test_decisions_need_a_rationale(state, action):
    actor = FILER if action is Action.APPEAL else MOD2
    error = refused(reach(state), actor, action, rationale="")
    assert error.code is Code.BAD_USER_INPUT
    assert error.message == "rationale: expected a non-empty text, got nothing"


def test_triage_and_starting_a_review_need_no_rationale():
    view = act(opened(), MOD, Action.TRIAGE)
    transition = decide(view, MOD, Action.START_REVIEW, now=NOW)
    assert transition.rationale == ""


def test_a_rationale_is_kept_as_typed_within_its_limit():
    text = '<script>alert("x")</script> &amp; <b>bold</b>\n\tcafe\u0301'
    transition = decide(reach(State.IN_REVIEW), MOD, Action.REJECT, rationale=text, now=NOW)
    assert transition.rationale == text.replace("e\u0301", "\u00e9")  # NFC, nothing else
    assert transition.record()["rationale"].startswith('<script>alert("x")</script>')
    assert decide(reach(State.IN_REVIEW), MOD, Action.REJECT, rationale="x" * 5000, now=NOW)
    error = refused(reach(State.IN_REVIEW), MOD, Action.REJECT, rationale="x" * 5001)
    assert error.message == "rationale: expected at most 5,000 characters, got 5,001"
    error = refused(reach(State.IN_REVIEW), MOD, Action.REJECT, rationale="ok\r\nnot ok")
    assert "U+000D at position 2" in error.message


def test_mark_duplicate_names_another_challenge():
    view = reach(State.IN_REVIEW)
    for bad in (None, 0, CHALLENGE_ID, True, "7"):
        error = refused(view, MOD, Action.MARK_DUPLICATE, duplicate_of=bad)
        assert error.code is Code.BAD_USER_INPUT and error.field == "duplicate_of"
    error = refused(view, MOD, Action.REJECT, duplicate_of=7)
    assert error.code is Code.BAD_USER_INPUT and error.field == "duplicate_of"
    transition = decide(
        view, MOD, Action.MARK_DUPLICATE, rationale="see 7", duplicate_of=7, now=NOW
    )
    assert transition.record()["duplicate_of"] == 7


def test_an_unknown_action_is_refused_and_names_the_known_ones():
    error = refused(reach(State.IN_REVIEW), MOD, "approve")
    assert error.code is Code.BAD_USER_INPUT
    assert "expected an action among triage, start_review" in error.message
    assert (
        decide(reach(State.IN_REVIEW), MOD, "reject", rationale="r", now=NOW).action
        is Action.REJECT
    )


def test_a_refusal_from_the_wrong_state_names_what_is_allowed_there():
    error = refused(reach(State.TRIAGED), MOD, Action.UPHOLD)
    assert error.message == (
        "uphold is not allowed on challenge 42 (TRIAGED): expected one of start_review (moderator)"
    )


def test_filing_is_not_an_action_on_a_challenge():
    assert refused(opened(), FILER, Action.FILE).code is Code.BAD_USER_INPUT


def test_a_naive_time_is_a_programming_error():
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(reach(State.OPEN), MOD, Action.TRIAGE, now=dt.datetime(2026, 1, 1))


# --- views, sequences, what the API can offer ---------------------------------------------------


def test_events_are_numbered_from_the_filing_without_gaps():
    view = reach(State.UPHELD)
    assert [step.action for step in view.history] == [
        Action.FILE,
        Action.TRIAGE,
        Action.START_REVIEW,
        Action.UPHOLD,
        Action.CONFIRM_UPHOLD,
    ]
    transition = decide(view, FILER, Action.APPEAL, rationale="the value is still wrong", now=NOW)
    assert transition.sequence == 5


def test_apply_refuses_an_event_of_another_challenge_or_out_of_sequence():
    view = reach(State.IN_REVIEW)
    transition = decide(view, MOD, Action.REJECT, rationale="r", now=NOW)
    with pytest.raises(ValueError, match="expected event 4 of challenge 42, got event 3"):
        apply(apply(view, transition), transition)
    with pytest.raises(ValueError):
        apply(dataclasses.replace(view, id=9), transition)


def test_a_view_must_start_with_its_filing_and_end_in_its_state():
    with pytest.raises(ValueError, match="expected the filing"):
        ChallengeView(
            1,
            State.OPEN,
            FILER.id,
            frozenset(),
            frozenset(),
            (Step(MOD.id, Action.TRIAGE, State.OPEN),),
        )
    with pytest.raises(ValueError, match="not where the history ends"):
        ChallengeView(
            1,
            State.TRIAGED,
            FILER.id,
            frozenset(),
            frozenset(),
            (Step(FILER.id, Action.FILE, State.OPEN),),
        )


def test_allowed_actions_are_what_decide_accepts():
    assert allowed_actions(reach(State.IN_REVIEW), MOD) == (
        Action.REQUEST_INFO,
        Action.UPHOLD,
        Action.REJECT,
        Action.MARK_DUPLICATE,
    )
    assert allowed_actions(reach(State.IN_REVIEW), FILER) == ()
    assert allowed_actions(reach(State.NEEDS_INFO), FILER) == (Action.ANSWER,)
    assert allowed_actions(reach(State.UPHOLD_PENDING), MOD) == (Action.DECLINE_UPHOLD,)
    assert allowed_actions(reach(State.UPHOLD_PENDING), MOD2) == (
        Action.CONFIRM_UPHOLD,
        Action.DECLINE_UPHOLD,
    )
    assert allowed_actions(opened(), SYSTEM) == (Action.MARK_DUPLICATE,)
