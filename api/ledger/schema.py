"""Root fields of the ledger domain."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.context import Context
from api.ledger.types import Checkpoint, Ledger


@strawberry.type
class LedgerQuery:
    @strawberry.field(description="The transparency log: its key, size and latest checkpoint.")
    async def ledger(self, info: Info[Context, None]) -> Ledger:
        runtime = info.context.runtime
        async with runtime.sessions() as session:
            latest = await runtime.log.latest_checkpoint(session)
        return Ledger(
            origin=runtime.log.origin,
            vkey=runtime.signer.vkey,
            size=latest.size,
            checkpoint=Checkpoint.from_stored(latest),
        )
