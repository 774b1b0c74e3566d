"""The log's Ed25519 signing key: generated on first start into the data dir, mode 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ledger.note import Signer, format_skey, generate_signer, parse_skey


class KeyFileError(RuntimeError):
    """The key file is unreadable, malformed, too open, or for another log."""


def load_or_create_signer(path: Path, name: str) -> Signer:
    """Read the signer at ``path``; create it (0600, never overwritten) if it does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        signer = generate_signer(name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return load_signer(path, name)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(format_skey(signer) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return signer
    return load_signer(path, name)


def load_signer(path: Path, name: str) -> Signer:
    try:
        mode = path.stat().st_mode
        raw = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read the log key {path}: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"the log key {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
            "expected 600: run chmod 600 on it"
        )
    try:
        signer = parse_skey(raw)
    except ValueError as exc:
        raise KeyFileError(f"the log key {path} is not a signed-note private key: {exc}") from None
    if signer.name != name:
        raise KeyFileError(
            f"the log key {path} is for the log {signer.name!r}, settings say {name!r} "
            "(CORROBORATE_LOG_ORIGIN)"
        )
    return signer
