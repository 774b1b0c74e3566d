"""Offline-verifiable inclusion proofs in the c2sp.org/tlog-proof@v1 text format.

A proof file (``.tlog-proof``) is::

    c2sp.org/tlog-proof@v1\\n
    [extra <base64 opaque data>\\n]
    index <leaf index, ASCII decimal, no leading zeroes>\\n
    <base64 hash>\\n ...           (the RFC 6962 inclusion path, the leaf's sibling first)
    \\n
    <the log's signed checkpoint, verbatim, cosignatures included>

The extra data is not authenticated by anything; ``verify_bundle`` returns it but does not use
it. Parsing is strict: the whole file is at most ``MAX_BUNDLE_BYTES`` (1 MiB), hashes are
canonical base64 of 32 bytes, at most 63 proof hashes (a tree of at most 2^63-1 leaves), an
``extra`` line must carry at least one byte, and the checkpoint must be a well-formed signed
checkpoint.

``verify_bundle`` parses a proof, checks the checkpoint's log signature and witness cosignatures
against a policy (``ledger.checkpoint.open_checkpoint``), hashes the leaf as RFC 6962 does and
checks its inclusion (``ledger.merkle.verify_inclusion``). Every failure is a ``BundleError``
whose message is one line saying what was expected and what arrived.

Only the standard library, ``cryptography`` and ``ledger.{merkle,note,checkpoint}`` are imported.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledger import checkpoint as _checkpoint
from ledger import merkle as _merkle
from ledger import note as _note

HEADER = "c2sp.org/tlog-proof@v1"
MAX_BUNDLE_BYTES = 1 << 20
MAX_PROOF_HASHES = 63
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_INDEX = (1 << 63) - 1


class BundleError(ValueError):
    """Base class of every error raised by this module."""


class MalformedBundleError(BundleError):
    """Bytes that are not a c2sp.org/tlog-proof@v1 proof with a well-formed checkpoint."""


class BundleKeyError(BundleError):
    """A log or witness vkey given to the verifier that cannot be parsed."""


class BundleOriginError(BundleError):
    """A proof whose checkpoint is from another log than the one expected."""


class BundleSignatureError(BundleError):
    """A checkpoint without a valid log signature, or with a signature that fails to verify."""


class BundleWitnessError(BundleError):
    """Too few valid witness cosignatures, or a witness policy that cannot be met."""


class InclusionError(BundleError):
    """An inclusion proof that does not lead from the leaf to the checkpoint's root."""


def _show(value: str | bytes, limit: int = 60) -> str:
    text = repr(value[:limit])
    return text + ("…" if len(value) > limit else "")


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _decode_b64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise MalformedBundleError(f"{what} must be standard base64, got {_show(text)}") from None
    if base64.b64encode(raw).decode() != text:
        raise MalformedBundleError(f"{what} is not canonical base64, got {_show(text)}")
    return raw


@dataclass(frozen=True)
class ProofBundle:
    """The parts of a tlog-proof: leaf index, inclusion path, signed checkpoint, extra data."""

    index: int
    proof: Sequence[bytes]
    checkpoint_note: bytes
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not isinstance(self.index, int):
            raise MalformedBundleError(f"index must be an int, got {self.index!r}")
        if not 0 <= self.index <= _MAX_INDEX:
            raise MalformedBundleError(f"index must be in 0..2^63-1, got {self.index}")
        proof = tuple(self.proof)
        if len(proof) > MAX_PROOF_HASHES:
            raise MalformedBundleError(
                f"proof has {len(proof)} hashes, expected at most {MAX_PROOF_HASHES}"
            )
        for number, value in enumerate(proof, 1):
            if not isinstance(value, bytes) or len(value) != _merkle.HASH_SIZE:
                got = len(value) if isinstance(value, bytes) else type(value).__name__
                raise MalformedBundleError(
                    f"proof hash {number} must be {_merkle.HASH_SIZE} bytes, got {got}"
                )
        object.__setattr__(self, "proof", proof)
        if self.extra is not None and (not isinstance(self.extra, bytes) or not self.extra):
            raise MalformedBundleError(
                f"extra must be None or non-empty bytes, got {_show(self.extra or b'')}"
            )
        if not isinstance(self.checkpoint_note, bytes):
            raise MalformedBundleError(
                f"checkpoint_note must be bytes, got {type(self.checkpoint_note).__name__}"
            )
        try:
            parsed = _note.parse_note(self.checkpoint_note)
            _checkpoint.Checkpoint.from_text(parsed.text)
        except (_note.NoteError, _checkpoint.CheckpointError) as exc:
            raise MalformedBundleError(f"checkpoint: {_one_line(str(exc))}") from exc

    @property
    def checkpoint(self) -> _checkpoint.Checkpoint:
        """The checkpoint's parsed text (its signatures are not verified here)."""
        return _checkpoint.Checkpoint.from_text(_note.parse_note(self.checkpoint_note).text)

    def to_text(self) -> bytes:
        """The proof in the c2sp.org/tlog-proof@v1 format."""
        return encode_bundle(self.index, self.proof, self.checkpoint_note, self.extra)

    @classmethod
    def from_text(cls, text: bytes) -> ProofBundle:
        """Parse a c2sp.org/tlog-proof@v1 proof; strict."""
        if not isinstance(text, bytes):
            raise MalformedBundleError(f"proof must be bytes, got {type(text).__name__}")
        if len(text) > MAX_BUNDLE_BYTES:
            raise MalformedBundleError(
                f"proof is {len(text)} bytes, expected at most {MAX_BUNDLE_BYTES}"
            )
        lines = _HeaderLines(text)
        header = lines.next("the header line")
        if header != HEADER:
            raise MalformedBundleError(f"first line must be {HEADER!r}, got {_show(header)}")
        line = lines.next("the index line")
        extra = None
        if line.startswith("extra "):
            extra = _decode_b64(line[len("extra ") :], "extra data")
            if not extra:
                raise MalformedBundleError("extra line carries no data: expected base64 bytes")
            line = lines.next("the index line")
        if not line.startswith("index "):
            raise MalformedBundleError(
                f"expected 'index <n>' (after the optional extra line), got {_show(line)}"
            )
        index_text = line[len("index ") :]
        if not _DECIMAL.fullmatch(index_text) or int(index_text) > _MAX_INDEX:
            raise MalformedBundleError(
                "index must be ASCII decimal in 0..2^63-1 without leading zeroes, "
                f"got {_show(index_text)}"
            )
        proof: list[bytes] = []
        while (line := lines.next("the blank line before the checkpoint")) != "":
            number = len(proof) + 1
            if number > MAX_PROOF_HASHES:
                raise MalformedBundleError(
                    f"proof has more than {MAX_PROOF_HASHES} hashes before the blank line"
                )
            try:
                value = _decode_b64(line, f"proof line {number}")
            except MalformedBundleError as exc:
                raise MalformedBundleError(
                    f"{exc}: expected a base64 hash or the blank line before the checkpoint"
                ) from None
            if len(value) != _merkle.HASH_SIZE:
                raise MalformedBundleError(
                    f"proof line {number} decodes to {len(value)} bytes, "
                    f"expected a {_merkle.HASH_SIZE}-byte hash"
                )
            proof.append(value)
        checkpoint_note = lines.rest()
        if not checkpoint_note:
            raise MalformedBundleError("proof ends after the blank line: expected a checkpoint")
        return cls(int(index_text), proof, checkpoint_note, extra)


def encode_bundle(
    index: int, proof: Sequence[bytes], checkpoint_note: bytes, extra: bytes | None = None
) -> bytes:
    """The c2sp.org/tlog-proof@v1 text of already-checked parts (``ProofBundle`` checks them;
    a server writing many proofs under one checkpoint checks the checkpoint once)."""
    lines = [HEADER]
    if extra is not None:
        lines.append("extra " + base64.b64encode(extra).decode())
    lines.append(f"index {index}")
    lines.extend(base64.b64encode(h).decode() for h in proof)
    text = ("\n".join(lines) + "\n\n").encode() + checkpoint_note
    if len(text) > MAX_BUNDLE_BYTES:
        raise MalformedBundleError(
            f"proof would be {len(text)} bytes, expected at most {MAX_BUNDLE_BYTES}"
        )
    return text


class _HeaderLines:
    """Reads the newline-terminated ASCII lines before the checkpoint of a proof."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0

    def next(self, what: str) -> str:
        end = self._data.find(b"\n", self._position)
        if end < 0:
            raise MalformedBundleError(f"proof ends before {what}: expected a newline")
        raw = self._data[self._position : end]
        self._position = end + 1
        try:
            line = raw.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedBundleError(
                f"expected ASCII before the checkpoint, got {_show(raw)}"
            ) from None
        if _CONTROL.search(line):
            raise MalformedBundleError(
                f"expected no control characters (such as CR) before the checkpoint, "
                f"got {_show(raw)}"
            )
        return line

    def rest(self) -> bytes:
        return self._data[self._position :]


@dataclass(frozen=True)
class VerifiedProof:
    """What a verified proof establishes: the leaf is at ``index`` of the signed tree."""

    index: int
    leaf_hash: bytes
    checkpoint: _checkpoint.Checkpoint
    log_key: str
    cosignatures: tuple[_note.VerifiedSignature, ...]
    extra: bytes | None

    @property
    def origin(self) -> str:
        return self.checkpoint.origin

    @property
    def tree_size(self) -> int:
        return self.checkpoint.size

    @property
    def root_hash(self) -> bytes:
        return self.checkpoint.root_hash

    @property
    def witness_timestamps(self) -> dict[str, int | None]:
        """Witness key name -> cosignature/v1 timestamp (None for plain Ed25519 witnesses)."""
        return {sig.name: sig.timestamp for sig in self.cosignatures}


def _verifier(key: str | _note.Verifier, what: str) -> _note.Verifier:
    if isinstance(key, _note.Verifier):
        return key
    try:
        return _note.parse_vkey(key)
    except _note.NoteError as exc:
        raise BundleKeyError(f"{what}: {_one_line(str(exc))}") from exc


def verify_bundle(
    bundle_text: bytes,
    leaf: bytes,
    log_vkey: str | _note.Verifier,
    witness_vkeys: Iterable[str | _note.Verifier] = (),
    min_witnesses: int = 0,
    origin: str | None = None,
) -> VerifiedProof:
    """Check that ``leaf`` is in the log as ``bundle_text`` claims, under a witness policy.

    ``origin`` defaults to the log key's name. Raises a ``BundleError`` subclass on any failure.
    """
    log_verifier = _verifier(log_vkey, "log vkey")
    witnesses = [_verifier(key, f"witness vkey {n}") for n, key in enumerate(witness_vkeys, 1)]
    if not isinstance(leaf, bytes):
        raise BundleError(f"leaf must be bytes, got {type(leaf).__name__}")
    bundle = ProofBundle.from_text(bundle_text)
    try:
        opened = _checkpoint.open_checkpoint(
            bundle.checkpoint_note,
            log_verifier,
            origin=origin,
            witnesses=witnesses,
            min_witnesses=min_witnesses,
        )
    except _checkpoint.OriginMismatchError as exc:
        raise BundleOriginError(_one_line(str(exc))) from exc
    except (_checkpoint.InsufficientWitnessesError, _checkpoint.WitnessPolicyError) as exc:
        raise BundleWitnessError(_one_line(str(exc))) from exc
    except (_checkpoint.MissingLogSignatureError, _note.InvalidSignatureError) as exc:
        raise BundleSignatureError(_one_line(str(exc))) from exc
    except (_note.NoteError, _checkpoint.CheckpointError) as exc:
        raise MalformedBundleError(f"checkpoint: {_one_line(str(exc))}") from exc
    checkpoint = opened.checkpoint
    if bundle.index >= checkpoint.size:
        raise InclusionError(
            f"index {bundle.index} is outside the checkpoint's tree of size {checkpoint.size}: "
            f"expected an index below {checkpoint.size}"
        )
    leaf_hash = _merkle.leaf_hash(leaf)
    try:
        _merkle.verify_inclusion(
            leaf_hash, bundle.index, checkpoint.size, list(bundle.proof), checkpoint.root_hash
        )
    except _merkle.ProofError as exc:
        raise InclusionError(
            f"leaf is not included at index {bundle.index} of {checkpoint.origin!r} at size "
            f"{checkpoint.size}: {_one_line(str(exc))}"
        ) from exc
    return VerifiedProof(
        index=bundle.index,
        leaf_hash=leaf_hash,
        checkpoint=checkpoint,
        log_key=log_verifier.vkey,
        cosignatures=opened.cosignatures,
        extra=bundle.extra,
    )
