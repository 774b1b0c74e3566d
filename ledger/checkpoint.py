"""Transparency log checkpoints (c2sp.org/tlog-checkpoint) and their witness cosignatures.

A checkpoint is a signed note (see ``ledger.note``) whose text is::

    <origin>\\n
    <tree size, ASCII decimal, no leading zeroes>\\n
    <base64 RFC 6962 root hash>\\n
    [<extension line>\\n ...]

The origin is any non-empty line (the spec only *recommends* a schema-less URL, and "clients MUST
NOT assume that the origin is following this format"). Extension lines, if any, are non-empty.
The tree size is read as a signed 64-bit integer, as Go's implementations do.

``open_checkpoint`` applies a verification policy: the log's signature must verify, the origin
must be the expected one (by default the log key's name, which "SHOULD match the origin line"),
and at least ``min_witnesses`` of the given witnesses must have cosigned. Cosignature/v1
timestamps are returned with each witness cosignature.

Only the standard library, ``cryptography`` and ``ledger.note`` are imported.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ledger import note as _note

HASH_BYTES = 32
MAX_TREE_SIZE = (1 << 63) - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class CheckpointError(ValueError):
    """Base class of the checkpoint errors raised by this module.

    ``open_checkpoint`` also lets ``ledger.note.NoteError`` through for notes that are malformed
    or carry a signature by a known key that does not verify.
    """


class MalformedCheckpointError(CheckpointError):
    """A checkpoint text that does not follow c2sp.org/tlog-checkpoint."""


class OriginMismatchError(CheckpointError):
    """A checkpoint from a different log than the one expected."""


class MissingLogSignatureError(CheckpointError):
    """A checkpoint without a valid signature by the log's key."""


class InsufficientWitnessesError(CheckpointError):
    """Fewer valid witness cosignatures than the policy requires."""


class WitnessPolicyError(CheckpointError):
    """A verification policy that cannot be satisfied or is ambiguous."""


def _show(value: str | bytes, limit: int = 60) -> str:
    text = repr(value[:limit])
    return text + ("…" if len(value) > limit else "")


@dataclass(frozen=True)
class Checkpoint:
    """The note text of a checkpoint: origin, tree size, root hash and extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin:
            raise MalformedCheckpointError(f"origin must be a non-empty str, got {self.origin!r}")
        if "\n" in self.origin or _has_control(self.origin):
            raise MalformedCheckpointError(
                f"origin must be one line without control characters, got {_show(self.origin)}"
            )
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise MalformedCheckpointError(f"tree size must be an int, got {self.size!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedCheckpointError(f"tree size must be in 0..2^63-1, got {self.size}")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_BYTES:
            got = len(self.root_hash) if isinstance(self.root_hash, bytes) else "not bytes"
            raise MalformedCheckpointError(f"root hash must be {HASH_BYTES} bytes, got {got}")
        extensions = tuple(self.extensions)
        for number, line in enumerate(extensions, 1):
            if not isinstance(line, str) or not line or "\n" in line or _has_control(line):
                raise MalformedCheckpointError(
                    f"extension line {number} must be a non-empty line without control "
                    f"characters, got {line!r}"
                )
        object.__setattr__(self, "extensions", extensions)

    def to_text(self) -> bytes:
        """The checkpoint's note text, final newline included."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return ("\n".join([*lines, *self.extensions]) + "\n").encode()

    @classmethod
    def from_text(cls, text: bytes) -> Checkpoint:
        """Parse a checkpoint's note text (no signatures); strict."""
        if not isinstance(text, bytes):
            raise MalformedCheckpointError(f"checkpoint text must be bytes, got {type(text)}")
        if len(text) > _note.MAX_NOTE_BYTES:
            raise MalformedCheckpointError(
                f"checkpoint text is {len(text)} bytes, expected at most {_note.MAX_NOTE_BYTES}"
            )
        try:
            decoded = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedCheckpointError(
                f"checkpoint text is not valid UTF-8: bad byte at offset {exc.start}"
            ) from None
        bad = _CONTROL.search(decoded)
        if bad is not None:
            offset = len(decoded[: bad.start()].encode())
            raise MalformedCheckpointError(
                f"checkpoint text contains control character U+{ord(bad.group()):04X} at byte "
                f"{offset}: expected none other than newline (U+000A)"
            )
        if not decoded.endswith("\n"):
            raise MalformedCheckpointError(
                f"checkpoint text must end in a newline, got {_show(decoded[-20:])}"
            )
        lines = decoded[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedCheckpointError(
                f"checkpoint text has {len(lines)} lines, expected at least 3 "
                "(origin, tree size, root hash)"
            )
        origin, size_text, root_text, *extensions = lines
        if not _DECIMAL.fullmatch(size_text):
            raise MalformedCheckpointError(
                f"tree size must be ASCII decimal without leading zeroes, got {_show(size_text)}"
            )
        size = int(size_text)
        if size > MAX_TREE_SIZE:
            raise MalformedCheckpointError(f"tree size must be at most 2^63-1, got {size_text}")
        root = _decode_hash(root_text)
        for number, line in enumerate(extensions, 1):
            if not line:
                raise MalformedCheckpointError(
                    f"extension line {number} is empty: extension lines must be non-empty"
                )
        return cls(origin, size, root, tuple(extensions))


def _has_control(text: str) -> bool:
    return any(ord(char) < 0x20 for char in text)


def _decode_hash(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise MalformedCheckpointError(
            f"root hash must be standard base64, got {_show(text)}"
        ) from None
    if len(raw) != HASH_BYTES:
        raise MalformedCheckpointError(
            f"root hash decodes to {len(raw)} bytes, expected {HASH_BYTES}"
        )
    if base64.b64encode(raw).decode() != text:
        raise MalformedCheckpointError(f"root hash is not canonical base64, got {_show(text)}")
    return raw


@dataclass(frozen=True)
class OpenedCheckpoint:
    """A checkpoint whose log signature and required cosignatures verified."""

    checkpoint: Checkpoint
    note: bytes
    log_signature: _note.VerifiedSignature
    cosignatures: tuple[_note.VerifiedSignature, ...]
    unverified: tuple[_note.NoteSignature, ...]

    @property
    def witness_timestamps(self) -> dict[str, int | None]:
        """Witness key name -> cosignature/v1 timestamp (None for plain Ed25519 witnesses)."""
        return {sig.name: sig.timestamp for sig in self.cosignatures}


def sign_checkpoint(
    checkpoint: Checkpoint,
    signer: _note.Signer | Iterable[_note.Signer],
    *,
    timestamp: int | None = None,
) -> bytes:
    """The checkpoint as a signed note, signed by ``signer`` (or by each of several signers)."""
    return _note.sign_note(checkpoint.to_text(), signer, timestamp=timestamp)


def _key_label(verifier: _note.Verifier) -> str:
    return f"{verifier.name}+{verifier.key_id_hex}"


def open_checkpoint(
    note: bytes,
    log_verifier: _note.Verifier,
    *,
    origin: str | None = None,
    witnesses: Iterable[_note.Verifier] = (),
    min_witnesses: int = 0,
) -> OpenedCheckpoint:
    """Parse and verify a signed checkpoint against a policy.

    ``origin`` defaults to the log key's name. Signatures by keys that are neither the log's nor
    a listed witness's are ignored (kept in ``unverified``); a signature by a listed key that does
    not verify raises ``ledger.note.InvalidSignatureError``.
    """
    witness_list = list(witnesses)
    log_key = (log_verifier.name, log_verifier.key_id)
    for witness in witness_list:
        if (witness.name, witness.key_id) == log_key:
            raise WitnessPolicyError(
                f"witness key {_key_label(witness)} is the log's key: expected distinct keys"
            )
    witness_keys = {(w.name, w.key_id) for w in witness_list}
    if isinstance(min_witnesses, bool) or not isinstance(min_witnesses, int) or min_witnesses < 0:
        raise WitnessPolicyError(f"min_witnesses must be an int >= 0, got {min_witnesses!r}")
    if min_witnesses > len(witness_keys):
        raise WitnessPolicyError(
            f"min_witnesses is {min_witnesses} but only {len(witness_keys)} witness keys "
            "were given: expected at most as many as the keys"
        )

    parsed = _note.parse_note(note)
    checkpoint = Checkpoint.from_text(parsed.text)
    expected_origin = log_verifier.name if origin is None else origin
    if checkpoint.origin != expected_origin:
        raise OriginMismatchError(
            f"checkpoint origin is {checkpoint.origin!r}, expected {expected_origin!r}"
        )
    try:
        opened = _note.open_note(note, [log_verifier, *witness_list])
        verified, unverified = opened.verified, opened.unverified
    except _note.UnverifiedNoteError:
        verified, unverified = (), parsed.signatures
    log_signature = None
    cosignatures = []
    for sig in verified:
        if (sig.name, sig.key_id) == log_key:
            log_signature = sig
        elif (sig.name, sig.key_id) in witness_keys:
            cosignatures.append(sig)
    if log_signature is None:
        found = ", ".join(f"{s.name}+{s.key_id_hex}" for s in parsed.signatures)
        raise MissingLogSignatureError(
            f"checkpoint has no signature by log key {_key_label(log_verifier)}: "
            f"found signatures by [{found}]"
        )
    if len(cosignatures) < min_witnesses:
        names = ", ".join(sig.name for sig in cosignatures) or "none"
        raise InsufficientWitnessesError(
            f"checkpoint has {len(cosignatures)} valid witness cosignatures ({names}), "
            f"expected at least {min_witnesses}"
        )
    return OpenedCheckpoint(checkpoint, note, log_signature, tuple(cosignatures), unverified)
