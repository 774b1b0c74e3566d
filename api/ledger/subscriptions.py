"""Subscriptions of the ledger domain."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from api.context import Context
from api.events import hub_of
from api.ledger.types import Checkpoint
from models.events import CHECKPOINT


@strawberry.type
class LedgerSubscription:
    @strawberry.subscription(
        description="Each checkpoint the log signs from now on, once its batch is committed, in "
        "order of size. A client too slow to read them may skip some (never the latest)."
    )
    async def checkpoint_advanced(
        self, info: Info[Context, None]
    ) -> AsyncGenerator[Checkpoint, None]:
        runtime = info.context.runtime
        async with hub_of(info.context.request).subscribe(CHECKPOINT) as events:
            async for event in events:
                async with runtime.sessions() as session:
                    stored = await runtime.log.checkpoint(session, int(event["size"]))
                yield Checkpoint.from_stored(stored)
