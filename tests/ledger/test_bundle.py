"""tlog-proof@v1 bundles: format, round trips over a MemoryTree, real Rekor v2 data, bad input."""

from __future__ import annotations

import base64
import json

import pytest

from ledger import bundle as b
from ledger import checkpoint as cp
from ledger import merkle, note
from tests.ledger.vectors import vectors_dir

ORIGIN = "corroborate.example/log"
LEAVES = [f"leaf {i}".encode() for i in range(37)]


def _rekor() -> dict:
    data = json.loads((vectors_dir() / "notes/checkpoint-vectors.json").read_text())
    return {v["id"]: v for v in data["vectors"]}["rekor-v2-staging-log2025-alpha3"]


REKOR = _rekor()
REKOR_LEAF = base64.b64decode(REKOR["leaf_data_b64"])
REKOR_WITNESSES = REKOR["witness_cosigner_vkeys_type_0x04"]


class Log:
    """A log in memory: a MemoryTree, a log key and three witnesses that cosign every tree."""

    def __init__(self, leaves: list[bytes] = LEAVES) -> None:
        self.tree = merkle.MemoryTree(merkle.leaf_hash(leaf) for leaf in leaves)
        self.signer = note.generate_signer(ORIGIN)
        self.witnesses = [note.generate_signer(f"w{i}.example", "cosignature") for i in range(3)]

    @property
    def witness_vkeys(self) -> list[str]:
        return [w.vkey for w in self.witnesses]

    def checkpoint_note(self, size: int, cosigners: int = 3) -> bytes:
        checkpoint = cp.Checkpoint(ORIGIN, size, self.tree.root(size))
        signed = cp.sign_checkpoint(checkpoint, self.signer)
        if cosigners:
            signed = note.add_signatures(
                signed, self.witnesses[:cosigners], timestamp=1_700_000_000
            )
        return signed

    def proof(self, index: int, size: int | None = None, extra: bytes | None = None) -> bytes:
        size = self.tree.size if size is None else size
        bundle = b.ProofBundle(
            index, self.tree.inclusion_proof(index, size), self.checkpoint_note(size), extra
        )
        return bundle.to_text()


@pytest.fixture(scope="module")
def log() -> Log:
    return Log()


# --- Round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 8, 37])
def test_every_leaf_verifies_in_every_tree(log, size):
    for index in range(size):
        text = log.proof(index, size)
        verified = b.verify_bundle(text, LEAVES[index], log.signer.vkey, log.witness_vkeys, 3)
        assert (verified.index, verified.tree_size, verified.origin) == (index, size, ORIGIN)
        assert verified.root_hash == log.tree.root(size)
        assert verified.leaf_hash == merkle.leaf_hash(LEAVES[index])
        assert verified.witness_timestamps == dict.fromkeys(
            ["w0.example", "w1.example", "w2.example"], 1_700_000_000
        )


def test_bundle_text_round_trips_byte_for_byte(log):
    text = log.proof(5, extra=b"age-v1.2.1-darwin-arm64.tar.gz")
    parsed = b.ProofBundle.from_text(text)
    assert parsed.extra == b"age-v1.2.1-darwin-arm64.tar.gz"
    assert parsed.index == 5
    assert parsed.to_text() == text
    assert parsed.checkpoint.size == len(LEAVES)


def test_bundle_layout_follows_the_spec(log):
    text = log.proof(5, extra=b"\x00\x01")
    lines = text.split(b"\n")
    assert lines[0] == b"c2sp.org/tlog-proof@v1"
    assert lines[1] == b"extra AAE="
    assert lines[2] == b"index 5"
    proof = log.tree.inclusion_proof(5)
    assert lines[3 : 3 + len(proof)] == [base64.b64encode(h) for h in proof]
    assert lines[3 + len(proof)] == b""
    assert text.endswith(b"\n\n" + log.checkpoint_note(len(LEAVES)))


def test_proof_without_extra_has_no_extra_line(log):
    text = log.proof(0, 1)
    assert text.startswith(b"c2sp.org/tlog-proof@v1\nindex 0\n\n" + ORIGIN.encode() + b"\n1\n")
    assert b.verify_bundle(text, LEAVES[0], log.signer.vkey).extra is None


def test_spec_example_layout_parses_and_formats_identically():
    # The tlog-proof example's header, extra, index and proof, over the C2SP checkpoint example.
    checkpoint = (
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
        "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
        "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    )
    hashes = [
        "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=",
        "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=",
        "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=",
        "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=",
        "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=",
    ]
    extra = "YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6"
    text = (
        "c2sp.org/tlog-proof@v1\nextra " + extra + "\nindex 73894\n" + "\n".join(hashes) + "\n\n"
    ).encode() + checkpoint.encode()
    parsed = b.ProofBundle.from_text(text)
    assert parsed.index == 73894
    assert parsed.extra == b"age-v1.2.1-darwin-arm64.tar.gz"
    assert [base64.b64encode(h).decode() for h in parsed.proof] == hashes
    assert parsed.checkpoint_note == checkpoint.encode()
    assert parsed.to_text() == text


def test_real_rekor_v2_entry_verifies_as_a_bundle():
    bundle = b.ProofBundle(
        REKOR["leaf_index"],
        [base64.b64decode(h) for h in REKOR["inclusion_proof_b64"]],
        REKOR["checkpoint"].encode(),
    )
    verified = b.verify_bundle(
        bundle.to_text(), REKOR_LEAF, REKOR["log_vkey"], REKOR_WITNESSES, min_witnesses=3
    )
    assert verified.tree_size == 4026479
    assert verified.leaf_hash.hex() == REKOR["expect"]["leaf_hash_hex"]
    assert verified.witness_timestamps == REKOR["expect"]["cosignatures_verify"]


def test_verifier_objects_are_accepted_in_place_of_vkeys(log):
    text = log.proof(3)
    verified = b.verify_bundle(
        text, LEAVES[3], log.signer.verifier, [w.verifier for w in log.witnesses], 2
    )
    assert verified.index == 3


# --- Verification failures --------------------------------------------------------------------


def test_tampered_leaf_is_not_included(log):
    with pytest.raises(b.InclusionError, match=r"leaf is not included at index 4 .* root mismatch"):
        b.verify_bundle(log.proof(4), b"leaf 4 (edited)", log.signer.vkey)


def test_leaf_at_another_index_is_not_included(log):
    with pytest.raises(b.InclusionError, match="root mismatch"):
        b.verify_bundle(log.proof(4), LEAVES[5], log.signer.vkey)


def test_tampered_proof_hash_fails_inclusion(log):
    text = log.proof(4)
    proof_line = text.split(b"\n")[2]
    flipped = bytearray(base64.b64decode(proof_line))
    flipped[0] ^= 1
    tampered = text.replace(proof_line, base64.b64encode(bytes(flipped)), 1)
    with pytest.raises(
        b.InclusionError, match=r"root mismatch: expected [0-9a-f]{64}, proof gives"
    ):
        b.verify_bundle(tampered, LEAVES[4], log.signer.vkey)


def test_proof_with_a_missing_hash_fails_inclusion(log):
    text = log.proof(4)
    lines = text.split(b"\n")
    shortened = b"\n".join(lines[:2] + lines[3:])
    with pytest.raises(b.InclusionError, match=r"expected 6 hashes .* got 5"):
        b.verify_bundle(shortened, LEAVES[4], log.signer.vkey)


def test_index_beyond_the_tree_fails(log):
    bundle = b.ProofBundle(40, [], log.checkpoint_note(37))
    with pytest.raises(b.InclusionError, match="index 40 is outside the checkpoint's tree of size"):
        b.verify_bundle(bundle.to_text(), LEAVES[0], log.signer.vkey)


def test_wrong_log_key_fails(log):
    stranger = note.generate_signer(ORIGIN)
    with pytest.raises(b.BundleSignatureError, match=f"no signature by log key {ORIGIN}"):
        b.verify_bundle(log.proof(1), LEAVES[1], stranger.vkey)


def test_forged_log_signature_fails(log):
    text = log.proof(1)
    checkpoint_start = text.index(b"\n\n") + 2
    forged_note = note.sign_note(
        cp.Checkpoint(ORIGIN, 37, bytes(32)).to_text(), note.generate_signer(ORIGIN)
    )
    # Put the real log key ID in front of a signature by another key.
    parsed = note.parse_note(forged_note)
    forged_sig = note.NoteSignature(ORIGIN, log.signer.key_id, parsed.signatures[0].raw)
    forged = text[:checkpoint_start] + parsed.text + b"\n" + forged_sig.to_line()
    with pytest.raises(b.BundleSignatureError, match="does not verify"):
        b.verify_bundle(forged, LEAVES[1], log.signer.vkey)


def test_wrong_origin_fails(log):
    with pytest.raises(
        b.BundleOriginError, match=f"origin is '{ORIGIN}', expected 'other.example/log'"
    ):
        b.verify_bundle(log.proof(1), LEAVES[1], log.signer.vkey, origin="other.example/log")


def test_too_few_witnesses_fails():
    small = Log(LEAVES[:4])
    text = b.ProofBundle(2, small.tree.inclusion_proof(2), small.checkpoint_note(4, 1)).to_text()
    b.verify_bundle(text, LEAVES[2], small.signer.vkey, small.witness_vkeys, 1)
    with pytest.raises(
        b.BundleWitnessError, match=r"has 1 valid witness cosignatures \(w0.example\), expected"
    ):
        b.verify_bundle(text, LEAVES[2], small.signer.vkey, small.witness_vkeys, 2)


def test_impossible_witness_policy_fails(log):
    with pytest.raises(b.BundleWitnessError, match="min_witnesses is 2 but only 1 witness keys"):
        b.verify_bundle(log.proof(1), LEAVES[1], log.signer.vkey, log.witness_vkeys[:1], 2)


def test_bad_vkeys_fail(log):
    with pytest.raises(b.BundleKeyError, match="log vkey: vkey must look like"):
        b.verify_bundle(log.proof(1), LEAVES[1], "not a vkey")
    with pytest.raises(b.BundleKeyError, match="witness vkey 2: "):
        b.verify_bundle(log.proof(1), LEAVES[1], log.signer.vkey, [log.witness_vkeys[0], "x+y+z"])


# --- Malformed bundles ------------------------------------------------------------------------


def _good(log: Log) -> bytes:
    return log.proof(4)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace(b"@v1", b"@v2", 1), "first line must be 'c2sp.org/tlog-proof@v1'"),
        (lambda t: t.replace(b"index 4", b"index 04"), "without leading zeroes, got '04'"),
        (lambda t: t.replace(b"index 4", b"index -4"), "got '-4'"),
        (lambda t: t.replace(b"index 4", b"index  4"), "got ' 4'"),
        (lambda t: t.replace(b"index 4", b"index 9223372036854775808"), "0..2\\^63-1"),
        (lambda t: t.replace(b"index 4\n", b""), "expected 'index <n>'"),
        (lambda t: t.replace(b"index 4", b"idx 4"), "expected 'index <n>'"),
        (
            lambda t: t.replace(b"@v1\n", b"@v1\nextra \n"),
            "extra line carries no data",
        ),
        (lambda t: t.replace(b"@v1\n", b"@v1\nextra !!\n"), "extra data must be standard base64"),
        (lambda t: t.replace(b"@v1\n", b"@v1\nextra AB==\n"), "extra data is not canonical"),
        (lambda t: t.replace(b"\n", b"\r\n", 3), "no control characters \\(such as CR\\)"),
        (
            lambda t: t.replace(b"\n\n", b"\n", 1),
            "proof line 7 must be standard base64, got 'corroborate.example/log': "
            "expected a base64 hash or the blank line before the checkpoint",
        ),
        (lambda t: t.split(b"\n\n")[0], "proof ends before the blank line"),
        (lambda t: t.split(b"\n\n")[0] + b"\n\n", "proof ends after the blank line"),
        (lambda t: t[:-1], "checkpoint: note must end in a newline"),
        (lambda t: t[: t.rindex(b"\n\n") + 1], "checkpoint: note has no blank line"),
        (lambda t: b"", "proof ends before the header line"),
        (lambda t: t.replace(b"index 4\n", b"index 4\nAAAA\n"), "proof line 1 decodes to 3 bytes"),
        (lambda t: t.replace(b"index 4\n", b"index 4\n\xc3\xa9\n"), "expected ASCII"),
    ],
)
def test_malformed_bundles_are_rejected_with_a_reason(log, edit, expected):
    data = edit(_good(log))
    with pytest.raises(b.MalformedBundleError, match=expected):
        b.ProofBundle.from_text(data)
    with pytest.raises(b.MalformedBundleError, match=expected):
        b.verify_bundle(data, LEAVES[4], log.signer.vkey)


def test_every_truncation_of_a_bundle_is_rejected(log):
    text = _good(log)
    for cut in range(len(text)):
        with pytest.raises(b.BundleError):
            b.verify_bundle(text[:cut], LEAVES[4], log.signer.vkey, log.witness_vkeys, 3)


def test_oversized_bundle_is_rejected(log):
    data = _good(log) + b"x" * b.MAX_BUNDLE_BYTES
    with pytest.raises(b.MalformedBundleError, match="expected at most 1048576"):
        b.ProofBundle.from_text(data)


def test_more_than_63_proof_hashes_are_rejected(log):
    hash_line = base64.b64encode(bytes(32)) + b"\n"
    data = _good(log).replace(b"index 4\n", b"index 4\n" + hash_line * 64)
    with pytest.raises(b.MalformedBundleError, match="more than 63 hashes"):
        b.ProofBundle.from_text(data)


def test_checkpoint_that_is_not_a_checkpoint_is_rejected(log):
    signed = note.sign_note(b"just text\n", log.signer)
    with pytest.raises(b.MalformedBundleError, match="checkpoint: checkpoint text has 1 lines"):
        b.ProofBundle(0, [], signed)


def test_bundle_constructor_validates(log):
    checkpoint_note = log.checkpoint_note(37)
    with pytest.raises(b.MalformedBundleError, match="proof hash 1 must be 32 bytes, got 31"):
        b.ProofBundle(0, [bytes(31)], checkpoint_note)
    with pytest.raises(b.MalformedBundleError, match=r"index must be in 0..2\^63-1, got -1"):
        b.ProofBundle(-1, [], checkpoint_note)
    with pytest.raises(b.MalformedBundleError, match="extra must be None or non-empty bytes"):
        b.ProofBundle(0, [], checkpoint_note, b"")


def test_error_messages_are_one_line(log):
    failures = [
        lambda: b.verify_bundle(log.proof(4), b"other", log.signer.vkey),
        lambda: b.verify_bundle(b"junk", b"", log.signer.vkey),
        lambda: b.verify_bundle(log.proof(4), LEAVES[4], "bad"),
    ]
    for failure in failures:
        with pytest.raises(b.BundleError) as caught:
            failure()
        assert "\n" not in str(caught.value)
        assert isinstance(caught.value, ValueError)
