"""Offline verification of a c2sp.org/tlog-proof@v1 file for a leaf file.

``verify_proof_files`` is what ``corroborate verify PROOF --leaf LEAF --vkey VKEY [--witness
VKEY ...] [--min-witnesses N]`` runs: it reads the proof (at most 1 MiB) and the leaf bytes (at
most 64 MiB), reads each key argument as a vkey or as the path of a file holding one, and calls
``ledger.bundle.verify_bundle``. Every failure, including an unreadable or oversized file, is a
``VerificationError`` with a one-line reason; failures to *run* the check (a file that cannot be
read, is too large or is not a proof or a vkey at all) are its subclass ``VerificationInputError``,
so that a caller can tell "could not check" from "checked, and it does not verify".

Only the standard library, ``cryptography`` and ``ledger.{merkle,note,checkpoint,bundle}`` are
imported, so a client can vendor these modules and verify proofs without the rest of the project.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ledger import bundle as _bundle
from ledger import note as _note
from ledger.bundle import VerifiedProof

__all__ = [
    "MAX_LEAF_BYTES",
    "MAX_PROOF_BYTES",
    "VerificationError",
    "VerificationInputError",
    "verify_proof_files",
]

MAX_PROOF_BYTES = _bundle.MAX_BUNDLE_BYTES  # 1 MiB
MAX_LEAF_BYTES = 64 << 20  # 64 MiB
MAX_VKEY_FILE_BYTES = _note.MAX_KEY_TEXT + 1  # a vkey and one trailing newline


class VerificationError(ValueError):
    """Why a proof file does not prove a leaf under the given keys; the message is one line."""


class VerificationInputError(VerificationError):
    """The check could not run: a file is missing, unreadable or too large, the proof is not a
    tlog-proof@v1 bundle, or a key is not a vkey. Nothing was checked."""


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _read_capped(path: str | os.PathLike[str], what: str, limit: int) -> bytes:
    """Read a whole file, refusing one larger than ``limit`` bytes."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise VerificationInputError(f"cannot read {what} {os.fspath(path)!r}: {reason}") from None
    if len(data) > limit:
        raise VerificationInputError(
            f"{what} {os.fspath(path)!r} is larger than {limit} bytes: expected at most {limit}"
        )
    return data


def load_vkey(argument: str, what: str) -> _note.Verifier:
    """A vkey given as itself, or as the path of a file holding it (one trailing newline)."""
    if Path(argument).is_file():
        raw = _read_capped(argument, f"{what} file", MAX_VKEY_FILE_BYTES)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise VerificationInputError(f"{what} file {argument!r} is not UTF-8 text") from None
        text = text.removesuffix("\n")
        try:
            return _note.parse_vkey(text)
        except _note.NoteError as exc:
            raise VerificationInputError(
                f"{what} file {argument!r} does not hold a vkey: {_one_line(str(exc))}"
            ) from None
    try:
        return _note.parse_vkey(argument)
    except _note.NoteError as exc:
        raise VerificationInputError(
            f"{what} {argument[:60]!r} is neither a readable file nor a valid vkey: "
            f"{_one_line(str(exc))}"
        ) from None


def verify_proof_files(
    proof_path: str | os.PathLike[str],
    leaf_path: str | os.PathLike[str],
    vkey: str,
    witnesses: Sequence[str] = (),
    min_witnesses: int = 0,
    *,
    origin: str | None = None,
) -> VerifiedProof:
    """Verify that the leaf file's bytes are in the log, as the proof file claims.

    ``vkey`` is the log's key and ``witnesses`` the witness keys, each a vkey or a vkey file;
    at least ``min_witnesses`` of them must have cosigned the checkpoint. ``origin`` defaults to
    the log key's name.
    """
    log_verifier = load_vkey(vkey, "log vkey")
    witness_verifiers = [
        load_vkey(key, f"witness vkey {number}") for number, key in enumerate(witnesses, 1)
    ]
    proof = _read_capped(proof_path, "proof file", MAX_PROOF_BYTES)
    leaf = _read_capped(leaf_path, "leaf file", MAX_LEAF_BYTES)
    try:
        return _bundle.verify_bundle(
            proof,
            leaf,
            log_verifier,
            witness_verifiers,
            min_witnesses=min_witnesses,
            origin=origin,
        )
    except _bundle.MalformedBundleError as exc:
        raise VerificationInputError(f"proof file: {_one_line(str(exc))}") from exc
    except _bundle.BundleError as exc:
        raise VerificationError(_one_line(str(exc))) from exc
