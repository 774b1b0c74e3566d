"""Batch loaders of the ledger: entries by index and inclusion proofs, one query per batch."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from api.context import Context
from api.dataloader import DataLoader
from api.ledger.proofs import InclusionProof, b64
from ledger.bundle import ProofBundle, encode_bundle
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


def inclusion_proofs(context: Context) -> DataLoader[int, InclusionProof]:
    """Index → its proof under the latest checkpoint; all the tiles a batch needs in one query,
    and the checkpoint read and checked once per batch (not once per proof)."""

    async def load(indices: Sequence[int]) -> list[InclusionProof]:
        runtime = context.runtime
        async with runtime.sessions() as session:
            latest = await runtime.log.latest_checkpoint(session)
            paths = await runtime.log.inclusion_proofs(session, list(indices), latest.size)
        note = latest.note_with_cosignatures
        if indices:  # check the checkpoint's form once, as ProofBundle does for each proof
            ProofBundle(index=indices[0], proof=paths[0], checkpoint_note=note)
        text = note.decode()
        return [
            InclusionProof(
                leaf_index=index,
                tree_size=latest.size,
                hashes=[b64(h) for h in path],
                checkpoint_note=text,
                tlog_proof=encode_bundle(index, path, note).decode(),
            )
            for index, path in zip(indices, paths, strict=True)
        ]

    return context.loader("ledger.inclusion_proofs", lambda _: DataLoader(load_fn=load))
