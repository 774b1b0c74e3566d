"""The ``corroborate`` command line: serve, migrate, the ledger's tools, the verifier, a witness;
publishers, keys, ingestion and documents are in ``cli.ingest``; reconciliation and attested
figures in ``cli.reconcile``; accounts, OAuth clients and token keys in ``cli.users``.

Every failure an operator can cause ends with a one-line message on stderr and a non-zero exit,
never a traceback. Imports are made inside each command so that ``corroborate verify`` loads only
the offline verifier.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    CommandError,
    add_service_options,
    fail,
    input_file,
    runtime_call,
    settings_from,
    vkey_or_file,
)

# -- commands ----------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from api.app import serve
    from identity.demo import describe_demo_client, find_demo_client

    settings = settings_from(args)

    async def demo_client(runtime: Any) -> Any:
        async with runtime.sessions() as session:
            return await find_demo_client(session)

    # Every start check (database, migrations, key, log) with one-line errors, before uvicorn.
    if runtime_call(args, demo_client) is not None:  # registered by `corroborate demo load`
        print(describe_demo_client(), flush=True)
    serve(settings, workers=args.workers)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from api.schema import schema

    sys.stdout.write(schema.as_str() + "\n")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from service import migrations
    from service.runtime import describe_database

    settings = settings_from(args)
    where = describe_database(settings.database_url)
    try:
        migrations.upgrade(settings.database_url, args.revision)
    except Exception as exc:  # alembic and driver errors become one line
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CommandError(f"migrating {where} failed: {first}") from None
    print(f"database {where} is at migration {args.revision}")
    return 0


def cmd_ledger_vkey(args: argparse.Namespace) -> int:
    # through the runtime: the key of *this* database's log, never a new one made elsewhere
    async def body(runtime: Any) -> str:
        return str(runtime.signer.vkey)

    print(runtime_call(args, body))
    return 0


def cmd_ledger_checkpoint(args: argparse.Namespace) -> int:
    async def body(runtime: Any) -> bytes:
        async with runtime.sessions() as session:
            latest = await runtime.log.latest_checkpoint(session)
        return bytes(latest.note_with_cosignatures)

    sys.stdout.write(runtime_call(args, body).decode())
    return 0


def cmd_ledger_audit(args: argparse.Namespace) -> int:
    from ledger.audit import audit_log

    async def body(runtime: Any) -> Any:
        async with runtime.sessions() as session:
            return await audit_log(session, origin=runtime.log.origin, vkey=runtime.signer.vkey)

    report = runtime_call(args, body)
    if report.ok:
        print(
            f"ok: {report.entries_checked} entries, {report.tiles_checked} tiles, "
            f"{report.checkpoints_checked} checkpoints match (size {report.size})"
        )
        return 0
    where = "" if report.first_bad_index is None else f"first bad index {report.first_bad_index}: "
    raise CommandError(f"audit failed: {where}{report.problems[0]}", EXIT_FAILED)


def cmd_ledger_export(args: argparse.Namespace) -> int:
    from ledger.export import export_log

    async def body(runtime: Any) -> Any:
        async with runtime.sessions() as session:
            return await export_log(session, runtime.log, Path(args.directory))

    written = runtime_call(args, body)
    print(
        f"wrote {written.files} files ({written.bytes} bytes) for size {written.size} to {args.directory}"
    )
    return 0


def cmd_ledger_proof(args: argparse.Namespace) -> int:
    from ledger.provenance import proof_bundle_text

    async def body(runtime: Any) -> str:
        async with runtime.sessions() as session:
            return await proof_bundle_text(session, runtime.log, args.index)

    sys.stdout.write(runtime_call(args, body))
    return 0


def cmd_ledger_leaf(args: argparse.Namespace) -> int:
    async def body(runtime: Any) -> bytes:
        async with runtime.sessions() as session:
            _kind, leaf = await runtime.log.entry(session, args.index)
        return bytes(leaf)

    sys.stdout.buffer.write(runtime_call(args, body))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from ledger.verify import VerificationError, VerificationInputError, verify_proof_files

    try:
        verified = verify_proof_files(
            args.proof,
            args.leaf,
            args.vkey,
            witnesses=args.witness or (),
            min_witnesses=args.min_witnesses,
        )
    except VerificationInputError as exc:  # exit 2: nothing was checked
        raise CommandError(f"could not verify: {exc}", EXIT_USAGE) from None
    except VerificationError as exc:  # exit 1: checked, and the proof does not hold
        raise CommandError(f"not verified: {exc}", EXIT_FAILED) from None
    witnesses = ", ".join(sorted(verified.witness_timestamps)) or "no witnesses"
    print(
        f"verified: leaf {verified.index} is in {verified.origin} at size {verified.tree_size} "
        f"(cosigned by {witnesses})"
    )
    return 0


def cmd_witness_serve(args: argparse.Namespace) -> int:
    from ledger.witness import WitnessConfigError, serve_witness

    try:
        serve_witness(
            Path(args.dir),
            name=args.name,
            logs=args.log,
            host=args.host,
            port=args.port,
        )
    except WitnessConfigError as exc:
        raise CommandError(str(exc)) from None
    return 0


def cmd_witness_vkey(args: argparse.Namespace) -> int:
    from ledger.witness import WitnessConfigError, witness_signer

    try:
        print(witness_signer(Path(args.dir), args.name).vkey)
    except WitnessConfigError as exc:
        raise CommandError(str(exc)) from None
    return 0


def cmd_ledger_cosign(args: argparse.Namespace) -> int:
    from ledger.verify import VerificationError, load_vkey
    from ledger.witness_client import WitnessClientError, request_cosignature

    try:  # a witness key that cannot be read is "could not run" (2), not a witness refusal (1)
        load_vkey(args.witness_vkey, "witness vkey")
    except VerificationError as exc:
        raise CommandError(str(exc)) from None

    async def body(runtime: Any) -> Any:
        try:
            return await request_cosignature(runtime, args.url, args.witness_vkey)
        except WitnessClientError as exc:
            raise CommandError(str(exc), EXIT_FAILED) from None

    result = runtime_call(args, body)
    print(result)
    return 0


# -- parser ------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line too (``corroborate ingest: the following arguments are
    required: --publisher``), exit 2; ``--help`` still prints the full usage."""

    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix("corroborate").strip()
        fail(f"{where + ': ' if where else ''}{message} (see --help)", EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="corroborate",
        description="Attested public-health figures on a public transparency log.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="serve the API (GraphQL at /graphql)")
    add_service_options(serve)
    serve.add_argument("--host", help="overrides CORROBORATE_HOST")
    serve.add_argument("--port", type=int, help="overrides CORROBORATE_PORT")
    serve.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes (default 1)"
    )
    serve.set_defaults(func=cmd_serve)

    sdl = commands.add_parser("schema", help="print the GraphQL schema (SDL) served at /graphql")
    sdl.set_defaults(func=cmd_schema)

    migrate = commands.add_parser("migrate", help="apply database migrations (Alembic)")
    add_service_options(migrate)
    migrate.add_argument("--revision", default="head", help="target revision (default head)")
    migrate.set_defaults(func=cmd_migrate)

    ledger = commands.add_parser("ledger", help="the transparency log's tools")
    ledger_cmds = ledger.add_subparsers(dest="ledger_command", metavar="COMMAND", required=True)
    for name, func, help_ in (
        ("vkey", cmd_ledger_vkey, "print the log's verifier key (C2SP name+keyid+key)"),
        ("checkpoint", cmd_ledger_checkpoint, "print the latest signed checkpoint"),
        ("audit", cmd_ledger_audit, "recompute every tile and root from the stored entries"),
    ):
        sub = ledger_cmds.add_parser(name, help=help_)
        add_service_options(sub)
        sub.set_defaults(func=func)
    export = ledger_cmds.add_parser("export", help="write checkpoint and tiles to DIR for a CDN")
    add_service_options(export)
    export.add_argument("directory", metavar="DIR")
    export.set_defaults(func=cmd_ledger_export)
    proof = ledger_cmds.add_parser("proof", help="print the tlog-proof@v1 bundle of a leaf")
    add_service_options(proof)
    proof.add_argument("index", type=int)
    proof.set_defaults(func=cmd_ledger_proof)
    leaf = ledger_cmds.add_parser("leaf", help="write a leaf's exact bytes to stdout")
    add_service_options(leaf)
    leaf.add_argument("index", type=int)
    leaf.set_defaults(func=cmd_ledger_leaf)
    cosign = ledger_cmds.add_parser(
        "cosign", help="ask a witness (tlog-witness add-checkpoint) to cosign the latest checkpoint"
    )
    add_service_options(cosign)
    cosign.add_argument("url", help="the witness's base URL, e.g. http://127.0.0.1:8100")
    cosign.add_argument(
        "witness_vkey", metavar="WITNESS_VKEY", type=vkey_or_file, help="vkey string or file"
    )
    cosign.set_defaults(func=cmd_ledger_cosign)

    verify = commands.add_parser(
        "verify", help="verify offline that a leaf is in the log (tlog-proof@v1 bundle)"
    )
    verify.add_argument("proof", metavar="PROOF_FILE", type=input_file)
    verify.add_argument(
        "--leaf",
        required=True,
        metavar="LEAF_FILE",
        type=input_file,
        help="the leaf's exact bytes",
    )
    verify.add_argument(
        "--vkey", required=True, type=vkey_or_file, help="the log's vkey, or a file holding it"
    )
    verify.add_argument(
        "--witness",
        action="append",
        metavar="VKEY",
        type=vkey_or_file,
        help="a witness vkey or file (repeatable)",
    )
    verify.add_argument("--min-witnesses", type=int, default=0, metavar="N")
    verify.set_defaults(func=cmd_verify)

    witness = commands.add_parser("witness", help="run a C2SP tlog-witness")
    witness_cmds = witness.add_subparsers(dest="witness_command", metavar="COMMAND", required=True)
    wserve = witness_cmds.add_parser("serve", help="serve the add-checkpoint endpoint")
    wserve.add_argument("--dir", required=True, help="the witness's key and state directory")
    wserve.add_argument("--name", required=True, help="the witness's key name, e.g. example.org/w")
    wserve.add_argument(
        "--log",
        action="append",
        required=True,
        metavar="VKEY",
        type=vkey_or_file,
        help="the vkey (or file) of a log to witness; its key name is the log's origin (repeatable)",
    )
    wserve.add_argument("--host", default="127.0.0.1")
    wserve.add_argument("--port", type=int, default=8100)
    wserve.set_defaults(func=cmd_witness_serve)
    wvkey = witness_cmds.add_parser("vkey", help="print the witness's cosigner vkey")
    wvkey.add_argument("--dir", required=True)
    wvkey.add_argument("--name", required=True)
    wvkey.set_defaults(func=cmd_witness_vkey)

    from cli import ingest as cli_ingest
    from cli import reconcile as cli_reconcile
    from cli import users as cli_users

    cli_ingest.register(commands)
    cli_reconcile.register(commands)
    cli_users.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CommandError as exc:
        fail(str(exc), exc.code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # stdout closed early (``| head``): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
