"""Provenance proofs: a leaf's C2SP tlog-proof@v1 bundle, verifiable offline."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ledger.bundle import ProofBundle
from ledger.store import LedgerError, TransparencyLog


async def proof_bundle(
    session: AsyncSession, log: TransparencyLog, index: int, size: int | None = None
) -> ProofBundle:
    """The bundle proving leaf ``index`` under the latest checkpoint (or the one at ``size``).

    The checkpoint is embedded with every witness cosignature stored for it.
    """
    checkpoint = (
        await log.latest_checkpoint(session)
        if size is None
        else await log.checkpoint(session, size)
    )
    if not 0 <= index < checkpoint.size:
        raise LedgerError(
            f"leaf {index} is not covered by the checkpoint at size {checkpoint.size}: "
            f"expected 0 <= index < {checkpoint.size}"
        )
    proof = await log.inclusion_proof(session, index, checkpoint.size)
    return ProofBundle(index=index, proof=proof, checkpoint_note=checkpoint.note_with_cosignatures)


async def proof_bundle_text(
    session: AsyncSession, log: TransparencyLog, index: int, size: int | None = None
) -> str:
    return (await proof_bundle(session, log, index, size)).to_text().decode()
