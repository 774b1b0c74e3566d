"""Recompute the whole log from its stored entries and compare with what is stored and signed.

Catches a tampered entry body (its leaf hash no longer matches the tiles), a tampered tile, a
stored checkpoint whose root the entries do not give, and a checkpoint not signed by the log key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import merkle
from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.note import parse_vkey
from ledger.store import (
    TILE_WIDTH,
    Checkpoints,
    Entries,
    State,
    TileReader,
    Tiles,
    perfect_root,
    tile_internal_nodes,
)

_HASH = merkle.HASH_SIZE


@dataclass
class AuditReport:
    size: int
    entries_checked: int = 0
    tiles_checked: int = 0
    checkpoints_checked: int = 0
    first_bad_index: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, message: str, index: int | None = None) -> None:
        """Record a problem; the first index named is kept (callers check lowest levels first)."""
        self.problems.append(message)
        if index is not None and self.first_bad_index is None:
            self.first_bad_index = index


async def audit_log(
    session: AsyncSession, *, origin: str, vkey: str, chunk: int = 16 * TILE_WIDTH
) -> AuditReport:
    """Audit every entry, tile and checkpoint of the log; stops collecting after 20 problems."""
    state = (await session.execute(select(State))).first()
    if state is None:
        report = AuditReport(size=0)
        report.fail("the log is not initialised")
        return report
    size = int(state.size)
    report = AuditReport(size=size)
    levels: list[bytearray] = [bytearray()]
    start = 0
    while start < size and len(report.problems) < 20:
        rows = await session.execute(
            select(Entries.c.idx, Entries.c.body, Entries.c.leaf_hash)
            .where(Entries.c.idx >= start, Entries.c.idx < min(size, start + chunk))
            .order_by(Entries.c.idx)
        )
        expected = start
        for idx, body, stored_hash in rows:
            if idx != expected:
                report.fail(f"entry {expected} is missing (next stored is {idx})", expected)
                break
            computed = merkle.leaf_hash(bytes(body))
            if computed != bytes(stored_hash):
                report.fail(f"entry {idx}: its body does not hash to its stored leaf hash", idx)
            levels[0] += computed
            expected += 1
            report.entries_checked += 1
        if expected != min(size, start + chunk):
            if not report.problems:
                report.fail(f"entry {expected} is missing", expected)
            break
        start = expected
    if report.problems:
        return report
    # Build the upper levels from the recomputed leaf hashes.
    level = 0
    while len(levels[level]) // _HASH >= TILE_WIDTH:
        below = levels[level]
        levels.append(
            bytearray(
                b"".join(
                    perfect_root(below, t * TILE_WIDTH, TILE_WIDTH)
                    for t in range(len(below) // _HASH // TILE_WIDTH)
                )
            )
        )
        level += 1
    computed_tiles: dict[tuple[int, int], bytes] = {}
    for lv, hashes in enumerate(levels):
        count = len(hashes) // _HASH
        for t in range((count + TILE_WIDTH - 1) // TILE_WIDTH):
            computed_tiles[(lv, t)] = bytes(
                hashes[t * TILE_WIDTH * _HASH : (t + 1) * TILE_WIDTH * _HASH]
            )
    stored_tiles: dict[tuple[int, int], bytes] = {}
    stored_nodes: dict[tuple[int, int], bytes | None] = {}
    for lv, ix, h, internal in await session.execute(
        select(Tiles.c.level, Tiles.c.idx, Tiles.c.hashes, Tiles.c.nodes)
    ):
        stored_tiles[(int(lv), int(ix))] = bytes(h)
        stored_nodes[(int(lv), int(ix))] = None if internal is None else bytes(internal)
    for key in sorted(set(computed_tiles) | set(stored_tiles)):
        report.tiles_checked += 1
        want, have = computed_tiles.get(key), stored_tiles.get(key)
        if want == have:
            if want is not None and len(want) == TILE_WIDTH * _HASH:
                internal = stored_nodes.get(key)
                if internal != tile_internal_nodes(want)[0]:
                    report.fail(f"tile {key[0]}/{key[1]}: its stored internal nodes are wrong")
            continue
        covered = TILE_WIDTH ** (key[0] + 1)
        first_leaf = key[1] * covered
        if want is not None and have is not None:
            for i in range(min(len(want), len(have)) // _HASH):
                if want[i * _HASH : (i + 1) * _HASH] != have[i * _HASH : (i + 1) * _HASH]:
                    first_leaf += i * TILE_WIDTH ** key[0]
                    break
        report.fail(
            f"tile {key[0]}/{key[1]} does not match the entries "
            f"(first leaf affected: {first_leaf})",
            first_leaf if first_leaf < size else None,
        )
    reader = TileReader(dict(computed_tiles))
    verifier = parse_vkey(vkey)
    root = merkle.root_hash(size, reader)
    if root != bytes(state.root_hash):
        report.fail(f"the stored latest root does not match the entries at size {size}")
    for cp_size, cp_root, note in await session.execute(
        select(Checkpoints.c.size, Checkpoints.c.root_hash, Checkpoints.c.note).order_by(
            Checkpoints.c.size
        )
    ):
        report.checkpoints_checked += 1
        try:
            opened = open_checkpoint(bytes(note), verifier, origin=origin)
        except ValueError as exc:
            report.fail(f"checkpoint at size {cp_size} does not verify: {exc}")
            continue
        cp: Checkpoint = opened.checkpoint
        if cp.size != cp_size or cp.root_hash != bytes(cp_root):
            report.fail(f"checkpoint at size {cp_size}: its note and its row disagree")
        if cp_size > size:
            report.fail(f"checkpoint at size {cp_size} is beyond the log's size {size}")
        elif merkle.root_hash(cp_size, reader) != cp.root_hash:
            report.fail(f"checkpoint at size {cp_size}: the entries give another root")
    return report
