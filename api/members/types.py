"""GraphQL types of the members domain: a member (public by pseudonym; email and state guarded)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import strawberry
from sqlalchemy import select
from sqlmodel import col
from strawberry import relay
from strawberry.types import Info

from api.context import Context
from api.dataloader import DataLoader
from api.permissions import SelfOrAdmin, SelfOrModerator
from identity.accounts import Account, Role
from identity.config import utc
from models.identity import Account as AccountRow
from models.identity import AccountRole


def accounts(context: Context) -> DataLoader[int, Account | None]:
    """Account id → the account with its roles (two statements for any number of ids)."""

    async def load(ids: Sequence[int]) -> list[Account | None]:
        found = await _load(context, col(AccountRow.id), sorted(set(ids)))
        by_id = {account.id: account for account in found}
        return [by_id.get(i) for i in ids]

    return context.loader("members.accounts", lambda _: DataLoader(load_fn=load))


def accounts_by_public_id(context: Context) -> DataLoader[str, Account | None]:
    """A member's public ID (the key of ``Member.id``) → the account with its roles."""

    async def load(keys: Sequence[str]) -> list[Account | None]:
        found = await _load(context, col(AccountRow.public_id), sorted(set(keys)))
        by_key = {account.public_id: account for account in found}
        return [by_key.get(key) for key in keys]

    return context.loader("members.accounts.public", lambda _: DataLoader(load_fn=load))


async def _load(context: Context, column: Any, wanted: list[Any]) -> list[Account]:
    """The accounts whose ``column`` is among ``wanted``, with their roles (two statements)."""
    async with context.runtime.sessions() as session:
        rows = (await session.scalars(select(AccountRow).where(column.in_(wanted)))).all()
        ids = [int(row.id) for row in rows if row.id is not None]
        grants = (
            await session.scalars(
                select(AccountRole)
                .where(col(AccountRole.account_id).in_(ids))
                .order_by(col(AccountRole.role))
            )
        ).all()
    roles: dict[int, list[Role]] = {}
    for grant in grants:
        roles.setdefault(grant.account_id, []).append(
            Role(
                role=grant.role,
                publisher=grant.publisher,
                granted_at=utc(grant.granted_at),
                granted_by=grant.granted_by,
            )
        )
    return [
        Account(
            id=int(row.id),
            public_id=row.public_id,
            email=row.email,
            pseudonym=row.pseudonym,
            state=row.state,
            created_at=utc(row.created_at),
            roles=tuple(roles.get(int(row.id), [])),
        )
        for row in rows
        if row.id is not None
    ]


@strawberry.type(
    description="A member of the public signed in to Corroborate, shown everywhere by their "
    "pseudonym. Their email and account state are for themselves and admins (moderators see the "
    "state)."
)
class Member(relay.Node):
    pseudonym: str = strawberry.field(description="The public name the member chose.")
    roles: list[str] = strawberry.field(
        description="member, moderator, publisher, admin: what the member may do."
    )
    publisher: str | None = strawberry.field(
        description="The slug of the publisher a publisher role binds the member to."
    )
    joined_at: dt.datetime = strawberry.field(description="When the member signed up.")
    account_id: strawberry.Private[int]
    public_id: strawberry.Private[str]
    private_email: strawberry.Private[str]
    private_state: strawberry.Private[str]

    @strawberry.field(
        description="The member's email: only the member and admins may read it.",
        permission_classes=[SelfOrAdmin],
    )
    def email(self) -> str:
        return self.private_email

    @strawberry.field(
        description="`active` or `suspended`: only the member, moderators and admins may read it.",
        permission_classes=[SelfOrModerator],
    )
    def state(self) -> str:
        return self.private_state

    @classmethod
    def of(cls, account: Account) -> Member:
        return cls(
            pseudonym=account.pseudonym,
            roles=account.role_names,
            publisher=account.publisher,
            joined_at=account.created_at,
            account_id=account.id,
            public_id=account.public_id,
            private_email=account.email,
            private_state=account.state,
        )

    @classmethod
    def resolve_id(cls, root: Member, *, info: Info[Context, None]) -> str:
        """The account's random public ID, never its number (docs/decisions/0014)."""
        return root.public_id

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Member | None]:
        found = await accounts_by_public_id(info.context).load_many(list(node_ids))
        return [None if account is None else cls.of(account) for account in found]
