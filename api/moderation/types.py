"""GraphQL types of the moderation domain: challenges, their events (each a ledger leaf with its
proof), members' stances, corrections, and the loaders that read them a page at a time."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import strawberry
from sqlalchemy import select
from strawberry import relay
from strawberry.types import Info

from api.context import Context
from api.dataloader import DataLoader
from api.errors import ApiError, ErrorCode
from api.figures import dataloaders as figure_loaders
from api.figures.types import FigureVersion
from api.ledger.types import InclusionProof, LedgerEntry
from api.members.types import accounts
from api.permissions import PER_CALLER, Moderator
from api.sources.dataloaders import chunks
from api.sources.types import enum_from_domain, leaf_of, node_keys, proof_of
from ingest.publishers import as_utc
from models.moderation import Challenge as ChallengeRow
from models.moderation import ChallengeEvent as EventRow
from models.moderation import ChallengeNote as NoteRow
from models.moderation import ChallengeSupport as StanceRow
from models.moderation import Correction as CorrectionRow
from models.moderation import PublicText
from moderation.actors import Actor
from moderation.challenges import Category, TargetKind
from moderation.errors import ModerationError
from moderation.workflow import Action, ChallengeView, State, Step, allowed_actions

if TYPE_CHECKING:
    ChallengeState = State
    ChallengeAction = Action
    ChallengeCategory = Category
    ChallengeTargetKind = TargetKind
else:
    ChallengeState = enum_from_domain(
        State,
        "ChallengeState",
        "Where a challenge is in the workflow (docs/moderation.md).",
        {
            "OPEN": "Filed (or answered), waiting for triage.",
            "TRIAGED": "A moderator looked at it; waiting for review.",
            "IN_REVIEW": "A moderator is reviewing it.",
            "NEEDS_INFO": "The moderator asked the filer for more; waiting on the filer.",
            "UPHOLD_PENDING": "Upheld with a corrected value; waiting for a second moderator.",
            "UPHELD": "Decided: the challenge is right.",
            "REJECTED": "Decided: the challenge is not right.",
            "DUPLICATE": "Decided: it repeats another challenge (`duplicateOf`).",
            "APPEALED": "The filer appealed the decision; decided again by other moderators.",
            "APPEAL_UPHOLD_PENDING": "Upheld on appeal with a corrected value; waiting for a "
            "second moderator.",
        },
    )
    ChallengeAction = enum_from_domain(
        Action,
        "ChallengeAction",
        "What an event did; each is allowed only to who the workflow names.",
        {
            "FILE": "Filing the challenge (its first event).",
            "TRIAGE": "A moderator triages an OPEN challenge.",
            "START_REVIEW": "A moderator starts reviewing a TRIAGED challenge.",
            "REQUEST_INFO": "A moderator asks the filer for more (IN_REVIEW → NEEDS_INFO).",
            "ANSWER": "The filer answers (NEEDS_INFO → OPEN).",
            "UPHOLD": "A moderator upholds it (with a corrected value: needs a second one).",
            "CONFIRM_UPHOLD": "A second moderator confirms an uphold: the correction is written.",
            "DECLINE_UPHOLD": "A moderator sends a pending uphold back to review.",
            "REJECT": "A moderator rejects it.",
            "MARK_DUPLICATE": "It repeats another challenge (the system at filing, or a moderator).",
            "APPEAL": "The filer appeals a decision, once.",
        },
    )
    ChallengeCategory = enum_from_domain(
        Category,
        "ChallengeCategory",
        "What the challenger says is wrong.",
        {
            "WRONG_VALUE": "The value is wrong.",
            "WRONG_DATE": "The value belongs to another day.",
            "WRONG_PLACE": "The value belongs to another place.",
            "DOUBLE_COUNTING": "Something is counted twice.",
            "MISSING_DATA": "Something is missing from the count.",
            "DEFINITION_CHANGE": "The publisher changed what it counts.",
            "OTHER": "Anything else (say what in the evidence).",
        },
    )
    ChallengeTargetKind = enum_from_domain(
        TargetKind,
        "ChallengeTargetKind",
        "What is challenged.",
        {
            "FIGURE": "An attested figure: REGION/metric/YYYY-MM-DD, with the version seen.",
            "OBSERVATION": "A publisher's observation: its ledger index.",
            "DOCUMENT": "A publisher's document: its ledger index.",
        },
    )


async def actor_of(context: Context) -> Actor:
    """The caller as moderation sees them: their public name and the roles their token grants
    (for our own tokens, a role counts only with the scope that grants it). A member of ours is
    named by their pseudonym (unique and never changed: docs/decisions/0014-public-names.md);
    an external issuer's user by ``ext:`` and a digest of issuer and subject; a machine client
    by its token's subject (it holds no role moderation knows)."""
    identity = context.identity
    if identity is None:
        raise ApiError(
            "expected a signed-in caller (Authorization: Bearer <access token>), got an "
            "anonymous request",
            ErrorCode.UNAUTHENTICATED,
        )
    context.uncacheable = True
    grants = {"member": "member", "moderator": "moderate", "admin": "admin"}
    roles = {
        role
        for role, scope in grants.items()
        if role in identity.roles and (not identity.own or scope in identity.scopes)
    }
    if identity.own and identity.account_id is not None:
        account = await accounts(context).load(identity.account_id)
        if account is None:
            raise ApiError(
                "expected the account this token was issued to, found none",
                ErrorCode.UNAUTHENTICATED,
            )
        ident = account.pseudonym
    elif identity.own:
        ident = identity.subject
    else:
        digest = hashlib.sha256(f"{identity.issuer}|{identity.subject}".encode()).hexdigest()
        ident = f"ext:{digest[:20]}"
    return Actor(ident, frozenset(roles), identity.publisher)


def refusal(exc: ModerationError) -> ApiError:
    """A moderation refusal as the API's coded error."""
    extra: dict[str, Any] = dict(exc.extra)
    if exc.field:
        extra["field"] = exc.field
    return ApiError(exc.message, ErrorCode(exc.code.value), **extra)


# --- loaders ---------------------------------------------------------------------------------


def _one_by(context: Context, name: str, model: Any, column: str) -> DataLoader[int, Any | None]:
    """``model``'s row whose ``column`` is the key (None where there is none), batched."""

    async def load(keys: Sequence[int]) -> list[Any | None]:
        found: dict[int, Any] = {}
        key = getattr(model, column)
        async with context.runtime.sessions() as session:
            for part in chunks(sorted(set(keys))):
                for row in (await session.execute(select(model).where(key.in_(part)))).scalars():
                    found[int(getattr(row, column))] = row
        return [found.get(k) for k in keys]

    return context.loader(name, lambda _: DataLoader(load_fn=load))


def challenges(context: Context) -> DataLoader[int, ChallengeRow | None]:
    return _one_by(context, "moderation.challenges", ChallengeRow, "id")


def _by_challenge(
    context: Context, name: str, model: Any, order: Any
) -> DataLoader[int, list[Any]]:
    async def load(ids: Sequence[int]) -> list[list[Any]]:
        found: dict[int, list[Any]] = {}
        async with context.runtime.sessions() as session:
            for part in chunks(sorted(set(ids))):
                rows = await session.execute(
                    select(model).where(model.challenge_id.in_(part)).order_by(order)
                )
                for row in rows.scalars():
                    found.setdefault(int(row.challenge_id), []).append(row)
        return [found.get(i, []) for i in ids]

    return context.loader(name, lambda _: DataLoader(load_fn=load))


def events(context: Context) -> DataLoader[int, list[EventRow]]:
    return _by_challenge(context, "moderation.events", EventRow, EventRow.sequence)


def stances(context: Context) -> DataLoader[int, list[StanceRow]]:
    return _by_challenge(context, "moderation.stances", StanceRow, StanceRow.id)


def corrections_of(context: Context) -> DataLoader[int, list[CorrectionRow]]:
    return _by_challenge(
        context, "moderation.corrections", CorrectionRow, CorrectionRow.ledger_index
    )


def notes(context: Context) -> DataLoader[int, list[NoteRow]]:
    return _by_challenge(context, "moderation.notes", NoteRow, NoteRow.id)


def texts(context: Context) -> DataLoader[int, PublicText | None]:
    return _one_by(context, "moderation.texts", PublicText, "id")


def figure_corrections(context: Context, column: str) -> DataLoader[int, CorrectionRow | None]:
    """A figure version's ledger index → the correction that wrote it (``ledger_index``) or that
    deprecated it (``supersedes``)."""
    return _one_by(context, f"moderation.corrections.{column}", CorrectionRow, column)


# --- types -----------------------------------------------------------------------------------


@strawberry.type(description="A text's sentiment (VADER, for short social texts).")
class Sentiment:
    compound: float = strawberry.field(description="-1 (most negative) … +1 (most positive).")
    positive: float = strawberry.field(description="Share of the text that reads positive.")
    negative: float = strawberry.field(description="Share of the text that reads negative.")
    neutral: float = strawberry.field(description="Share of the text that reads neutral.")
    label: str = strawberry.field(
        description="positive (compound ≥ 0.05), negative (≤ −0.05) or neutral."
    )


@strawberry.type(
    description="A text a member wrote in public, kept exactly as typed: render it as text, "
    "never as markup."
)
class PublicTextType:
    body: str = strawberry.field(description="The text as typed (Unicode NFC).")
    author: str = strawberry.field(
        description="Who wrote it: a member's pseudonym, `ext:…` or `system`."
    )
    created_at: dt.datetime = strawberry.field(description="When it was written.")
    sentiment: Sentiment = strawberry.field(description="Its sentiment, scored when written.")

    @classmethod
    def of(cls, row: PublicText) -> PublicTextType:
        return cls(
            body=row.body,
            author=row.author,
            created_at=as_utc(row.created_at),
            sentiment=Sentiment(
                compound=row.compound,
                positive=row.positive,
                negative=row.negative,
                neutral=row.neutral,
                label=row.label,
            ),
        )


@strawberry.type(
    description="One workflow event of a challenge: a `challenge-event` leaf on the log, with "
    "who acted (pseudonymous), when and why."
)
class ChallengeEvent:
    ledger_index: int = strawberry.field(description="Its `challenge-event` leaf on the log.")
    sequence: int = strawberry.field(description="0 for the filing, then 1, 2, … without gaps.")
    action: ChallengeAction = strawberry.field(description="What was done.")
    from_state: ChallengeState | None = strawberry.field(
        description="The state before (null for the filing)."
    )
    to_state: ChallengeState = strawberry.field(description="The state after.")
    actor: str = strawberry.field(
        description="Who acted: a member's pseudonym, `ext:…` (an external issuer's user) or "
        "`system`. Leaves written before migration 0009 name members `account:<n>` "
        "(docs/ledger.md); this field gives their pseudonym."
    )
    at: dt.datetime = strawberry.field(description="When, to the second.")
    rationale: str = strawberry.field(description="Why, as typed (empty where none is asked).")
    changes_value: bool = strawberry.field(
        description="Whether an uphold changes a figure's value (four-eyes applies)."
    )
    duplicate_of: int | None = strawberry.field(
        description="The challenge this one repeats (mark_duplicate)."
    )
    proposed_value: int | None = strawberry.field(
        description="The corrected value an uphold proposes (a second moderator confirms it)."
    )

    @strawberry.field(description="The event's inclusion proof under the latest checkpoint.")
    async def proof(self, info: Info[Context, None]) -> InclusionProof:
        return await proof_of(info, self.ledger_index)

    @strawberry.field(description="The event's leaf: its exact bytes on the log.")
    async def leaf(self, info: Info[Context, None]) -> LedgerEntry:
        return await leaf_of(info, self.ledger_index)

    @classmethod
    def of(cls, row: EventRow) -> ChallengeEvent:
        return cls(
            ledger_index=row.ledger_index,
            sequence=row.sequence,
            action=Action(row.action),
            from_state=None if row.from_state is None else State(row.from_state),
            to_state=State(row.to_state),
            actor=row.actor,
            at=as_utc(row.at),
            rationale=row.rationale,
            changes_value=row.changes_value,
            duplicate_of=row.duplicate_of,
            proposed_value=row.proposed_value,
        )


@strawberry.type(description="A moderator's note on a challenge, for moderators only.")
class ReviewerNote:
    author: str = strawberry.field(description="The moderator who wrote it (their pseudonym).")
    body: str = strawberry.field(description="The note as typed.")
    created_at: dt.datetime = strawberry.field(description="When it was written.")

    @classmethod
    def of(cls, row: NoteRow) -> ReviewerNote:
        return cls(author=row.author, body=row.body, created_at=as_utc(row.created_at))


@strawberry.type(description="A member's support for or opposition to a challenge.")
class Stance:
    member: str = strawberry.field(description="Who: a pseudonym (or `ext:…`).")
    stance: str = strawberry.field(description="support or oppose.")
    weight: float = strawberry.field(
        description="What it weighed when taken, from the member's track record (0.2 without "
        "one; members without a track record count together for at most 1 per challenge)."
    )
    fresh: bool = strawberry.field(description="Whether the member had no track record then.")
    created_at: dt.datetime = strawberry.field(description="When it was taken.")
    text_id: strawberry.Private[int | None]

    @strawberry.field(description="The member's comment, if any.")
    async def comment(self, info: Info[Context, None]) -> PublicTextType | None:
        if self.text_id is None:
            return None
        row = await texts(info.context).load(self.text_id)
        return None if row is None else PublicTextType.of(row)

    @classmethod
    def of(cls, row: StanceRow) -> Stance:
        return cls(
            member=row.member,
            stance=row.stance,
            weight=row.weight,
            fresh=row.fresh,
            created_at=as_utc(row.created_at),
            text_id=row.text_id,
        )


@strawberry.type(
    description="A figure corrected by an upheld challenge: a `correction` leaf on the log, "
    "which is also the figure's new version (status CORRECTED). The version it deprecates is "
    "kept in the figure's history."
)
class Correction:
    ledger_index: int = strawberry.field(
        description="Its `correction` leaf: the figure's new version."
    )
    challenge_number: int = strawberry.field(description="The challenge that decided it.")
    version: int = strawberry.field(description="The figure version it wrote.")
    supersedes: int = strawberry.field(
        description="The ledger index of the figure version it deprecates."
    )
    old_value: int = strawberry.field(description="The value deprecated.")
    new_value: int = strawberry.field(description="The corrected value.")
    reason: str = strawberry.field(description="Why, as the proposing moderator wrote it.")
    evidence_sha256: str = strawberry.field(
        description="SHA-256 of the challenge's evidence (links and text) as compact sorted JSON."
    )
    decided_by: list[str] = strawberry.field(
        description="The moderators who proposed and confirmed it, by pseudonym."
    )
    quorum: int = strawberry.field(description="How many different moderators decided it (2).")
    publishers: list[str] = strawberry.field(description="The publishers the figure rests on.")
    reverts: int | None = strawberry.field(
        description="The correction an appeal overturned (this one writes the old value back)."
    )
    created_at: dt.datetime = strawberry.field(description="When it was written.")

    @strawberry.field(description="The correction's inclusion proof under the latest checkpoint.")
    async def proof(self, info: Info[Context, None]) -> InclusionProof:
        return await proof_of(info, self.ledger_index)

    @strawberry.field(description="The correction's leaf: its exact bytes on the log.")
    async def leaf(self, info: Info[Context, None]) -> LedgerEntry:
        return await leaf_of(info, self.ledger_index)

    @strawberry.field(
        description="The figure version it wrote (its `figure` is the figure as it is now)."
    )
    async def figure(self, info: Info[Context, None]) -> FigureVersion:
        row = await figure_loaders.figures(info.context).load(self.ledger_index)
        assert row is not None
        return FigureVersion.from_row(row)

    @classmethod
    def of(cls, row: CorrectionRow) -> Correction:
        return cls(
            ledger_index=row.ledger_index,
            challenge_number=row.challenge_id,
            version=row.version,
            supersedes=row.supersedes,
            old_value=row.old_value,
            new_value=row.new_value,
            reason=row.reason,
            evidence_sha256=row.evidence_sha256,
            decided_by=list(row.decided_by),
            quorum=row.quorum,
            publishers=list(row.publishers),
            reverts=row.reverts,
            created_at=as_utc(row.created_at),
        )


def target_node_id(kind: TargetKind, ident: str) -> strawberry.ID:
    """The global ID of a challenge's target, from the form the log records it in."""
    if kind is TargetKind.FIGURE:
        return strawberry.ID(str(relay.GlobalID("AttestedFigure", ident)))
    name = "Observation" if kind is TargetKind.OBSERVATION else "Document"
    return strawberry.ID(str(relay.GlobalID(name, ident)))


@strawberry.type(description="What is challenged.")
class ChallengeTarget:
    kind: ChallengeTargetKind = strawberry.field(description="A figure, observation or document.")
    id: str = strawberry.field(
        description="REGION/metric/YYYY-MM-DD for a figure, else the ledger index."
    )
    version_seen: int | None = strawberry.field(
        description="The figure version the challenger saw."
    )
    ledger_index: int | None = strawberry.field(
        description="The ledger index of what was challenged (the figure version seen)."
    )

    @strawberry.field(
        description="The global ID of what is challenged: the figure's stable ID (an "
        "`AttestedFigure`), the `Observation`'s or the `Document`'s; `node(id:)` resolves it, "
        "`fileChallenge` and `challenges(targetId:)` take it."
    )
    def node_id(self) -> strawberry.ID:
        return target_node_id(self.kind, self.id)


@strawberry.type(
    description="A challenge to a figure, an observation or a document, filed by a signed-in "
    "member or by the system (reconciliation found the figure DISPUTED). Its history is its "
    "events, each a leaf on the log."
)
class Challenge(relay.Node):
    number: int = strawberry.field(description="The challenge's number.")
    target: ChallengeTarget = strawberry.field(description="What is challenged.")
    region: str | None = strawberry.field(description="The region it concerns.")
    metric: str | None = strawberry.field(description="The metric it concerns.")
    date: dt.date | None = strawberry.field(description="The day it concerns.")
    publishers: list[str] = strawberry.field(
        description="The publishers it concerns (their staff may not moderate it)."
    )
    category: ChallengeCategory = strawberry.field(description="What is said to be wrong.")
    claimed_value: int | None = strawberry.field(description="The value the challenger claims.")
    current_value: int | None = strawberry.field(
        description="The challenged value when it was filed."
    )
    links: list[str] = strawberry.field(description="Evidence links (http/https), as given.")
    state: ChallengeState = strawberry.field(description="Where it is in the workflow.")
    filer: str = strawberry.field(
        description="Who filed it: a member's pseudonym (or `ext:…`) or `system`."
    )
    duplicate_of: int | None = strawberry.field(description="The challenge it repeats.")
    discrepancy: float = strawberry.field(
        description="How far the challenged value is from the claim or the other lineages (0…1)."
    )
    support_weight: float = strawberry.field(
        description="Supports minus oppositions, weighted by the members' track records."
    )
    supporters: int = strawberry.field(description="How many members support it.")
    opponents: int = strawberry.field(description="How many members oppose it.")
    filed_at: dt.datetime = strawberry.field(description="When it was filed.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")
    triaged_at: dt.datetime | None = strawberry.field(description="When it was first triaged.")
    decided_at: dt.datetime | None = strawberry.field(description="When it was last decided.")
    text_id: strawberry.Private[int]
    claimed: strawberry.Private[tuple[str | None, dt.datetime | None]]

    @strawberry.field(description="The evidence text, with its sentiment.")
    async def evidence(self, info: Info[Context, None]) -> PublicTextType:
        row = await texts(info.context).load(self.text_id)
        assert row is not None
        return PublicTextType.of(row)

    @strawberry.field(
        description="Every event, the filing first: each a ledger leaf with its proof.",
        metadata={"list_size": 8},
    )
    async def events(self, info: Info[Context, None]) -> list[ChallengeEvent]:
        return [ChallengeEvent.of(row) for row in await events(info.context).load(self.number)]

    @strawberry.field(
        description="Members' supports and oppositions, oldest first.", metadata={"list_size": 20}
    )
    async def stances(self, info: Info[Context, None]) -> list[Stance]:
        return [Stance.of(row) for row in await stances(info.context).load(self.number)]

    @strawberry.field(description="The correction it led to, if upheld with a corrected value.")
    async def correction(self, info: Info[Context, None]) -> Correction | None:
        found = await corrections_of(info.context).load(self.number)
        return Correction.of(found[-1]) if found else None

    @strawberry.field(
        description="The actions the caller may take now (empty when anonymous).",
        metadata={"list_size": 4},
        directives=PER_CALLER,
    )
    async def allowed_actions(self, info: Info[Context, None]) -> list[ChallengeAction]:
        if info.context.identity is None:
            return []
        actor = await actor_of(info.context)
        rows = await events(info.context).load(self.number)
        sides = await stances(info.context).load(self.number)
        view = ChallengeView(
            id=self.number,
            state=State(self.state),
            filer=self.filer,
            supporters=frozenset(s.member for s in sides),
            publishers=frozenset(self.publishers),
            history=tuple(Step(r.actor, Action(r.action), State(r.to_state)) for r in rows),
        )
        return list(allowed_actions(view, actor))

    @strawberry.field(
        description="Moderators' notes on it, oldest first (moderators only; never on the log).",
        permission_classes=[Moderator],
        metadata={"list_size": 10},
    )
    async def reviewer_notes(self, info: Info[Context, None]) -> list[ReviewerNote]:
        return [ReviewerNote.of(row) for row in await notes(info.context).load(self.number)]

    @strawberry.field(
        description="The moderator who claimed it for review, by pseudonym (moderators only).",
        permission_classes=[Moderator],
    )
    def claimed_by(self) -> str | None:
        return self.claimed[0]

    @strawberry.field(
        description="Until when the claim holds (moderators only).",
        permission_classes=[Moderator],
    )
    def claimed_until(self) -> dt.datetime | None:
        return None if self.claimed[1] is None else as_utc(self.claimed[1])

    @classmethod
    def from_row(cls, row: ChallengeRow) -> Challenge:
        return cls(
            number=int(row.id or 0),
            target=ChallengeTarget(
                kind=TargetKind(row.target_kind),
                id=row.target_id,
                version_seen=row.version_seen,
                ledger_index=row.target_index,
            ),
            region=row.region,
            metric=row.metric,
            date=row.date,
            publishers=list(row.publishers),
            category=Category(row.category),
            claimed_value=row.claimed_value,
            current_value=row.current_value,
            links=list(row.links),
            state=State(row.state),
            filer=row.filer,
            duplicate_of=row.duplicate_of,
            discrepancy=row.discrepancy,
            support_weight=row.support_weight,
            supporters=row.supporters,
            opponents=row.opponents,
            filed_at=as_utc(row.filed_at),
            updated_at=as_utc(row.updated_at),
            triaged_at=None if row.triaged_at is None else as_utc(row.triaged_at),
            decided_at=None if row.decided_at is None else as_utc(row.decided_at),
            text_id=row.text_id,
            claimed=(row.claimed_by, row.claimed_until),
        )

    @classmethod
    def resolve_id(cls, root: Challenge, *, info: Info[Context, None]) -> str:
        return str(root.number)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Challenge | None]:
        keys = node_keys("Challenge", node_ids)
        found = await challenges(info.context).load_many(keys)
        return [None if row is None else cls.from_row(row) for row in found]
