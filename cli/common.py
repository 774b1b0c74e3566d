"""What every ``corroborate`` command shares: its exit codes, the one-line error, the options
that point at the service (database, data directory, log origin), opening the runtime, and
printing ``--json`` output. The command modules (``cli.main``, ``cli.ingest``, ``cli.reconcile``,
``cli.users``) use these names and nothing private of one another.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

EXIT_FAILED = 1  # the thing checked is not right (a proof that does not verify, an audit problem)
EXIT_USAGE = 2  # the command could not run (bad settings, unreachable database, bad input)


class CommandError(Exception):
    """Ends the command with a one-line message and an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int) -> NoReturn:
    print(f"corroborate: {message}", file=sys.stderr)
    raise SystemExit(code)


# -- file arguments ----------------------------------------------------------------------------
#
# Every argument that names a file or folder the command reads is given one of these as its
# argparse ``type``: a missing, unreadable or wrong-kind path is then a one-line usage error
# (exit 2) before anything is opened or written. tests/test_cli_files.py finds the arguments by
# these types, so a new command's file argument is tested as soon as it uses one.


def _unreadable(path: Path, want_dir: bool) -> str | None:
    """Why ``path`` cannot be read as a regular file (or a folder), or None when it can."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    if want_dir and not stat.S_ISDIR(mode):
        return "not a folder"
    if not want_dir and not stat.S_ISREG(mode):
        # a folder, a FIFO (opening one would block), a device: never read as a document
        return "a folder" if stat.S_ISDIR(mode) else "not a regular file"
    if not os.access(path, os.R_OK | (os.X_OK if want_dir else 0)):
        return "permission denied"
    return None


def _absolute(text: str) -> str:
    return os.path.abspath(os.path.expanduser(text))


def input_file(text: str) -> Path:
    """A file the command reads: it must exist and be a readable regular file."""
    problem = _unreadable(Path(text), want_dir=False)
    if problem is not None:
        raise argparse.ArgumentTypeError(
            f"cannot read {text} ({_absolute(text)}): {problem}; expected a readable file"
        )
    return Path(text)


def input_dir(text: str) -> Path:
    """A folder the command reads: it must exist and be readable."""
    problem = _unreadable(Path(text), want_dir=True)
    if problem is not None:
        raise argparse.ArgumentTypeError(
            f"cannot read {text} ({_absolute(text)}): {problem}; expected a readable folder"
        )
    return Path(text)


def key_file(text: str) -> Path:
    """A private key file the command creates when it is missing (``--generate``); one that
    exists must be a readable regular file."""
    path = Path(text)
    if os.path.lexists(path):
        problem = _unreadable(path, want_dir=False)
        if problem is not None:
            raise argparse.ArgumentTypeError(
                f"cannot read {text} ({_absolute(text)}): {problem}; expected a key file, "
                "or a path where none exists yet"
            )
    return path


def vkey_or_file(text: str) -> str:
    """A verifier key given as itself or as the path of a file holding it. A path that exists
    must be a readable regular file; anything else is read as a vkey (checked by the command)."""
    path = Path(text)
    if os.path.lexists(path):
        problem = _unreadable(path, want_dir=False)
        if problem is not None:
            raise argparse.ArgumentTypeError(
                f"cannot read {text} ({_absolute(text)}): {problem}; expected a vkey or a "
                "readable file holding one"
            )
    return text


#: the argparse types above: what tests/test_cli_files.py looks for
FILE_TYPES: tuple[Callable[[str], Any], ...] = (input_file, input_dir, key_file, vkey_or_file)


def settings_from(args: argparse.Namespace) -> Any:
    from service.settings import SettingsError, load_settings

    overrides = {}
    for name in ("database_url", "data_dir", "host", "port", "log_origin"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise CommandError(str(exc)) from None


def runtime_call(args: argparse.Namespace, body: Callable[[Any], Any]) -> Any:
    """Open the runtime (all start checks), run ``body(runtime)``, close it."""
    from service.runtime import StartupError, open_runtime

    settings = settings_from(args)

    async def run() -> Any:
        try:
            runtime = await open_runtime(settings)
        except StartupError as exc:
            raise CommandError(str(exc)) from None
        try:
            return await body(runtime)
        finally:
            await runtime.close()

    return asyncio.run(run())


def add_service_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", dest="database_url", help="overrides CORROBORATE_DATABASE_URL"
    )
    parser.add_argument("--data-dir", dest="data_dir", help="overrides CORROBORATE_DATA_DIR")
    parser.add_argument("--log-origin", dest="log_origin", help="overrides CORROBORATE_LOG_ORIGIN")


def print_json(value: Any) -> None:
    """``value`` as JSON on stdout; a datetime in it is written in the one form of
    ``ledger.times`` (RFC 3339, UTC, to the second, ``Z``)."""
    print(json.dumps(value, ensure_ascii=False, sort_keys=True, default=_json_default))


def _json_default(value: Any) -> Any:
    import datetime as dt

    from ledger.times import rfc3339

    if isinstance(value, dt.datetime):
        return rfc3339(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"expected JSON-serialisable values, got a {type(value).__name__}")


def domain_errors() -> tuple[type[Exception], ...]:
    from ingest.adapters import FormatError
    from ingest.demo import DemoError
    from ingest.documents import DocumentError
    from ingest.publishers import PublisherError
    from ingest.reconcile.engine import ReconcileError
    from ledger.keys import KeyFileError
    from ledger.leaf import LeafError

    return (
        PublisherError,
        DocumentError,
        FormatError,
        KeyFileError,
        DemoError,
        LeafError,
        ReconcileError,
    )


def run_domain(args: argparse.Namespace, body: Any) -> Any:
    """``runtime_call`` with every domain refusal turned into a one-line CommandError."""
    errors = domain_errors()

    async def guarded(runtime: Any) -> Any:
        try:
            return await body(runtime)
        except errors as exc:
            raise CommandError(" ".join(str(exc).split())) from None

    return runtime_call(args, guarded)
