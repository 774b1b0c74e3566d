"""The log in SQL: entries, C2SP tlog-tiles hash tiles, signed checkpoints and cosignatures.

Appends run inside the caller's transaction, under one lock per database (SQLite's write lock,
a PostgreSQL advisory lock), so that several processes sharing a database grow one log. Each
append writes its entries and the tiles they change, checks that the new tree is consistent with
the last signed checkpoint, signs a checkpoint for the new size and swaps it in only if the stored
latest checkpoint is still the one it started from. When the caller commits, the batch and its
checkpoint become visible together; a crash before that leaves no trace.

Any proof needs one read of O(log n) tiles: a node at tree level ``h`` is found in the tile at
level ``h // 8``, from ``2 ** (h % 8)`` of its hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import merkle
from ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from ledger.note import Signer, parse_vkey
from models import events
from models.db import bulk_insert
from models.ledger import (
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerEntry,
    LedgerState,
    LedgerTile,
)

TILE_WIDTH = 256
_HASH = merkle.HASH_SIZE
_STATE_ID = 1
#: The PostgreSQL advisory lock every appender takes (a constant: one log per database).
ADVISORY_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"corroborate/ledger/sequencer").digest()[:8], "big", signed=True
)

Entries = LedgerEntry.__table__  # type: ignore[attr-defined]
Tiles = LedgerTile.__table__  # type: ignore[attr-defined]
State = LedgerState.__table__  # type: ignore[attr-defined]
Checkpoints = LedgerCheckpoint.__table__  # type: ignore[attr-defined]
Cosignatures = LedgerCosignature.__table__  # type: ignore[attr-defined]

TileKey = tuple[int, int]


class LedgerError(RuntimeError):
    """The log cannot do what was asked; the message says why."""


class LedgerCorrupt(LedgerError):
    """Stored data does not agree with itself or with a signed checkpoint."""


class CheckpointConflict(LedgerError):
    """Another appender moved the log on between our read and our compare-and-swap."""


@dataclass(frozen=True)
class Appended:
    """What an append produced: the indices of its leaves and the checkpoint that covers them."""

    first_index: int
    count: int
    size: int
    root_hash: bytes
    checkpoint_note: bytes

    @property
    def indices(self) -> range:
        return range(self.first_index, self.first_index + self.count)


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root_hash: bytes
    note: bytes
    signed_at: datetime
    cosignature_lines: tuple[str, ...] = ()

    @property
    def note_with_cosignatures(self) -> bytes:
        """The signed note with the witnesses' cosignature lines appended after the log's."""
        return self.note + "".join(line + "\n" for line in self.cosignature_lines).encode()


def tile_key_for_node(level: int, index: int) -> tuple[TileKey, int, int]:
    """The tile holding the hashes that node (level, index) is built from, its offset and count."""
    tile_level, height = divmod(level, 8)
    start = index << height
    tile_index, offset = divmod(start, TILE_WIDTH)
    return (tile_level, tile_index), offset, 1 << height


def perfect_root(buf: bytes | bytearray, offset: int, count: int) -> bytes:
    """The root of the perfect subtree over ``count`` (a power of two) hashes of ``buf``."""
    level = [bytes(buf[(offset + i) * _HASH : (offset + i + 1) * _HASH]) for i in range(count)]
    node = merkle.node_hash
    while len(level) > 1:
        level = [node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


#: Where the hashes of height h (1..7) start in a full tile's internal nodes, in hashes.
_NODE_OFFSETS = {h: sum(TILE_WIDTH >> j for j in range(1, h)) for h in range(1, 8)}


def tile_nodes(buf: bytes | bytearray) -> bytes:
    """The internal nodes of a tile of any width, laid out as a full tile's (zeros where a
    subtree is not complete yet), so that :class:`TileReader` finds them the same way."""
    node = merkle.node_hash
    level = [bytes(buf[i * _HASH : (i + 1) * _HASH]) for i in range(len(buf) // _HASH)]
    out = bytearray(sum(TILE_WIDTH >> h for h in range(1, 8)) * _HASH)
    for height in range(1, 8):
        level = [node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        at = _NODE_OFFSETS[height] * _HASH
        out[at : at + len(level) * _HASH] = b"".join(level)
    return bytes(out)


def tile_internal_nodes(buf: bytes | bytearray) -> tuple[bytes, bytes]:
    """For a full tile: its internal node hashes (heights 1..7, left to right) and its root.

    They are stored beside the tile so that a proof reads a node instead of recomputing up to
    127 hashes; the audit recomputes them.
    """
    nodes = tile_nodes(buf)
    return nodes, merkle.node_hash(nodes[-2 * _HASH : -_HASH], nodes[-_HASH:])


class TileReader:
    """A merkle.NodeReader over tiles held in memory (fetched for one proof or one append)."""

    def __init__(
        self,
        tiles: dict[TileKey, bytes | bytearray],
        nodes: dict[TileKey, bytes] | None = None,
    ) -> None:
        self.tiles = tiles
        self.nodes = nodes or {}

    def __call__(self, level: int, index: int) -> bytes:
        key, offset, count = tile_key_for_node(level, index)
        buf = self.tiles.get(key)
        if buf is None or len(buf) < (offset + count) * _HASH:
            have = 0 if buf is None else len(buf) // _HASH
            raise LedgerCorrupt(
                f"tile {key[0]}/{key[1]} holds {have} hashes, node ({level}, {index}) needs "
                f"{offset + count}"
            )
        if count == 1:
            return bytes(buf[offset * _HASH : (offset + 1) * _HASH])
        internal = self.nodes.get(key)
        if internal is not None:
            at = _NODE_OFFSETS[level % 8] + (offset >> (level % 8))
            return internal[at * _HASH : (at + 1) * _HASH]
        return perfect_root(buf, offset, count)


def edge_tile_keys(size: int) -> list[tuple[TileKey, int]]:
    """The partial tiles on the right edge of a tree of ``size`` leaves, with their widths."""
    keys = []
    level = 0
    count = size
    while count > 0:
        width = count % TILE_WIDTH
        if width:
            keys.append(((level, count // TILE_WIDTH), width))
        count //= TILE_WIDTH
        level += 1
    return keys


class TransparencyLog:
    """One log: its origin, its signing key and a cache of full (immutable) tiles."""

    def __init__(self, *, origin: str, signer: Signer, cache_tiles: int = 4096) -> None:
        self.origin = origin
        self.signer = signer
        self._cache: dict[TileKey, tuple[bytes, bytes]] = {}
        self._cache_max = cache_tiles

    # -- setup ------------------------------------------------------------------------------

    async def initialise(self, session: AsyncSession) -> StoredCheckpoint:
        """Create the empty log and sign its size-0 checkpoint, or check the stored one's origin."""
        await self.lock(session)
        row = (await session.execute(select(State).where(State.c.id == _STATE_ID))).first()
        if row is not None:
            if row.origin != self.origin:
                raise LedgerError(
                    f"the database holds the log {row.origin!r}, settings say {self.origin!r} "
                    "(CORROBORATE_LOG_ORIGIN)"
                )
            latest = await self.latest_checkpoint(session)
            self._check_our_signature(latest.note)
            return latest
        now = datetime.now(UTC)
        note = sign_checkpoint(Checkpoint(self.origin, 0, merkle.EMPTY_ROOT), self.signer)
        await session.execute(
            insert(State).values(
                id=_STATE_ID, origin=self.origin, size=0, root_hash=merkle.EMPTY_ROOT
            )
        )
        await session.execute(
            insert(Checkpoints).values(
                size=0, root_hash=merkle.EMPTY_ROOT, note=note, signed_at=now
            )
        )
        return StoredCheckpoint(0, merkle.EMPTY_ROOT, note, now)

    def _check_our_signature(self, note: bytes) -> None:
        try:
            open_checkpoint(note, parse_vkey(self.signer.vkey), origin=self.origin)
        except ValueError as exc:
            raise LedgerError(
                f"the latest checkpoint is not signed by this log's key ({exc}); "
                "is CORROBORATE_DATA_DIR the one this database was created with?"
            ) from None

    # -- append -----------------------------------------------------------------------------

    async def lock(self, session: AsyncSession) -> None:
        """Take the log's write lock for the rest of the caller's transaction (re-entrant), so
        that reads made before an append see what the append will extend."""
        bind = session.get_bind()
        if bind.dialect.name == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
            )
        else:
            # Take SQLite's write lock before reading, so no other writer can interleave.
            await session.execute(
                update(State).where(State.c.id == _STATE_ID).values(size=State.c.size)
            )

    async def append(self, session: AsyncSession, entries: Sequence[tuple[str, bytes]]) -> Appended:
        """Append ``(kind, body)`` entries in the caller's transaction and sign a checkpoint."""
        if not entries:
            raise LedgerError("an append needs at least one entry")
        await self.lock(session)
        row = (await session.execute(select(State).where(State.c.id == _STATE_ID))).first()
        if row is None:
            raise LedgerError(
                "the log is not initialised: run `corroborate migrate` and start once"
            )
        if row.origin != self.origin:
            raise LedgerError(f"the database holds the log {row.origin!r}, not {self.origin!r}")
        old_size, old_root = int(row.size), bytes(row.root_hash)
        leaf_hash = merkle.leaf_hash
        hashes = [leaf_hash(body) for _, body in entries]
        await bulk_insert(
            session,
            "ledger_entry",
            ("idx", "kind", "body", "leaf_hash"),
            [
                (old_size + i, kind, body, h)
                for i, ((kind, body), h) in enumerate(zip(entries, hashes, strict=True))
            ],
        )
        tiles, existing = await self._load_edge(session, old_size)
        filled: dict[TileKey, bytes] = {}
        touched = self._grow_tiles(tiles, old_size, hashes, filled)
        new_size = old_size + len(entries)
        await self._write_tiles(session, tiles, touched, existing, filled)
        root = merkle.root_hash(new_size, TileReader(tiles, filled))
        if old_size:
            await self._check_consistent(session, tiles, filled, old_size, old_root, new_size, root)
        note = sign_checkpoint(Checkpoint(self.origin, new_size, root), self.signer)
        await session.execute(
            insert(Checkpoints).values(
                size=new_size, root_hash=root, note=note, signed_at=datetime.now(UTC)
            )
        )
        swapped = await session.execute(
            update(State)
            .where(State.c.id == _STATE_ID, State.c.size == old_size, State.c.root_hash == old_root)
            .values(size=new_size, root_hash=root)
        )
        if swapped.rowcount != 1:  # type: ignore[attr-defined]
            raise CheckpointConflict(f"the log moved on from size {old_size} during this append")
        await events.notify(session, events.CHECKPOINT, {"size": new_size})  # sent on commit
        return Appended(old_size, len(entries), new_size, root, note)

    async def _load_edge(
        self, session: AsyncSession, size: int
    ) -> tuple[dict[TileKey, bytes | bytearray], set[TileKey]]:
        want = edge_tile_keys(size)
        if not want:
            return {}, set()
        rows = await self._fetch_tiles(session, [key for key, _ in want])
        tiles: dict[TileKey, bytes | bytearray] = {}
        for key, width in want:
            buf = rows.get(key)
            if buf is None or len(buf) != width * _HASH:
                have = "missing" if buf is None else f"{len(buf) // _HASH} hashes"
                raise LedgerCorrupt(f"tile {key[0]}/{key[1]} should hold {width} hashes: {have}")
            tiles[key] = bytearray(buf)
        return tiles, set(tiles)

    @staticmethod
    def _grow_tiles(
        tiles: dict[TileKey, bytes | bytearray],
        old_size: int,
        new_hashes: list[bytes],
        filled: dict[TileKey, bytes],
    ) -> set[TileKey]:
        """Add leaf hashes to the tiles, promoting each tile that fills to the level above.

        ``filled`` receives the internal nodes of every tile this append completes.
        """
        touched: set[TileKey] = set()
        level, start, hashes = 0, old_size, new_hashes
        while hashes:
            promoted: list[bytes] = []
            position = start
            for h in hashes:
                tile_index, offset = divmod(position, TILE_WIDTH)
                key = (level, tile_index)
                buf = tiles.get(key)
                if buf is None:
                    buf = tiles[key] = bytearray()
                elif not isinstance(buf, bytearray):
                    buf = tiles[key] = bytearray(buf)
                buf += h
                touched.add(key)
                if offset == TILE_WIDTH - 1:
                    filled[key], root = tile_internal_nodes(buf)
                    promoted.append(root)
                position += 1
            level, start, hashes = level + 1, start // TILE_WIDTH, promoted
        return touched

    @staticmethod
    async def _write_tiles(
        session: AsyncSession,
        tiles: dict[TileKey, bytes | bytearray],
        touched: set[TileKey],
        existing: set[TileKey],
        filled: dict[TileKey, bytes],
    ) -> None:
        new_rows = [
            {"level": key[0], "idx": key[1], "hashes": bytes(tiles[key]), "nodes": filled.get(key)}
            for key in sorted(touched - existing)
        ]
        if new_rows:
            await session.execute(insert(Tiles), new_rows)
        for key in sorted(touched & existing):
            await session.execute(
                update(Tiles)
                .where(Tiles.c.level == key[0], Tiles.c.idx == key[1])
                .values(hashes=bytes(tiles[key]), nodes=filled.get(key))
            )

    async def _check_consistent(
        self,
        session: AsyncSession,
        tiles: dict[TileKey, bytes | bytearray],
        nodes: dict[TileKey, bytes],
        old_size: int,
        old_root: bytes,
        new_size: int,
        new_root: bytes,
    ) -> None:
        plan = merkle.consistency_proof_plan(old_size, new_size)
        missing = {
            tile_key_for_node(level, index)[0] for level, index in merkle.required_nodes(plan)
        } - set(tiles)
        nodes = dict(nodes)
        if missing:
            tiles.update(await self._fetch_tiles(session, sorted(missing), nodes))
        proof = merkle.consistency_proof(old_size, new_size, TileReader(tiles, nodes))
        try:
            merkle.verify_consistency(old_size, new_size, proof, old_root, new_root)
        except merkle.ProofError as exc:
            raise LedgerCorrupt(
                f"refusing to sign size {new_size}: not consistent with the signed size "
                f"{old_size} ({exc})"
            ) from None

    # -- reads ------------------------------------------------------------------------------

    async def _fetch_tiles(
        self,
        session: AsyncSession,
        keys: Iterable[TileKey],
        nodes: dict[TileKey, bytes] | None = None,
    ) -> dict[TileKey, bytes]:
        """Tiles by key from the database, in one query; ``nodes`` gets full tiles' internals."""
        wanted = list(dict.fromkeys(keys))
        found: dict[TileKey, bytes] = {}
        if not wanted:
            return found
        condition = or_(*(and_(Tiles.c.level == lv, Tiles.c.idx == ix) for lv, ix in wanted))
        connection = await session.connection()  # Core, not the ORM: a third of the cost
        rows = await connection.execute(
            select(Tiles.c.level, Tiles.c.idx, Tiles.c.hashes, Tiles.c.nodes).where(condition)
        )
        for level, index, hashes, internal in rows:
            key = (int(level), int(index))
            found[key] = bytes(hashes)
            if nodes is not None and internal is not None:
                nodes[key] = bytes(internal)
        return found

    async def _reader_for(
        self, session: AsyncSession, plans: Iterable[list[tuple[int, int]]]
    ) -> TileReader:
        """A reader for the nodes of ``plans``: cached tiles where they are long enough, else one
        query. A tile's first W hashes never change, so a cached prefix serves any proof that
        needs at most W of them; full tiles come with their stored internal nodes, partial ones
        get theirs computed once per width.
        """
        need: dict[TileKey, int] = {}
        for level, index in merkle.required_nodes(plans):
            key, offset, count = tile_key_for_node(level, index)
            need[key] = max(need.get(key, 0), offset + count)
        tiles: dict[TileKey, bytes | bytearray] = {}
        nodes: dict[TileKey, bytes] = {}
        missing = []
        for key, count in need.items():
            cached = self._cache.get(key)
            if cached is not None and len(cached[0]) >= count * _HASH:
                tiles[key], nodes[key] = cached
            else:
                missing.append(key)
        if missing:
            stored: dict[TileKey, bytes] = {}
            for key, buf in (await self._fetch_tiles(session, missing, stored)).items():
                internal = stored.get(key) if len(buf) == TILE_WIDTH * _HASH else None
                if internal is None:
                    internal = tile_nodes(buf)
                tiles[key], nodes[key] = buf, internal
                if len(self._cache) >= self._cache_max:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = (buf, internal)
        return TileReader(tiles, nodes)

    async def size(self, session: AsyncSession) -> int:
        row = (await session.execute(select(State.c.size).where(State.c.id == _STATE_ID))).first()
        return 0 if row is None else int(row[0])

    async def latest_checkpoint(self, session: AsyncSession) -> StoredCheckpoint:
        state = (await session.execute(select(State.c.size).where(State.c.id == _STATE_ID))).first()
        if state is None:
            raise LedgerError(
                "the log is not initialised: run `corroborate migrate` and start once"
            )
        return await self.checkpoint(session, int(state[0]))

    async def checkpoint(self, session: AsyncSession, size: int) -> StoredCheckpoint:
        row = (await session.execute(select(Checkpoints).where(Checkpoints.c.size == size))).first()
        if row is None:
            raise LedgerError(f"no checkpoint was signed at size {size}")
        cosigs = await session.execute(
            select(Cosignatures.c.signature_line)
            .where(Cosignatures.c.checkpoint_size == size)
            .order_by(Cosignatures.c.witness_name)
        )
        return StoredCheckpoint(
            int(row.size),
            bytes(row.root_hash),
            bytes(row.note),
            row.signed_at,
            tuple(line for (line,) in cosigs),
        )

    async def checkpoint_covering(self, session: AsyncSession, index: int) -> StoredCheckpoint:
        """The first checkpoint that covers leaf ``index`` (the one signed with its batch)."""
        row = (
            await session.execute(
                select(func.min(Checkpoints.c.size)).where(Checkpoints.c.size > index)
            )
        ).first()
        if row is None or row[0] is None:
            raise LedgerError(f"leaf {index} is not in the log")
        return await self.checkpoint(session, int(row[0]))

    async def entry(self, session: AsyncSession, index: int) -> tuple[str, bytes]:
        row = (
            await session.execute(
                select(Entries.c.kind, Entries.c.body).where(Entries.c.idx == index)
            )
        ).first()
        if row is None:
            raise LedgerError(f"leaf {index} is not in the log")
        return str(row.kind), bytes(row.body)

    async def entries(self, session: AsyncSession, start: int, end: int) -> list[bytes]:
        rows = await session.execute(
            select(Entries.c.body)
            .where(Entries.c.idx >= start, Entries.c.idx < end)
            .order_by(Entries.c.idx)
        )
        return [bytes(body) for (body,) in rows]

    async def tile(self, session: AsyncSession, level: int, index: int) -> bytes | None:
        found = await self._fetch_tiles(session, [(level, index)])
        return found.get((level, index))

    async def inclusion_proof(self, session: AsyncSession, index: int, size: int) -> list[bytes]:
        """The inclusion proof of leaf ``index`` in the tree of ``size`` leaves (one query).

        Tiles are written in the same transaction as the checkpoint, so they hold exactly the
        signed size: a size beyond it shows up as a short tile, and only then is the size read.
        """
        if not 0 <= index < size:
            raise LedgerError(f"expected 0 <= index < size, got index {index}, size {size}")
        plan = merkle.inclusion_proof_plan(index, size)
        try:
            return merkle.inclusion_proof(index, size, await self._reader_for(session, plan))
        except LedgerCorrupt:
            self._check_range(index, size, await self.size(session))
            raise

    async def inclusion_proofs(
        self, session: AsyncSession, indices: Sequence[int], size: int
    ) -> list[list[bytes]]:
        """Inclusion proofs of several leaves in the tree of ``size`` leaves, with one query for
        all the tiles they need (a page of figures costs one read, not one per figure)."""
        for index in indices:
            if not 0 <= index < size:
                raise LedgerError(f"expected 0 <= index < size, got index {index}, size {size}")
        plans = [merkle.inclusion_proof_plan(index, size) for index in indices]
        try:
            reader = await self._reader_for(session, [part for plan in plans for part in plan])
            return [merkle.inclusion_proof(index, size, reader) for index in indices]
        except LedgerCorrupt:
            for index in indices:
                self._check_range(index, size, await self.size(session))
            raise

    async def consistency_proof(self, session: AsyncSession, size1: int, size2: int) -> list[bytes]:
        if not 0 <= size1 <= size2:
            raise LedgerError(f"expected 0 <= size1 <= size2, got {size1} and {size2}")
        plan = merkle.consistency_proof_plan(size1, size2)
        try:
            return merkle.consistency_proof(size1, size2, await self._reader_for(session, plan))
        except LedgerCorrupt:
            current = await self.size(session)
            if size2 > current:
                raise LedgerError(
                    f"expected 0 <= size1 <= size2 <= {current}, got {size1} and {size2}"
                ) from None
            raise

    async def root_at(self, session: AsyncSession, size: int) -> bytes:
        return merkle.root_hash(size, await self._reader_for(session, [merkle.root_plan(size)]))

    @staticmethod
    def _check_range(index: int, size: int, current: int) -> None:
        if not 0 <= index < size <= current:
            raise LedgerError(
                f"expected 0 <= index < size <= {current}, got index {index}, size {size}"
            )

    # -- cosignatures -----------------------------------------------------------------------

    async def add_cosignature(
        self,
        session: AsyncSession,
        size: int,
        witness_name: str,
        key_id: bytes,
        timestamp: int,
        signature_line: str,
    ) -> None:
        """Store a cosignature line already verified by the caller (see ledger.witness_client)."""
        exists = await session.execute(
            select(Cosignatures.c.witness_name).where(
                Cosignatures.c.checkpoint_size == size, Cosignatures.c.witness_name == witness_name
            )
        )
        if exists.first() is not None:
            return
        await session.execute(
            insert(Cosignatures).values(
                checkpoint_size=size,
                witness_name=witness_name,
                key_id=key_id,
                timestamp=timestamp,
                signature_line=signature_line,
            )
        )
