"""GraphQL types of the ledger."""

from __future__ import annotations

import base64
from datetime import datetime

import strawberry

from ledger.store import StoredCheckpoint


@strawberry.type(description="A checkpoint the log signed: a C2SP tlog-checkpoint signed note.")
class Checkpoint:
    size: int = strawberry.field(description="Number of leaves the checkpoint covers.")
    root_hash: str = strawberry.field(description="RFC 9162 root hash, standard base64.")
    signed_at: datetime = strawberry.field(description="When the log signed it.")
    note: str = strawberry.field(
        description="The signed note with the witnesses' cosignature lines, exactly as served."
    )
    cosignature_count: int = strawberry.field(description="How many witnesses cosigned it.")

    @classmethod
    def from_stored(cls, stored: StoredCheckpoint) -> Checkpoint:
        return cls(
            size=stored.size,
            root_hash=base64.b64encode(stored.root_hash).decode(),
            signed_at=stored.signed_at,
            note=stored.note_with_cosignatures.decode(),
            cosignature_count=len(stored.cosignature_lines),
        )


@strawberry.type(description="The public transparency log every record is appended to.")
class Ledger:
    origin: str = strawberry.field(description="The log's origin line (C2SP tlog-checkpoint).")
    vkey: str = strawberry.field(
        description="The log's verifier key in C2SP signed-note form (name+keyid+key)."
    )
    size: int = strawberry.field(description="Number of leaves in the latest checkpoint.")
    checkpoint: Checkpoint = strawberry.field(description="The latest signed checkpoint.")
