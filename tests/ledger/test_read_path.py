"""The CDN read path (/checkpoint, /tile/…), the export to files, and offline verification."""

from __future__ import annotations

from pathlib import Path

import httpx

from ledger import merkle
from ledger.export import export_log
from ledger.provenance import proof_bundle_text
from ledger.tilepath import decode_entry_bundle, tiles_for_size
from service.runtime import Runtime
from tests.helpers import cli_env, run_cli
from tests.ledger.test_store import append_many


async def test_tiles_and_entries_served_with_spec_paths_and_caching(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    bodies = await append_many(runtime, [300])
    tree = merkle.MemoryTree(merkle.leaf_hash(b) for b in bodies)
    checkpoint = await client.get("/checkpoint")
    assert checkpoint.status_code == 200
    assert checkpoint.headers["cache-control"] == "no-cache"
    assert checkpoint.headers["content-type"].startswith("text/plain")
    assert checkpoint.text.startswith("test.corroborate.example/log\n300\n")

    full = await client.get("/tile/0/000")
    assert full.status_code == 200
    assert "immutable" in full.headers["cache-control"]
    assert full.content == b"".join(tree.node(0, i) for i in range(256))
    partial = await client.get("/tile/0/001.p/44")
    assert partial.content == b"".join(tree.node(0, i) for i in range(256, 300))
    assert partial.headers["cache-control"] == "no-cache"
    level1 = await client.get("/tile/1/000.p/1")
    assert level1.content == tree.node(8, 0)
    entries = await client.get("/tile/entries/000")
    assert decode_entry_bundle(entries.content) == bodies[:256]
    assert (await client.get("/tile/entries/001.p/44")).status_code == 200

    assert (await client.get("/tile/0/001")).status_code == 404  # not full yet
    assert (await client.get("/tile/0/001.p/45")).status_code == 404
    assert (await client.get("/tile/entries/001.p/45")).status_code == 404
    bad = await client.get("/tile/0/01")
    assert bad.status_code == 400 and "bad tile path" in bad.text


async def test_export_writes_the_files_the_api_serves(
    runtime: Runtime, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await append_many(runtime, [70_000])
    async with runtime.sessions() as session:
        result = await export_log(session, runtime.log, tmp_path)
    assert result.size == 70_000
    for tile in tiles_for_size(70_000, entries=True):
        served = await client.get("/" + tile.path)
        assert served.status_code == 200, tile.path
        assert (tmp_path / tile.path).read_bytes() == served.content
    assert (tmp_path / "checkpoint").read_bytes() == (await client.get("/checkpoint")).content
    async with runtime.sessions() as session:
        again = await export_log(session, runtime.log, tmp_path)
    assert again.files == 1  # only the checkpoint is rewritten


async def test_proof_bundle_verifies_offline_with_the_cli(runtime: Runtime, tmp_path: Path) -> None:
    bodies = await append_many(runtime, [40])
    async with runtime.sessions() as session:
        bundle = await proof_bundle_text(session, runtime.log, 17)
    proof_file = tmp_path / "leaf.tlog-proof"
    proof_file.write_text(bundle)
    leaf_file = tmp_path / "leaf.bin"
    leaf_file.write_bytes(bodies[17])
    vkey_file = tmp_path / "log.vkey"
    vkey_file.write_text(runtime.signer.vkey + "\n")
    env = cli_env()

    ok = run_cli(
        "verify", str(proof_file), "--leaf", str(leaf_file), "--vkey", str(vkey_file), env=env
    )
    assert ok.returncode == 0, ok.stderr
    assert "leaf 17" in ok.stdout

    leaf_file.write_bytes(bodies[18])
    wrong = run_cli(
        "verify", str(proof_file), "--leaf", str(leaf_file), "--vkey", runtime.signer.vkey, env=env
    )
    assert wrong.returncode == 1
    assert len(wrong.stderr.strip().splitlines()) == 1

    leaf_file.write_bytes(bodies[17])
    few = run_cli(
        "verify",
        str(proof_file),
        "--leaf",
        str(leaf_file),
        "--vkey",
        runtime.signer.vkey,
        "--min-witnesses",
        "1",
        env=env,
    )
    assert few.returncode == 1


async def test_verify_cli_bad_inputs_fail_with_one_line(runtime: Runtime, tmp_path: Path) -> None:
    tmp_path = tmp_path / "files"
    tmp_path.mkdir()
    bodies = await append_many(runtime, [9])
    async with runtime.sessions() as session:
        bundle = await proof_bundle_text(session, runtime.log, 3)
    good_proof = tmp_path / "good.tlog-proof"
    good_proof.write_text(bundle)
    leaf = tmp_path / "leaf.bin"
    leaf.write_bytes(bodies[3])
    cases: dict[str, tuple[bytes | None, str, str]] = {
        "truncated": (bundle.encode()[: len(bundle) // 2], runtime.signer.vkey, ""),
        "oversized": (
            b"c2sp.org/tlog-proof@v1\n" + b"A" * (2 << 20),
            runtime.signer.vkey,
            "expected at most 1048576",
        ),
        "garbage": (b"\x00\xff not a proof", runtime.signer.vkey, "header"),
        "bad vkey": (None, "not+a+vkey", "vkey"),
        "wrong origin": (None, "other.example/log+01234567+AQ" + "A" * 42, ""),
        "missing file": (b"", runtime.signer.vkey, ""),
    }
    env = cli_env()
    for name, (content, vkey, expected) in cases.items():
        proof = good_proof
        if content is not None:
            proof = tmp_path / f"{name}.tlog-proof"
            if name != "missing file":
                proof.write_bytes(content)
        result = run_cli("verify", str(proof), "--leaf", str(leaf), "--vkey", vkey, env=env)
        assert result.returncode != 0, name
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, (name, result.stderr)
        assert expected in lines[0], (name, lines[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            "good.tlog-proof",
            "leaf.bin",
            "truncated.tlog-proof",
            "oversized.tlog-proof",
            "garbage.tlog-proof",
        ]
    ), "verification writes nothing"
