"""The whole transition table, exhaustively: every (state, action, kind of actor) is tried.

The expected table below is written out by hand from issue 8 and docs/moderation.md, apart from
``moderation.workflow.TABLE``, so a change to either shows here."""

from __future__ import annotations

import copy
import itertools

import pytest

from moderation.errors import Code, TransitionRefused
from moderation.workflow import DECISIONS, TABLE, Action, State, decide

from .support import ACTORS, FRESH_MOD, MOD3, NOW, act, reach

S, A = State, Action
MODERATORS = frozenset({"moderator", "admin"})
FILER = frozenset({"filer"})
SYSTEM = frozenset({"system"})

#: (state, action) -> (state entered, state entered when the uphold changes a value, who)
EXPECTED: dict[tuple[State, Action], tuple[State, State, frozenset[str]]] = {
    (S.OPEN, A.TRIAGE): (S.TRIAGED, S.TRIAGED, MODERATORS),
    (S.OPEN, A.MARK_DUPLICATE): (S.DUPLICATE, S.DUPLICATE, SYSTEM),
    (S.TRIAGED, A.START_REVIEW): (S.IN_REVIEW, S.IN_REVIEW, MODERATORS),
    (S.IN_REVIEW, A.UPHOLD): (S.UPHELD, S.UPHOLD_PENDING, MODERATORS),
    (S.IN_REVIEW, A.REJECT): (S.REJECTED, S.REJECTED, MODERATORS),
    (S.IN_REVIEW, A.MARK_DUPLICATE): (S.DUPLICATE, S.DUPLICATE, MODERATORS),
    (S.IN_REVIEW, A.REQUEST_INFO): (S.NEEDS_INFO, S.NEEDS_INFO, MODERATORS),
    (S.NEEDS_INFO, A.ANSWER): (S.OPEN, S.OPEN, FILER),
    (S.UPHOLD_PENDING, A.CONFIRM_UPHOLD): (S.UPHELD, S.UPHELD, MODERATORS),
    (S.UPHOLD_PENDING, A.DECLINE_UPHOLD): (S.IN_REVIEW, S.IN_REVIEW, MODERATORS),
    (S.UPHELD, A.APPEAL): (S.APPEALED, S.APPEALED, FILER),
    (S.REJECTED, A.APPEAL): (S.APPEALED, S.APPEALED, FILER),
    (S.DUPLICATE, A.APPEAL): (S.APPEALED, S.APPEALED, FILER),
    (S.APPEALED, A.UPHOLD): (S.UPHELD, S.APPEAL_UPHOLD_PENDING, MODERATORS),
    (S.APPEALED, A.REJECT): (S.REJECTED, S.REJECTED, MODERATORS),
    (S.APPEALED, A.MARK_DUPLICATE): (S.DUPLICATE, S.DUPLICATE, MODERATORS),
    (S.APPEAL_UPHOLD_PENDING, A.CONFIRM_UPHOLD): (S.UPHELD, S.UPHELD, MODERATORS),
    (S.APPEAL_UPHOLD_PENDING, A.DECLINE_UPHOLD): (S.APPEALED, S.APPEALED, MODERATORS),
}

#: who may take each action in some state: anyone else is FORBIDDEN whatever the state
TAKERS: dict[Action, frozenset[str]] = {
    action: frozenset().union(*(who for (_, a), (_, _, who) in EXPECTED.items() if a is action))
    for action in Action
}

VIEWS = {state: reach(state) for state in State}
CASES = list(itertools.product(State, Action, ACTORS))


def _decide(state: State, action: Action, kind: str, *, changes: bool = False):
    return decide(
        VIEWS[state],
        ACTORS[kind],
        action,
        rationale="as the evidence shows",
        claimed_value_change=changes,
        now=NOW,
        duplicate_of=7 if action is Action.MARK_DUPLICATE else None,
    )


def test_the_table_is_the_expected_one():
    assert {(rule.source, rule.action) for rule in TABLE} == set(EXPECTED)
    assert len(CASES) == len(State) * len(Action) * len(ACTORS) == 10 * 11 * 7


@pytest.mark.parametrize(("state", "action", "kind"), CASES, ids=lambda v: str(v))
def test_every_state_action_and_actor(state: State, action: Action, kind: str):
    view = VIEWS[state]
    before = copy.deepcopy(view)
    expected = EXPECTED.get((state, action))
    if expected is not None and kind in expected[2]:
        for changes, target in ((False, expected[0]), (True, expected[1])):
            transition = _decide(state, action, kind, changes=changes)
            assert transition.from_state is state
            assert transition.to_state is target
            assert transition.action is action
            assert transition.actor == ACTORS[kind].id
            assert transition.sequence == len(view.history)
    else:
        with pytest.raises(TransitionRefused) as refused:
            _decide(state, action, kind)
        # who comes first: an actor who may take the action in no state is FORBIDDEN whatever
        # the state; one who may take it elsewhere is told the state does not fit
        takers = TAKERS[action]
        wrong_role = bool(takers) and kind not in takers
        assert refused.value.code is (Code.FORBIDDEN if wrong_role else Code.BAD_USER_INPUT)
        assert str(action) in refused.value.message
    assert view == before  # nothing changed: the refusal wrote nothing


def _final_views():
    appealed = VIEWS[State.APPEALED]
    proposed = act(appealed, MOD3, Action.UPHOLD, changes=True)
    return {
        "upheld after four-eyes": act(proposed, FRESH_MOD, Action.CONFIRM_UPHOLD),
        "upheld, no value changed": act(appealed, MOD3, Action.UPHOLD),
        "rejected": act(appealed, MOD3, Action.REJECT),
        "duplicate": act(appealed, MOD3, Action.MARK_DUPLICATE, duplicate_of=7),
    }


FINAL_VIEWS = _final_views()


@pytest.mark.parametrize("name", FINAL_VIEWS)
def test_after_the_appeal_every_action_by_anyone_is_refused(name: str):
    view = FINAL_VIEWS[name]
    assert view.state in DECISIONS and view.final
    for action, kind in itertools.product(Action, ACTORS):
        with pytest.raises(TransitionRefused) as refused:
            decide(view, ACTORS[kind], action, rationale="again", now=NOW, duplicate_of=7)
        if TAKERS[action] and kind not in TAKERS[action]:  # never theirs: who comes first
            assert refused.value.code is Code.FORBIDDEN
        elif TAKERS[action]:
            assert refused.value.code is Code.BAD_USER_INPUT
            assert "is final (its appeal round is over)" in refused.value.message
        else:  # file: not an action on a challenge
            assert refused.value.code is Code.BAD_USER_INPUT
