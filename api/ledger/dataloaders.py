"""Batch loaders of the ledger: entries by index and inclusion proofs, one query per batch."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from api.context import Context
from ledger.bundle import ProofBundle
from models.ledger import LedgerEntry as EntryRow

_ENTRY = EntryRow.__table__  # type: ignore[attr-defined]


def entries(context: Context) -> DataLoader[int, tuple[str, bytes, bytes] | None]:
    """Index → (kind, body, leaf hash), or None when the index is past the log's end."""

    async def load(indices: Sequence[int]) -> list[tuple[str, bytes, bytes] | None]:
        async with context.runtime.sessions() as session:
            rows = await session.execute(
                select(_ENTRY.c.idx, _ENTRY.c.kind, _ENTRY.c.body, _ENTRY.c.leaf_hash).where(
                    _ENTRY.c.idx.in_(list(indices))
                )
            )
            found = {int(i): (str(k), bytes(b), bytes(h)) for i, k, b, h in rows}
        return [found.get(index) for index in indices]

    return context.loader("ledger.entries", lambda _: DataLoader(load_fn=load))


def inclusion_proofs(context: Context) -> DataLoader[int, ProofBundle]:
    """Index → its tlog-proof@v1 bundle under the latest checkpoint; all the tiles a batch needs
    in one query, so a page of 100 figures with proofs costs three queries, not 100."""

    async def load(indices: Sequence[int]) -> list[ProofBundle]:
        runtime = context.runtime
        async with runtime.sessions() as session:
            latest = await runtime.log.latest_checkpoint(session)
            paths = await runtime.log.inclusion_proofs(session, list(indices), latest.size)
        return [
            ProofBundle(index=index, proof=path, checkpoint_note=latest.note_with_cosignatures)
            for index, path in zip(indices, paths, strict=True)
        ]

    return context.loader("ledger.inclusion_proofs", lambda _: DataLoader(load_fn=load))
