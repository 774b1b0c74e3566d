"""What every ``corroborate`` command shares: its exit codes, the one-line error, the options
that point at the service (database, data directory, log origin), opening the runtime, and
printing ``--json`` output. The command modules (``cli.main``, ``cli.ingest``, ``cli.reconcile``,
``cli.users``) use these names and nothing private of one another.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
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
    print(json.dumps(value, ensure_ascii=False, sort_keys=True))


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
