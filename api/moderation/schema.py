"""Root fields of the moderation domain: challenges (public), the moderators' queue, the
published outcome metrics, a member's standing, and the mutations that file, move, support and
claim challenges."""

from __future__ import annotations

import datetime as dt
import enum
import statistics
from typing import Annotated

import strawberry
from sqlalchemy import Float, cast, func, literal, select
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError, ErrorCode
from api.moderation.targets import latest_version, target_of
from api.moderation.types import (
    Challenge,
    ChallengeAction,
    ChallengeCategory,
    ChallengeState,
    ChallengeTargetKind,
    actor_of,
    challenges,
    refusal,
)
from api.permissions import Moderator, SignedIn
from api.relay import Connection, Keyset, PageArgs, connection, counter, keyset_page
from api.sources.schema import After, Before, First, Last
from ingest.publishers import as_utc
from models.moderation import Challenge as ChallengeRow
from models.moderation import Correction as CorrectionRow
from moderation import store
from moderation.challenges import TargetKind, check_filer
from moderation.errors import ModerationError
from moderation.workflow import State

_CHALLENGE = ChallengeRow.__table__  # type: ignore[attr-defined]
_BY_NUMBER = Keyset("challenges", (_CHALLENGE.c.id,), ("int",), descending=True)

ChallengeNumber = Annotated[int, strawberry.argument(description="The challenge's number.")]


@strawberry.input(description="A challenge to file (limits: docs/moderation.md).")
class FileChallengeInput:
    target_id: strawberry.ID = strawberry.field(
        description="The global ID of what you challenge: a figure (`AttestedFigure.id`, the "
        "figure as it is now), one of its versions (`FigureVersion.id`), an `Observation` or a "
        "`Document`."
    )
    target_kind: ChallengeTargetKind | None = strawberry.field(
        default=None,
        description="Not needed: `targetId` says what it is (if given, it must agree).",
        deprecation_reason="`targetId` is a global ID, which names its kind.",
    )
    version_seen: int | None = strawberry.field(
        default=None,
        description="The figure version you saw (figures only; default: the version a "
        "`FigureVersion` ID names, else the figure's latest).",
    )
    category: ChallengeCategory = strawberry.field(description="What is wrong.")
    claimed_value: int | None = strawberry.field(
        default=None, description="The value you say is right, if you know it."
    )
    links: list[str] = strawberry.field(
        default_factory=list, description="Evidence links: at most 10 http(s) URLs."
    )
    text: str = strawberry.field(
        description="Your evidence, 1–5,000 characters, kept as typed and shown as text."
    )


@strawberry.enum(description="Which challenges of the queue to list by their claims.")
class ClaimFilter(enum.Enum):
    ANY = strawberry.enum_value("any", description="Claimed or not.")
    MINE = strawberry.enum_value("mine", description="Claimed by the caller, claim in force.")
    UNCLAIMED = strawberry.enum_value("unclaimed", description="Nobody's claim is in force.")


@strawberry.enum(description="How the moderators' queue is sorted.")
class QueueOrder(enum.Enum):
    PRIORITY = strawberry.enum_value("priority", description="Highest priority first.")
    OLDEST = strawberry.enum_value("oldest", description="Oldest filing first.")


@strawberry.type(description="A challenge in the moderators' queue, with its priority.")
class QueueItem:
    challenge: Challenge = strawberry.field(description="The challenge.")
    priority: float = strawberry.field(
        description="10·discrepancy + 2·support + 0.5·age in days (at most 14), at `asOf`."
    )


@strawberry.type(description="How many corrections touched a publisher's figures.")
class PublisherCorrections:
    publisher: str = strawberry.field(description="The publisher's slug.")
    corrections: int = strawberry.field(description="Corrections of figures resting on it.")


@strawberry.type(description="Moderation's published outcome metrics, over every challenge so far.")
class ModerationMetrics:
    challenges: int = strawberry.field(description="Challenges filed (by members and the system).")
    backlog: int = strawberry.field(description="Challenges waiting on a moderator.")
    needs_info: int = strawberry.field(description="Challenges waiting on their filer.")
    decided: int = strawberry.field(description="Challenges upheld, rejected or duplicate.")
    upheld_rate: float | None = strawberry.field(
        description="Upheld / (upheld + rejected); null before any such decision."
    )
    median_hours_to_triage: float | None = strawberry.field(
        description="Median time from filing to triage, in hours."
    )
    median_hours_to_decision: float | None = strawberry.field(
        description="Median time from filing to the (latest) decision, in hours."
    )
    corrections: int = strawberry.field(description="Figures corrected.")
    corrections_by_publisher: list[PublisherCorrections] = strawberry.field(
        description="Corrections per publisher whose data the figure rested on, most first."
    )


@strawberry.type(description="The caller's standing as a challenger (docs/moderation.md).")
class Standing:
    member: str = strawberry.field(description="The caller's public name (their pseudonym).")
    upheld: int = strawberry.field(description="Their filings upheld.")
    rejected: int = strawberry.field(description="Their filings rejected.")
    agreeing: int = strawberry.field(description="Stances that met the final outcome.")
    disagreeing: int = strawberry.field(description="Stances that did not.")
    reputation: float = strawberry.field(
        description="3·upheld + agreeing − 2·rejected − 0.5·disagreeing, at least 0."
    )
    daily_limit: int = strawberry.field(description="Challenges they may file in 24 hours.")
    weight: float = strawberry.field(description="What their support weighs now.")
    locked_until: dt.datetime | None = strawberry.field(
        description="Until when filing is locked (3 of the last 5 decided filings rejected)."
    )


def _hours(pairs: list[tuple[dt.datetime, dt.datetime]]) -> float | None:
    spans = [(as_utc(b) - as_utc(a)).total_seconds() / 3600 for a, b in pairs]
    return round(statistics.median(spans), 3) if spans else None


async def _challenge(info: Info[Context, None], number: int) -> Challenge:
    info.context.reset_loaders()  # read what was just written
    row = await challenges(info.context).load(number)
    if row is None:
        raise ApiError(f"no challenge number {number}", ErrorCode.NOT_FOUND)
    return Challenge.from_row(row)


@strawberry.type
class ModerationQuery:
    @strawberry.field(
        description="A challenge by its number; null when there is none, with a NOT_FOUND "
        "error beside it (the rest of `data` kept)."
    )
    async def challenge(
        self, info: Info[Context, None], number: ChallengeNumber
    ) -> Challenge | None:
        return await _challenge(info, number)

    @strawberry.field(
        description="Challenges, newest first, filtered by state, category, region or target.",
    )
    async def challenges(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        states: list[ChallengeState] | None = None,
        category: ChallengeCategory | None = None,
        region: str | None = None,
        target_kind: ChallengeTargetKind | None = None,
        target_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only challenges of this target, by its global ID: a figure's "
                "(every version), a `FigureVersion`'s (filed on that version), an "
                "`Observation`'s or a `Document`'s."
            ),
        ] = None,
    ) -> Connection[Challenge]:
        args = PageArgs.of(first, after, last, before)
        statement = select(ChallengeRow, _CHALLENGE.c.id)
        if states:
            statement = statement.where(_CHALLENGE.c.state.in_([s.value for s in states]))
        if category is not None:
            statement = statement.where(_CHALLENGE.c.category == category.value)
        if region is not None:
            statement = statement.where(_CHALLENGE.c.region == region)
        if target_kind is not None:
            statement = statement.where(_CHALLENGE.c.target_kind == target_kind.value)
        if target_id is not None:
            target = await target_of(info, str(target_id), must_exist=False)
            if target is None:  # a figure version that does not exist: no challenge names it
                statement = statement.where(literal(False))
            else:
                statement = statement.where(
                    _CHALLENGE.c.target_kind == str(target.kind),
                    _CHALLENGE.c.target_id == target.id,
                )
                if target.version is not None:
                    statement = statement.where(_CHALLENGE.c.version_seen == target.version)
        runtime = info.context.runtime
        async with runtime.sessions() as session:
            page = await keyset_page(session, statement, _BY_NUMBER, args)
        nodes = [Challenge.from_row(row[0]) for row in page.rows]
        return connection(page, _BY_NUMBER, nodes, counter(runtime.sessions, statement))

    @strawberry.field(
        description="The moderators' queue: challenges waiting on a moderator, by priority "
        "(the size of the discrepancy, support weighted by reputation, and age) or oldest "
        "first. Moderators only.",
        permission_classes=[Moderator],
    )
    async def moderation_queue(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        states: list[ChallengeState] | None = None,
        category: ChallengeCategory | None = None,
        region: str | None = None,
        publisher: str | None = None,
        claimed: ClaimFilter = ClaimFilter.ANY,
        order: QueueOrder = QueueOrder.PRIORITY,
        as_of: Annotated[
            dt.datetime | None,
            strawberry.argument(
                description="The time ages are measured at (default now); pass the first "
                "page's `asOf` back with `after` so pages sort alike."
            ),
        ] = None,
    ) -> Connection[QueueItem]:
        args = PageArgs.of(first, after, None, None)
        moment = as_utc(as_of) if as_of else store.utcnow()
        if after is not None and as_of is None:
            raise ApiError(
                "expected `asOf` with `after` (the first page's time), got none",
                ErrorCode.BAD_USER_INPUT,
                argument="asOf",
            )
        wanted = [s.value for s in states] if states else sorted(store.QUEUE_STATES)
        unknown = set(wanted) - {str(s) for s in store.QUEUE_STATES}
        if unknown:
            raise ApiError(
                f"expected queue states among {', '.join(sorted(store.QUEUE_STATES))}, got "
                f"{', '.join(sorted(unknown))}",
                ErrorCode.BAD_USER_INPUT,
                argument="states",
            )
        rank = cast(store.priority_expression(moment), Float).label("priority")
        if order is QueueOrder.PRIORITY:
            keyset = Keyset(
                f"queue@{int(moment.timestamp())}",
                (rank, _CHALLENGE.c.id),
                ("float", "int"),
                descending=True,
            )
        else:
            keyset = Keyset("queue-oldest", (_CHALLENGE.c.id,), ("int",))
        statement = select(ChallengeRow, rank, *keyset.columns).where(
            _CHALLENGE.c.state.in_(wanted)
        )
        if category is not None:
            statement = statement.where(_CHALLENGE.c.category == category.value)
        if region is not None:
            statement = statement.where(_CHALLENGE.c.region == region)
        if publisher is not None:
            statement = statement.where(
                _CHALLENGE.c.publishers.contains(literal(f'"{publisher}"'))  # JSON text
            )
        me = (await actor_of(info.context)).id
        if claimed is ClaimFilter.MINE:
            statement = statement.where(
                _CHALLENGE.c.claimed_by == me, _CHALLENGE.c.claimed_until > moment
            )
        elif claimed is ClaimFilter.UNCLAIMED:
            statement = statement.where(
                (_CHALLENGE.c.claimed_by.is_(None)) | (_CHALLENGE.c.claimed_until <= moment)
            )
        runtime = info.context.runtime
        async with runtime.sessions() as session:
            page = await keyset_page(session, statement, keyset, args)
        nodes = [
            QueueItem(challenge=Challenge.from_row(row[0]), priority=float(row[1]))
            for row in page.rows
        ]
        return connection(page, keyset, nodes, counter(runtime.sessions, statement))

    @strawberry.field(description="Moderation's outcome metrics, published for everyone.")
    async def moderation_metrics(self, info: Info[Context, None]) -> ModerationMetrics:
        runtime = info.context.runtime
        async with runtime.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        _CHALLENGE.c.state,
                        _CHALLENGE.c.filed_at,
                        _CHALLENGE.c.triaged_at,
                        _CHALLENGE.c.decided_at,
                    )
                )
            ).all()
            fixes = (
                await session.execute(select(func.count()).select_from(CorrectionRow))
            ).scalar_one()
            touched = (await session.execute(select(CorrectionRow.publishers))).scalars().all()  # type: ignore[call-overload]
        per: dict[str, int] = {}
        for publishers in touched:
            for slug in publishers:
                per[slug] = per.get(slug, 0) + 1
        states = [State(r.state) for r in rows]
        upheld = states.count(State.UPHELD)
        rejected = states.count(State.REJECTED)
        decided = upheld + rejected + states.count(State.DUPLICATE)
        return ModerationMetrics(
            challenges=len(rows),
            backlog=sum(1 for s in states if s in store.QUEUE_STATES),
            needs_info=states.count(State.NEEDS_INFO),
            decided=decided,
            upheld_rate=round(upheld / (upheld + rejected), 4) if upheld + rejected else None,
            median_hours_to_triage=_hours(
                [(r.filed_at, r.triaged_at) for r in rows if r.triaged_at is not None]
            ),
            median_hours_to_decision=_hours(
                [(r.filed_at, r.decided_at) for r in rows if r.decided_at is not None]
            ),
            corrections=int(fixes),
            corrections_by_publisher=[
                PublisherCorrections(publisher=slug, corrections=n)
                for slug, n in sorted(per.items(), key=lambda item: (-item[1], item[0]))
            ],
        )

    @strawberry.field(
        description="The caller's standing as a challenger: track record, limits, weight.",
        permission_classes=[SignedIn],
    )
    async def my_standing(self, info: Info[Context, None]) -> Standing:
        actor = await actor_of(info.context)
        async with info.context.runtime.sessions() as session:
            record = await store.track_record(session, actor.id)
        return Standing(
            member=actor.id,
            upheld=record.upheld,
            rejected=record.rejected,
            agreeing=record.agreeing,
            disagreeing=record.disagreeing,
            reputation=record.score,
            daily_limit=record.daily_limit,
            weight=record.weight,
            locked_until=record.locked_until(),
        )


@strawberry.type
class ModerationMutation:
    @strawberry.mutation(
        description="File a challenge (signed-in members). A repeat of an open challenge's "
        "claim on the same target is filed and linked to it as a DUPLICATE. Limits: "
        "RATE_LIMITED past the daily limit, the 3 per target per day, or while locked.",
        permission_classes=[SignedIn],
    )
    async def file_challenge(
        self, info: Info[Context, None], input: FileChallengeInput
    ) -> Challenge:
        actor = await actor_of(info.context)
        try:
            check_filer(actor)  # who before what: nothing of the input is read for a non-member
        except ModerationError as exc:
            raise refusal(exc) from None
        runtime = info.context.runtime
        target = await target_of(info, str(input.target_id), argument="input.targetId")
        assert target is not None
        if input.target_kind is not None and input.target_kind.value != str(target.kind):
            raise ApiError(
                f"input.targetKind: expected {str(target.kind).upper()} (what targetId names) or "
                f"none, got {input.target_kind.name}",
                ErrorCode.BAD_USER_INPUT,
            )
        version_seen = input.version_seen
        if version_seen is None and target.kind is TargetKind.FIGURE:
            version_seen = target.version or await latest_version(info, target)
            if version_seen is None:
                raise ApiError(
                    f"input.targetId: expected an attested figure, got none at {target.id}",
                    ErrorCode.NOT_FOUND,
                )
        elif target.version is not None and version_seen != target.version:
            raise ApiError(
                f"input.versionSeen: expected {target.version} (the version targetId names) or "
                f"none, got {version_seen}",
                ErrorCode.BAD_USER_INPUT,
            )
        try:
            done = await store.file_challenge(
                runtime.write_sessions,
                runtime.log,
                actor,
                target_kind=str(target.kind),
                target_id=target.id,
                version_seen=version_seen,
                category=input.category.value,
                claimed_value=input.claimed_value,
                links=list(input.links),
                text=input.text,
                account_id=info.context.identity.account_id if info.context.identity else None,
            )
        except ModerationError as exc:
            raise refusal(exc) from None
        return await _challenge(info, done.challenge_id)

    @strawberry.mutation(
        description="Take a workflow action on a challenge: moderators triage, review, uphold "
        "(with `correctedValue` for a figure: four-eyes), confirm or decline an uphold, reject, "
        "mark duplicate (`duplicateOf`), request information; the filer answers and appeals "
        "once. Anything else is refused (FORBIDDEN for who, BAD_USER_INPUT for what).",
        permission_classes=[SignedIn],
    )
    async def act_on_challenge(
        self,
        info: Info[Context, None],
        number: ChallengeNumber,
        action: ChallengeAction,
        rationale: Annotated[
            str, strawberry.argument(description="Why (required for decisions).")
        ] = "",
        corrected_value: Annotated[
            int | None,
            strawberry.argument(description="With uphold on a figure: its right value."),
        ] = None,
        duplicate_of: Annotated[
            int | None,
            strawberry.argument(description="With mark_duplicate: the challenge it repeats."),
        ] = None,
    ) -> Challenge:
        actor = await actor_of(info.context)
        runtime = info.context.runtime
        try:
            await store.act(
                runtime.write_sessions,
                runtime.log,
                actor,
                number,
                action.value,
                rationale=rationale,
                corrected_value=corrected_value,
                duplicate_of=duplicate_of,
            )
        except ModerationError as exc:
            raise refusal(exc) from None
        return await _challenge(info, number)

    @strawberry.mutation(
        description="Support or oppose an open challenge once (signed-in members, not its "
        "filer), with an optional comment of at most 1,000 characters.",
        permission_classes=[SignedIn],
    )
    async def take_stance(
        self,
        info: Info[Context, None],
        number: ChallengeNumber,
        support: Annotated[
            bool, strawberry.argument(description="true to support, false to oppose.")
        ],
        comment: str | None = None,
    ) -> Challenge:
        actor = await actor_of(info.context)
        try:
            await store.take_stance(
                info.context.runtime.write_sessions,
                actor,
                number,
                stance="support" if support else "oppose",
                comment=comment,
            )
        except ModerationError as exc:
            raise refusal(exc) from None
        return await _challenge(info, number)

    @strawberry.mutation(
        description="Add a note on a challenge for the other moderators (1–5,000 characters; "
        "moderators only, never on the log, never shown to members).",
        permission_classes=[Moderator],
    )
    async def add_reviewer_note(
        self,
        info: Info[Context, None],
        number: ChallengeNumber,
        text: Annotated[str, strawberry.argument(description="The note.")],
    ) -> Challenge:
        actor = await actor_of(info.context)
        try:
            await store.add_note(info.context.runtime.write_sessions, actor, number, text)
        except ModerationError as exc:
            raise refusal(exc) from None
        return await _challenge(info, number)

    @strawberry.mutation(
        description="Claim a challenge for review for 30 minutes, or release your claim "
        "(moderators who may act on it).",
        permission_classes=[Moderator],
    )
    async def claim_challenge(
        self, info: Info[Context, None], number: ChallengeNumber, release: bool = False
    ) -> Challenge:
        actor = await actor_of(info.context)
        try:
            await store.claim(info.context.runtime.write_sessions, actor, number, release=release)
        except ModerationError as exc:
            raise refusal(exc) from None
        return await _challenge(info, number)
