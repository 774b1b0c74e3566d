"""The GraphQL schema: composes the root fields of each domain package, plus ``node``/``nodes``
and ``rateLimit``; the limits and error handling are configured in ``api/limits.py``."""

from __future__ import annotations

import datetime as dt
import inspect
from collections import defaultdict
from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info
from strawberry.types.base import StrawberryObjectDefinition

from api.analytics.schema import AnalyticsQuery
from api.cache_policy import CallerDependence
from api.context import Context
from api.errors import ApiError, ErrorCode, classify
from api.figures.schema import FiguresQuery
from api.ledger.schema import LedgerQuery
from api.limits import Budgets, Limits, extensions
from api.members.schema import MembersMutation
from api.members.types import Member, accounts
from api.moderation.schema import ModerationMutation, ModerationQuery
from api.permissions import PER_CALLER, require_identity
from api.relay import MAX_PAGE, decode_global_id
from api.scalars import OVERRIDES
from api.sources.mutations import SourcesMutation
from api.sources.schema import SourcesQuery
from api.subscriptions import Subscription


@strawberry.type(
    description="The caller's budget: every query has a cost computed before it runs (see "
    "`extensions.cost`); a client may spend `limit` points per window."
)
class RateLimit:
    limit: int = strawberry.field(description="Points a client may spend per window.")
    cost: int = strawberry.field(description="What this query cost.")
    remaining: int = strawberry.field(description="Points left in the window after this query.")
    reset_at: dt.datetime = strawberry.field(description="When the window's points come back.")


def _node_type(info: Info[Context, None], global_id: relay.GlobalID) -> type[relay.Node]:
    definition = info.schema.get_type_by_name(global_id.type_name)
    origin = definition.origin if isinstance(definition, StrawberryObjectDefinition) else None
    if origin is None or not (isinstance(origin, type) and issubclass(origin, relay.Node)):
        raise ApiError(
            f"no node type {global_id.type_name[:40]!r}: the ID was not made by this API",
            ErrorCode.NOT_FOUND,
        )
    return origin


async def _resolve(
    info: Info[Context, None], node_type: type[relay.Node], keys: list[str]
) -> list[relay.Node | None]:
    resolved = node_type.resolve_nodes(info=info, node_ids=keys, required=False)
    if inspect.isawaitable(resolved):
        resolved = await resolved
    return list(resolved)


async def resolve_many(
    info: Info[Context, None], raw_ids: list[strawberry.ID], argument: str
) -> list[relay.Node | ApiError]:
    """Nodes for global IDs, one batched lookup per node type, in the order asked; where an ID
    is malformed or names nothing, the error for that position (NOT_FOUND, BAD_USER_INPUT)."""
    found: list[relay.Node | ApiError] = [
        ApiError(f"no node with the global ID {str(raw)[:80]!r}", ErrorCode.NOT_FOUND)
        for raw in raw_ids
    ]
    by_type: dict[type[relay.Node], list[tuple[int, str]]] = defaultdict(list)
    for position, raw in enumerate(raw_ids):
        try:
            global_id = decode_global_id(str(raw), argument=argument)
            by_type[_node_type(info, global_id)].append((position, global_id.node_id))
        except ApiError as refused:
            found[position] = refused
    for node_type, wanted in by_type.items():
        try:
            nodes = await _resolve(info, node_type, [key for _, key in wanted])
        except ApiError:
            # a key the type refuses spoils its batch: look each up alone to place the error
            nodes = []
            for _, key in wanted:
                try:
                    (node,) = await _resolve(info, node_type, [key])
                except ApiError as refused:
                    node = refused  # type: ignore[assignment]
                nodes.append(node)
        for (position, _), node in zip(wanted, nodes, strict=True):
            if node is not None:
                found[position] = node
    return found


@strawberry.type(description="The signed-in caller, as their access token says.")
class Me:
    issuer: str = strawberry.field(description="Who issued the caller's token (`iss`).")
    subject: str = strawberry.field(
        description="The token's subject: `member:<public ID>` (the same public ID as the member's global ID), `client:<client id>`, or an external "
        "issuer's own."
    )
    pseudonym: str | None = strawberry.field(
        description="The caller's public name (a member's pseudonym; an external issuer's "
        "`preferred_username`); null for a machine client."
    )
    roles: list[str] = strawberry.field(description="What the caller may do, by role.")
    scopes: list[str] = strawberry.field(description="The OAuth scopes of the token.")
    publisher: str | None = strawberry.field(
        description="The slug of the publisher the caller submits for, if any."
    )
    member: Member | None = strawberry.field(
        description="The caller's own member account here (null for machine clients and "
        "external issuers' users)."
    )
    rate_limit: RateLimit = strawberry.field(description="The caller's budget, after this query.")


def _rate_limit(context: Context) -> RateLimit:
    context.uncacheable = True  # the caller's own budget: never a shared result
    charge = context.charge
    return RateLimit(
        limit=charge.limit,
        cost=charge.cost,
        remaining=charge.remaining,
        reset_at=dt.datetime.fromtimestamp(charge.reset_at, dt.UTC),
    )


@strawberry.type(description="Public, read-only entry points.")
class Query(LedgerQuery, SourcesQuery, FiguresQuery, ModerationQuery, AnalyticsQuery):
    @strawberry.field(description="The API's version.")
    def version(self) -> str:
        from importlib.metadata import version

        return version("corroborate")

    @strawberry.field(
        description="Any object by its global ID; null when there is none, with a NOT_FOUND "
        "error beside it (BAD_USER_INPUT for a malformed ID), the rest of `data` kept."
    )
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> relay.Node | None:
        (found,) = await resolve_many(info, [id], "id")
        if isinstance(found, ApiError):
            raise found
        return found

    @strawberry.field(
        description=f"Objects by their global IDs (at most {MAX_PAGE}); null where there is "
        "none, with an error for that position (`path` ends with its index)."
    )
    async def nodes(
        self, info: Info[Context, None], ids: list[strawberry.ID]
    ) -> list[relay.Node | None]:
        if len(ids) > MAX_PAGE:
            raise ApiError(
                f"expected at most {MAX_PAGE} ids, got {len(ids)}", ErrorCode.BAD_USER_INPUT
            )
        # graphql-core completes an exception in a list as that item's error (null there)
        return await resolve_many(info, ids, "ids")  # type: ignore[return-value]

    @strawberry.field(
        description="The caller's cost budget, after this query.", directives=PER_CALLER
    )
    def rate_limit(self, info: Info[Context, None]) -> RateLimit:
        return _rate_limit(info.context)

    @strawberry.field(
        description="The signed-in caller: pseudonym, roles and remaining budget "
        "(UNAUTHENTICATED without a token).",
        directives=PER_CALLER,
    )
    async def me(self, info: Info[Context, None]) -> Me:
        identity = require_identity(info.context)
        member = None
        if identity.own and identity.account_id is not None:
            account = await accounts(info.context).load(identity.account_id)
            member = None if account is None else Member.of(account)
        return Me(
            issuer=identity.issuer,
            subject=identity.subject,
            pseudonym=member.pseudonym if member is not None else identity.display_name,
            roles=sorted(identity.roles),
            scopes=sorted(identity.scopes),
            publisher=identity.publisher,
            member=member,
            rate_limit=_rate_limit(info.context),
        )


@strawberry.type(description="Changes, each for callers with the right role (FORBIDDEN else).")
class Mutation(MembersMutation, SourcesMutation, ModerationMutation):
    pass


class CorroborateSchema(strawberry.Schema):
    def process_errors(self, errors: list[Any], execution_context: Any = None) -> None:
        """Code every error; mask and log the unexpected ones (api/errors.py)."""
        for error in errors:
            classify(error)


def create_schema(limits: Limits, budgets: Budgets) -> strawberry.Schema:
    return CorroborateSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[*extensions(limits, budgets), CallerDependence],
        scalar_overrides=OVERRIDES,
    )


#: The schema with default limits: what ``schema.graphql`` is exported from.
schema = create_schema(Limits(), Budgets(Limits().window_s))
