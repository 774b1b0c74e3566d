"""The GraphQL form of an inclusion proof (apart from the types, so loaders can build it)."""

from __future__ import annotations

import base64

import strawberry

from ledger.bundle import ProofBundle


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


@strawberry.type(
    description="Proof that a leaf is in the log: the RFC 9162 inclusion path under a signed "
    "checkpoint. `tlogProof` is the same proof as a c2sp.org/tlog-proof@v1 file: save it and run "
    "`corroborate verify FILE --vkey …` offline."
)
class InclusionProof:
    leaf_index: int = strawberry.field(description="The leaf's index in the log.")
    tree_size: int = strawberry.field(description="The size of the tree the path leads to.")
    hashes: list[str] = strawberry.field(
        description="The inclusion path, base64, the leaf's sibling first."
    )
    checkpoint_note: str = strawberry.field(
        description="The signed checkpoint at `treeSize`, with cosignatures, verbatim."
    )
    tlog_proof: str = strawberry.field(description="The whole proof in tlog-proof@v1 text.")

    @classmethod
    def from_bundle(cls, bundle: ProofBundle) -> InclusionProof:
        return cls(
            leaf_index=bundle.index,
            tree_size=bundle.checkpoint.size,
            hashes=[b64(h) for h in bundle.proof],
            checkpoint_note=bundle.checkpoint_note.decode(),
            tlog_proof=bundle.to_text().decode(),
        )
