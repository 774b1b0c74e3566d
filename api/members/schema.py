"""Mutations of the members domain: moderators suspend and reinstate members' accounts."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError, ErrorCode
from api.members.types import Member, accounts_by_public_id
from api.permissions import Moderator, require_role
from api.relay import decode_global_id
from identity import accounts as account_store

log = logging.getLogger("corroborate.members")

# an ID decoded in the resolver, after the permission check (api.relay.decode_global_id)
MemberID = Annotated[
    strawberry.ID, strawberry.argument(description="The member's global ID (`Member.id`).")
]


async def _target(info: Info[Context, None], raw: strawberry.ID) -> account_store.Account:
    member = decode_global_id(raw, "Member", argument="member")
    found = await accounts_by_public_id(info.context).load(member.node_id)
    if found is None:
        raise ApiError(f"no member with the ID {str(member)!r}", ErrorCode.NOT_FOUND)
    return found


def _check_rank(info: Info[Context, None], target: account_store.Account) -> None:
    """Moderators act on members; only an admin acts on a moderator or an admin, and nobody
    on themself."""
    identity = require_role(info.context, "moderator", scope="moderate")
    if identity.account_id == target.id:
        raise ApiError("expected another member's ID, got your own", ErrorCode.FORBIDDEN)
    ranked = {"moderator", "admin"} & set(target.role_names)
    if ranked and "admin" not in identity.roles:
        raise ApiError(
            f"expected a member without the {' or '.join(sorted(ranked))} role: only an admin "
            "may act on one",
            ErrorCode.FORBIDDEN,
        )


@strawberry.type
class MembersMutation:
    @strawberry.mutation(
        description="Suspend a member's account (moderators; an admin for a moderator): every "
        "token it holds stops working and it cannot sign in until reinstated.",
        permission_classes=[Moderator],
    )
    async def suspend_member(
        self,
        info: Info[Context, None],
        member: MemberID,
        reason: Annotated[
            str, strawberry.argument(description="Why, for the record (1–500 characters).")
        ],
    ) -> Member:
        target = await _target(info, member)
        _check_rank(info, target)  # who before what: the rank is checked before the reason
        if not 1 <= len(reason.strip()) <= 500:
            raise ApiError(
                f"expected a reason of 1 to 500 characters, got {len(reason.strip())}",
                ErrorCode.BAD_USER_INPUT,
            )
        async with info.context.runtime.write_sessions() as session, session.begin():
            done = await account_store.suspend(
                session, email=target.email, now=dt.datetime.now(dt.UTC)
            )
        log.info(
            "member suspended",
            extra={
                "member": target.id,
                "by": info.context.identity.subject if info.context.identity else None,
                "reason": reason.strip(),
            },
        )
        return Member.of(done)

    @strawberry.mutation(
        description="Reinstate a suspended member's account (moderators; an admin for a "
        "moderator). Tokens revoked by the suspension stay revoked: the member signs in again.",
        permission_classes=[Moderator],
    )
    async def reinstate_member(self, info: Info[Context, None], member: MemberID) -> Member:
        target = await _target(info, member)
        _check_rank(info, target)
        async with info.context.runtime.write_sessions() as session, session.begin():
            done = await account_store.reactivate(session, email=target.email)
        log.info(
            "member reinstated",
            extra={
                "member": target.id,
                "by": info.context.identity.subject if info.context.identity else None,
            },
        )
        return Member.of(done)
