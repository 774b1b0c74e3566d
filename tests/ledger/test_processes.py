"""Real OS processes: two appenders on one database, and an appender killed with SIGKILL."""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import sys
import time
from pathlib import Path

from ledger import merkle
from ledger.audit import audit_log
from ledger.checkpoint import open_checkpoint
from ledger.note import parse_vkey
from tests.conftest import TEST_ORIGIN
from tests.helpers import ROOT, cli_env, run_cli


def _appender(url: str, data_dir: Path, batches: int, size: int, tag: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.ledger.appender",
            url,
            str(data_dir),
            TEST_ORIGIN,
            str(batches),
            str(size),
            tag,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_two_processes_appending_at_once_grow_one_consistent_log(
    db_url: str, tmp_path: Path
) -> None:
    from service.runtime import open_runtime
    from service.settings import load_settings

    settings = load_settings(database_url=db_url, data_dir=tmp_path, log_origin=TEST_ORIGIN)
    runtime = await open_runtime(settings)  # creates the key both processes share
    try:
        first = _appender(db_url, tmp_path, 15, 200, "a")
        second = _appender(db_url, tmp_path, 15, 200, "b")
        for process in (first, second):
            _out, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
        verifier = parse_vkey(runtime.signer.vkey)
        async with runtime.sessions() as session:
            latest = await runtime.log.latest_checkpoint(session)
            assert latest.size == 6000
            report = await audit_log(session, origin=TEST_ORIGIN, vkey=runtime.signer.vkey)
            assert report.ok, report.problems
            assert report.checkpoints_checked == 31  # size 0 and one per batch
            bodies = await runtime.log.entries(session, 0, 6000)
            tags = [b'"tag":"a"' in body for body in bodies]
            assert 0 < sum(tags) < 6000
            transitions = sum(1 for x, y in itertools.pairwise(tags) if x != y)
            assert transitions >= 1, "batches of both processes are in the log"
            previous = None
            for size in range(0, 6001, 200):
                stored = await runtime.log.checkpoint(session, size)
                opened = open_checkpoint(stored.note, verifier, origin=TEST_ORIGIN)
                if previous is not None and previous[0] > 0:
                    proof = await runtime.log.consistency_proof(session, previous[0], size)
                    merkle.verify_consistency(
                        previous[0], size, proof, previous[1], opened.checkpoint.root_hash
                    )
                previous = (size, opened.checkpoint.root_hash)
    finally:
        await runtime.close()


def test_appender_killed_mid_batch_leaves_a_clean_consistent_log(
    db_url: str, tmp_path: Path
) -> None:
    env = cli_env(database_url=db_url, data_dir=str(tmp_path), log_origin=TEST_ORIGIN)
    small = _appender(db_url, tmp_path, 2, 1000, "before")
    assert small.wait(timeout=120) == 0
    before = run_cli("ledger", "checkpoint", env=env)
    assert before.returncode == 0 and "\n2000\n" in before.stdout

    big = _appender(db_url, tmp_path, 1, 1_000_000, "doomed")
    assert big.stdout is not None
    assert big.stdout.readline().strip() == "started"
    time.sleep(0.5)  # well inside the batch: a million leaves take seconds to write
    big.send_signal(signal.SIGKILL)
    big.wait(timeout=30)
    assert big.returncode == -signal.SIGKILL

    audit = run_cli("ledger", "audit", env=env)
    assert audit.returncode == 0, audit.stderr
    assert "size 2000" in audit.stdout
    after = _appender(db_url, tmp_path, 1, 10, "after")
    assert after.wait(timeout=120) == 0, after.stderr.read() if after.stderr else ""
    checkpoint = run_cli("ledger", "checkpoint", env=env)
    assert "\n2010\n" in checkpoint.stdout
    assert run_cli("ledger", "audit", env=env).returncode == 0
    asyncio.run(_assert_consistent(db_url, tmp_path, before.stdout.encode(), 2010))


async def _assert_consistent(db_url: str, data_dir: Path, old_note: bytes, new_size: int) -> None:
    """The checkpoint at ``new_size`` extends ``old_note`` (a proof the maths accepts)."""
    from service.runtime import open_runtime
    from service.settings import load_settings

    runtime = await open_runtime(
        load_settings(database_url=db_url, data_dir=data_dir, log_origin=TEST_ORIGIN)
    )
    try:
        verifier = parse_vkey(runtime.signer.vkey)
        old = open_checkpoint(old_note, verifier, origin=TEST_ORIGIN).checkpoint
        async with runtime.sessions() as session:
            new = await runtime.log.latest_checkpoint(session)
            proof = await runtime.log.consistency_proof(session, old.size, new.size)
        assert new.size == new_size
        merkle.verify_consistency(old.size, new.size, proof, old.root_hash, new.root_hash)
    finally:
        await runtime.close()
