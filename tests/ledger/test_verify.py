"""verify_proof_files: proofs and leaves on disk, keys as text or files, every failure one line."""

from __future__ import annotations

import ast
import base64
import json
import sys
from pathlib import Path

import pytest

from ledger import bundle, checkpoint, merkle, note
from ledger.verify import MAX_LEAF_BYTES, MAX_PROOF_BYTES, VerificationError, verify_proof_files
from tests.ledger.vectors import vectors_dir

ORIGIN = "corroborate.example/log"
LEAVES = [f"record {i}".encode() for i in range(11)]


def _rekor() -> dict:
    data = json.loads((vectors_dir() / "notes/checkpoint-vectors.json").read_text())
    return {v["id"]: v for v in data["vectors"]}["rekor-v2-staging-log2025-alpha3"]


@pytest.fixture(scope="module")
def keys():
    log = note.generate_signer(ORIGIN)
    witnesses = [note.generate_signer(f"w{i}.example", "cosignature") for i in range(2)]
    return log, witnesses


@pytest.fixture
def files(tmp_path, keys):
    """A proof for leaf 7 of an 11-leaf log cosigned by two witnesses, and the leaf, on disk."""
    log, witnesses = keys
    tree = merkle.MemoryTree(merkle.leaf_hash(leaf) for leaf in LEAVES)
    signed = checkpoint.sign_checkpoint(checkpoint.Checkpoint(ORIGIN, 11, tree.root()), log)
    signed = note.add_signatures(signed, witnesses, timestamp=1_750_000_000)
    proof = bundle.ProofBundle(7, tree.inclusion_proof(7), signed).to_text()
    proof_path = tmp_path / "record.tlog-proof"
    proof_path.write_bytes(proof)
    leaf_path = tmp_path / "record.json"
    leaf_path.write_bytes(LEAVES[7])
    return proof_path, leaf_path


def test_proof_and_leaf_files_verify_with_vkey_strings(files, keys):
    log, witnesses = keys
    proof_path, leaf_path = files
    verified = verify_proof_files(
        proof_path, leaf_path, log.vkey, [w.vkey for w in witnesses], min_witnesses=2
    )
    assert (verified.index, verified.tree_size, verified.origin) == (7, 11, ORIGIN)
    assert verified.witness_timestamps == {"w0.example": 1_750_000_000, "w1.example": 1_750_000_000}


def test_vkeys_may_be_files_with_one_trailing_newline(files, keys, tmp_path):
    log, witnesses = keys
    log_file = tmp_path / "log.vkey"
    log_file.write_text(log.vkey + "\n")
    witness_files = []
    for i, witness in enumerate(witnesses):
        path = tmp_path / f"w{i}.vkey"
        path.write_text(witness.vkey)  # no newline is fine too
        witness_files.append(str(path))
    proof_path, leaf_path = files
    verified = verify_proof_files(proof_path, leaf_path, str(log_file), witness_files, 2)
    assert verified.index == 7


def test_real_rekor_entry_verifies_from_files(tmp_path):
    rekor = _rekor()
    proof = bundle.ProofBundle(
        rekor["leaf_index"],
        [base64.b64decode(h) for h in rekor["inclusion_proof_b64"]],
        rekor["checkpoint"].encode(),
    ).to_text()
    (tmp_path / "p").write_bytes(proof)
    (tmp_path / "leaf").write_bytes(base64.b64decode(rekor["leaf_data_b64"]))
    verified = verify_proof_files(
        tmp_path / "p",
        tmp_path / "leaf",
        rekor["log_vkey"],
        rekor["witness_cosigner_vkeys_type_0x04"],
        min_witnesses=3,
    )
    assert verified.witness_timestamps == rekor["expect"]["cosignatures_verify"]


# --- Failures ---------------------------------------------------------------------------------


def _fails(expected: str, *args, **kwargs) -> VerificationError:
    with pytest.raises(VerificationError, match=expected) as caught:
        verify_proof_files(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return caught.value


def test_tampered_leaf_fails(files, keys, tmp_path):
    proof_path, _ = files
    other = tmp_path / "other"
    other.write_bytes(b"record 7 (edited)")
    _fails("leaf is not included at index 7 .* root mismatch", proof_path, other, keys[0].vkey)


def test_tampered_proof_hash_fails(files, keys):
    proof_path, leaf_path = files
    lines = proof_path.read_bytes().split(b"\n")
    lines[3] = base64.b64encode(bytes(32))
    proof_path.write_bytes(b"\n".join(lines))
    _fails("root mismatch", proof_path, leaf_path, keys[0].vkey)


def test_wrong_log_key_fails(files):
    other = note.generate_signer(ORIGIN)
    _fails(f"no signature by log key {ORIGIN}\\+{other.key_id_hex}", *files, other.vkey)


def test_too_few_witnesses_fails(files, keys):
    log, witnesses = keys
    stranger = note.generate_signer("w9.example", "cosignature")
    _fails(
        "has 1 valid witness cosignatures \\(w0.example\\), expected at least 2",
        *files,
        log.vkey,
        [witnesses[0].vkey, stranger.vkey],
        min_witnesses=2,
    )


def test_wrong_origin_fails(files, keys):
    _fails("expected 'elsewhere.example'", *files, keys[0].vkey, origin="elsewhere.example")


def test_missing_proof_file_fails(tmp_path, keys):
    _fails(
        "cannot read proof file '.*missing.tlog-proof': No such file or directory",
        tmp_path / "missing.tlog-proof",
        tmp_path / "leaf",
        keys[0].vkey,
    )


def test_missing_leaf_file_fails(files, keys, tmp_path):
    _fails("cannot read leaf file", files[0], tmp_path / "nope", keys[0].vkey)


def test_directory_as_proof_fails(tmp_path, keys):
    _fails("cannot read proof file", tmp_path, tmp_path, keys[0].vkey)


def test_oversized_proof_file_fails(files, keys):
    proof_path, leaf_path = files
    with proof_path.open("ab") as handle:
        handle.truncate(MAX_PROOF_BYTES + 1)
    _fails("proof file .* is larger than 1048576 bytes", proof_path, leaf_path, keys[0].vkey)


def test_oversized_leaf_file_fails(files, keys):
    proof_path, leaf_path = files
    with leaf_path.open("ab") as handle:
        handle.truncate(MAX_LEAF_BYTES + 1)  # sparse: no 64 MiB written to disk
    _fails("leaf file .* is larger than 67108864 bytes", proof_path, leaf_path, keys[0].vkey)


def test_truncated_proof_file_fails(files, keys):
    proof_path, leaf_path = files
    proof_path.write_bytes(proof_path.read_bytes()[:-30])
    _fails("checkpoint: ", proof_path, leaf_path, keys[0].vkey)


def test_crlf_proof_file_fails(files, keys):
    proof_path, leaf_path = files
    proof_path.write_bytes(proof_path.read_bytes().replace(b"\n", b"\r\n"))
    _fails("control characters \\(such as CR\\)", proof_path, leaf_path, keys[0].vkey)


def test_bad_vkey_string_fails(files):
    _fails(
        "log vkey 'not-a-vkey' is neither a readable file nor a valid vkey", *files, "not-a-vkey"
    )


def test_vkey_file_with_bad_content_fails(files, tmp_path):
    bad = tmp_path / "bad.vkey"
    bad.write_text("example.com+00000000+AQ==\n")
    _fails(
        "log vkey file '.*bad.vkey' does not hold a vkey: vkey Ed25519 key is 0 bytes",
        *files,
        str(bad),
    )


def test_vkey_file_with_crlf_fails(files, keys, tmp_path):
    crlf = tmp_path / "crlf.vkey"
    crlf.write_text(keys[0].vkey + "\r\n")
    _fails("does not hold a vkey", *files, str(crlf))


def test_bad_witness_vkey_is_named(files, keys):
    _fails("witness vkey 2 ", *files, keys[0].vkey, [keys[1][0].vkey, "nope"])


# --- Vendorability ----------------------------------------------------------------------------

LEDGER = Path(__file__).resolve().parents[2] / "ledger"
ALLOWED = {
    "note": set(),
    "checkpoint": {"ledger.note"},
    "bundle": {"ledger.note", "ledger.checkpoint", "ledger.merkle"},
    "verify": {"ledger.note", "ledger.checkpoint", "ledger.merkle", "ledger.bundle"},
    "tilepath": set(),
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "ledger":
                found.update(f"ledger.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
    return found


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_client_modules_import_only_stdlib_cryptography_and_each_other(module):
    for name in _imports(LEDGER / f"{module}.py"):
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top == "cryptography" or name == "__future__":
            continue
        assert name in ALLOWED[module], f"ledger/{module}.py imports {name}"
