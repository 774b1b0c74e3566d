"""Private key files (the log's Ed25519 key, a witness's cosignature/v1 key): generated on first
use with mode 0600 and never overwritten; a file others can read, or a key of another name or
kind, is refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ledger.note import KeyKind, NoteError, Signer, format_skey, generate_signer, parse_skey


class KeyFileError(RuntimeError):
    """The key file is unreadable, malformed, too open, or for another name or kind."""


def load_or_create_signer(path: Path, name: str) -> Signer:
    """The log's key at ``path``; created (0600) if it does not exist."""
    return load_or_create_key(path, name, kind="ed25519", what="log")


def load_or_create_key(path: Path, name: str, *, kind: KeyKind, what: str) -> Signer:
    """Read the key at ``path``; create it (0600, never overwritten) if it does not exist."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyFileError(f"cannot create the folder of the {what} key {path}: {exc}") from None
    if path.exists():
        return load_key(path, name, kind=kind, what=what)
    signer = generate_signer(name, kind=kind)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return load_key(path, name, kind=kind, what=what)
    except OSError as exc:
        raise KeyFileError(f"cannot create the {what} key {path}: {exc}") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(format_skey(signer) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return signer


def load_key(path: Path, name: str, *, kind: KeyKind, what: str) -> Signer:
    try:
        mode = path.stat().st_mode
        raw = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read the {what} key {path}: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"the {what} key {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
            "expected 600: run chmod 600 on it"
        )
    try:
        signer = parse_skey(raw)
    except NoteError as exc:
        reason = " ".join(str(exc).split())
        raise KeyFileError(
            f"the {what} key {path} is not a signed-note private key: {reason}"
        ) from None
    if signer.kind != kind:
        raise KeyFileError(f"the {what} key {path} is a {signer.kind} key: expected a {kind} key")
    if signer.name != name:
        setting = " (CORROBORATE_LOG_ORIGIN)" if what == "log" else ""
        raise KeyFileError(f"the {what} key {path} is for {signer.name!r}, not {name!r}{setting}")
    return signer
