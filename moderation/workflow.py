"""The challenge workflow: states, actions and one explicit transition table.

::

    filed ──► OPEN ─triage─► TRIAGED ─start_review─► IN_REVIEW ─request_info─► NEEDS_INFO
    NEEDS_INFO ─answer (filer)─► OPEN
    OPEN ─mark_duplicate (system, at filing only)─► DUPLICATE
    IN_REVIEW ─reject─► REJECTED
    IN_REVIEW ─mark_duplicate─► DUPLICATE
    IN_REVIEW ─uphold─► UPHELD                                    (no value changes)
    IN_REVIEW ─uphold─► UPHOLD_PENDING ─confirm_uphold─► UPHELD    (a value changes: four-eyes)
                        UPHOLD_PENDING ─decline_uphold─► IN_REVIEW
    UPHELD | REJECTED | DUPLICATE ─appeal (filer, once)─► APPEALED
    APPEALED ─uphold | reject | mark_duplicate─► UPHELD | REJECTED | DUPLICATE     (final)
    APPEALED ─uphold─► APPEAL_UPHOLD_PENDING ─confirm_uphold─► UPHELD              (final)
                       APPEAL_UPHOLD_PENDING ─decline_uphold─► APPEALED

Each row of :data:`TABLE` names the state it leaves, the action, the state it enters and who
may take it: the **filer** (the member who filed, not the system), a **moderator** (an account
with the moderator role; ``admin`` holds every role, as in ``Identity.has_role``) or the
**system**. On top of the table:

- **conflicts** — a moderator (or admin) may not act on a challenge they filed, supported, or
  that concerns the publisher they are bound to;
- **four-eyes** — an ``uphold`` that changes a value only proposes it (``UPHOLD_PENDING``); a
  second moderator, not the proposer, confirms it (``confirm_uphold``) or any moderator sends it
  back (``decline_uphold``, the proposer withdrawing included);
- **one appeal round** — after a decision the filer may appeal once; the appeal is decided by
  moderators who took no decision on the challenge before (``uphold``, ``confirm_uphold``,
  ``reject``, ``mark_duplicate``), and what they decide is final: no further action is allowed.
  A system challenge has no filer: its decision is final at once;
- **the system** links a duplicate only at filing (the challenge's only event is its filing).

:func:`decide` applies these rules to a :class:`ChallengeView` and returns the
:class:`Transition` to record, or raises :class:`TransitionRefused` — pure: nothing is read or
written. Who is checked before the state: a caller who could take the action in no state of
this challenge (the wrong role, not its filer, a moderator in conflict) is ``FORBIDDEN`` whatever
the state; a caller who could take it in some other state gets ``BAD_USER_INPUT`` (what is asked
does not fit the state), as does anything wrong with the input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from moderation.actors import MEMBER, MODERATOR, SYSTEM_ID, Actor
from moderation.challenges import ChallengeFiling
from moderation.errors import ChallengeRefused, Code, TransitionRefused
from moderation.events import challenge_event_body, challenge_event_record
from moderation.text import clean_text


class State(StrEnum):
    OPEN = "OPEN"
    TRIAGED = "TRIAGED"
    IN_REVIEW = "IN_REVIEW"
    NEEDS_INFO = "NEEDS_INFO"
    UPHOLD_PENDING = "UPHOLD_PENDING"  # an uphold that changes a value, awaiting a second moderator
    UPHELD = "UPHELD"
    REJECTED = "REJECTED"
    DUPLICATE = "DUPLICATE"
    APPEALED = "APPEALED"
    APPEAL_UPHOLD_PENDING = "APPEAL_UPHOLD_PENDING"  # the same, in the appeal round


#: the decisions: a filer may appeal one of them once
DECISIONS = frozenset({State.UPHELD, State.REJECTED, State.DUPLICATE})
#: the appeal round's states: moderators who decided before may not act in them
APPEAL_ROUND = frozenset({State.APPEALED, State.APPEAL_UPHOLD_PENDING})


class Action(StrEnum):
    FILE = "file"  # the first event (open_challenge), never an action on a challenge
    TRIAGE = "triage"
    START_REVIEW = "start_review"
    REQUEST_INFO = "request_info"
    ANSWER = "answer"
    UPHOLD = "uphold"
    CONFIRM_UPHOLD = "confirm_uphold"
    DECLINE_UPHOLD = "decline_uphold"
    REJECT = "reject"
    MARK_DUPLICATE = "mark_duplicate"
    APPEAL = "appeal"


#: the actions that decide (or propose to decide) a challenge: who took them may not decide
#: its appeal
DECIDING = frozenset({Action.UPHOLD, Action.CONFIRM_UPHOLD, Action.REJECT, Action.MARK_DUPLICATE})


class Who(StrEnum):
    FILER = "filer"  # the member who filed the challenge (never the system)
    MODERATOR = "moderator"  # the moderator role (admins hold it), without a conflict
    SYSTEM = "system"


@dataclass(frozen=True)
class Rule:
    source: State
    action: Action
    target: State
    who: Who
    #: where an ``uphold`` that changes a value goes instead (four-eyes)
    target_if_value_changes: State | None = None
    #: whether a non-empty rationale is required (else it may be empty)
    rationale: bool = True


S, A, W = State, Action, Who
#: every allowed transition; anything else is refused
TABLE: tuple[Rule, ...] = (
    Rule(S.OPEN, A.TRIAGE, S.TRIAGED, W.MODERATOR, rationale=False),
    Rule(S.OPEN, A.MARK_DUPLICATE, S.DUPLICATE, W.SYSTEM),
    Rule(S.TRIAGED, A.START_REVIEW, S.IN_REVIEW, W.MODERATOR, rationale=False),
    Rule(S.IN_REVIEW, A.UPHOLD, S.UPHELD, W.MODERATOR, S.UPHOLD_PENDING),
    Rule(S.IN_REVIEW, A.REJECT, S.REJECTED, W.MODERATOR),
    Rule(S.IN_REVIEW, A.MARK_DUPLICATE, S.DUPLICATE, W.MODERATOR),
    Rule(S.IN_REVIEW, A.REQUEST_INFO, S.NEEDS_INFO, W.MODERATOR),
    Rule(S.NEEDS_INFO, A.ANSWER, S.OPEN, W.FILER),
    Rule(S.UPHOLD_PENDING, A.CONFIRM_UPHOLD, S.UPHELD, W.MODERATOR),
    Rule(S.UPHOLD_PENDING, A.DECLINE_UPHOLD, S.IN_REVIEW, W.MODERATOR),
    Rule(S.UPHELD, A.APPEAL, S.APPEALED, W.FILER),
    Rule(S.REJECTED, A.APPEAL, S.APPEALED, W.FILER),
    Rule(S.DUPLICATE, A.APPEAL, S.APPEALED, W.FILER),
    Rule(S.APPEALED, A.UPHOLD, S.UPHELD, W.MODERATOR, S.APPEAL_UPHOLD_PENDING),
    Rule(S.APPEALED, A.REJECT, S.REJECTED, W.MODERATOR),
    Rule(S.APPEALED, A.MARK_DUPLICATE, S.DUPLICATE, W.MODERATOR),
    Rule(S.APPEAL_UPHOLD_PENDING, A.CONFIRM_UPHOLD, S.UPHELD, W.MODERATOR),
    Rule(S.APPEAL_UPHOLD_PENDING, A.DECLINE_UPHOLD, S.APPEALED, W.MODERATOR),
)
del S, A, W
RULES: dict[tuple[State, Action], Rule] = {(rule.source, rule.action): rule for rule in TABLE}
assert len(RULES) == len(TABLE), "one rule per (state, action)"


@dataclass(frozen=True)
class Step:
    """One past event of a challenge, as the rules need it."""

    actor: str
    action: Action
    to_state: State


@dataclass(frozen=True)
class ChallengeView:
    """What the rules need to know of a challenge. ``history`` holds every event so far, the
    filing first; the sequence number of the next event is ``len(history)``."""

    id: int
    state: State
    #: the filer's pseudonymous ID, or ``system``
    filer: str
    #: the members who support the challenge
    supporters: frozenset[str]
    #: the publishers the target concerns (a figure's input publishers, an observation's or a
    #: document's publisher)
    publishers: frozenset[str]
    history: tuple[Step, ...]

    def __post_init__(self) -> None:
        if not self.history:
            raise ValueError("a challenge's history starts with its filing, got no events")
        first = self.history[0]
        if first != Step(self.filer, Action.FILE, State.OPEN):
            raise ValueError(f"expected the filing by {self.filer} first, got {first}")
        if self.history[-1].to_state is not self.state:
            raise ValueError(
                f"state {self.state} is not where the history ends ({self.history[-1].to_state})"
            )

    @classmethod
    def filed(
        cls,
        challenge_id: int,
        filing: ChallengeFiling,
        *,
        publishers: Iterable[str],
        supporters: Iterable[str] = (),
    ) -> ChallengeView:
        """The view of a challenge just filed (state ``OPEN``)."""
        return cls(
            id=challenge_id,
            state=State.OPEN,
            filer=filing.filer,
            supporters=frozenset(supporters),
            publishers=frozenset(publishers),
            history=(Step(filing.filer, Action.FILE, State.OPEN),),
        )

    @property
    def system(self) -> bool:
        """Opened by the system: no filer answers or appeals."""
        return self.filer == SYSTEM_ID

    @property
    def appealed(self) -> bool:
        """Whether the one appeal round was used."""
        return any(step.action is Action.APPEAL for step in self.history)

    @property
    def final(self) -> bool:
        """A decision that can no longer be appealed: nothing more may happen."""
        return self.state in DECISIONS and (self.appealed or self.system)

    def proposer(self) -> str | None:
        """Who proposed the uphold now awaiting a second moderator (the last ``uphold``)."""
        for step in reversed(self.history):
            if step.action is Action.UPHOLD:
                return step.actor
        return None

    def deciders(self) -> frozenset[str]:
        """Who took a decision (or proposed one) before the appeal: not to decide the appeal."""
        found: set[str] = set()
        for step in self.history:
            if step.action is Action.APPEAL:
                break
            if step.action in DECIDING and step.actor != SYSTEM_ID:
                found.add(step.actor)
        return frozenset(found)


@dataclass(frozen=True)
class Transition:
    """One event to record: the challenge's new state and its ``challenge-event`` leaf."""

    challenge: int
    sequence: int
    from_state: State | None
    to_state: State
    action: Action
    actor: str
    at: dt.datetime
    rationale: str
    changes_value: bool = False
    duplicate_of: int | None = None
    filing: ChallengeFiling | None = field(default=None, repr=False)

    def record(self) -> dict[str, Any]:
        """The canonical ``challenge-event`` record (moderation/events.py)."""
        return challenge_event_record(
            challenge=self.challenge,
            sequence=self.sequence,
            from_state=None if self.from_state is None else str(self.from_state),
            to_state=str(self.to_state),
            action=str(self.action),
            actor=self.actor,
            at=self.at,
            rationale=self.rationale,
            changes_value=self.changes_value,
            duplicate_of=self.duplicate_of,
            filing=None if self.filing is None else self.filing.record(),
        )

    def leaf(self) -> bytes:
        """The leaf body to append to the log."""
        return challenge_event_body(self.record())

    def step(self) -> Step:
        return Step(self.actor, self.action, self.to_state)


def open_challenge(filing: ChallengeFiling, *, challenge_id: int, now: dt.datetime) -> Transition:
    """The filing event (sequence 0, into ``OPEN``); ``filing`` was validated by
    ``moderation.challenges`` (a member's) or built by ``system_challenge``."""
    _check_id(challenge_id, "challenge_id")
    return Transition(
        challenge=challenge_id,
        sequence=0,
        from_state=None,
        to_state=State.OPEN,
        action=Action.FILE,
        actor=filing.filer,
        at=_aware(now),
        rationale="",
        filing=filing,
    )


def decide(
    view: ChallengeView,
    actor: Actor,
    action: Action | str,
    *,
    rationale: str = "",
    claimed_value_change: bool = False,
    now: dt.datetime,
    duplicate_of: int | None = None,
) -> Transition:
    """The transition ``actor`` asks for with ``action``, or :class:`TransitionRefused`.

    ``claimed_value_change`` is read for ``uphold`` only: whether upholding changes a figure's
    value (then four-eyes applies). ``duplicate_of`` is the challenge a ``mark_duplicate``
    links to (required for it, refused for anything else).
    """
    wanted = _action(action)
    rule = _check(view, actor, wanted)
    try:
        text = clean_text(rationale, field="rationale", required=rule.rationale)
    except ChallengeRefused as exc:
        raise TransitionRefused(exc.code, exc.message, field=exc.field) from None
    if wanted is Action.MARK_DUPLICATE:
        if type(duplicate_of) is not int or duplicate_of < 1 or duplicate_of == view.id:
            raise TransitionRefused(
                Code.BAD_USER_INPUT,
                f"mark_duplicate: expected duplicate_of, the ID of another challenge, got "
                f"{duplicate_of!r}",
                field="duplicate_of",
            )
    elif duplicate_of is not None:
        raise TransitionRefused(
            Code.BAD_USER_INPUT,
            f"{wanted}: expected no duplicate_of (only mark_duplicate links), got {duplicate_of!r}",
            field="duplicate_of",
        )
    changes = (wanted is Action.UPHOLD and claimed_value_change) or wanted is Action.CONFIRM_UPHOLD
    target = rule.target
    if wanted is Action.UPHOLD and claimed_value_change and rule.target_if_value_changes:
        target = rule.target_if_value_changes
    return Transition(
        challenge=view.id,
        sequence=len(view.history),
        from_state=view.state,
        to_state=target,
        action=wanted,
        actor=actor.id,
        at=_aware(now),
        rationale=text,
        changes_value=changes,
        duplicate_of=duplicate_of,
    )


def allowed_actions(view: ChallengeView, actor: Actor) -> tuple[Action, ...]:
    """The actions ``actor`` may take on ``view`` now (given a rationale where one is needed)."""
    allowed = []
    for action in Action:
        try:
            _check(view, actor, action)
        except TransitionRefused:
            continue
        allowed.append(action)
    return tuple(allowed)


def apply(view: ChallengeView, transition: Transition) -> ChallengeView:
    """The view after ``transition`` (as the storage layer will read it back)."""
    if transition.challenge != view.id or transition.sequence != len(view.history):
        raise ValueError(
            f"expected event {len(view.history)} of challenge {view.id}, got event "
            f"{transition.sequence} of challenge {transition.challenge}"
        )
    return replace(view, state=transition.to_state, history=(*view.history, transition.step()))


# --- the checks, in order: who, then state, then the rules on top of the table ---------------
#
# Who comes first: a caller who could not take ``action`` on this challenge in any state (the
# wrong role, not its filer, a moderator in conflict) is refused FORBIDDEN whatever the state;
# only a caller who could take it in some state hears what is wrong with the state
# (BAD_USER_INPUT).


def _refused(code: Code, message: str) -> TransitionRefused:
    return TransitionRefused(code, message)


def _action(action: Action | str) -> Action:
    try:
        return Action(action)
    except ValueError:
        expected = ", ".join(a.value for a in Action if a is not Action.FILE)
        raise _refused(
            Code.BAD_USER_INPUT, f"expected an action among {expected}, got {action!r:.40}"
        ) from None


def _describe_allowed(state: State) -> str:
    rules = [rule for rule in TABLE if rule.source is state]
    return ", ".join(f"{rule.action} ({rule.who})" for rule in rules) or "none"


#: who may take each action in some state (``file`` is nobody's: it is not an action on a
#: challenge)
TAKEN_BY: dict[Action, frozenset[Who]] = {
    action: frozenset(rule.who for rule in TABLE if rule.action is action) for action in Action
}


def _not_as(view: ChallengeView, actor: Actor, who: Who) -> str | None:
    """Why ``actor`` can never act as ``who`` on this challenge, whatever its state (None when
    they can)."""
    if who is Who.SYSTEM:
        return None if actor.is_system else f"expected the system, got {actor.describe()}"
    if who is Who.FILER:
        if view.system:
            return "a system challenge has no filer"
        if actor.is_system or actor.id != view.filer or not actor.has_role(MEMBER):
            return f"expected its filer {view.filer}, got {actor.describe()}"
        return None
    if actor.is_system or not actor.has_role(MODERATOR):
        return f"expected a moderator or admin, got {actor.describe()}"
    if actor.id == view.filer:
        return f"{actor.id} filed this challenge"
    if actor.id in view.supporters:
        return f"{actor.id} supports this challenge"
    if actor.publisher is not None and actor.publisher in view.publishers:
        return f"{actor.id} is bound to publisher {actor.publisher}, which this challenge concerns"
    return None


def moderator_conflict(view: ChallengeView, actor: Actor) -> str | None:
    """Why ``actor`` may never moderate this challenge (not a moderator, its filer, a supporter,
    bound to a publisher it concerns), or None."""
    return _not_as(view, actor, Who.MODERATOR)


def authorize(view: ChallengeView, actor: Actor, action: Action | str) -> frozenset[Who]:
    """As whom ``actor`` may take ``action`` on this challenge in some state (its filer, a
    moderator, the system); FORBIDDEN when as nobody, whatever the state now. Pure, like
    :func:`decide`, which calls it first."""
    wanted = _action(action)
    where = f"challenge {view.id} ({view.state})"
    if not TAKEN_BY[wanted]:
        raise _refused(
            Code.BAD_USER_INPUT,
            f"{wanted} is not an action on a challenge (it is its first event): expected one "
            f"of {', '.join(a.value for a in Action if TAKEN_BY[a])}",
        )
    reasons = {who: _not_as(view, actor, who) for who in sorted(TAKEN_BY[wanted])}
    able = frozenset(who for who, reason in reasons.items() if reason is None)
    if not able:
        why = "; or ".join(reason for reason in reasons.values() if reason)
        raise _refused(Code.FORBIDDEN, f"{wanted} on {where}: {why}")
    return able


def authorize_role(actor: Actor, action: Action | str) -> None:
    """FORBIDDEN before any challenge is read when no role ``actor`` holds ever takes
    ``action`` (a member upholding, a moderator without the member role answering): the first
    part of :func:`authorize`, for callers that have not loaded the challenge yet."""
    wanted = _action(action)
    takers = TAKEN_BY[wanted]
    if not takers:
        return  # refused as input by authorize
    possible = (
        (Who.SYSTEM in takers and actor.is_system)
        or (Who.FILER in takers and not actor.is_system and actor.has_role(MEMBER))
        or (Who.MODERATOR in takers and not actor.is_system and actor.has_role(MODERATOR))
    )
    if not possible:
        expected = " or ".join(
            {Who.SYSTEM: "the system", Who.FILER: "the challenge's filer (a member)"}.get(
                who, "a moderator or admin"
            )
            for who in sorted(takers)
        )
        raise _refused(Code.FORBIDDEN, f"{wanted}: expected {expected}, got {actor.describe()}")


def _check(view: ChallengeView, actor: Actor, action: Action) -> Rule:
    able = authorize(view, actor, action)
    where = f"challenge {view.id} ({view.state})"
    if view.final:
        why = "its appeal round is over" if view.appealed else "a system challenge has no appeal"
        raise _refused(
            Code.BAD_USER_INPUT,
            f"{where} is final ({why}): expected no further action, got {action}",
        )
    rule = RULES.get((view.state, action))
    if rule is None:
        raise _refused(
            Code.BAD_USER_INPUT,
            f"{action} is not allowed on {where}: expected one of {_describe_allowed(view.state)}",
        )
    if rule.who not in able:  # the caller takes this action in other states, not in this one
        elsewhere = sorted(str(r.source) for r in TABLE if r.action is action and r.who in able)
        raise _refused(
            Code.BAD_USER_INPUT,
            f"{action} on {where} is for the {rule.who} (expected one of "
            f"{_describe_allowed(view.state)}); as {actor.describe()} you may {action} in "
            f"{', '.join(elsewhere)}",
        )
    if rule.who is Who.SYSTEM and action is Action.MARK_DUPLICATE and len(view.history) != 1:
        raise _refused(
            Code.BAD_USER_INPUT,
            f"{action} on {where}: the system links duplicates at filing only, and this "
            f"challenge has {len(view.history)} events",
        )
    if rule.who is Who.MODERATOR:
        _check_round(view, actor, action, where)
    if action is Action.REQUEST_INFO and view.system:
        raise _refused(
            Code.BAD_USER_INPUT,
            f"{action} on {where}: a system challenge has no filer to answer; decide it",
        )
    return rule


def _check_round(view: ChallengeView, actor: Actor, action: Action, where: str) -> None:
    """The moderator rules that depend on the challenge's history: the appeal round and
    four-eyes."""
    if view.state in APPEAL_ROUND and actor.id in view.deciders():
        raise _refused(
            Code.FORBIDDEN,
            f"{action} on {where}: expected a moderator who took no decision before the "
            f"appeal, got {actor.id}, who did",
        )
    if action is Action.CONFIRM_UPHOLD and actor.id == view.proposer():
        raise _refused(
            Code.FORBIDDEN,
            f"{action} on {where}: four-eyes: expected a second moderator, got {actor.id}, who "
            "proposed the uphold",
        )


def _check_id(value: object, name: str) -> None:
    if type(value) is not int or value < 1:
        raise ValueError(f"expected {name} to be an integer >= 1, got {value!r}")


def _aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware time, got naive {now.isoformat()}")
    return now
