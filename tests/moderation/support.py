"""Actors and challenges in every state, reached through the workflow itself."""

from __future__ import annotations

import datetime as dt

from moderation.actors import ADMIN, MEMBER, MODERATOR, PUBLISHER, SYSTEM, Actor
from moderation.challenges import ChallengeFiling, new_challenge
from moderation.workflow import Action, ChallengeView, State, apply, decide

NOW = dt.datetime(2026, 11, 21, 13, 19, 20, tzinfo=dt.UTC)
CHALLENGE_ID = 42

FILER = Actor("account:1", frozenset({MEMBER}))
OTHER_MEMBER = Actor("account:2", frozenset({MEMBER}))
SUPPORTER = Actor("account:3", frozenset({MEMBER}))
MOD = Actor("account:10", frozenset({MEMBER, MODERATOR}))
MOD2 = Actor("account:11", frozenset({MEMBER, MODERATOR}))
MOD3 = Actor("account:12", frozenset({MEMBER, MODERATOR}))
FRESH_MOD = Actor("account:13", frozenset({MEMBER, MODERATOR}))
FRESH_ADMIN = Actor("account:20", frozenset({MEMBER, ADMIN}))
PUBLISHER_CLIENT = Actor("client:who-feed", frozenset({PUBLISHER}), publisher="who")
PUBLISHER_STAFF = Actor("account:30", frozenset({MEMBER, PUBLISHER}), publisher="who")

#: the kinds of actor the exhaustive test tries, none of them in conflict with the challenge
ACTORS: dict[str, Actor] = {
    "filer": FILER,
    "member": OTHER_MEMBER,
    "moderator": FRESH_MOD,
    "admin": FRESH_ADMIN,
    "publisher": PUBLISHER_CLIENT,
    "publisher staff": PUBLISHER_STAFF,
    "system": SYSTEM,
}

PUBLISHERS = frozenset({"ecdc", "jhu-csse"})


def filing(actor: Actor = FILER, **changes: object) -> ChallengeFiling:
    values: dict[str, object] = {
        "target_kind": "figure",
        "target_id": "ITA/cases_cumulative/2020-03-01",
        "version_seen": 2,
        "category": "wrong_value",
        "claimed_value": 1694,
        "links": ["https://github.com/pcm-dpc/COVID-19/blob/master/README.md"],
        "text": "The ministry's file says 1,694 for that day.",
    }
    values.update(changes)
    return new_challenge(actor, **values)


def opened(
    challenge: ChallengeFiling | None = None, *, supporters: frozenset[str] = frozenset()
) -> ChallengeView:
    return ChallengeView.filed(
        CHALLENGE_ID,
        challenge or filing(),
        publishers=PUBLISHERS,
        supporters=supporters | {SUPPORTER.id},
    )


def act(
    view: ChallengeView,
    actor: Actor,
    action: Action,
    *,
    changes: bool = False,
    duplicate_of: int | None = None,
) -> ChallengeView:
    transition = decide(
        view,
        actor,
        action,
        rationale=f"{action} by {actor.id}",
        claimed_value_change=changes,
        now=NOW,
        duplicate_of=duplicate_of,
    )
    return apply(view, transition)


def reach(state: State, view: ChallengeView | None = None) -> ChallengeView:
    """A member's challenge in ``state``, not appealed (decisions by MOD, confirmed by MOD2;
    the appeal round's uphold proposed by MOD3)."""
    view = view or opened()
    if state is State.OPEN:
        return view
    if state is State.APPEALED:
        filer = Actor(view.filer, frozenset({MEMBER}))
        return act(reach(State.REJECTED, view), filer, Action.APPEAL)
    if state is State.APPEAL_UPHOLD_PENDING:
        return act(reach(State.APPEALED, view), MOD3, Action.UPHOLD, changes=True)
    view = act(view, MOD, Action.TRIAGE)
    if state is State.TRIAGED:
        return view
    view = act(view, MOD, Action.START_REVIEW)
    steps = {
        State.IN_REVIEW: [],
        State.NEEDS_INFO: [(MOD, Action.REQUEST_INFO, False)],
        State.UPHOLD_PENDING: [(MOD, Action.UPHOLD, True)],
        State.UPHELD: [(MOD, Action.UPHOLD, True), (MOD2, Action.CONFIRM_UPHOLD, False)],
        State.REJECTED: [(MOD, Action.REJECT, False)],
    }
    if state is State.DUPLICATE:
        return act(view, MOD, Action.MARK_DUPLICATE, duplicate_of=7)
    for actor, action, changes in steps[state]:
        view = act(view, actor, action, changes=changes)
    assert view.state is state
    return view
