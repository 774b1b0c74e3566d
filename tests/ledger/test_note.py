"""Signed notes: the C2SP and Go vectors, key encodings, cosignature/v1, and malformed input."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import note
from tests.ledger.vectors import vectors_dir


def _vectors() -> dict[str, dict]:
    data = json.loads((vectors_dir() / "notes/signed-note-vectors.json").read_text())
    return {v["id"]: v for v in data["vectors"]}


VECTORS = _vectors()
C2SP = VECTORS["c2sp-signed-note-example"]
PETER = VECTORS["go-sumdb-note-sign-peterneumann"]
TWO_SIGS = VECTORS["go-sumdb-note-open-one-known-one-unknown"]
BAD_VKEYS = VECTORS["go-sumdb-bad-vkeys"]["must_reject_as_vkey"]
PETER_TEXT = PETER["text"].encode()
PETER_NOTE = PETER["note"].encode()


# --- The vectors ------------------------------------------------------------------------------


def test_c2sp_example_note_verifies_with_its_vkey():
    verifier = note.parse_vkey(C2SP["vkey"])
    opened = note.open_note(C2SP["note"].encode(), [verifier])
    assert opened.text == C2SP["expect"]["text"].encode()
    assert verifier.key_id_hex == C2SP["expect"]["key_id_hex"]
    assert [sig.name for sig in opened.verified] == ["example.com/foo"]
    assert opened.verified[0].timestamp is None
    assert opened.unverified == ()


def test_signing_peterneumann_text_with_go_skey_is_byte_identical():
    signer = note.parse_skey(PETER["skey"])
    assert signer.vkey == PETER["vkey"]
    assert signer.key_id_hex == PETER["expect"]["key_id_hex"]
    assert note.sign_note(PETER_TEXT, signer) == PETER_NOTE
    assert note.sign_note(PETER_TEXT, [signer]) == PETER_NOTE


def test_peterneumann_skey_and_vkey_round_trip_through_our_formatters():
    signer = note.parse_skey(PETER["skey"])
    assert note.format_skey(signer) == PETER["skey"]
    verifier = note.parse_vkey(PETER["vkey"])
    assert note.format_vkey(verifier.name, verifier.public_key) == PETER["vkey"]
    assert verifier == signer.verifier


def test_peterneumann_note_opens():
    opened = note.open_note(PETER_NOTE, [note.parse_vkey(PETER["vkey"])])
    assert opened.text == PETER_TEXT
    assert opened.verified[0].key_id == 0xC74F20A3


def test_note_with_trusted_and_untrusted_signatures_keeps_the_unknown_one_unverified():
    trusted = [note.parse_vkey(k) for k in TWO_SIGS["trusted_vkeys"]]
    opened = note.open_note(TWO_SIGS["note"].encode(), trusted)
    assert [s.name for s in opened.verified] == TWO_SIGS["expect"]["verified_signers"]
    assert [s.name for s in opened.unverified] == TWO_SIGS["expect"]["unverified_ignored"]


def test_note_with_both_keys_trusted_verifies_both_signatures():
    keys = [*TWO_SIGS["trusted_vkeys"], TWO_SIGS["other_vkey_not_trusted"]]
    opened = note.open_note(TWO_SIGS["note"].encode(), [note.parse_vkey(k) for k in keys])
    assert [s.name for s in opened.verified] == ["PeterNeumann", "EnochRoot"]
    assert opened.unverified == ()


@pytest.mark.parametrize(
    ("vkey", "expected"),
    [
        (BAD_VKEYS[0], "Ed25519 key is 36 bytes, expected 32"),
        (BAD_VKEYS[1], "unknown signature type 0x65: expected 0x01"),
    ],
)
def test_go_bad_vkeys_are_rejected(vkey, expected):
    with pytest.raises(note.KeyFormatError, match=expected):
        note.parse_vkey(vkey)


def test_every_must_reject_vkey_is_rejected():
    assert len(BAD_VKEYS) == 2
    for vkey in BAD_VKEYS:
        with pytest.raises(note.KeyFormatError):
            note.parse_vkey(vkey)


# --- Keys -------------------------------------------------------------------------------------


def test_key_id_is_sha256_of_name_newline_type_and_key():
    verifier = note.parse_vkey(C2SP["vkey"])
    digest = hashlib.sha256(b"example.com/foo\n\x01" + verifier.public_key).digest()
    assert verifier.key_id == int.from_bytes(digest[:4], "big")


@pytest.mark.parametrize("kind", ["ed25519", "cosignature"])
def test_generated_keys_round_trip_through_skey_and_vkey(kind):
    signer = note.generate_signer("corroborate.example/log", kind)
    assert signer.kind == kind
    again = note.parse_skey(note.format_skey(signer))
    assert again.seed == signer.seed and again.kind == kind
    verifier = note.parse_vkey(signer.vkey)
    assert verifier == signer.verifier
    assert verifier.kind == kind
    alg = 1 if kind == "ed25519" else 4
    _name, _id, key64 = signer.vkey.split("+", 2)
    assert base64.b64decode(key64)[0] == alg


def test_same_key_under_cosignature_type_has_another_key_id():
    ed = note.generate_signer("w.example")
    cosigner = note.Signer("w.example", ed.seed, "cosignature")
    assert cosigner.public_key == ed.public_key
    assert cosigner.key_id != ed.key_id


@pytest.mark.parametrize(
    ("vkey", "expected"),
    [
        ("", "must look like <name>\\+<8 hex key ID>\\+<base64 key>"),
        ("PeterNeumann", "must look like"),
        ("PeterNeumann+c74f20a3", "must look like"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name is empty"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "space"),
        ("Peter\u00a0Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "U\\+00A0"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "lowercase hex"),
        ("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 lowercase hex"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "expected c74f20a3"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "standard base64"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=", "not canonical"),
        ("PeterNeumann+c74f20a3+AR==", "key is 0 bytes, expected 32"),
        ("PeterNeumann+c74f20a3+AR8=", "key is 1 bytes, expected 32"),
        ("PeterNeumann+c74f20a3+", "key is empty"),
        ("PeterNeumann+c74f20a3+Axpc", "unknown signature type 0x03"),
        ("PeterNeumann+c74f20a3+ARpc2Q==", "key is 3 bytes, expected 32"),
    ],
)
def test_malformed_vkeys_are_rejected_with_a_reason(vkey, expected):
    with pytest.raises(note.KeyFormatError, match=expected):
        note.parse_vkey(vkey)


def test_vkey_with_plus_in_name_is_rejected():
    # The name ends at the first '+', so a '+' in a name shifts the fields and fails the ID.
    with pytest.raises(note.KeyFormatError):
        note.parse_vkey("Peter+Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    with pytest.raises(note.KeyFormatError, match="contains '\\+'"):
        note.format_vkey("Peter+Neumann", bytes(32))


def test_oversized_vkey_is_rejected():
    with pytest.raises(note.KeyFormatError, match="expected at most 4096"):
        note.parse_vkey("a" * 5000)


@pytest.mark.parametrize(
    ("skey", "expected"),
    [
        ("PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "must start with"),
        (
            "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
            "c74f20a3",
        ),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3+ZYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "0x65"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFA==", "3 bytes, expected 32"),
    ],
)
def test_malformed_skeys_are_rejected_with_a_reason(skey, expected):
    with pytest.raises(note.KeyFormatError, match=expected):
        note.parse_skey(skey)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\tb", "a\u2028b"])
def test_signers_refuse_bad_key_names(name):
    with pytest.raises(note.KeyFormatError):
        note.generate_signer(name)


def test_unknown_key_kind_is_rejected():
    with pytest.raises(note.KeyFormatError, match="expected 'ed25519' or 'cosignature'"):
        note.generate_signer("x.example", "rsa")  # type: ignore[arg-type]


# --- Cosignature/v1 ---------------------------------------------------------------------------


CHECKPOINT_TEXT = (
    b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)


def test_cosignature_signs_header_time_line_and_text():
    cosigner = note.generate_signer("witness.example/w1", "cosignature")
    sig = cosigner.sign(CHECKPOINT_TEXT, timestamp=1679315147)
    assert sig.raw[:8] == (1679315147).to_bytes(8, "big")
    assert len(sig.raw) == 8 + 64
    message = b"cosignature/v1\ntime 1679315147\n" + CHECKPOINT_TEXT
    Ed25519PublicKey.from_public_bytes(cosigner.public_key).verify(sig.raw[8:], message)
    assert cosigner.verifier.verify(CHECKPOINT_TEXT, sig.raw)
    assert cosigner.verifier.signature_timestamp(sig.raw) == 1679315147


def test_cosigned_note_exposes_the_timestamp():
    log = note.generate_signer("example.com/behind-the-sofa")
    witness = note.generate_signer("witness.example/w1", "cosignature")
    signed = note.sign_note(CHECKPOINT_TEXT, [log, witness], timestamp=1700000000)
    opened = note.open_note(signed, [log.verifier, witness.verifier])
    assert [(s.name, s.timestamp) for s in opened.verified] == [
        ("example.com/behind-the-sofa", None),
        ("witness.example/w1", 1700000000),
    ]


def test_cosignature_with_another_timestamp_does_not_verify():
    witness = note.generate_signer("witness.example/w1", "cosignature")
    sig = witness.sign(CHECKPOINT_TEXT, timestamp=10)
    forged = (11).to_bytes(8, "big") + sig.raw[8:]
    assert not witness.verifier.verify(CHECKPOINT_TEXT, forged)


def test_cosignature_timestamp_above_2_63_is_refused():
    witness = note.generate_signer("witness.example/w1", "cosignature")
    with pytest.raises(note.NoteError, match=r"0..2\^63-1, got 9223372036854775808"):
        witness.sign(CHECKPOINT_TEXT, timestamp=1 << 63)
    sig = witness.sign(CHECKPOINT_TEXT, timestamp=1)
    assert not witness.verifier.verify(CHECKPOINT_TEXT, b"\xff" * 8 + sig.raw[8:])


def test_plain_signer_refuses_a_timestamp():
    with pytest.raises(note.NoteError, match="expected no timestamp"):
        note.generate_signer("log.example").sign(b"x\n", timestamp=5)


def test_ed25519_verifier_rejects_a_cosignature_shaped_signature():
    signer = note.generate_signer("log.example")
    assert not signer.verifier.verify(b"x\n", bytes(72))


# --- Signing and adding signatures ------------------------------------------------------------


def test_text_with_blank_lines_signs_and_parses_back():
    text = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    signer = note.generate_signer("quasimodo.example/salvatore")
    signed = note.sign_note(text.encode(), signer)
    assert note.parse_note(signed).text == text.encode()
    assert note.open_note(signed, [signer.verifier]).text == text.encode()


@pytest.mark.parametrize("text", [b"\n", b"a\n\n", b"a\n\n\n", b"\n\xe2\x80\x94 x y\n"])
def test_texts_ending_in_blank_lines_round_trip(text):
    signer = note.generate_signer("log.example")
    assert note.open_note(note.sign_note(text, signer), [signer.verifier]).text == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"", "must end in a newline"),
        (b"no newline", "must end in a newline"),
        (b"crlf\r\n", "control character U\\+000D at byte 4"),
        (b"tab\there\n", "U\\+0009"),
        (b"\xff\n", "not valid UTF-8"),
    ],
)
def test_sign_note_refuses_texts_the_format_cannot_carry(text, expected):
    with pytest.raises(note.MalformedNoteError, match=expected):
        note.sign_note(text, note.generate_signer("log.example"))


def test_sign_note_needs_a_signer():
    with pytest.raises(note.MalformedNoteError, match="at least one signature, got none"):
        note.sign_note(b"x\n", [])


def test_sign_note_refuses_two_signers_with_one_key():
    signer = note.generate_signer("log.example")
    with pytest.raises(note.DuplicateKeyError, match="expected distinct keys"):
        note.sign_note(b"x\n", [signer, signer])


def test_add_signatures_appends_after_existing_ones():
    enoch = note.generate_signer("EnochRoot")
    peter = note.parse_skey(PETER["skey"])
    signed = note.add_signatures(PETER_NOTE, enoch)
    assert signed.startswith(PETER_NOTE)
    opened = note.open_note(signed, [peter.verifier, enoch.verifier])
    assert [s.name for s in opened.verified] == ["PeterNeumann", "EnochRoot"]


def test_add_signatures_replaces_a_signature_by_the_same_key():
    witness = note.generate_signer("witness.example", "cosignature")
    log = note.generate_signer("example.com/behind-the-sofa")
    first = note.sign_note(CHECKPOINT_TEXT, [log, witness], timestamp=1)
    second = note.add_signatures(first, witness, timestamp=2)
    parsed = note.parse_note(second)
    assert [s.name for s in parsed.signatures] == [log.name, witness.name]
    opened = note.open_note(second, [log.verifier, witness.verifier])
    assert opened.verified[1].timestamp == 2


def test_sixteen_signatures_are_accepted():
    signers = [note.generate_signer(f"w{i}.example") for i in range(16)]
    signed = note.sign_note(b"text\n", signers)
    assert len(note.open_note(signed, [s.verifier for s in signers]).verified) == 16


# --- Malformed notes --------------------------------------------------------------------------


def _sig_line(name: str = "PeterNeumann") -> bytes:
    return PETER_NOTE.split(b"\n\n")[1].replace(b"PeterNeumann", name.encode())


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PETER_NOTE.replace(b"\n", b"\r\n"), "control character U\\+000D"),
        (PETER_NOTE[:-1], "must end in a newline"),
        (PETER_NOTE.replace(b"\n\n", b"\n"), "no blank line"),
        (PETER_TEXT + b"\n", "no signature lines after its last blank line"),
        (PETER_NOTE + b"\n", "no signature lines after its last blank line"),
        (PETER_NOTE.replace("—".encode(), b"-"), "must start with '— '"),
        (PETER_NOTE.replace("— ".encode(), "—".encode()), "must start with '— '"),
        (PETER_NOTE.replace(b"PeterNeumann x08", b"PeterNeumannx08"), "'— <name> <base64>'"),
        (PETER_NOTE.replace(b"PeterNeumann x08", b"Peter+Neumann x08"), "contains '\\+'"),
        (PETER_NOTE.replace(b"PeterNeumann x08", b" x08"), "key name is empty"),
        (PETER_NOTE.replace(b"nAM=", b"nAM"), "not standard base64"),
        (PETER_NOTE.replace(b"nAM=", b"nAN="), "not canonical base64"),
        (PETER_NOTE.replace(b"nAM=", b"nAM= "), "not standard base64"),
        (PETER_TEXT + "\n— PeterNeumann AAAA\n".encode(), "decodes to 3 bytes"),
        (PETER_NOTE.replace(b"your", b"y\xffour"), "not valid UTF-8: bad byte at offset 44"),
        (PETER_NOTE.replace(b"If", b"I\x00"), "U\\+0000 at byte 1"),
    ],
)
def test_malformed_notes_are_rejected_with_a_reason(data, expected):
    with pytest.raises(note.MalformedNoteError, match=expected):
        note.parse_note(data)
    with pytest.raises(note.MalformedNoteError, match=expected):
        note.open_note(data, [note.parse_vkey(PETER["vkey"])])


def test_more_than_100_signatures_are_rejected():
    data = PETER_TEXT + b"\n" + _sig_line() * 101
    with pytest.raises(note.MalformedNoteError, match="101 signature lines, expected at most 100"):
        note.parse_note(data)
    assert len(note.parse_note(PETER_TEXT + b"\n" + _sig_line() * 100).signatures) == 100


def test_oversized_note_is_rejected():
    data = b"x" * note.MAX_NOTE_BYTES + b"\n\n" + _sig_line()
    with pytest.raises(note.MalformedNoteError, match="expected at most 1048576"):
        note.parse_note(data)


def test_note_must_be_bytes():
    with pytest.raises(note.MalformedNoteError, match="must be bytes, got str"):
        note.parse_note(PETER["note"])


# --- Verification failures --------------------------------------------------------------------


def test_tampered_text_fails_for_the_known_key():
    tampered = PETER_NOTE.replace(b"cryptography", b"cryptographx")
    with pytest.raises(note.InvalidSignatureError, match="PeterNeumann\\+c74f20a3 does not verify"):
        note.open_note(tampered, [note.parse_vkey(PETER["vkey"])])


def test_no_known_key_means_unverified():
    with pytest.raises(note.UnverifiedNoteError, match="expected one of \\[none given\\]"):
        note.open_note(PETER_NOTE, [])
    enoch = note.parse_vkey(TWO_SIGS["other_vkey_not_trusted"])
    with pytest.raises(
        note.UnverifiedNoteError,
        match="expected one of \\[EnochRoot\\+af0cfe78\\], found \\[PeterNeumann\\+c74f20a3\\]",
    ):
        note.open_note(PETER_NOTE, [enoch])


def test_same_name_other_key_is_ignored_not_failed():
    # signed-note: verifiers MUST ignore signatures from unknown keys, even if they share a name.
    impostor = note.generate_signer("PeterNeumann")
    opened = note.open_note(
        note.add_signatures(PETER_NOTE, impostor), [note.parse_vkey(PETER["vkey"])]
    )
    assert [s.name for s in opened.verified] == ["PeterNeumann"]
    assert [s.key_id for s in opened.unverified] == [impostor.key_id]


def test_a_second_bad_signature_by_a_known_key_fails_the_note():
    bad = _sig_line().replace(b"SffcvIAQ", b"SffcvIAR")
    with pytest.raises(note.InvalidSignatureError):
        note.open_note(PETER_NOTE + bad, [note.parse_vkey(PETER["vkey"])])


def test_repeated_signatures_are_reported_once():
    data = PETER_NOTE + _sig_line()
    opened = note.open_note(data, [note.parse_vkey(PETER["vkey"])])
    assert len(opened.verified) == 1


def test_two_known_keys_sharing_name_and_id_are_refused():
    a = note.Verifier("x.example", bytes(range(32)))
    b = note.Verifier("x.example", bytes(range(1, 33)))
    object.__setattr__(b, "key_id", a.key_id)  # a collision, as an attacker could compute
    with pytest.raises(note.DuplicateKeyError, match="share name and key ID"):
        note.open_note(PETER_NOTE, [a, b])


def test_errors_are_value_errors():
    for cls in (
        note.KeyFormatError,
        note.MalformedNoteError,
        note.InvalidSignatureError,
        note.UnverifiedNoteError,
        note.DuplicateKeyError,
    ):
        assert issubclass(cls, note.NoteError)
        assert issubclass(cls, ValueError)
