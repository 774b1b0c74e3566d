"""Root fields of the ledger domain."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError, ErrorCode, not_found
from api.ledger.types import Checkpoint, ConsistencyProof, InclusionProof, LedgerEntry, b64
from api.relay import Connection, Keyset, PageArgs, connection, counter, keyset_page
from ledger.provenance import proof_bundle
from ledger.store import LedgerError
from models.ledger import LedgerEntry as EntryRow

_ENTRY = EntryRow.__table__  # type: ignore[attr-defined]
ENTRY_KEYSET = Keyset("ledgerEntries", (_ENTRY.c.idx,), ("int",))


@strawberry.type(description="The public transparency log every record is appended to.")
class Ledger:
    origin: str = strawberry.field(description="The log's origin line (C2SP tlog-checkpoint).")
    vkey: str = strawberry.field(
        description="The log's verifier key in C2SP signed-note form (name+keyid+key)."
    )
    size: int = strawberry.field(description="Number of leaves in the latest checkpoint.")
    checkpoint: Checkpoint = strawberry.field(description="The latest signed checkpoint.")


def _bad(message: str) -> ApiError:
    return ApiError(message, ErrorCode.BAD_USER_INPUT)


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

    @strawberry.field(
        description="The checkpoint signed at a given size (no size: the latest); null when "
        "none was signed at that size, with a NOT_FOUND error beside it."
    )
    async def checkpoint(
        self, info: Info[Context, None], size: int | None = None
    ) -> Checkpoint | None:
        runtime = info.context.runtime
        async with runtime.sessions() as session:
            try:
                if size is None:
                    return Checkpoint.from_stored(await runtime.log.latest_checkpoint(session))
                return Checkpoint.from_stored(await runtime.log.checkpoint(session, size))
            except LedgerError:
                raise not_found("checkpoint signed at size", size) from None

    @strawberry.field(description="Leaves of the log in index order, optionally of one kind.")
    async def ledger_entries(
        self,
        info: Info[Context, None],
        kind: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LedgerEntry]:
        args = PageArgs.of(first, after, last, before)
        statement = select(_ENTRY.c.kind, _ENTRY.c.body, _ENTRY.c.leaf_hash, _ENTRY.c.idx)
        if kind is not None:
            statement = statement.where(_ENTRY.c.kind == kind)
        runtime = info.context.runtime
        async with runtime.sessions() as session:
            page = await keyset_page(session, statement, ENTRY_KEYSET, args)
        nodes = [
            LedgerEntry.of(int(r.idx), r.kind, bytes(r.body), bytes(r.leaf_hash)) for r in page.rows
        ]
        return connection(page, ENTRY_KEYSET, nodes, counter(runtime.sessions, statement))

    @strawberry.field(
        description="Proof that leaf `index` is in the log: under the latest checkpoint, or "
        "under the checkpoint signed at `treeSize`."
    )
    async def inclusion_proof(
        self, info: Info[Context, None], index: int, tree_size: int | None = None
    ) -> InclusionProof:
        runtime = info.context.runtime
        async with runtime.sessions() as session:
            try:
                bundle = await proof_bundle(session, runtime.log, index, tree_size)
            except LedgerError as exc:
                raise _bad(str(exc)) from None
        return InclusionProof.from_bundle(bundle)

    @strawberry.field(
        description="Proof that the log at `toSize` (default: the latest checkpoint) extends "
        "the log at `fromSize`; both sizes must be signed checkpoints."
    )
    async def consistency_proof(
        self, info: Info[Context, None], from_size: int, to_size: int | None = None
    ) -> ConsistencyProof:
        runtime = info.context.runtime
        async with runtime.sessions() as session:
            try:
                newer = (
                    await runtime.log.latest_checkpoint(session)
                    if to_size is None
                    else await runtime.log.checkpoint(session, to_size)
                )
                older = await runtime.log.checkpoint(session, from_size)
                if older.size > newer.size:
                    raise _bad(f"expected fromSize <= toSize, got {older.size} and {newer.size}")
                path = await runtime.log.consistency_proof(session, older.size, newer.size)
            except LedgerError as exc:
                raise _bad(str(exc)) from None
        return ConsistencyProof(
            from_size=older.size,
            to_size=newer.size,
            from_root_hash=b64(older.root_hash),
            to_root_hash=b64(newer.root_hash),
            hashes=[b64(h) for h in path],
        )
