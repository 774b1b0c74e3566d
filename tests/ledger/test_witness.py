"""The witness (c2sp.org/tlog-witness) and the log's client for it: every status code, no forks.

The witness is exercised through real HTTP on its ASGI app with real signatures over checkpoints of
an in-memory tree; the client runs against the log of the ``runtime`` fixture (SQLite, and
PostgreSQL when configured), in process and against a ``corroborate witness serve`` process.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ledger import note
from ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from ledger.merkle import EMPTY_ROOT, MemoryTree, leaf_hash
from ledger.witness import (
    KEY_FILE,
    MAX_BODY_BYTES,
    SIZE_CONTENT_TYPE,
    STATE_FILE,
    SizeConflictError,
    TreeHead,
    WitnessConfigError,
    WitnessState,
    create_witness_app,
    witness_signer,
)
from ledger.witness_client import WitnessClientError, request_body, request_cosignature
from service.runtime import Runtime
from tests.helpers import cli_env, free_port, run_cli, serving

ORIGIN = "log.example/test"
WITNESS = "witness.example/w1"
LOG_SIGNER = note.generate_signer(ORIGIN)
OTHER_SIGNER = note.generate_signer(ORIGIN)  # same name, different key


def _tree(count: int, tag: bytes = b"a") -> MemoryTree:
    return MemoryTree(leaf_hash(tag + b"%d" % i) for i in range(count))


TREE = _tree(20)
FORK = _tree(20, b"b")  # a different log history under the same origin


def _note(
    size: int, tree: MemoryTree = TREE, signer: note.Signer = LOG_SIGNER, origin: str = ORIGIN
) -> bytes:
    return sign_checkpoint(Checkpoint(origin, size, tree.root(size)), signer)


def _body(
    old: int,
    size: int,
    tree: MemoryTree = TREE,
    signer: note.Signer = LOG_SIGNER,
    origin: str = ORIGIN,
) -> bytes:
    """An add-checkpoint body with the right proof from ``old`` (none from 0 or to itself)."""
    proof = [] if old in (0, size) else tree.consistency_proof(old, size)
    return request_body(old, proof, _note(size, tree, signer, origin))


@pytest.fixture
def witness_dir(tmp_path: Path) -> Path:
    return tmp_path / "witness"


async def _client(directory: Path, logs: list[str] | None = None) -> httpx.AsyncClient:
    app = create_witness_app(directory, WITNESS, logs or [LOG_SIGNER.vkey])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://witness")


@pytest.fixture
async def http(witness_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(witness_dir) as client:
        yield client


async def _add(http: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await http.post("/add-checkpoint", content=body)


def _witness_verifier(directory: Path) -> note.Verifier:
    return witness_signer(directory, WITNESS).verifier


def _stored(directory: Path) -> dict[str, TreeHead]:
    return WitnessState(directory).read()


# -- 200 ---------------------------------------------------------------------------------------


async def test_first_checkpoint_from_old_zero_is_cosigned(http, witness_dir):
    before = int(time.time())
    response = await _add(http, _body(0, 5))
    after = int(time.time())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.content.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 2
    assert lines[0].startswith("— witness.example/w1 ".encode())
    opened = open_checkpoint(
        _note(5) + response.content,
        LOG_SIGNER.verifier,
        witnesses=[_witness_verifier(witness_dir)],
        min_witnesses=1,
    )
    assert opened.checkpoint.size == 5
    (cosignature,) = opened.cosignatures
    assert cosignature.verifier.kind == "cosignature"
    assert cosignature.timestamp is not None and before <= cosignature.timestamp <= after
    assert _stored(witness_dir) == {ORIGIN: TreeHead(5, TREE.root(5))}


async def test_consistent_extension_is_cosigned(http, witness_dir):
    assert (await _add(http, _body(0, 3))).status_code == 200
    response = await _add(http, _body(3, 13))
    assert response.status_code == 200, response.text
    open_checkpoint(
        _note(13) + response.content,
        LOG_SIGNER.verifier,
        witnesses=[_witness_verifier(witness_dir)],
        min_witnesses=1,
    )
    assert (await _add(http, _body(13, 20))).status_code == 200
    assert _stored(witness_dir)[ORIGIN] == TreeHead(20, TREE.root(20))


async def test_same_checkpoint_again_is_cosigned_again(http):
    assert (await _add(http, _body(0, 4))).status_code == 200
    assert (await _add(http, _body(4, 4))).status_code == 200


async def test_empty_tree_is_cosigned_then_extended(http, witness_dir):
    assert (await _add(http, _body(0, 0))).status_code == 200
    assert _stored(witness_dir)[ORIGIN] == TreeHead(0, EMPTY_ROOT)
    assert (await _add(http, _body(0, 2))).status_code == 200


async def test_checkpoint_with_other_signatures_is_cosigned(http):
    unknown = note.generate_signer("someone.else/key")
    signed = note.add_signatures(_note(6), unknown)
    assert (await _add(http, request_body(0, [], signed))).status_code == 200


# -- 409 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("old", [0, 3, 7])
async def test_stale_old_size_gets_409_with_the_cosigned_size(http, old):
    assert (await _add(http, _body(0, 5))).status_code == 200
    response = await _add(http, _body(old, 9))
    assert response.status_code == 409
    assert response.headers["content-type"] == SIZE_CONTENT_TYPE
    assert response.content == b"5\n"


async def test_never_cosigned_log_reports_size_zero(http):
    response = await _add(http, _body(4, 9))
    assert response.status_code == 409
    assert response.content == b"0\n"


# -- 422 ---------------------------------------------------------------------------------------


async def test_bad_consistency_proof_is_422_and_changes_nothing(http, witness_dir):
    assert (await _add(http, _body(0, 3))).status_code == 200
    proof = TREE.consistency_proof(3, 9)
    proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    response = await _add(http, request_body(3, proof, _note(9)))
    assert response.status_code == 422
    assert "does not verify" in response.text
    short = await _add(http, request_body(3, TREE.consistency_proof(3, 9)[:-1], _note(9)))
    assert short.status_code == 422
    assert _stored(witness_dir)[ORIGIN] == TreeHead(3, TREE.root(3))
    assert (await _add(http, _body(3, 9))).status_code == 200


async def test_proof_lines_from_old_zero_are_422(http):
    response = await _add(http, request_body(0, [TREE.root(2)], _note(5)))
    assert response.status_code == 422


# -- 403, 404 ----------------------------------------------------------------------------------


async def test_checkpoint_signed_by_another_key_is_403(http, witness_dir):
    response = await _add(http, _body(0, 5, signer=OTHER_SIGNER))
    assert response.status_code == 403
    assert not _stored(witness_dir)


async def test_checkpoint_with_broken_log_signature_is_403(http):
    signed = bytearray(_note(5))
    signed[-10] = ord("A") if signed[-10] != ord("A") else ord("B")
    response = await _add(http, request_body(0, [], bytes(signed)))
    assert response.status_code == 403


async def test_unknown_origin_is_404(http):
    stranger = note.generate_signer("unknown.example/log")
    response = await _add(http, _body(0, 5, signer=stranger, origin=stranger.name))
    assert response.status_code == 404


# -- 400, 405, 413 -----------------------------------------------------------------------------

NOTE5 = _note(5)
HASH64 = base64.b64encode(TREE.root(1))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"old 0\n" + NOTE5, id="no-empty-line"),
        pytest.param(b"old 01\n\n" + NOTE5, id="leading-zero"),
        pytest.param(b"old -1\n\n" + NOTE5, id="negative"),
        pytest.param(b"old  0\n\n" + NOTE5, id="two-spaces"),
        pytest.param(b"new 0\n\n" + NOTE5, id="not-old"),
        pytest.param(b"old 99999999999999999999\n\n" + NOTE5, id="too-large"),
        pytest.param(b"\n\n" + NOTE5, id="no-old-line"),
        pytest.param(b"old 0\nnot base64!\n\n" + NOTE5, id="proof-not-base64"),
        pytest.param(b"old 0\n" + HASH64[:-4] + b"\n\n" + NOTE5, id="proof-short-hash"),
        pytest.param(b"old 0\n" + HASH64 * 2 + b"\n\n" + NOTE5, id="proof-long-hash"),
        pytest.param(b"old 4\n" + (HASH64 + b"\n") * 64 + b"\n" + NOTE5, id="64-proof-lines"),
        pytest.param(b"old 0\n\n" + NOTE5.replace(b"\n\n", b"\n"), id="note-unsigned"),
        pytest.param(b"old 0\n\n" + NOTE5[:-1], id="note-no-final-newline"),
        pytest.param(
            b"old 0\n\n" + note.sign_note(f"{ORIGIN}\nfive\nAAAA\n".encode(), LOG_SIGNER),
            id="checkpoint-bad-size",
        ),
        pytest.param(
            b"old 0\n\n" + note.sign_note(f"{ORIGIN}\n5\n".encode(), LOG_SIGNER),
            id="checkpoint-no-root",
        ),
    ],
)
async def test_malformed_body_is_400(http, witness_dir, body):
    response = await _add(http, body)
    assert response.status_code == 400, response.text
    assert not _stored(witness_dir)


async def test_old_size_larger_than_checkpoint_is_400(http):
    assert (await _add(http, _body(0, 5))).status_code == 200
    response = await _add(http, request_body(9, [], _note(5)))
    assert response.status_code == 400
    assert "larger than the checkpoint size" in response.text


async def test_oversized_body_is_413(http):
    response = await _add(http, b"old 0\n\n" + b"x" * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413


async def test_get_add_checkpoint_is_405_and_root_names_the_witness(http, witness_dir):
    assert (await http.get("/add-checkpoint")).status_code == 405
    info = await http.get("/")
    assert info.status_code == 200
    assert _witness_verifier(witness_dir).vkey in info.text
    assert f"log {ORIGIN}" in info.text


# -- never cosign a rollback or a fork ---------------------------------------------------------


async def test_fork_or_rollback_is_never_cosigned(http, witness_dir):
    assert (await _add(http, _body(0, 8))).status_code == 200
    attempts = {
        "other root at the cosigned size": _body(8, 8, FORK),
        "other root at the cosigned size, from 0": _body(0, 8, FORK),
        "smaller size, claiming old 8": request_body(8, [], _note(5)),
        "smaller size, from its own size": _body(5, 5),
        "smaller size, from 0": _body(0, 5),
        "fork grown from the fork's own history": _body(8, 14, FORK),
        "fork from 0": _body(0, 14, FORK),
    }
    for what, body in attempts.items():
        response = await _add(http, body)
        assert response.status_code in (400, 409, 422), what
    same_size = await _add(http, _body(8, 8, FORK))
    assert (same_size.status_code, same_size.content) == (409, b"8\n")
    assert _stored(witness_dir)[ORIGIN] == TreeHead(8, TREE.root(8))
    assert (await _add(http, _body(8, 14))).status_code == 200


async def test_concurrent_requests_from_one_size_cosign_only_one(http, witness_dir):
    assert (await _add(http, _body(0, 4))).status_code == 200
    sizes = [6, 9, 12, 15, 18]
    responses = await asyncio.gather(*(_add(http, _body(4, size)) for size in sizes))
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 1 and codes.count(409) == len(sizes) - 1, codes
    winner = sizes[codes.index(200)]
    assert _stored(witness_dir)[ORIGIN].size == winner
    assert all(r.content == b"%d\n" % winner for r in responses if r.status_code == 409)


async def test_two_states_on_one_directory_cannot_fork(witness_dir):
    witness_signer(witness_dir, WITNESS)
    first, second = WitnessState(witness_dir), WitnessState(witness_dir)
    await first.advance(ORIGIN, 0, TreeHead(5, TREE.root(5)), [])
    with pytest.raises(SizeConflictError, match="not the size last cosigned, 5"):
        await second.advance(ORIGIN, 0, TreeHead(5, FORK.root(5)), [])
    assert second.read()[ORIGIN] == TreeHead(5, TREE.root(5))


# -- persistence and keys ----------------------------------------------------------------------


async def test_state_survives_a_restart(witness_dir):
    async with await _client(witness_dir) as first:
        assert (await _add(first, _body(0, 7))).status_code == 200
    vkey = _witness_verifier(witness_dir).vkey
    async with await _client(witness_dir) as second:
        stale = await _add(second, _body(0, 9))
        assert (stale.status_code, stale.content) == (409, b"7\n")
        response = await _add(second, _body(7, 9))
        assert response.status_code == 200
        assert vkey in (await second.get("/")).text
    state = json.loads((witness_dir / STATE_FILE).read_text())
    assert state["logs"][ORIGIN] == {
        "size": 9,
        "root_hash": base64.b64encode(TREE.root(9)).decode(),
    }


def test_witness_key_is_created_0600_and_reused(witness_dir):
    signer = witness_signer(witness_dir, WITNESS)
    path = witness_dir / KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert signer.kind == "cosignature"
    assert note.parse_vkey(signer.vkey).kind == "cosignature"
    assert witness_signer(witness_dir, WITNESS).vkey == signer.vkey


def test_witness_key_readable_by_others_is_refused(witness_dir):
    witness_signer(witness_dir, WITNESS)
    os.chmod(witness_dir / KEY_FILE, 0o640)
    with pytest.raises(WitnessConfigError, match="readable by others"):
        witness_signer(witness_dir, WITNESS)


def test_witness_key_of_another_name_is_refused(witness_dir):
    witness_signer(witness_dir, WITNESS)
    with pytest.raises(WitnessConfigError, match=re.escape("witness.example/w2")):
        witness_signer(witness_dir, "witness.example/w2")


def test_log_key_file_and_bad_log_keys(witness_dir, tmp_path):
    vkey_file = tmp_path / "log.vkey"
    vkey_file.write_text(LOG_SIGNER.vkey + "\n")
    create_witness_app(witness_dir, WITNESS, [str(vkey_file)])
    with pytest.raises(WitnessConfigError, match="neither a readable file nor a valid vkey"):
        create_witness_app(witness_dir, WITNESS, ["not-a-vkey"])
    cosigner = note.generate_signer("a.example/w", kind="cosignature")
    with pytest.raises(WitnessConfigError, match="cosigner key"):
        create_witness_app(witness_dir, WITNESS, [cosigner.vkey])


def test_corrupt_state_stops_the_start(witness_dir):
    witness_signer(witness_dir, WITNESS)
    (witness_dir / STATE_FILE).write_text("{not json")
    with pytest.raises(WitnessConfigError, match="not JSON"):
        create_witness_app(witness_dir, WITNESS, [LOG_SIGNER.vkey])


# -- the log's client --------------------------------------------------------------------------


async def _append(runtime: Runtime, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        await runtime.sequencer.append("observation", {"n": i, "value": i * 10})


async def _latest(runtime: Runtime):
    async with runtime.sessions() as session:
        return await runtime.log.latest_checkpoint(session)


def _assert_cosigned(stored, runtime: Runtime, witness: note.Verifier) -> None:
    opened = open_checkpoint(
        stored.note_with_cosignatures,
        runtime.signer.verifier,
        witnesses=[witness],
        min_witnesses=1,
    )
    assert opened.checkpoint.size == stored.size


def _log_app_transport(directory: Path, runtime: Runtime) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=create_witness_app(directory, WITNESS, [runtime.signer.vkey]))


async def test_client_cosigns_in_process_and_follows_a_409(runtime, witness_dir):
    transport = _log_app_transport(witness_dir, runtime)
    witness = _witness_verifier(witness_dir)
    await _append(runtime, 3)
    summary = await request_cosignature(runtime, "http://w", witness.vkey, transport=transport)
    assert f"{WITNESS} cosigned" in summary and "at size 3" in summary
    _assert_cosigned(await _latest(runtime), runtime, witness)

    # The witness moves on without us storing its cosignature (another log instance asked it).
    await _append(runtime, 2, start=3)
    at5 = await _latest(runtime)
    async with httpx.AsyncClient(transport=transport, base_url="http://w") as http:
        async with runtime.sessions() as session:
            proof = await runtime.log.consistency_proof(session, 3, 5)
        assert (await _add(http, request_body(3, proof, at5.note))).status_code == 200
    await _append(runtime, 4, start=5)
    summary = await request_cosignature(runtime, "http://w", witness.vkey, transport=transport)
    assert "at size 9" in summary and "witness was at size 5, not 3" in summary
    _assert_cosigned(await _latest(runtime), runtime, witness)


async def test_client_refuses_a_cosignature_by_another_key(runtime, witness_dir, tmp_path):
    transport = _log_app_transport(witness_dir, runtime)
    impostor = witness_signer(tmp_path / "other", WITNESS).vkey
    await _append(runtime, 2)
    with pytest.raises(WitnessClientError, match=re.escape("no cosignature by witness.example/w1")):
        await request_cosignature(runtime, "http://w", impostor, transport=transport)
    assert (await _latest(runtime)).cosignature_lines == ()


async def test_client_reports_refusals_and_unreachable_witnesses(runtime, witness_dir):
    stranger = note.generate_signer("unknown.example/log")
    app = create_witness_app(witness_dir, WITNESS, [stranger.vkey])
    witness = _witness_verifier(witness_dir).vkey
    await _append(runtime, 1)
    with pytest.raises(WitnessClientError, match="404 Not Found: unknown log origin"):
        await request_cosignature(
            runtime, "http://w", witness, transport=httpx.ASGITransport(app=app)
        )
    with pytest.raises(WitnessClientError, match="cannot reach the witness") as caught:
        await request_cosignature(runtime, f"http://127.0.0.1:{free_port()}", witness)
    assert "\n" not in str(caught.value)
    with pytest.raises(WitnessClientError, match="plain Ed25519 key"):
        await request_cosignature(runtime, "http://w", runtime.signer.vkey)


async def test_client_reports_a_fork_seen_by_the_witness(runtime, witness_dir):
    transport = _log_app_transport(witness_dir, runtime)
    await _append(runtime, 4)
    latest = await _latest(runtime)
    state = WitnessState(witness_dir)
    witness_signer(witness_dir, WITNESS)
    await state.advance(runtime.log.origin, 0, TreeHead(latest.size, FORK.root(4)), [])
    with pytest.raises(WitnessClientError, match="different root at size 4"):
        await request_cosignature(
            runtime, "http://w", _witness_verifier(witness_dir).vkey, transport=transport
        )


async def test_witness_process_cosigns_the_log_end_to_end(runtime, settings, tmp_path):
    directory = tmp_path / "witness-process"
    env = cli_env()
    vkey = run_cli("witness", "vkey", "--dir", str(directory), "--name", WITNESS, env=env)
    assert vkey.returncode == 0, vkey.stderr
    witness_vkey = vkey.stdout.strip()
    witness = note.parse_vkey(witness_vkey)
    assert (directory / KEY_FILE).stat().st_mode & 0o777 == 0o600
    port = free_port()
    args = ["witness", "serve", "--dir", str(directory), "--name", WITNESS]
    args += ["--log", runtime.signer.vkey, "--port", str(port)]
    with serving(args, env, port, path="/") as base:
        await _append(runtime, 3)
        summary = await request_cosignature(runtime, base, witness_vkey)
        assert "at size 3" in summary
        _assert_cosigned(await _latest(runtime), runtime, witness)

        await _append(runtime, 5, start=3)
        summary = await request_cosignature(runtime, base, witness_vkey)
        assert "at size 8" in summary and "witness was at size 3" in summary
        first = await _latest(runtime)
        _assert_cosigned(first, runtime, witness)

        # The command line does the same, with the settings of the running log.
        await _append(runtime, 2, start=8)
        cli = cli_env(
            database_url=settings.database_url,
            data_dir=str(settings.data_dir),
            log_origin=settings.log_origin,
        )
        result = run_cli("ledger", "cosign", base, witness_vkey, env=cli)
        assert result.returncode == 0, result.stderr
        assert "at size 10" in result.stdout
        _assert_cosigned(await _latest(runtime), runtime, witness)
    assert WitnessState(directory).read()[runtime.log.origin].size == 10
