"""The log in SQL, on SQLite and PostgreSQL: appends, tiles, proofs, checkpoints, audit."""

from __future__ import annotations

import itertools
import random

import pytest
from sqlalchemy import select, update

from ledger import merkle
from ledger.audit import audit_log
from ledger.checkpoint import open_checkpoint
from ledger.leaf import leaf_body
from ledger.note import parse_vkey
from ledger.store import Entries, LedgerCorrupt, Tiles
from service.runtime import Runtime
from tests.conftest import TEST_ORIGIN


async def append_many(runtime: Runtime, sizes: list[int], tag: str = "t") -> list[bytes]:
    bodies: list[bytes] = []
    for batch, size in enumerate(sizes):
        entries = [
            ("observation", leaf_body("observation", {"tag": tag, "batch": batch, "i": i}))
            for i in range(size)
        ]
        async with runtime.write_sessions() as session, session.begin():
            await runtime.log.append(session, entries)
        bodies.extend(body for _, body in entries)
    return bodies


async def test_appends_across_tile_boundaries_match_a_memory_tree(runtime: Runtime) -> None:
    bodies = await append_many(runtime, [1, 254, 1, 1, 300, 65_536 - 557, 5, 700])
    tree = merkle.MemoryTree(merkle.leaf_hash(b) for b in bodies)
    size = len(bodies)
    async with runtime.sessions() as session:
        latest = await runtime.log.latest_checkpoint(session)
        assert latest.size == size
        assert latest.root_hash == tree.root()
        for s in (1, 255, 256, 257, 65_536, 65_537, size):
            assert await runtime.log.root_at(session, s) == tree.root(s)
        rng = random.Random(7)
        for index in [0, 255, 256, 65_535, 65_536, size - 1, *rng.sample(range(size), 20)]:
            proof = await runtime.log.inclusion_proof(session, index, size)
            assert proof == tree.inclusion_proof(index, size)
            merkle.verify_inclusion(
                merkle.leaf_hash(bodies[index]), index, size, proof, tree.root()
            )
        for old in (1, 2, 255, 256, 511, 65_536, size - 1):
            proof = await runtime.log.consistency_proof(session, old, size)
            assert proof == tree.consistency_proof(old, size)
            merkle.verify_consistency(old, size, proof, tree.root(old), tree.root())


async def test_every_checkpoint_is_signed_and_consistent_with_the_previous(
    runtime: Runtime,
) -> None:
    await append_many(runtime, [3, 1, 500, 2])
    verifier = parse_vkey(runtime.signer.vkey)
    async with runtime.sessions() as session:
        sizes = [0, 3, 4, 504, 506]
        roots = []
        for size in sizes:
            stored = await runtime.log.checkpoint(session, size)
            opened = open_checkpoint(stored.note, verifier, origin=TEST_ORIGIN)
            assert opened.checkpoint.size == size
            roots.append(opened.checkpoint.root_hash)
        for (s1, r1), (s2, r2) in itertools.pairwise(zip(sizes, roots, strict=True)):
            if s1:
                proof = await runtime.log.consistency_proof(session, s1, s2)
                merkle.verify_consistency(s1, s2, proof, r1, r2)


async def test_sequencer_batches_concurrent_appends(runtime: Runtime) -> None:
    import asyncio

    receipts = await asyncio.gather(
        *(runtime.sequencer.append("observation", {"n": n}) for n in range(300))
    )
    assert sorted(r.index for r in receipts) == list(range(300))
    async with runtime.sessions() as session:
        latest = await runtime.log.latest_checkpoint(session)
        checkpoints = await session.execute(select(Entries.c.idx))
        assert len(list(checkpoints)) == 300
    assert latest.size == 300
    assert all(r.size >= r.index + 1 for r in receipts)
    assert len({r.size for r in receipts}) < 300, "appends should share batches"


async def test_refuses_to_sign_when_stored_tiles_disagree_with_the_signed_root(
    runtime: Runtime,
) -> None:
    await append_many(runtime, [300])
    async with runtime.write_sessions() as session, session.begin():
        await session.execute(
            update(Tiles)
            .where(Tiles.c.level == 0, Tiles.c.idx == 1)
            .values(hashes=b"\x00" * 44 * 32)
        )
    with pytest.raises(LedgerCorrupt, match="not consistent with the signed size 300"):
        await append_many(runtime, [1])
    async with runtime.sessions() as session:
        assert await runtime.log.size(session) == 300
        rows = await session.execute(select(Entries.c.idx).where(Entries.c.idx >= 300))
        assert rows.first() is None, "a refused append leaves no entry behind"


async def test_audit_is_clean_then_finds_a_tampered_entry(runtime: Runtime) -> None:
    await append_many(runtime, [600, 10])
    async with runtime.sessions() as session:
        report = await audit_log(session, origin=TEST_ORIGIN, vkey=runtime.signer.vkey)
    assert report.ok, report.problems
    assert report.entries_checked == 610 and report.checkpoints_checked == 3

    async with runtime.write_sessions() as session, session.begin():
        await session.execute(
            update(Entries)
            .where(Entries.c.idx == 417)
            .values(body=b"corroborate/observation/v1\n{}")
        )
    async with runtime.sessions() as session:
        report = await audit_log(session, origin=TEST_ORIGIN, vkey=runtime.signer.vkey)
    assert not report.ok
    assert report.first_bad_index == 417


async def test_audit_finds_an_entry_tampered_with_its_leaf_hash(runtime: Runtime) -> None:
    await append_many(runtime, [600])
    body = b'corroborate/observation/v1\n{"forged":true}'
    async with runtime.write_sessions() as session, session.begin():
        await session.execute(
            update(Entries)
            .where(Entries.c.idx == 300)
            .values(body=body, leaf_hash=merkle.leaf_hash(body))
        )
    async with runtime.sessions() as session:
        report = await audit_log(session, origin=TEST_ORIGIN, vkey=runtime.signer.vkey)
    assert not report.ok
    assert report.first_bad_index == 300


async def test_proofs_outside_the_log_are_refused(runtime: Runtime) -> None:
    from ledger.store import LedgerError

    await append_many(runtime, [5])
    async with runtime.sessions() as session:
        with pytest.raises(LedgerError, match="expected 0 <= index < size"):
            await runtime.log.inclusion_proof(session, 5, 5)
        with pytest.raises(LedgerError, match="expected 0 <= size1 <= size2 <= 5"):
            await runtime.log.consistency_proof(session, 2, 9)
