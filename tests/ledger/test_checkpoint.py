"""Checkpoints: Go sumdb and C2SP vectors, real Rekor v2 checkpoints with witness cosignatures."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.serialization import load_der_public_key

from ledger import checkpoint as cp
from ledger import merkle, note
from tests.ledger.vectors import vectors_dir


def _vectors() -> dict[str, dict]:
    data = json.loads((vectors_dir() / "notes/checkpoint-vectors.json").read_text())
    return {v["id"]: v for v in data["vectors"]}


VECTORS = _vectors()
GO_TREE = VECTORS["go-sumdb-tree-note-format"]
C2SP = VECTORS["c2sp-checkpoint-example-parse-only"]
REKOR_1 = VECTORS["rekor-v2-staging-log2025-alpha1"]
REKOR_3 = VECTORS["rekor-v2-staging-log2025-alpha3"]
REKOR = [REKOR_1, REKOR_3]
WITNESSES_3 = [note.parse_vkey(k) for k in REKOR_3["witness_cosigner_vkeys_type_0x04"]]
ROOT = merkle.leaf_hash(b"hello world")


# --- Go sumdb tree note -----------------------------------------------------------------------


def test_go_tree_note_parses_and_formats_identically():
    text = GO_TREE["text"].encode()
    checkpoint = cp.Checkpoint.from_text(text)
    assert checkpoint == cp.Checkpoint("go.sum database tree", 123456789012, ROOT)
    assert base64.b64encode(checkpoint.root_hash).decode() == GO_TREE["expect"]["root_b64"]
    assert checkpoint.root_hash == merkle.leaf_hash(GO_TREE["root_is_leaf_hash_of_utf8"].encode())
    assert checkpoint.to_text() == text


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (1, "tree size must be ASCII decimal without leading zeroes, got '0xabcdef'"),
        (2, "root hash decodes to 35 bytes, expected 32"),
    ],
)
def test_go_tree_note_rejects(number, expected):
    text = GO_TREE["must_reject_texts"][number].encode()
    with pytest.raises(cp.MalformedCheckpointError, match=expected):
        cp.Checkpoint.from_text(text)


def test_go_tree_note_with_another_origin_is_rejected_when_the_origin_is_pinned():
    text = GO_TREE["must_reject_texts"][0].encode()
    other = cp.Checkpoint.from_text(text)
    assert other.origin == "not-go.sum database tree"
    signer = note.generate_signer("go.sum.example")
    signed = cp.sign_checkpoint(other, signer)
    with pytest.raises(
        cp.OriginMismatchError,
        match=r"origin is 'not-go.sum database tree', expected 'go.sum database tree'",
    ):
        cp.open_checkpoint(signed, signer.verifier, origin="go.sum database tree")


# --- C2SP example -----------------------------------------------------------------------------


def test_c2sp_checkpoint_and_cosignature_example_parses():
    parsed = note.parse_note(C2SP["note"].encode())
    checkpoint = cp.Checkpoint.from_text(parsed.text)
    expect = C2SP["expect"]
    assert checkpoint.origin == expect["origin"]
    assert checkpoint.size == expect["tree_size"]
    assert base64.b64encode(checkpoint.root_hash).decode() == expect["root_b64"]
    assert len(parsed.signatures) == expect["signature_lines"]
    cosig = parsed.signatures[1]
    timestamp = int.from_bytes(cosig.raw[:8], "big")
    assert timestamp == expect["cosignature_timestamp_from_bytes_4_to_12"]
    assert note.cosigned_message(parsed.text, timestamp) == expect["cosigned_message"].encode()


def test_c2sp_example_does_not_verify_without_trusted_keys():
    assert C2SP["expect"]["verifies_with_no_trusted_keys"] is False
    with pytest.raises(note.UnverifiedNoteError):
        note.open_note(C2SP["note"].encode(), [])
    stranger = note.generate_signer("example.com/behind-the-sofa")
    with pytest.raises(cp.MissingLogSignatureError, match="no signature by log key"):
        cp.open_checkpoint(C2SP["note"].encode(), stranger.verifier)


# --- Real Rekor v2 checkpoints ----------------------------------------------------------------


@pytest.mark.parametrize("vector", REKOR, ids=[v["id"] for v in REKOR])
def test_rekor_checkpoint_log_signature_verifies(vector):
    verifier = note.parse_vkey(vector["log_vkey"])
    opened = cp.open_checkpoint(vector["checkpoint"].encode(), verifier)
    assert opened.checkpoint.size == vector["tree_size"]
    assert base64.b64encode(opened.checkpoint.root_hash).decode() == vector["root_b64"]
    assert opened.log_signature.name == verifier.name
    assert opened.cosignatures == ()


@pytest.mark.parametrize("vector", REKOR, ids=[v["id"] for v in REKOR])
def test_rekor_log_vkey_is_the_trusted_root_key(vector):
    spki = load_der_public_key(base64.b64decode(vector["log_public_key_spki_der_b64"]))
    raw = spki.public_bytes_raw()  # type: ignore[union-attr]
    name = vector["log_vkey"].split("+", 1)[0]
    assert note.format_vkey(name, raw) == vector["log_vkey"]
    log_id = hashlib.sha256(name.encode() + b"\n\x01" + raw).digest()
    assert (
        base64.b64encode(log_id).decode()
        == vector["rekor_log_id_b64_equals_full_sha256_keyid_preimage"]
    )


@pytest.mark.parametrize("vector", REKOR, ids=[v["id"] for v in REKOR])
def test_rekor_leaf_is_included_in_the_checkpoint_root(vector):
    opened = cp.open_checkpoint(vector["checkpoint"].encode(), note.parse_vkey(vector["log_vkey"]))
    leaf = base64.b64decode(vector["leaf_data_b64"])
    leaf_hash = merkle.leaf_hash(leaf)
    assert leaf_hash.hex() == vector["expect"]["leaf_hash_hex"]
    proof = [base64.b64decode(h) for h in vector["inclusion_proof_b64"]]
    merkle.verify_inclusion(
        leaf_hash, vector["leaf_index"], opened.checkpoint.size, proof, opened.checkpoint.root_hash
    )


def test_rekor_checkpoint_carries_three_real_witness_cosignatures():
    log = note.parse_vkey(REKOR_3["log_vkey"])
    assert all(w.kind == "cosignature" for w in WITNESSES_3)
    opened = cp.open_checkpoint(
        REKOR_3["checkpoint"].encode(), log, witnesses=WITNESSES_3, min_witnesses=3
    )
    assert opened.witness_timestamps == REKOR_3["expect"]["cosignatures_verify"]
    assert opened.unverified == ()


def test_rekor_witnesses_each_verify_alone():
    log = note.parse_vkey(REKOR_3["log_vkey"])
    for witness in WITNESSES_3:
        opened = cp.open_checkpoint(
            REKOR_3["checkpoint"].encode(), log, witnesses=[witness], min_witnesses=1
        )
        assert [s.name for s in opened.cosignatures] == [witness.name]
        assert len(opened.unverified) == 2


def test_too_few_witness_cosignatures_is_an_error():
    log = note.parse_vkey(REKOR_3["log_vkey"])
    absent = note.generate_signer("witness.absent.example", "cosignature").verifier
    with pytest.raises(
        cp.InsufficientWitnessesError,
        match=r"has 1 valid witness cosignatures \(witness.stagemole.eu\), expected at least 2",
    ):
        cp.open_checkpoint(
            REKOR_3["checkpoint"].encode(),
            log,
            witnesses=[WITNESSES_3[1], absent],
            min_witnesses=2,
        )


def test_policy_needing_more_witnesses_than_keys_is_refused():
    log = note.parse_vkey(REKOR_3["log_vkey"])
    with pytest.raises(cp.WitnessPolicyError, match="min_witnesses is 4 but only 3 witness keys"):
        cp.open_checkpoint(
            REKOR_3["checkpoint"].encode(), log, witnesses=WITNESSES_3, min_witnesses=4
        )


def test_log_key_given_as_witness_is_refused():
    log = note.parse_vkey(REKOR_3["log_vkey"])
    with pytest.raises(cp.WitnessPolicyError, match="is the log's key"):
        cp.open_checkpoint(REKOR_3["checkpoint"].encode(), log, witnesses=[log], min_witnesses=1)


def test_tampered_witness_cosignature_fails_the_checkpoint():
    text = REKOR_3["checkpoint"]
    tampered = text.replace("Z/euoAAAAABqBM+21mV7", "Z/euoAAAAABqBM+21mV8")
    log = note.parse_vkey(REKOR_3["log_vkey"])
    with pytest.raises(note.InvalidSignatureError, match=r"witness.stagemole.eu\+67f7aea0"):
        cp.open_checkpoint(tampered.encode(), log, witnesses=WITNESSES_3)
    # Without that witness's key, its cosignature is just an unknown signature.
    opened = cp.open_checkpoint(tampered.encode(), log)
    assert len(opened.unverified) == 3


def test_wrong_log_key_is_a_missing_log_signature():
    other_log = note.parse_vkey(REKOR_1["log_vkey"])
    with pytest.raises(
        cp.MissingLogSignatureError,
        match=r"no signature by log key log2025-alpha1.rekor.sigstage.dev\+f30d5a99",
    ):
        cp.open_checkpoint(
            REKOR_3["checkpoint"].encode(), other_log, origin="log2025-alpha3.rekor.sigstage.dev"
        )


def test_origin_defaults_to_the_log_key_name():
    other_log = note.parse_vkey(REKOR_1["log_vkey"])
    with pytest.raises(
        cp.OriginMismatchError,
        match=r"origin is 'log2025-alpha3.rekor.sigstage.dev', "
        r"expected 'log2025-alpha1.rekor.sigstage.dev'",
    ):
        cp.open_checkpoint(REKOR_3["checkpoint"].encode(), other_log)


def test_witness_signature_alone_does_not_open_a_checkpoint():
    log = note.generate_signer("log.example")
    witness = note.generate_signer("witness.example", "cosignature")
    signed = cp.sign_checkpoint(cp.Checkpoint("log.example", 1, ROOT), witness, timestamp=5)
    with pytest.raises(cp.MissingLogSignatureError, match="found signatures by \\[witness"):
        cp.open_checkpoint(signed, log.verifier, witnesses=[witness.verifier])


# --- Round trips ------------------------------------------------------------------------------


def test_signed_and_cosigned_checkpoint_round_trips():
    log = note.generate_signer("corroborate.example/log")
    witnesses = [note.generate_signer(f"w{i}.example", "cosignature") for i in range(3)]
    checkpoint = cp.Checkpoint("corroborate.example/log", 42, ROOT, ("ext one", "ext two"))
    signed = cp.sign_checkpoint(checkpoint, log)
    for i, witness in enumerate(witnesses):
        signed = note.add_signatures(signed, witness, timestamp=1_700_000_000 + i)
    opened = cp.open_checkpoint(
        signed, log.verifier, witnesses=[w.verifier for w in witnesses], min_witnesses=3
    )
    assert opened.checkpoint == checkpoint
    assert opened.note == signed
    assert opened.witness_timestamps == {
        "w0.example": 1_700_000_000,
        "w1.example": 1_700_000_001,
        "w2.example": 1_700_000_002,
    }


def test_checkpoint_text_layout():
    checkpoint = cp.Checkpoint("example.com/log", 0, merkle.EMPTY_ROOT, ("x",))
    assert checkpoint.to_text() == (
        b"example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nx\n"
    )
    assert cp.Checkpoint.from_text(checkpoint.to_text()) == checkpoint


# --- Malformed checkpoints --------------------------------------------------------------------

GOOD = "example.com/log\n10\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD[:-1], "must end in a newline"),
        ("example.com/log\n10\n", "has 2 lines, expected at least 3"),
        ("\n10\n" + GOOD.split("\n")[2] + "\n", "origin must be a non-empty str"),
        (GOOD.replace("\n10\n", "\n010\n"), "without leading zeroes, got '010'"),
        (GOOD.replace("\n10\n", "\n+10\n"), "got '\\+10'"),
        (GOOD.replace("\n10\n", "\n-1\n"), "got '-1'"),
        (GOOD.replace("\n10\n", "\n1_0\n"), "got '1_0'"),
        (GOOD.replace("\n10\n", "\n١٠\n"), "ASCII decimal"),
        (GOOD.replace("\n10\n", "\n 10\n"), "got ' 10'"),
        (GOOD.replace("\n10\n", "\n9223372036854775808\n"), "at most 2\\^63-1"),
        (GOOD.replace("Bb0=", "Bb0"), "must be standard base64"),
        (GOOD.replace("Bb0=", "Bb1="), "not canonical base64"),
        (GOOD.replace("TszzRgjT", ""), "decodes to 26 bytes, expected 32"),
        (GOOD + "\n", "extension line 1 is empty"),
        (GOOD + "ext\n\n", "extension line 2 is empty"),
        (GOOD.replace("\n", "\r\n"), "control character U\\+000D at byte 15"),
    ],
)
def test_malformed_checkpoint_texts_are_rejected_with_a_reason(text, expected):
    with pytest.raises(cp.MalformedCheckpointError, match=expected):
        cp.Checkpoint.from_text(text.encode())


def test_nine_quintillion_is_the_largest_tree_size():
    text = GOOD.replace("\n10\n", "\n9223372036854775807\n").encode()
    assert cp.Checkpoint.from_text(text).size == (1 << 63) - 1


def test_checkpoint_constructor_validates():
    with pytest.raises(cp.MalformedCheckpointError, match="root hash must be 32 bytes, got 31"):
        cp.Checkpoint("o", 1, bytes(31))
    with pytest.raises(cp.MalformedCheckpointError, match=r"tree size must be in 0..2\^63-1"):
        cp.Checkpoint("o", -1, ROOT)
    with pytest.raises(cp.MalformedCheckpointError, match="origin must be one line"):
        cp.Checkpoint("o\nx", 1, ROOT)
    with pytest.raises(
        cp.MalformedCheckpointError, match="extension line 1 must be a non-empty line"
    ):
        cp.Checkpoint("o", 1, ROOT, ("",))


def test_signed_note_that_is_not_a_checkpoint_is_rejected():
    log = note.generate_signer("log.example")
    signed = note.sign_note(b"hello\n", log)
    with pytest.raises(cp.MalformedCheckpointError, match="has 1 lines, expected at least 3"):
        cp.open_checkpoint(signed, log.verifier)


def test_crlf_checkpoint_note_is_rejected():
    data = REKOR_1["checkpoint"].replace("\n", "\r\n").encode()
    with pytest.raises(note.MalformedNoteError, match="U\\+000D"):
        cp.open_checkpoint(data, note.parse_vkey(REKOR_1["log_vkey"]))
