"""Subscriptions of the moderation domain: one challenge's changes, and the moderators' queue.

A websocket signs in with ``{"authorization": "Bearer <token>"}`` as its ``connection_init``
payload (api/app.py); ``queueChanged`` needs a moderator's token, ``challengeUpdated`` none.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError, ErrorCode
from api.events import hub_of
from api.moderation.types import Challenge, challenges
from api.permissions import require_role
from models.events import CHALLENGE


@strawberry.type
class ModerationSubscription:
    @strawberry.subscription(
        description="The challenge each time it changes from now on: an event (filed, moved, "
        "decided), a support or opposition, a claim."
    )
    async def challenge_updated(
        self,
        info: Info[Context, None],
        number: Annotated[int, strawberry.argument(description="The challenge's number.")],
    ) -> AsyncGenerator[Challenge, None]:
        if (await challenges(info.context).load(number)) is None:
            raise ApiError(f"no challenge number {number}", ErrorCode.NOT_FOUND)

        def wanted(event: dict[str, Any]) -> bool:
            return event.get("challenge") == number

        async with hub_of(info.context.request).subscribe(CHALLENGE, wanted) as events:
            async for _ in events:
                info.context.reset_loaders()
                row = await challenges(info.context).load(number)
                if row is not None:
                    yield Challenge.from_row(row)

    @strawberry.subscription(
        description="Every change to any challenge from now on (new filings, moves, stances, "
        "claims), for moderators to keep their queue current. Moderators only: sign the "
        "websocket in with a moderator's token."
    )
    async def queue_changed(self, info: Info[Context, None]) -> AsyncGenerator[Challenge, None]:
        require_role(info.context, "moderator", scope="moderate")
        async with hub_of(info.context.request).subscribe(CHALLENGE, lambda _: True) as events:
            async for event in events:
                info.context.reset_loaders()
                row = await challenges(info.context).load(int(event["challenge"]))
                if row is not None:
                    yield Challenge.from_row(row)
