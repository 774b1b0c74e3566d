"""GraphQL types of the ledger: checkpoints, entries and proofs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError, ErrorCode
from api.ledger import dataloaders
from api.ledger.proofs import InclusionProof, b64
from ledger.store import StoredCheckpoint


@strawberry.type(description="A checkpoint the log signed: a C2SP tlog-checkpoint signed note.")
class Checkpoint:
    size: int = strawberry.field(description="Number of leaves the checkpoint covers.")
    root_hash: str = strawberry.field(description="RFC 9162 root hash, standard base64.")
    signed_at: datetime = strawberry.field(description="When the log signed it.")
    note: str = strawberry.field(
        description="The signed note with the witnesses' cosignature lines, exactly as served."
    )
    cosignatures: list[str] = strawberry.field(
        description="The witnesses' cosignature lines (C2SP tlog-cosignature), as stored."
    )

    @strawberry.field(description="How many witnesses cosigned it.")
    def cosignature_count(self) -> int:
        return len(self.cosignatures)

    @classmethod
    def from_stored(cls, stored: StoredCheckpoint) -> Checkpoint:
        return cls(
            size=stored.size,
            root_hash=b64(stored.root_hash),
            signed_at=stored.signed_at,
            note=stored.note_with_cosignatures.decode(),
            cosignatures=list(stored.cosignature_lines),
        )


@strawberry.type(
    description="Proof that the tree of `toSize` leaves extends the tree of `fromSize` (RFC 9162 "
    "§2.1.4): what an auditor checks between two checkpoints it saw."
)
class ConsistencyProof:
    from_size: int = strawberry.field(description="The older tree's size.")
    to_size: int = strawberry.field(description="The newer tree's size.")
    from_root_hash: str = strawberry.field(description="The older tree's root, base64.")
    to_root_hash: str = strawberry.field(description="The newer tree's root, base64.")
    hashes: list[str] = strawberry.field(description="The consistency path, base64.")


@strawberry.type(
    description="One leaf of the transparency log: a publisher's document, an observation, an "
    "attested figure, a key event… Its body is `corroborate/<kind>/v1` and RFC 8785 JSON."
)
class LedgerEntry(relay.Node):
    index: int = strawberry.field(description="The leaf's index in the log.")
    kind: str = strawberry.field(description="What the leaf records (document, observation, …).")
    body: str = strawberry.field(description="The leaf's bytes as UTF-8 text.")
    leaf_hash: str = strawberry.field(description="RFC 9162 leaf hash, base64.")

    @strawberry.field(
        description="Proof that this leaf is in the log, under the latest checkpoint."
    )
    async def proof(self, info: Info[Context, None]) -> InclusionProof:
        return await dataloaders.inclusion_proofs(info.context).load(self.index)

    @classmethod
    def resolve_id(cls, root: LedgerEntry, *, info: Info[Context, None]) -> str:
        return str(root.index)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls,
        *,
        info: Info[Context, None],
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[LedgerEntry | None]:
        indices = []
        for node_id in node_ids:
            try:
                indices.append(int(node_id))
            except ValueError:
                raise ApiError(
                    f"expected a LedgerEntry id, got key {node_id!r}", ErrorCode.BAD_USER_INPUT
                ) from None
        found = await dataloaders.entries(info.context).load_many(indices)
        return [
            None if row is None else LedgerEntry.of(index, *row)
            for index, row in zip(indices, found, strict=True)
        ]

    @classmethod
    def of(cls, index: int, kind: str, body: bytes, leaf_hash: bytes) -> LedgerEntry:
        return cls(
            index=index, kind=kind, body=body.decode("utf-8", "replace"), leaf_hash=b64(leaf_hash)
        )
