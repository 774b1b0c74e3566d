"""Signed notes (c2sp.org/signed-note) with Ed25519 and timestamped cosignature/v1 keys.

A signed note is a UTF-8 text ending in a newline, a blank line, and one or more signature lines
``— <key name> base64(4-byte key ID || signature)\\n``; the em dash is U+2014. The text is
separated from the signatures by the *last* blank line of the note. This module reads and writes
exactly that format, byte for byte as golang.org/x/mod/sumdb/note does, and supports two
signature types:

* ``0x01`` Ed25519 (signed-note): the signature is Ed25519 over the note text.
* ``0x04`` Ed25519 cosignature/v1 (c2sp.org/tlog-cosignature): the signature is a big-endian u64
  POSIX timestamp followed by Ed25519 over ``"cosignature/v1\\ntime <ts>\\n" || note text``.

Key ID = SHA-256(key name || 0x0A || type byte || 32-byte public key)[:4], read big-endian.
Keys travel as text: a verifier key (vkey) ``<name>+<8 hex key ID>+base64(type || public key)``
and Go's signer key (skey) ``PRIVATE+KEY+<name>+<8 hex key ID>+base64(type || 32-byte seed)``
(Go only defines skeys of type 0x01; a type 0x04 skey is this module's natural extension).

Parsing is strict, and every limit is stated here:

* a note is at most ``MAX_NOTE_BYTES`` (1 MiB) and carries at most ``MAX_SIGNATURES`` (100)
  signature lines (the spec asks verifiers to accept at least 16);
* it must be valid UTF-8 with no ASCII control character other than newline (so no CR);
* base64 must be canonical standard base64 (RFC 4648 §4, padded, zero trailing bits);
* key IDs in vkeys and skeys are exactly eight lowercase hex digits;
* key names are non-empty and contain no Unicode space, no ``+`` and no control character.

Only the standard library and ``cryptography`` are imported, so this module can be vendored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

KeyKind = Literal["ed25519", "cosignature"]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
_ALG_BY_KIND: dict[str, int] = {"ed25519": ALG_ED25519, "cosignature": ALG_COSIGNATURE_V1}
_KIND_BY_ALG: dict[int, KeyKind] = {ALG_ED25519: "ed25519", ALG_COSIGNATURE_V1: "cosignature"}

MAX_NOTE_BYTES = 1 << 20
MAX_SIGNATURES = 100
MAX_KEY_TEXT = 4096  # longest vkey or skey string accepted
MAX_TIMESTAMP = (1 << 63) - 1  # tlog-cosignature: "It MUST NOT exceed 2^63 - 1"

ED25519_KEY_BYTES = 32
ED25519_SIG_BYTES = 64
TIMESTAMP_BYTES = 8

SIGNATURE_PREFIX = "— "  # U+2014 EM DASH, U+0020 SPACE
_SIGNATURE_PREFIX_BYTES = SIGNATURE_PREFIX.encode()
_SKEY_PREFIX = "PRIVATE+KEY+"
_COSIGNATURE_HEADER = b"cosignature/v1\n"
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class NoteError(ValueError):
    """Base class of every error raised by this module."""


class KeyFormatError(NoteError):
    """A vkey, skey, key name or key that does not follow the signed-note key encoding."""


class MalformedNoteError(NoteError):
    """Bytes that are not a well-formed signed note, or a text that cannot be signed."""


class InvalidSignatureError(NoteError):
    """A signature by a known key (name and key ID match) that does not verify."""


class UnverifiedNoteError(NoteError):
    """A well-formed note that carries no signature by any of the known keys."""


class DuplicateKeyError(NoteError):
    """Two different keys with the same name and key ID were given as known keys or signers."""


def _show(value: str | bytes, limit: int = 60) -> str:
    """A short printable rendering of ``value`` for error messages."""
    text = repr(value[:limit])
    return text + ("…" if len(value) > limit else "")


def _b64decode_loose(text: str, what: str, error: type[NoteError]) -> bytes:
    """Decode standard base64 (padded, no stray characters), not yet checking canonicity."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise error(f"{what} is not standard base64: got {_show(text)}") from None


def _require_canonical(text: str, raw: bytes, what: str, error: type[NoteError]) -> None:
    """Reject base64 that is not the one encoding of its bytes (bad padding or trailing bits)."""
    canonical = base64.b64encode(raw).decode()
    if canonical != text:
        raise error(
            f"{what} is not canonical base64: got {_show(text)}, expected {_show(canonical)}"
        )


def _b64decode(text: str, what: str, error: type[NoteError]) -> bytes:
    """Decode canonical standard base64 (padded, no stray characters, zero trailing bits)."""
    raw = _b64decode_loose(text, what, error)
    _require_canonical(text, raw, what, error)
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def key_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a key name, or None if it can.

    signed-note: "Key names MUST be non-empty and MUST NOT contain any Unicode spaces or plus
    (U+002B) characters." Control characters are excluded too, since notes cannot carry them.
    """
    if not name:
        return "key name is empty"
    for char in name:
        if char == "+":
            return f"key name {_show(name)} contains '+'"
        if char.isspace():
            return f"key name {_show(name)} contains a space character U+{ord(char):04X}"
        if ord(char) < 0x20:
            return f"key name {_show(name)} contains control character U+{ord(char):04X}"
    return None


def compute_key_id(name: str, alg: int, public_key: bytes) -> int:
    """SHA-256(name || 0x0A || alg || public_key)[:4] as a big-endian uint32."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _alg_of(kind: str) -> int:
    try:
        return _ALG_BY_KIND[kind]
    except KeyError:
        raise KeyFormatError(
            f"unknown key kind {kind!r}: expected 'ed25519' or 'cosignature'"
        ) from None


def _check_name(name: str) -> None:
    if not isinstance(name, str):
        raise KeyFormatError(f"key name must be a str, got {type(name).__name__}")
    problem = key_name_problem(name)
    if problem is not None:
        raise KeyFormatError(problem)


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise NoteError(f"cosignature timestamp must be an int, got {type(timestamp).__name__}")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"cosignature timestamp must be in 0..2^63-1, got {timestamp}")


def cosigned_message(text: bytes, timestamp: int) -> bytes:
    """The message an Ed25519 cosignature/v1 signs: header, time line, then the note text."""
    _check_timestamp(timestamp)
    return _COSIGNATURE_HEADER + b"time %d\n" % timestamp + text


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note: key name, key ID and the signature bytes after the key ID.

    For a cosignature/v1, ``raw`` is the u64 big-endian timestamp followed by the 64-byte
    Ed25519 signature.
    """

    name: str
    key_id: int
    raw: bytes

    @property
    def key_id_hex(self) -> str:
        return f"{self.key_id:08x}"

    def to_line(self) -> bytes:
        """The signature line, ``— <name> <base64>\\n``."""
        blob = self.key_id.to_bytes(4, "big") + self.raw
        return f"{SIGNATURE_PREFIX}{self.name} {_b64encode(blob)}\n".encode()


@dataclass(frozen=True)
class Verifier:
    """A known public key: checks signatures made by one key name, key ID and signature type."""

    name: str
    public_key: bytes
    kind: KeyKind = "ed25519"
    key_id: int = field(init=False)
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        alg = _alg_of(self.kind)
        if not isinstance(self.public_key, bytes) or len(self.public_key) != ED25519_KEY_BYTES:
            got = len(self.public_key) if isinstance(self.public_key, bytes) else "not bytes"
            raise KeyFormatError(f"Ed25519 public key must be {ED25519_KEY_BYTES} bytes, got {got}")
        try:
            key = Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError as exc:
            raise KeyFormatError(f"not an Ed25519 public key: {exc}") from None
        object.__setattr__(self, "key_id", compute_key_id(self.name, alg, self.public_key))
        object.__setattr__(self, "_key", key)

    @property
    def key_id_hex(self) -> str:
        return f"{self.key_id:08x}"

    @property
    def vkey(self) -> str:
        """The vkey text, ``<name>+<hex key ID>+base64(type || public key)``."""
        return format_vkey(self.name, self.public_key, self.kind)

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (the bytes after the 4-byte key ID) is valid over ``text``."""
        if self.kind == "cosignature":
            if len(signature) != TIMESTAMP_BYTES + ED25519_SIG_BYTES:
                return False
            timestamp = int.from_bytes(signature[:TIMESTAMP_BYTES], "big")
            if timestamp > MAX_TIMESTAMP:
                return False
            message = cosigned_message(text, timestamp)
            signature = signature[TIMESTAMP_BYTES:]
        else:
            if len(signature) != ED25519_SIG_BYTES:
                return False
            message = text
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def signature_timestamp(self, signature: bytes) -> int | None:
        """The timestamp a cosignature/v1 carries (None for plain Ed25519 keys).

        Only meaningful once ``verify`` has accepted the signature.
        """
        if self.kind != "cosignature" or len(signature) < TIMESTAMP_BYTES:
            return None
        return int.from_bytes(signature[:TIMESTAMP_BYTES], "big")


class Signer:
    """A private key that signs notes under a key name, as Ed25519 or cosignature/v1."""

    __slots__ = ("_private", "kind", "name", "verifier")

    def __init__(self, name: str, seed: bytes, kind: KeyKind = "ed25519") -> None:
        _check_name(name)
        _alg_of(kind)
        if not isinstance(seed, bytes) or len(seed) != ED25519_KEY_BYTES:
            got = len(seed) if isinstance(seed, bytes) else "not bytes"
            raise KeyFormatError(f"Ed25519 seed must be {ED25519_KEY_BYTES} bytes, got {got}")
        self.name = name
        self.kind: KeyKind = kind
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self.verifier = Verifier(name, self._private.public_key().public_bytes_raw(), kind)

    def __repr__(self) -> str:
        return f"Signer(name={self.name!r}, kind={self.kind!r}, key_id={self.key_id_hex})"

    @property
    def key_id(self) -> int:
        return self.verifier.key_id

    @property
    def key_id_hex(self) -> str:
        return self.verifier.key_id_hex

    @property
    def public_key(self) -> bytes:
        return self.verifier.public_key

    @property
    def vkey(self) -> str:
        return self.verifier.vkey

    @property
    def seed(self) -> bytes:
        return self._private.private_bytes_raw()

    def sign(self, text: bytes, *, timestamp: int | None = None) -> NoteSignature:
        """Sign ``text`` (the note text, final newline included).

        A cosigner signs at ``timestamp`` (default: now, in whole POSIX seconds); passing a
        timestamp to a plain Ed25519 signer is an error.
        """
        if self.kind == "cosignature":
            when = int(time.time()) if timestamp is None else timestamp
            _check_timestamp(when)
            sig = self._private.sign(cosigned_message(text, when))
            raw = when.to_bytes(TIMESTAMP_BYTES, "big") + sig
        else:
            if timestamp is not None:
                raise NoteError(
                    f"key {self.name}+{self.key_id_hex} makes plain Ed25519 signatures: "
                    "expected no timestamp"
                )
            raw = self._private.sign(text)
        return NoteSignature(self.name, self.key_id, raw)


def generate_signer(name: str, kind: KeyKind = "ed25519") -> Signer:
    """A new random Ed25519 key of ``kind`` under ``name``."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    return Signer(name, seed, kind)


def format_vkey(name: str, public_key: bytes, kind: KeyKind = "ed25519") -> str:
    """``<name>+<hex key ID>+base64(type || public key)``."""
    _check_name(name)
    alg = _alg_of(kind)
    if len(public_key) != ED25519_KEY_BYTES:
        raise KeyFormatError(
            f"Ed25519 public key must be {ED25519_KEY_BYTES} bytes, got {len(public_key)}"
        )
    key_id = compute_key_id(name, alg, public_key)
    return f"{name}+{key_id:08x}+{_b64encode(bytes([alg]) + public_key)}"


def format_skey(signer: Signer) -> str:
    """Go's signer key text: ``PRIVATE+KEY+<name>+<hex key ID>+base64(type || seed)``."""
    alg = _alg_of(signer.kind)
    return (
        f"{_SKEY_PREFIX}{signer.name}+{signer.key_id_hex}+{_b64encode(bytes([alg]) + signer.seed)}"
    )


def _split_key_text(text: str, what: str) -> tuple[str, int, int, bytes]:
    """Split ``<name>+<hex id>+<base64 type||key>`` into name, key ID, type byte and key."""
    name, sep1, rest = text.partition("+")
    hex_id, sep2, key64 = rest.partition("+")
    if not sep1 or not sep2:
        raise KeyFormatError(
            f"{what} must look like <name>+<8 hex key ID>+<base64 key>, got {_show(text)}"
        )
    problem = key_name_problem(name)
    if problem is not None:
        raise KeyFormatError(f"{what}: {problem}")
    if not _HEX_KEY_ID.fullmatch(hex_id):
        raise KeyFormatError(f"{what} key ID must be 8 lowercase hex digits, got {_show(hex_id)}")
    blob = _b64decode_loose(key64, f"{what} key", KeyFormatError)
    if not blob:
        raise KeyFormatError(f"{what} key is empty: expected a type byte and a 32-byte key")
    alg, key = blob[0], blob[1:]
    if alg not in _KIND_BY_ALG:
        raise KeyFormatError(
            f"{what} has unknown signature type 0x{alg:02x}: "
            "expected 0x01 (Ed25519) or 0x04 (cosignature/v1)"
        )
    if len(key) != ED25519_KEY_BYTES:
        raise KeyFormatError(
            f"{what} Ed25519 key is {len(key)} bytes, expected {ED25519_KEY_BYTES}"
        )
    _require_canonical(key64, blob, f"{what} key", KeyFormatError)
    return name, int(hex_id, 16), alg, key


def parse_vkey(vkey: str) -> Verifier:
    """The Verifier a vkey text describes; raises KeyFormatError for anything malformed."""
    if not isinstance(vkey, str):
        raise KeyFormatError(f"vkey must be a str, got {type(vkey).__name__}")
    if len(vkey) > MAX_KEY_TEXT:
        raise KeyFormatError(f"vkey is {len(vkey)} characters, expected at most {MAX_KEY_TEXT}")
    name, key_id, alg, key = _split_key_text(vkey, "vkey")
    verifier = Verifier(name, key, _KIND_BY_ALG[alg])
    if verifier.key_id != key_id:
        raise KeyFormatError(
            f"vkey key ID {key_id:08x} does not match its name and key: "
            f"expected {verifier.key_id_hex}"
        )
    return verifier


def parse_skey(skey: str) -> Signer:
    """The Signer a Go-style skey text describes; raises KeyFormatError for anything malformed."""
    if not isinstance(skey, str):
        raise KeyFormatError(f"skey must be a str, got {type(skey).__name__}")
    if len(skey) > MAX_KEY_TEXT:
        raise KeyFormatError(f"skey is {len(skey)} characters, expected at most {MAX_KEY_TEXT}")
    if not skey.startswith(_SKEY_PREFIX):
        raise KeyFormatError(f"skey must start with {_SKEY_PREFIX!r}, got {_show(skey, 12)}")
    name, key_id, alg, seed = _split_key_text(skey[len(_SKEY_PREFIX) :], "skey")
    signer = Signer(name, seed, _KIND_BY_ALG[alg])
    if signer.key_id != key_id:
        raise KeyFormatError(
            f"skey key ID {key_id:08x} does not match the key it holds: "
            f"expected {signer.key_id_hex}"
        )
    return signer


@dataclass(frozen=True)
class Note:
    """A parsed, not yet verified, signed note."""

    text: bytes
    signatures: tuple[NoteSignature, ...]

    def to_bytes(self) -> bytes:
        return self.text + b"\n" + b"".join(sig.to_line() for sig in self.signatures)


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature that a known key verified; ``timestamp`` is set for cosignature/v1."""

    signature: NoteSignature
    verifier: Verifier
    timestamp: int | None

    @property
    def name(self) -> str:
        return self.signature.name

    @property
    def key_id(self) -> int:
        return self.signature.key_id


@dataclass(frozen=True)
class VerifiedNote:
    """A note whose signatures by known keys all verified (at least one did)."""

    text: bytes
    verified: tuple[VerifiedSignature, ...]
    unverified: tuple[NoteSignature, ...]


def _check_utf8_text(data: bytes, what: str) -> str:
    """Decode ``data`` as UTF-8 with no ASCII control character other than newline."""
    if not isinstance(data, bytes):
        raise MalformedNoteError(f"{what} must be bytes, got {type(data).__name__}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNoteError(
            f"{what} is not valid UTF-8: bad byte at offset {exc.start}"
        ) from None
    bad = _CONTROL.search(text)
    if bad is not None:
        offset = len(text[: bad.start()].encode())
        raise MalformedNoteError(
            f"{what} contains control character U+{ord(bad.group()):04X} at byte {offset}: "
            "expected none other than newline (U+000A)"
        )
    return text


def _check_signable_text(text: bytes) -> None:
    _check_utf8_text(text, "note text")
    if not text.endswith(b"\n"):
        raise MalformedNoteError(f"note text must end in a newline, got {_show(text[-20:])}")


def _parse_signature_line(line: bytes, number: int) -> NoteSignature:
    if not line.startswith(_SIGNATURE_PREFIX_BYTES):
        raise MalformedNoteError(
            f"signature line {number} must start with '— ' (U+2014, space), got {_show(line)}"
        )
    name, sep, b64 = line[len(_SIGNATURE_PREFIX_BYTES) :].decode().partition(" ")
    if not sep:
        raise MalformedNoteError(
            f"signature line {number} must be '— <name> <base64>', got {_show(line)}"
        )
    problem = key_name_problem(name)
    if problem is not None:
        raise MalformedNoteError(f"signature line {number}: {problem}")
    blob = _b64decode(b64, f"signature line {number}", MalformedNoteError)
    if len(blob) < 5:
        raise MalformedNoteError(
            f"signature line {number} decodes to {len(blob)} bytes: "
            "expected a 4-byte key ID and a signature"
        )
    return NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:])


def parse_note(note: bytes) -> Note:
    """Split a signed note into its text and signature lines, without verifying anything."""
    if not isinstance(note, bytes):
        raise MalformedNoteError(f"note must be bytes, got {type(note).__name__}")
    if len(note) > MAX_NOTE_BYTES:
        raise MalformedNoteError(f"note is {len(note)} bytes, expected at most {MAX_NOTE_BYTES}")
    _check_utf8_text(note, "note")
    if not note.endswith(b"\n"):
        raise MalformedNoteError(f"note must end in a newline, got {_show(note[-20:])}")
    split = note.rfind(b"\n\n")
    if split < 0:
        raise MalformedNoteError(
            "note has no blank line: expected text, a blank line, then signature lines"
        )
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise MalformedNoteError("note has no signature lines after its last blank line")
    lines = block[:-1].split(b"\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(
            f"note has {len(lines)} signature lines, expected at most {MAX_SIGNATURES}"
        )
    signatures = tuple(_parse_signature_line(line, n) for n, line in enumerate(lines, 1))
    return Note(text, signatures)


def _signer_list(signers: Signer | Iterable[Signer]) -> list[Signer]:
    found = [signers] if isinstance(signers, Signer) else list(signers)
    seen: dict[tuple[str, int], Signer] = {}
    for signer in found:
        if not isinstance(signer, Signer):
            raise NoteError(f"expected Signer objects, got {type(signer).__name__}")
        key = (signer.name, signer.key_id)
        if key in seen:
            raise DuplicateKeyError(
                f"two signers share key {signer.name}+{signer.key_id_hex}: expected distinct keys"
            )
        seen[key] = signer
    return found


def _assemble(text: bytes, signatures: list[NoteSignature]) -> bytes:
    if not signatures:
        raise MalformedNoteError("a signed note needs at least one signature, got none")
    note = Note(text, tuple(signatures)).to_bytes()
    parsed = parse_note(note)  # enforces the size and count limits on what we emit
    if parsed.text != text:  # pragma: no cover - the last blank line is always the separator
        raise MalformedNoteError("signed note does not parse back to its text")
    return note


def sign_note(
    text: bytes, signers: Signer | Iterable[Signer], *, timestamp: int | None = None
) -> bytes:
    """Sign ``text`` with each signer and return the signed note.

    ``timestamp`` is passed to cosigners (default: now); plain Ed25519 signers ignore it.
    """
    _check_signable_text(text)
    found = _signer_list(signers)
    signatures = [_sign_one(signer, text, timestamp) for signer in found]
    return _assemble(text, signatures)


def _sign_one(signer: Signer, text: bytes, timestamp: int | None) -> NoteSignature:
    return signer.sign(text, timestamp=timestamp if signer.kind == "cosignature" else None)


def add_signatures(
    note: bytes, signers: Signer | Iterable[Signer], *, timestamp: int | None = None
) -> bytes:
    """Append signatures by ``signers`` to a signed note.

    Existing signatures are kept in order and not verified, except one with the same key name
    and key ID as a new signer, which is replaced (as Go's note.Sign does).
    """
    parsed = parse_note(note)
    found = _signer_list(signers)
    replaced = {(signer.name, signer.key_id) for signer in found}
    kept = [sig for sig in parsed.signatures if (sig.name, sig.key_id) not in replaced]
    added = [_sign_one(signer, parsed.text, timestamp) for signer in found]
    return _assemble(parsed.text, kept + added)


def _verifier_map(verifiers: Iterable[Verifier]) -> dict[tuple[str, int], Verifier]:
    known: dict[tuple[str, int], Verifier] = {}
    for verifier in verifiers:
        if not isinstance(verifier, Verifier):
            raise NoteError(f"expected Verifier objects, got {type(verifier).__name__}")
        key = (verifier.name, verifier.key_id)
        other = known.get(key)
        if other is not None and other != verifier:
            raise DuplicateKeyError(
                f"two known keys share name and key ID {verifier.name}+{verifier.key_id_hex}"
            )
        known[key] = verifier
    return known


def open_note(note: bytes, verifiers: Iterable[Verifier]) -> VerifiedNote:
    """Parse ``note`` and verify its signatures against the known keys.

    Signatures by unknown keys (name and key ID not both matching a known key) are kept as
    unverified. Every signature by a known key must verify (InvalidSignatureError otherwise),
    and at least one must be present (UnverifiedNoteError otherwise). Repeated signatures by one
    key and repeated identical unknown lines appear once in the result.
    """
    known = _verifier_map(verifiers)
    parsed = parse_note(note)
    verified: dict[tuple[str, int], VerifiedSignature] = {}
    unverified: dict[NoteSignature, None] = {}
    for sig in parsed.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            unverified[sig] = None
            continue
        if not verifier.verify(parsed.text, sig.raw):
            raise InvalidSignatureError(
                f"signature by known key {sig.name}+{sig.key_id_hex} does not verify: "
                f"expected a valid {verifier.kind} signature over the note text"
            )
        if (sig.name, sig.key_id) not in verified:
            stamp = verifier.signature_timestamp(sig.raw)
            verified[(sig.name, sig.key_id)] = VerifiedSignature(sig, verifier, stamp)
    if not verified:
        wanted = ", ".join(f"{n}+{k:08x}" for n, k in known) or "none given"
        found = ", ".join(f"{s.name}+{s.key_id_hex}" for s in parsed.signatures)
        raise UnverifiedNoteError(
            f"note has no signature by a known key: expected one of [{wanted}], found [{found}]"
        )
    return VerifiedNote(parsed.text, tuple(verified.values()), tuple(unverified))
