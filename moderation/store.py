"""Challenges in the database and on the ledger: filing, workflow actions, support, claims,
corrections and system challenges.

Every write runs in one transaction that first takes the log's lock (``TransparencyLog.lock``):
the limits are read and the leaves appended under it, so two requests cannot both pass a limit,
and a refusal leaves nothing behind (the transaction rolls back). The rules themselves are pure
(``moderation/workflow.py``, ``challenges.py``, ``reputation.py``); this module reads what they
need, asks them, and writes what they decide:

- each workflow event is a ``challenge-event`` leaf and a ``challenge_event`` row at its index;
- a confirmed uphold with a corrected value is a ``correction`` leaf, which is also the figure's
  new version (status ``CORRECTED``) — the version it deprecates stays, with ``latest`` cleared,
  and the correction names it (``supersedes``) with the old and new values and the reason;
- texts (evidence, comments, answers) are scored for sentiment once, when written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics.sentiment import score
from ingest.reconcile.figures import Status
from ingest.reconcile.query import attestations
from ledger.leaf import leaf_body
from ledger.store import TransparencyLog
from ledger.times import rfc3339
from models import events
from models.ingest import Document, Observation, Publisher
from models.moderation import (
    Challenge,
    ChallengeEvent,
    ChallengeNote,
    ChallengeSupport,
    Correction,
    PublicText,
)
from models.reconcile import AttestedFigure
from moderation import reputation
from moderation.actors import MEMBER, MODERATOR, SYSTEM, Actor
from moderation.challenges import (
    MAX_CLAIMED_VALUE,
    ChallengeFiling,
    TargetKind,
    duplicate_key,
    new_challenge,
    system_challenge,
)
from moderation.errors import Code, Refused, TransitionRefused
from moderation.text import clean_text
from moderation.workflow import (
    APPEAL_ROUND,
    DECISIONS,
    Action,
    ChallengeView,
    State,
    Step,
    Transition,
    allowed_actions,
    authorize,
    authorize_role,
    decide,
    moderator_conflict,
    open_challenge,
)

Sessions = async_sessionmaker[AsyncSession]
Clock = Callable[[], dt.datetime]

#: states a new challenge can be a duplicate of (not decided, not waiting on its filer)
OPEN_STATES = frozenset(
    {
        State.OPEN,
        State.TRIAGED,
        State.IN_REVIEW,
        State.NEEDS_INFO,
        State.UPHOLD_PENDING,
        State.APPEALED,
        State.APPEAL_UPHOLD_PENDING,
    }
)
#: the moderators' backlog: waiting on a moderator
QUEUE_STATES = OPEN_STATES - {State.NEEDS_INFO}
CLAIM_FOR = dt.timedelta(minutes=30)
MAX_COMMENT_CHARS = 1_000
CORRECTION_KIND = "correction"

_CHALLENGE = Challenge.__table__  # type: ignore[attr-defined]
_EVENT = ChallengeEvent.__table__  # type: ignore[attr-defined]
_SUPPORT = ChallengeSupport.__table__  # type: ignore[attr-defined]
_FIGURE = AttestedFigure.__table__  # type: ignore[attr-defined]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _aware(moment: dt.datetime) -> dt.datetime:
    """Datetimes read back from SQLite are naive UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Recorded:
    """What a write did: the challenge, its state now, and the leaves it appended."""

    challenge_id: int
    state: State
    events: tuple[int, ...]  # ledger indices of the challenge-event leaves
    correction: int | None = None  # ledger index of the correction leaf
    duplicate_of: int | None = None


@dataclass(frozen=True)
class _Target:
    index: int | None
    region: str | None
    metric: str | None
    date: dt.date | None
    publishers: list[str]
    value: int | None
    spread_ratio: float | None = None


@dataclass
class _Writer:
    """One moderation transaction."""

    session: AsyncSession
    log: TransparencyLog
    now: dt.datetime
    appended: list[int] = field(default_factory=list)

    async def append(self, kind: str, body: bytes) -> int:
        done = await self.log.append(self.session, [(kind, body)])
        index = done.first_index
        self.appended.append(index)
        return index


# --- reading --------------------------------------------------------------------------------


async def track_record(session: AsyncSession, member: str) -> reputation.TrackRecord:
    """The member's track record (``moderation/reputation.py``)."""
    decided = [str(State.UPHELD), str(State.REJECTED)]
    # a decision under appeal still counts, as it was, until the appeal decides otherwise
    appeal = (
        select(_EVENT.c.challenge_id, _EVENT.c.from_state.label("before"))
        .where(_EVENT.c.action == str(Action.APPEAL))
        .subquery()
    )
    found = (
        await session.execute(
            select(_CHALLENGE.c.state, _CHALLENGE.c.decided_at, appeal.c.before)
            .outerjoin(appeal, appeal.c.challenge_id == _CHALLENGE.c.id)
            .where(
                _CHALLENGE.c.filer == member,
                _CHALLENGE.c.state.in_([*decided, *(str(s) for s in APPEAL_ROUND)]),
            )
            .order_by(_CHALLENGE.c.decided_at.desc(), _CHALLENGE.c.id.desc())
        )
    ).all()
    rows = [
        (before if state in APPEAL_ROUND else state, when)
        for state, when, before in found
        if (before if state in APPEAL_ROUND else state) in decided
    ]
    upheld = sum(1 for state, _ in rows if state == State.UPHELD)
    recent = tuple(
        (state == State.REJECTED, _aware(when))
        for state, when in rows[: reputation.LOCK_WINDOW]
        if when is not None
    )
    stances = (
        await session.execute(
            select(_SUPPORT.c.stance, _CHALLENGE.c.state, func.count())
            .join(_CHALLENGE, _CHALLENGE.c.id == _SUPPORT.c.challenge_id)
            .where(_SUPPORT.c.member == member, _CHALLENGE.c.state.in_(decided))
            .group_by(_SUPPORT.c.stance, _CHALLENGE.c.state)
        )
    ).all()
    agreeing = disagreeing = 0
    for stance, state, count in stances:
        agrees = (stance == "support") == (state == State.UPHELD)
        if agrees:
            agreeing += int(count)
        else:
            disagreeing += int(count)
    return reputation.TrackRecord(
        upheld=upheld,
        rejected=len(rows) - upheld,
        agreeing=agreeing,
        disagreeing=disagreeing,
        recent=recent,
    )


async def load_view(session: AsyncSession, challenge_id: int) -> tuple[Challenge, ChallengeView]:
    """The challenge's row and the view the workflow rules read; ``NOT_FOUND`` if none."""
    row = await session.get(Challenge, challenge_id)
    if row is None:
        raise Refused(Code.NOT_FOUND, f"expected an existing challenge, got ID {challenge_id}")
    steps = (
        await session.execute(
            select(_EVENT.c.actor, _EVENT.c.action, _EVENT.c.to_state)
            .where(_EVENT.c.challenge_id == challenge_id)
            .order_by(_EVENT.c.sequence)
        )
    ).all()
    sides = (
        await session.execute(
            select(_SUPPORT.c.member).where(_SUPPORT.c.challenge_id == challenge_id)
        )
    ).scalars()
    view = ChallengeView(
        id=challenge_id,
        state=State(row.state),
        filer=row.filer,
        supporters=frozenset(sides),
        publishers=frozenset(row.publishers),
        history=tuple(Step(a, Action(b), State(c)) for a, b, c in steps),
    )
    return row, view


async def _resolve_target(session: AsyncSession, filing: ChallengeFiling) -> _Target:
    kind, ident = filing.target.kind, filing.target.id
    if kind is TargetKind.FIGURE:
        region, metric, day = ident.split("/")
        date = dt.date.fromisoformat(day)
        versions = (
            (
                await session.execute(
                    select(AttestedFigure)
                    .where(
                        _FIGURE.c.region == region,
                        _FIGURE.c.metric == metric,
                        _FIGURE.c.date == date,
                    )
                    .order_by(_FIGURE.c.version)
                )
            )
            .scalars()
            .all()
        )
        if not versions:
            raise Refused(
                Code.NOT_FOUND, f"target.id: expected an attested figure, got none at {ident}"
            )
        seen = next((v for v in versions if v.version == filing.version_seen), None)
        if seen is None:
            raise Refused(
                Code.BAD_USER_INPUT,
                f"version_seen: expected a version of {ident} (1 … {versions[-1].version}), "
                f"got {filing.version_seen}",
                field="version_seen",
            )
        record = (await attestations(session, [seen.ledger_index]))[seen.ledger_index]
        publishers = sorted({i["publisher"] for i in record["figure"].get("inputs", [])})
        return _Target(
            seen.ledger_index,
            region,
            metric,
            date,
            publishers,
            seen.value,
            seen.spread_ratio,
        )
    index = int(ident)
    if kind is TargetKind.OBSERVATION:
        found = (
            await session.execute(
                select(Observation, Publisher.slug)  # type: ignore[call-overload]
                .join(Publisher, Publisher.id == Observation.publisher_id)
                .where(Observation.ledger_index == index)
            )
        ).first()
        if found is None:
            raise Refused(
                Code.NOT_FOUND, f"target.id: expected an observation's ledger index, got {index}"
            )
        obs, slug = found
        return _Target(index, obs.region, obs.metric, obs.date, [slug], obs.value)
    found = (
        await session.execute(
            select(Publisher.slug)  # type: ignore[call-overload]
            .join(Document, Document.publisher_id == Publisher.id)
            .where(Document.ledger_index == index)
        )
    ).first()
    if found is None:
        raise Refused(Code.NOT_FOUND, f"target.id: expected a document's ledger index, got {index}")
    return _Target(index, None, None, None, [found[0]], None)


async def _check_limits(
    session: AsyncSession, member: str, filing: ChallengeFiling, now: dt.datetime
) -> None:
    record = await track_record(session, member)
    until = record.locked_until()
    if until is not None and until > now:
        raise Refused(
            Code.RATE_LIMITED,
            f"filing is locked until {rfc3339(until)}: 3 of your last 5 decided challenges "
            "were rejected",
            limit="locked",
            retryAt=rfc3339(until),
        )
    since = now - dt.timedelta(days=1)
    filed = (
        await session.execute(
            select(_CHALLENGE.c.target_kind, _CHALLENGE.c.target_id, _CHALLENGE.c.filed_at)
            .where(_CHALLENGE.c.filer == member, _CHALLENGE.c.filed_at > since)
            .order_by(_CHALLENGE.c.filed_at)
        )
    ).all()
    if len(filed) >= record.daily_limit:
        lifts = _aware(filed[len(filed) - record.daily_limit][2]) + dt.timedelta(days=1)
        raise Refused(
            Code.RATE_LIMITED,
            f"expected at most {record.daily_limit} challenges in 24 hours (your limit grows "
            f"with upheld challenges), got one more; the next may be filed at {rfc3339(lifts)}",
            limit="daily",
            retryAt=rfc3339(lifts),
        )
    same = [
        _aware(at)
        for kind, ident, at in filed
        if (kind, ident) == (str(filing.target.kind), filing.target.id)
    ]
    if len(same) >= reputation.PER_TARGET_PER_DAY:
        lifts = same[len(same) - reputation.PER_TARGET_PER_DAY] + dt.timedelta(days=1)
        raise Refused(
            Code.RATE_LIMITED,
            f"expected at most {reputation.PER_TARGET_PER_DAY} challenges per target in 24 hours, "
            f"got a 4th on {filing.target.kind} {filing.target.id}; the next may be filed at "
            f"{rfc3339(lifts)}",
            limit="per_target",
            retryAt=rfc3339(lifts),
        )


async def _text(
    writer: _Writer, kind: str, challenge: Challenge, author: str, body: str
) -> PublicText:
    """Score and keep a public text, with the dimensions analytics group it by."""
    scored = score(body)
    row = PublicText(
        kind=kind,
        challenge_id=challenge.id or 0,
        author=author,
        body=body,
        created_at=writer.now,
        compound=scored.compound,
        positive=scored.pos,
        negative=scored.neg,
        neutral=scored.neu,
        label=str(scored.label),
        region=challenge.region,
        metric=challenge.metric,
        publisher=_one_publisher(challenge.publishers),
        category=challenge.category,
    )
    writer.session.add(row)
    await writer.session.flush()
    return row


def _one_publisher(publishers: Sequence[str]) -> str | None:
    """Analytics group a text by the publisher its challenge concerns, when it concerns one."""
    return publishers[0] if len(publishers) == 1 else None


async def _record_event(writer: _Writer, transition: Transition, **extra: Any) -> int:
    index = await writer.append("challenge-event", transition.leaf())
    writer.session.add(
        ChallengeEvent(
            ledger_index=index,
            challenge_id=transition.challenge,
            sequence=transition.sequence,
            from_state=None if transition.from_state is None else str(transition.from_state),
            to_state=str(transition.to_state),
            action=str(transition.action),
            actor=transition.actor,
            at=transition.at,
            rationale=transition.rationale,
            changes_value=transition.changes_value,
            duplicate_of=transition.duplicate_of,
            **extra,
        )
    )
    await events.notify(
        writer.session,
        events.CHALLENGE,
        {
            "challenge": transition.challenge,
            "sequence": transition.sequence,
            "state": str(transition.to_state),
            "ledger_index": index,
        },
    )
    return index


# --- filing ---------------------------------------------------------------------------------


async def file_challenge(
    write_sessions: Sessions,
    log: TransparencyLog,
    actor: Actor,
    *,
    target_kind: object,
    target_id: object,
    version_seen: object,
    category: object,
    claimed_value: object = None,
    links: object = (),
    text: object,
    account_id: int | None = None,
    now: dt.datetime | None = None,
) -> Recorded:
    """A member files a challenge; a repeat of an open one is filed and linked to it as a
    duplicate at once (by the system)."""
    filing = new_challenge(
        actor,
        target_kind=target_kind,
        target_id=target_id,
        version_seen=version_seen,
        category=category,
        claimed_value=claimed_value,
        links=links,
        text=text,
    )
    moment = now or utcnow()
    async with write_sessions() as session, session.begin():
        await log.lock(session)
        await _check_limits(session, actor.id, filing, moment)
        return await _file(session, log, filing, moment, account_id=account_id)


async def _file(
    session: AsyncSession,
    log: TransparencyLog,
    filing: ChallengeFiling,
    now: dt.datetime,
    *,
    account_id: int | None = None,
) -> Recorded:
    writer = _Writer(session, log, now)
    target = await _resolve_target(session, filing)
    key = filing.duplicate_key()
    original = (
        await session.execute(
            select(func.min(_CHALLENGE.c.id)).where(
                _CHALLENGE.c.duplicate_key == key,
                _CHALLENGE.c.state.in_([str(s) for s in OPEN_STATES]),
            )
        )
    ).scalar()
    claimed = reputation.discrepancy(target.value, filing.claimed_value)
    spread = min(1.0, target.spread_ratio or 0.0)
    challenge = Challenge(
        target_kind=str(filing.target.kind),
        target_id=filing.target.id,
        version_seen=filing.version_seen,
        target_index=target.index,
        region=target.region,
        metric=target.metric,
        date=target.date,
        publishers=target.publishers,
        category=str(filing.category),
        claimed_value=filing.claimed_value,
        current_value=target.value,
        links=list(filing.evidence.links),
        text_id=-1,
        filer=filing.filer,
        filer_account_id=account_id,
        state=str(State.OPEN),
        duplicate_key=key,
        discrepancy=max(claimed, spread),
        next_sequence=1,
        filed_at=now,
        filed_epoch=int(now.timestamp()),
        updated_at=now,
    )
    text = await _text(writer, "challenge", challenge, filing.filer, filing.evidence.text)
    assert text.id is not None
    challenge.text_id = text.id
    session.add(challenge)
    await session.flush()
    assert challenge.id is not None
    text.challenge_id = challenge.id  # the text was written first: the challenge refers to it
    transition = open_challenge(filing, challenge_id=challenge.id, now=now)
    await _record_event(writer, transition)
    view = ChallengeView.filed(challenge.id, filing, publishers=target.publishers)
    if original is not None:
        linked = decide(
            view,
            SYSTEM,
            Action.MARK_DUPLICATE,
            rationale=f"repeats open challenge {original} (same target, category and claim)",
            now=now,
            duplicate_of=int(original),
        )
        await _record_event(writer, linked)
        challenge.state = str(State.DUPLICATE)
        challenge.duplicate_of = int(original)
        challenge.decided_at = now
        challenge.next_sequence = 2
    await session.flush()
    return Recorded(
        challenge.id,
        State(challenge.state),
        tuple(writer.appended),
        duplicate_of=challenge.duplicate_of,
    )


# --- workflow actions -----------------------------------------------------------------------


async def act(
    write_sessions: Sessions,
    log: TransparencyLog,
    actor: Actor,
    challenge_id: int,
    action: str,
    *,
    rationale: str = "",
    corrected_value: int | None = None,
    duplicate_of: int | None = None,
    now: dt.datetime | None = None,
) -> Recorded:
    """Take a workflow ``action`` on a challenge (``moderation/workflow.py`` says who may).

    ``corrected_value`` goes with ``uphold`` on a figure: the value the figure should have. It
    makes the uphold change a value (four-eyes: a second moderator confirms it, and the
    confirmation writes the correction)."""
    moment = now or utcnow()
    wanted = _action_of(action)
    authorize_role(actor, wanted)  # who first: a member upholding is FORBIDDEN, whatever else
    async with write_sessions() as session, session.begin():
        await log.lock(session)
        row, view = await load_view(session, challenge_id)
        authorize(view, actor, wanted)
        if corrected_value is not None:
            _check_corrected_value(row, wanted, corrected_value)
        if (
            duplicate_of is not None
            and wanted is Action.MARK_DUPLICATE
            and await session.get(Challenge, duplicate_of) is None
        ):
            raise Refused(
                Code.NOT_FOUND,
                f"duplicate_of: expected an existing challenge, got ID {duplicate_of}",
                field="duplicate_of",
            )
        transition = decide(
            view,
            actor,
            wanted,
            rationale=rationale,
            claimed_value_change=corrected_value is not None,
            now=moment,
            duplicate_of=duplicate_of,
        )
        writer = _Writer(session, log, moment)
        proposed = corrected_value if wanted is Action.UPHOLD else None
        await _record_event(writer, transition, proposed_value=proposed)
        if wanted is Action.ANSWER:
            await _text(writer, "answer", row, actor.id, transition.rationale)
        correction = None
        if wanted is Action.CONFIRM_UPHOLD:
            correction = await _correct(writer, row, view, transition)
        elif view.state is State.APPEALED and transition.to_state in DECISIONS - {State.UPHELD}:
            correction = await _revert(writer, row, transition)
        _advance(row, transition, moment)
        await session.flush()
        return Recorded(row.id or 0, transition.to_state, tuple(writer.appended), correction)


def _action_of(action: str) -> Action:
    try:
        return Action(action)
    except ValueError:
        expected = ", ".join(a.value for a in Action if a is not Action.FILE)
        raise TransitionRefused(
            Code.BAD_USER_INPUT, f"expected an action among {expected}, got {action!r:.40}"
        ) from None


def _check_corrected_value(row: Challenge, action: Action, value: int) -> None:
    if action is not Action.UPHOLD:
        raise Refused(
            Code.BAD_USER_INPUT,
            f"correctedValue: expected it only with uphold, got it with {action}",
            field="corrected_value",
        )
    if row.target_kind != TargetKind.FIGURE:
        raise Refused(
            Code.BAD_USER_INPUT,
            f"correctedValue: a correction applies to an attested figure; challenge {row.id} "
            f"concerns a {row.target_kind} (uphold it without one, and correct the figure it "
            "feeds through a challenge on that figure)",
            field="corrected_value",
        )
    if type(value) is not int or abs(value) > MAX_CLAIMED_VALUE:
        raise Refused(
            Code.BAD_USER_INPUT,
            f"correctedValue: expected an integer within ±{MAX_CLAIMED_VALUE:,}, got {value!r:.40}",
            field="corrected_value",
        )


def _advance(row: Challenge, transition: Transition, now: dt.datetime) -> None:
    row.state = str(transition.to_state)
    row.next_sequence = transition.sequence + 1
    row.updated_at = now
    if transition.action is Action.TRIAGE and row.triaged_at is None:
        row.triaged_at = now
    if transition.to_state in DECISIONS:
        row.decided_at = now
        row.claimed_by = row.claimed_until = None
        if transition.action is Action.MARK_DUPLICATE:
            row.duplicate_of = transition.duplicate_of


# --- corrections ----------------------------------------------------------------------------


async def _correct(
    writer: _Writer, row: Challenge, view: ChallengeView, transition: Transition
) -> int:
    """Write the correction a confirmed uphold decides: the figure's new version."""
    session = writer.session
    proposal = (
        await session.execute(
            select(_EVENT.c.actor, _EVENT.c.proposed_value, _EVENT.c.rationale)
            .where(_EVENT.c.challenge_id == row.id, _EVENT.c.action == str(Action.UPHOLD))
            .order_by(_EVENT.c.sequence.desc())
            .limit(1)
        )
    ).first()
    assert proposal is not None and proposal.proposed_value is not None
    assert row.region and row.metric and row.date
    latest = (
        await session.execute(
            select(AttestedFigure).where(
                _FIGURE.c.region == row.region,
                _FIGURE.c.metric == row.metric,
                _FIGURE.c.date == row.date,
                _FIGURE.c.latest.is_(True),
            )
        )
    ).scalar_one()
    record = await _figure_record(session, latest.ledger_index)
    old_value, new_value = latest.value, int(proposal.proposed_value)
    reason = proposal.rationale
    decided_by = [proposal.actor, transition.actor]
    content = dict(record["figure"])
    previous_status = content["status"]
    content.update(
        status=str(Status.CORRECTED),
        value=new_value,
        explanation=(
            f"Corrected by moderation (challenge {row.id}, decided by {' and '.join(decided_by)}) "
            f"from {old_value:,} ({previous_status}) to {new_value:,}: {reason}"
        ),
    )
    return await _write_version(
        writer,
        challenge=row,
        latest=latest,
        content=content,
        status=str(Status.CORRECTED),
        new_value=new_value,
        reason=reason,
        decided_by=decided_by,
        reverts=None,
    )


async def _write_version(
    writer: _Writer,
    *,
    challenge: Challenge,
    latest: AttestedFigure,
    content: dict[str, Any],
    status: str,
    new_value: int,
    reason: str,
    decided_by: list[str],
    reverts: int | None,
) -> int:
    """Append the ``correction`` leaf that is the figure's next version, deprecate ``latest``."""
    session = writer.session
    row = challenge
    old_value = latest.value
    evidence = await _evidence_digest(session, row)
    version = latest.version + 1
    body = leaf_body(
        CORRECTION_KIND,
        {
            "challenge": row.id,
            "correction": {
                "decided_by": decided_by,
                "evidence_sha256": evidence,
                "new_value": new_value,
                "old_value": old_value,
                "quorum": len(set(decided_by)),
                "reason": reason,
                "reverts": reverts,
            },
            "figure": content,
            "supersedes": latest.ledger_index,
            "version": version,
        },
    )
    index = await writer.append(CORRECTION_KIND, body)
    await session.execute(
        update(_FIGURE).where(_FIGURE.c.ledger_index == latest.ledger_index).values(latest=False)
    )
    session.add(
        AttestedFigure(
            ledger_index=index,
            region=latest.region,
            metric=latest.metric,
            date=latest.date,
            version=version,
            latest=True,
            value=new_value,
            status=status,
            spread=latest.spread,
            spread_ratio=latest.spread_ratio,
            lineages=latest.lineages,
            explanation=content["explanation"],
            # the content reconciliation would attest: a correction stands until the
            # publishers' data behind the figure changes (docs/decisions/0011-corrections.md)
            digest=latest.digest,
            run_id=latest.run_id,
            created_at=writer.now,
        )
    )
    session.add(
        Correction(
            ledger_index=index,
            challenge_id=row.id or 0,
            region=latest.region,
            metric=latest.metric,
            date=latest.date,
            version=version,
            supersedes=latest.ledger_index,
            old_value=old_value,
            new_value=new_value,
            reason=reason,
            evidence_sha256=evidence,
            decided_by=decided_by,
            quorum=len(set(decided_by)),
            publishers=list(row.publishers),
            reverts=reverts,
            created_at=writer.now,
        )
    )
    await events.notify(
        session,
        events.FIGURE,
        {"region": latest.region, "metric": latest.metric, "ledger_index": index, "count": 1},
    )
    return index


async def _revert(writer: _Writer, row: Challenge, transition: Transition) -> int | None:
    """An appeal overturned the uphold that corrected a figure: write the value back (a
    ``correction`` leaf whose ``reverts`` names the correction), if that correction is still the
    figure's latest version (new data may have superseded it already: then nothing to undo)."""
    session = writer.session
    done = (
        await session.execute(
            select(Correction)
            .where(Correction.challenge_id == row.id)  # type: ignore[arg-type]
            .order_by(Correction.ledger_index.desc())  # type: ignore[attr-defined]
            .limit(1)
        )
    ).scalar_one_or_none()
    if done is None or done.reverts is not None:
        return None
    latest = await session.get(AttestedFigure, done.ledger_index)
    if latest is None or not latest.latest:
        return None
    restored = await session.get(AttestedFigure, done.supersedes)
    assert restored is not None
    content = dict((await _figure_record(session, restored.ledger_index))["figure"])
    reason = transition.rationale
    content["explanation"] = (
        f"{content['explanation']}; correction of challenge {row.id} overturned on appeal by "
        f"{transition.actor}: {reason}"
    )
    return await _write_version(
        writer,
        challenge=row,
        latest=latest,
        content=content,
        status=restored.status,
        new_value=restored.value,
        reason=reason,
        decided_by=[transition.actor],
        reverts=done.ledger_index,
    )


async def _figure_record(session: AsyncSession, index: int) -> dict[str, Any]:
    found = await attestations(session, [index])
    if index not in found:
        raise LookupError(f"expected an attestation or correction leaf at {index}, found none")
    return found[index]


async def _evidence_digest(session: AsyncSession, row: Challenge) -> str:
    """SHA-256 of the challenge's evidence as compact sorted JSON {"links", "text"}."""
    text = await session.get(PublicText, row.text_id)
    assert text is not None
    evidence = {"links": list(row.links), "text": text.body}
    encoded = json.dumps(evidence, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


# --- support --------------------------------------------------------------------------------


async def take_stance(
    write_sessions: Sessions,
    actor: Actor,
    challenge_id: int,
    *,
    stance: str,
    comment: str | None = None,
    now: dt.datetime | None = None,
) -> ChallengeSupport:
    """A member supports or opposes a challenge once, with an optional short comment."""
    if stance not in ("support", "oppose"):
        raise Refused(
            Code.BAD_USER_INPUT, f"stance: expected support or oppose, got {stance!r:.20}"
        )
    if actor.is_system or not actor.has_role(MEMBER):
        raise Refused(
            Code.FORBIDDEN, f"expected a signed-in member to {stance}, got {actor.describe()}"
        )
    body = None
    if comment is not None:
        body = clean_text(comment, field="comment", required=False, max_chars=MAX_COMMENT_CHARS)
    moment = now or utcnow()
    async with write_sessions() as session, session.begin():
        row = (
            await session.execute(
                select(Challenge).where(_CHALLENGE.c.id == challenge_id).with_for_update()
            )
        ).scalar_one_or_none()
        if row is None:
            raise Refused(Code.NOT_FOUND, f"expected an existing challenge, got ID {challenge_id}")
        if row.filer == actor.id:  # who before state: a filer never takes a stance on theirs
            raise Refused(Code.FORBIDDEN, f"{stance}: {actor.id} filed challenge {challenge_id}")
        if State(row.state) not in OPEN_STATES:
            raise Refused(
                Code.BAD_USER_INPUT,
                f"challenge {challenge_id} is {row.state}: expected an open challenge to {stance}",
            )
        taken = (
            await session.execute(
                select(_SUPPORT.c.stance).where(
                    _SUPPORT.c.challenge_id == challenge_id, _SUPPORT.c.member == actor.id
                )
            )
        ).scalar()
        if taken is not None:
            raise Refused(
                Code.BAD_USER_INPUT,
                f"{stance}: expected one stance per member, and {actor.id} already took "
                f"{taken} on challenge {challenge_id}",
            )
        record = await track_record(session, actor.id)
        writer = _Writer(session, _NO_LOG, moment)
        text_id = None
        if body:
            text_id = (await _text(writer, "comment", row, actor.id, body)).id
        support = ChallengeSupport(
            challenge_id=challenge_id,
            member=actor.id,
            stance=stance,
            weight=record.weight,
            fresh=record.fresh,
            text_id=text_id,
            created_at=moment,
        )
        session.add(support)
        sign = 1 if stance == "support" else -1
        if record.fresh:
            row.fresh_support += sign * record.weight
        row.supporters += stance == "support"
        row.opponents += stance == "oppose"
        await session.flush()  # the new stance is summed with the others
        trusted = await _trusted_weight(session, challenge_id)
        row.support_weight = reputation.support_weight(trusted, row.fresh_support)
        row.updated_at = moment
        await session.flush()
        await events.notify(
            session,
            events.CHALLENGE,
            {"challenge": challenge_id, "sequence": row.next_sequence - 1, "state": row.state},
        )
        return support


_NO_LOG: Any = None  # a stance appends nothing to the log


async def _trusted_weight(session: AsyncSession, challenge_id: int) -> float:
    rows = await session.execute(
        select(_SUPPORT.c.stance, func.sum(_SUPPORT.c.weight))
        .where(_SUPPORT.c.challenge_id == challenge_id, _SUPPORT.c.fresh.is_(False))
        .group_by(_SUPPORT.c.stance)
    )
    total = 0.0
    for stance, weight in rows:
        total += float(weight or 0) * (1 if stance == "support" else -1)
    return total


# --- claims ---------------------------------------------------------------------------------


async def claim(
    write_sessions: Sessions,
    actor: Actor,
    challenge_id: int,
    *,
    release: bool = False,
    now: dt.datetime | None = None,
) -> Challenge:
    """A moderator claims a challenge in the queue for ``CLAIM_FOR`` (or releases their claim),
    so two moderators do not review the same one. A claim is a courtesy, not a lock: the
    workflow rules decide who may act."""
    moment = now or utcnow()
    async with write_sessions() as session, session.begin():
        row = (
            await session.execute(
                select(Challenge).where(_CHALLENGE.c.id == challenge_id).with_for_update()
            )
        ).scalar_one_or_none()
        if row is None:
            raise Refused(Code.NOT_FOUND, f"expected an existing challenge, got ID {challenge_id}")
        _, view = await load_view(session, challenge_id)
        if not actor.has_role(MODERATOR) or actor.is_system:
            raise Refused(Code.FORBIDDEN, f"claim: expected a moderator, got {actor.describe()}")
        conflict = moderator_conflict(view, actor)
        if conflict is not None:  # who before state: never theirs to claim
            raise Refused(Code.FORBIDDEN, f"claim on challenge {challenge_id}: {conflict}")
        if not release and State(row.state) not in QUEUE_STATES:
            raise Refused(
                Code.BAD_USER_INPUT,
                f"claim: challenge {challenge_id} is {row.state}, not waiting on a moderator",
            )
        if not allowed_actions(view, actor):
            raise Refused(
                Code.FORBIDDEN,
                f"claim: {actor.describe()} can take no action on challenge {challenge_id} "
                f"({row.state}) now",
            )
        held = row.claimed_by is not None and row.claimed_until is not None
        live = held and _aware(row.claimed_until) > moment  # type: ignore[arg-type]
        if release:
            if row.claimed_by != actor.id or not live:
                raise Refused(
                    Code.BAD_USER_INPUT,
                    f"release: {actor.id} holds no claim on challenge {challenge_id}",
                )
            row.claimed_by = row.claimed_until = None
        else:
            if live and row.claimed_by != actor.id:
                raise Refused(
                    Code.BAD_USER_INPUT,
                    f"claim: challenge {challenge_id} is claimed by {row.claimed_by} until "
                    f"{rfc3339(_aware(row.claimed_until))}",  # type: ignore[arg-type]
                )
            row.claimed_by, row.claimed_until = actor.id, moment + CLAIM_FOR
        await session.flush()
        await events.notify(
            session,
            events.CHALLENGE,
            {"challenge": challenge_id, "sequence": row.next_sequence - 1, "state": row.state},
        )
        return row


MAX_NOTE_CHARS = 5_000


async def add_note(
    write_sessions: Sessions,
    actor: Actor,
    challenge_id: int,
    text: object,
    *,
    now: dt.datetime | None = None,
) -> ChallengeNote:
    """A moderator's note on a challenge, for the other moderators (never on the log, never
    shown to members): what was checked, whom to ask."""
    if actor.is_system or not actor.has_role(MODERATOR):
        raise Refused(Code.FORBIDDEN, f"note: expected a moderator, got {actor.describe()}")
    body = clean_text(text, field="text", required=True, max_chars=MAX_NOTE_CHARS)
    async with write_sessions() as session, session.begin():
        if await session.get(Challenge, challenge_id) is None:
            raise Refused(Code.NOT_FOUND, f"expected an existing challenge, got ID {challenge_id}")
        note = ChallengeNote(
            challenge_id=challenge_id, author=actor.id, body=body, created_at=now or utcnow()
        )
        session.add(note)
        await session.flush()
        return note


# --- system challenges ----------------------------------------------------------------------


@dataclass(frozen=True)
class SystemReport:
    opened: int
    skipped_open: int  # an open challenge already names the figure
    left_over: int  # over the run's cap, most severe first


async def open_system_challenges(
    write_sessions: Sessions,
    log: TransparencyLog,
    run_id: int,
    *,
    min_spread_ratio: float,
    max_per_run: int,
    now: dt.datetime | None = None,
) -> SystemReport:
    """Open a system challenge on each figure reconciliation run ``run_id`` made ``DISPUTED``
    (a new version, latest, spread ratio at least ``min_spread_ratio``), the most severe
    first and at most ``max_per_run``; a figure with an open challenge of the same claim gets
    none (a system challenge repeats nothing)."""
    moment = now or utcnow()
    async with write_sessions() as session, session.begin():
        await log.lock(session)
        disputed = (
            (
                await session.execute(
                    select(AttestedFigure)
                    .where(
                        _FIGURE.c.run_id == run_id,
                        _FIGURE.c.latest.is_(True),
                        _FIGURE.c.status == str(Status.DISPUTED),
                        _FIGURE.c.spread_ratio >= min_spread_ratio,
                    )
                    .order_by(
                        _FIGURE.c.spread_ratio.desc(),
                        _FIGURE.c.region,
                        _FIGURE.c.metric,
                        _FIGURE.c.date,
                    )
                )
            )
            .scalars()
            .all()
        )
        opened = skipped = 0
        records = await attestations(session, [f.ledger_index for f in disputed[: max_per_run * 2]])
        for figure in disputed:
            if opened >= max_per_run:
                break
            record = records.get(figure.ledger_index)
            if record is None:
                records.update(await attestations(session, [figure.ledger_index]))
                record = records[figure.ledger_index]
            lineages = [(lin["counted"], int(lin["value"])) for lin in record["figure"]["lineages"]]
            filing = system_challenge(
                region=figure.region,
                metric=figure.metric,
                date=figure.date,
                version=figure.version,
                spread=figure.spread,
                lineages=lineages,
            )
            key = duplicate_key(filing.target, filing.category, filing.claimed_value)
            taken = (
                await session.execute(
                    select(_CHALLENGE.c.id).where(
                        _CHALLENGE.c.duplicate_key == key,
                        _CHALLENGE.c.state.in_([str(s) for s in OPEN_STATES]),
                    )
                )
            ).first()
            if taken is not None:
                skipped += 1
                continue
            await _file(session, log, filing, moment)
            opened += 1
        left = max(0, len(disputed) - opened - skipped)
        return SystemReport(opened, skipped, left)


# --- the queue and the metrics --------------------------------------------------------------


def priority_expression(as_of: dt.datetime) -> Any:
    """The queue's priority (``moderation/reputation.py``) as SQL, with the age measured at
    ``as_of`` (fixed for a whole listing, so its pages sort alike)."""
    now_epoch = int(as_of.timestamp())
    age_days = (now_epoch - _CHALLENGE.c.filed_epoch) / 86_400.0
    capped = case((age_days > reputation.AGE_MAX_DAYS, reputation.AGE_MAX_DAYS), else_=age_days)
    return (
        reputation.DISCREPANCY_POINTS * _CHALLENGE.c.discrepancy
        + reputation.SUPPORT_POINTS * _CHALLENGE.c.support_weight
        + reputation.AGE_POINTS_PER_DAY * capped
    )
