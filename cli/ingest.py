"""The command line for publishers, their keys, documents and the demo data.

``corroborate publishers add|list``, ``corroborate publishers formats add SLUG FORMAT… --reason
TEXT``, ``corroborate keys add|rotate|revoke|list``,
``corroborate ingest FILE --publisher SLUG --format NAME [--signature FILE | --sign-with KEYFILE]``,
``corroborate documents list|verify`` and ``corroborate demo load``. Every refusal is one line on
stderr and a non-zero exit; ``--json`` prints one JSON object on stdout instead of text.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from cli.common import (
    EXIT_FAILED,
    CommandError,
    add_service_options,
    input_dir,
    input_file,
    key_file,
    print_json,
    run_domain,
    vkey_or_file,
)
from ledger.times import rfc3339
from service.reconciliation import configured_tolerances, open_system_challenges, reconcile_after


def _when(text: str | None, what: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(
            f"{what} {text!r}: expected an ISO 8601 time such as 2026-11-21T10:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


# -- publishers ---------------------------------------------------------------------------------


def cmd_publishers_add(args: argparse.Namespace) -> int:
    from ingest.publishers import PublisherSpec, add_publisher, catalogue

    if args.from_catalogue:
        known = catalogue()
        wanted = sorted(known) if args.from_catalogue == ["all"] else args.from_catalogue
        unknown = [slug for slug in wanted if slug not in known]
        if unknown:
            raise CommandError(
                f"not in the catalogue: {', '.join(unknown)}; expected some of {', '.join(sorted(known))} or all"
            )
        specs = [known[slug] for slug in wanted]
    else:
        missing = [
            f"--{name.replace('_', '-')}"
            for name in ("slug", "name", "homepage", "licence", "kind")
            if getattr(args, name) is None
        ]
        missing += [] if args.jurisdiction else ["--jurisdiction"]
        missing += [] if args.format else ["--format"]
        if missing:
            raise CommandError(
                f"missing {', '.join(missing)}: expected them all, or --from-catalogue SLUG"
            )
        conventions: dict[str, Any] = {"report_lag_days": args.report_lag_days}
        if args.convention:
            conventions["description"] = args.convention
        specs = [
            PublisherSpec(
                slug=args.slug,
                name=args.name,
                homepage=args.homepage,
                licence=args.licence,
                kind=args.kind,
                jurisdictions=tuple(args.jurisdiction),
                conventions=conventions,
                formats=tuple(args.format),
            )
        ]
    for spec in specs:
        problems = spec.problems()
        if problems:
            raise CommandError(f"publisher {spec.slug!r}: {'; '.join(problems)}")

    async def body(runtime: Any) -> list[tuple[str, bool]]:
        done = []
        async with runtime.write_sessions() as session, session.begin():
            for spec in specs:
                publisher, created = await add_publisher(session, spec)
                done.append((publisher.slug, created))
        return done

    done = run_domain(args, body)
    if args.json:
        print_json({"publishers": [{"slug": s, "created": c} for s, c in done]})
    else:
        for slug, created in done:
            print(f"{slug}: {'registered' if created else 'already registered, unchanged'}")
    return 0


def cmd_publishers_list(args: argparse.Namespace) -> int:
    from ingest.publishers import describe_key, describe_publisher, list_publishers, publisher_keys

    async def body(runtime: Any) -> list[dict[str, Any]]:
        now = dt.datetime.now(dt.UTC)
        async with runtime.sessions() as session:
            found = []
            for publisher in await list_publishers(session):
                entry = describe_publisher(publisher)
                keys = await publisher_keys(session, publisher.id or 0)
                entry["keys"] = [describe_key(key, now) for key in keys]
                found.append(entry)
            return found

    publishers = run_domain(args, body)
    if args.json:
        print_json({"publishers": publishers})
        return 0
    if not publishers:
        print("no publishers registered (corroborate publishers add --help)")
    for entry in publishers:
        valid = sum(1 for key in entry["keys"] if key["status"] == "valid")
        print(
            f"{entry['slug']:<10} {entry['kind']:<20} {entry['name']} "
            f"[{', '.join(entry['jurisdictions'])}] keys: {valid} valid of {len(entry['keys'])}; "
            f"formats: {', '.join(entry['formats']) or 'none'}"
        )
    return 0


def cmd_publishers_formats_add(args: argparse.Namespace) -> int:
    from ingest.publishers import add_formats

    async def body(runtime: Any) -> dict[str, Any]:
        async with runtime.write_sessions() as session, session.begin():
            publisher, added, index = await add_formats(
                session, runtime.log, args.slug, args.formats, reason=args.reason
            )
            return {
                "publisher": publisher.slug,
                "added": added,
                "formats": list(publisher.formats),
                "ledger_index": index,
            }

    done = run_domain(args, body)
    if args.json:
        print_json(done)
    elif done["added"]:
        print(
            f"{done['publisher']}: added {', '.join(done['added'])} (publisher leaf at ledger "
            f"index {done['ledger_index']}); formats: {', '.join(done['formats'])}"
        )
    else:
        print(f"{done['publisher']}: already declares {', '.join(args.formats)}, unchanged")
    return 0


# -- keys ---------------------------------------------------------------------------------------


def _vkey_from_args(args: argparse.Namespace) -> str:
    from ledger.keys import load_or_create_key
    from ledger.verify import VerificationError, load_vkey

    if args.vkey:
        try:  # a vkey, or a file holding one (checked here: nothing is opened or written first)
            return load_vkey(args.vkey, "--vkey").vkey
        except VerificationError as exc:
            raise CommandError(str(exc)) from None
    assert args.generate
    try:
        signer = load_or_create_key(
            Path(args.generate), args.key_name or args.publisher, kind="ed25519", what="publisher"
        )
    except Exception as exc:
        raise CommandError(" ".join(str(exc).split())) from None
    return signer.vkey


def cmd_keys_add(args: argparse.Namespace) -> int:
    from ingest.publishers import add_key, describe_key

    vkey = _vkey_from_args(args)
    valid_from = _when(args.valid_from, "--valid-from")
    valid_until = _when(args.valid_until, "--valid-until")

    async def body(runtime: Any) -> dict[str, Any]:
        async with runtime.write_sessions() as session, session.begin():
            key = await add_key(
                session,
                runtime.log,
                args.publisher,
                vkey,
                valid_from=valid_from,
                valid_until=valid_until,
            )
            return describe_key(key, dt.datetime.now(dt.UTC))

    described = run_domain(args, body)
    if args.json:
        print_json(described)
    else:
        print(f"added {described['key']} (ledger index {described['ledger_index']})")
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from ingest.publishers import describe_key, rotate_key

    vkey = _vkey_from_args(args)
    grace = dt.timedelta(hours=args.grace_hours)

    async def body(runtime: Any) -> list[dict[str, Any]]:
        now = dt.datetime.now(dt.UTC)
        async with runtime.write_sessions() as session, session.begin():
            keys = await rotate_key(session, runtime.log, args.publisher, vkey, grace=grace)
            return [describe_key(key, now) for key in keys]

    new, *retired = run_domain(args, body)
    if args.json:
        print_json({"added": new, "retired": retired})
    else:
        print(f"added {new['key']} (ledger index {new['ledger_index']})")
        for key in retired:
            print(f"retired {key['key']}: valid until {key['valid_until']}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from ingest.publishers import describe_key, revoke_key

    at = _when(args.at, "--at")

    async def body(runtime: Any) -> dict[str, Any]:
        async with runtime.write_sessions() as session, session.begin():
            key = await revoke_key(
                session, runtime.log, args.publisher, args.key, reason=args.reason, at=at
            )
            return describe_key(key, dt.datetime.now(dt.UTC))

    described = run_domain(args, body)
    if args.json:
        print_json(described)
    else:
        print(f"revoked {described['key']} from {described['revoked_at']}")
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from ingest.publishers import describe_key, get_publisher, publisher_keys

    async def body(runtime: Any) -> list[dict[str, Any]]:
        async with runtime.sessions() as session:
            publisher = await get_publisher(session, args.publisher)
            keys = await publisher_keys(session, publisher.id or 0)
            return [describe_key(key, dt.datetime.now(dt.UTC)) for key in keys]

    keys = run_domain(args, body)
    if args.json:
        print_json({"publisher": args.publisher, "keys": keys})
    else:
        for key in keys:
            print(f"{key['key']}  {key['status']}")
    return 0


# -- ingest and documents ------------------------------------------------------------------------


class _Bar:
    """A rich progress bar on a terminal; nothing when stderr is not one (or with --json)."""

    def __init__(self, enabled: bool, label: str) -> None:
        self._progress: Any = None
        self._task: Any = None
        self._label = label
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            self._progress = Progress(console=Console(stderr=True), transient=True)

    def __call__(self, done: int, total: int) -> None:
        if self._progress is None or total < 50_000:
            return
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=total)
        self._progress.update(self._task, completed=done)

    def close(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.stop()


def _summary_lines(report: dict[str, Any]) -> list[str]:
    doc = report["document"]
    obs = report["observations"]
    lines = [
        f"{report['status']}: {doc['publisher']} {doc['format']} {doc['name']} "
        f"({doc['size']} bytes, sha256 {doc['sha256'][:16]}…) as document {doc['id']} "
        f"at ledger index {doc['ledger_index']}",
        f"rows read: {report['rows_read']}",
        f"observations: {obs['parsed']} parsed, {obs['new']} new, {obs['revised']} revised, "
        f"{obs['unchanged']} unchanged",
        f"empty cells skipped: {report['skipped_empty_cells']}",
        f"unmapped names: {len(report['unmapped'])}",
    ]
    lines += [f"  {u['name']!r}: {u['rows']} rows ({u['reason']})" for u in report["unmapped"]]
    lines.append(f"rows refused: {report['rows_refused']}")
    lines += [f"  record {r['row']} ({r['field']}): {r['reason']}" for r in report["refusals"]]
    if report["rows_refused"] > len(report["refusals"]):
        lines.append(f"  … {report['rows_refused'] - len(report['refusals'])} more (see --json)")
    lines += [f"note: {note}" for note in report["notes"]]
    lines.append(
        f"ledger: {report['ledger']['leaves']} leaves appended, size {report['ledger']['size']}"
    )
    return lines


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingest.documents import ingest_document, sign_document
    from ledger.keys import KeyFileError, load_key
    from ledger.note import NoteError, parse_skey

    path = Path(args.file)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
    if args.signature:
        try:
            note = Path(args.signature).read_bytes()
        except OSError as exc:
            raise CommandError(
                f"cannot read the signature {args.signature}: {exc.strerror or exc}"
            ) from None
    else:
        key_path = Path(args.sign_with)
        try:
            raw = key_path.read_text(encoding="ascii").strip()
            name = parse_skey(raw).name
            signer = load_key(key_path, name, kind="ed25519", what="publisher")
        except (OSError, UnicodeDecodeError, NoteError, KeyFileError) as exc:
            raise CommandError(
                f"cannot use {key_path} as a signing key: {' '.join(str(exc).split())}"
            ) from None
        note = sign_document(
            content,
            publisher=args.publisher,
            format=args.format,
            name=args.name or path.name,
            signer=signer,
        )
    bar = _Bar(not args.json, f"{path.name}: observations")

    async def body(runtime: Any) -> dict[str, Any]:
        report = await ingest_document(
            runtime.write_sessions,
            runtime.log,
            runtime.settings.data_dir,
            publisher=args.publisher,
            format=args.format,
            content=content,
            note=note,
            progress=bar,
        )
        found = report.as_dict()
        if not args.no_reconcile and report.status != "unchanged":
            found["reconciliation"] = await reconcile_after(runtime)
        return found

    try:
        report = run_domain(args, body)
    finally:
        bar.close()
    if args.json:
        print_json(report)
    else:
        print("\n".join(_summary_lines(report)))
        if report.get("reconciliation"):
            print(_reconciled_line(report["reconciliation"]))
    return 0


def _reconciled_line(report: dict[str, Any]) -> str:
    line = (
        f"reconciled ({report['mode']}, run {report['run']}): {report['regions']:,} regions, "
        f"{report['figures']:,} figures, {report['new_versions']:,} new versions "
        f"in {report['seconds']:.1f} s"
    )
    return line + system_challenges_text(report)


def system_challenges_text(report: dict[str, Any]) -> str:
    """``; 12 system challenges opened (3 already open, 40 over the run's cap)``, or nothing."""
    found = report.get("system_challenges") or {}
    if not any(found.values()):
        return ""
    return (
        f"; {found['opened']:,} system challenges opened ({found['skipped_open']:,} already "
        f"open, {found['left_over']:,} over the run's cap)"
    )


def cmd_documents_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from models import Document, Publisher

    async def body(runtime: Any) -> list[dict[str, Any]]:
        async with runtime.sessions() as session:
            rows = await session.execute(
                select(Document, Publisher.__table__.c.slug)  # type: ignore[attr-defined]
                .join(Publisher, Publisher.id == Document.publisher_id)  # type: ignore[arg-type]
                .order_by(Document.id)  # type: ignore[arg-type]
            )
            return [
                {
                    "id": doc.id,
                    "publisher": slug,
                    "format": doc.format,
                    "name": doc.name,
                    "sha256": doc.sha256,
                    "size": doc.size,
                    "ledger_index": doc.ledger_index,
                    "received_at": rfc3339(doc.received_at),
                    "observations": doc.report.get("observations", {}),
                }
                for doc, slug in rows
            ]

    documents = run_domain(args, body)
    if args.json:
        print_json({"documents": documents})
    else:
        for d in documents:
            obs = d["observations"]
            print(
                f"{d['id']:>4} {d['publisher']:<10} {d['format']:<28} {d['name']} "
                f"leaf {d['ledger_index']}: {obs.get('new', 0)} new, {obs.get('revised', 0)} revised"
            )
    return 0


def cmd_documents_verify(args: argparse.Namespace) -> int:
    from ingest.documents import verify_documents

    if not args.all and not args.ids:
        raise CommandError("expected document IDs or --all")

    async def body(runtime: Any) -> list[dict[str, Any]]:
        async with runtime.sessions() as session:
            checks = await verify_documents(
                session,
                runtime.log,
                runtime.settings.data_dir,
                None if args.all else [int(i) for i in args.ids],
            )
            return [check.as_dict() for check in checks]

    checks = run_domain(args, body)
    bad = [c for c in checks if not c["ok"]]
    if args.json:
        print_json({"ok": not bad, "documents": checks})
    else:
        for c in checks:
            status = "ok" if c["ok"] else "FAILED"
            print(
                f"document {c['document']} ({c['publisher']} {c['name']}): {status}, "
                f"{c['observations_checked']} observations checked"
            )
            for problem in c["problems"]:
                print(f"  {problem}")
            if c["more_problems"]:
                print(f"  … and {c['more_problems']} more")
    if bad:
        if not args.json:
            print(
                f"corroborate: {len(bad)} of {len(checks)} documents do not match their originals",
                file=sys.stderr,
            )
        return EXIT_FAILED
    return 0


def cmd_demo_load(args: argparse.Namespace) -> int:
    from ingest.demo import DEMO_DIR, load_demo

    def show(doc: Any, report: Any) -> None:
        if not args.json:
            obs = report.as_dict()["observations"]
            print(
                f"{report.status}: {doc.publisher} {doc.path.relative_to(demo_dir)} "
                f"({obs['new']} new, {obs['revised']} revised, {obs['unchanged']} unchanged)"
            )

    demo_dir = Path(args.samples) if args.samples else DEMO_DIR

    async def body(runtime: Any) -> dict[str, Any]:
        from identity.demo import ensure_demo_client
        from ingest.reconcile.engine import reconcile

        reports = await load_demo(
            runtime.write_sessions,
            runtime.log,
            runtime.settings.data_dir,
            demo_dir=demo_dir,
            on_report=show,
        )
        found: dict[str, Any] = {"documents": [r.as_dict() for r in reports]}
        if not args.no_reconcile:
            # the first load makes the first (full) run; a later one re-reads what changed
            reconciled = await reconcile(
                runtime.sessions,
                runtime.write_sessions,
                runtime.log,
                tolerances=configured_tolerances(runtime),
            )
            found["reconciliation"] = await open_system_challenges(runtime, reconciled.as_dict())
        # sign-in works out of the box: a public PKCE client for local apps (identity/demo.py)
        async with runtime.write_sessions() as session, session.begin():
            client, created = await ensure_demo_client(session)
        found["oauth_client"] = {
            "client_id": client.client_id,
            "redirect_uris": client.redirect_uris,
            "scopes": client.scopes,
            "created": created,
        }
        return found

    result = run_domain(args, body)
    if args.json:
        print_json(result)
        return 0
    if "reconciliation" in result:
        print(_reconciled_line(result["reconciliation"]))
    from identity.demo import describe_demo_client

    print(describe_demo_client())
    return 0


# -- parser ---------------------------------------------------------------------------------------


def register(commands: Any) -> None:
    from ingest.kinds import PUBLISHER_KINDS as KINDS

    publishers = commands.add_parser("publishers", help="register and list publishers")
    pub_cmds = publishers.add_subparsers(
        dest="publishers_command", metavar="COMMAND", required=True
    )
    add = pub_cmds.add_parser("add", help="register a publisher (or some from the catalogue)")
    add_service_options(add)
    add.add_argument(
        "--from-catalogue",
        nargs="+",
        metavar="SLUG",
        help="register publishers from ingest/data/publishers.toml ('all' for every one)",
    )
    add.add_argument("--slug")
    add.add_argument("--name")
    add.add_argument("--homepage")
    add.add_argument("--licence")
    # Checked by PublisherSpec.problems (not argparse choices), so that a bad kind is the same
    # one-line refusal as every other bad field.
    add.add_argument("--kind", metavar="KIND", help=f"one of {', '.join(KINDS)}")
    add.add_argument(
        "--jurisdiction", action="append", help="a region code it covers, or * (repeatable)"
    )
    add.add_argument(
        "--report-lag-days",
        type=int,
        default=0,
        help="a report dated D covers counts up to D - N (default 0)",
    )
    add.add_argument("--convention", help="the reporting convention in words")
    add.add_argument(
        "--format",
        action="append",
        metavar="NAME",
        help="a document format it publishes (an adapter name; repeatable): documents in "
        "other formats are refused",
    )
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=cmd_publishers_add)
    lst = pub_cmds.add_parser("list", help="list publishers and their keys")
    add_service_options(lst)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_publishers_list)
    formats = pub_cmds.add_parser("formats", help="the document formats a publisher declares")
    format_cmds = formats.add_subparsers(dest="formats_command", metavar="COMMAND", required=True)
    fadd = format_cmds.add_parser(
        "add", help="widen a publisher's formats (appends a publisher leaf to the log)"
    )
    add_service_options(fadd)
    fadd.add_argument("slug", metavar="SLUG")
    fadd.add_argument("formats", nargs="+", metavar="FORMAT", help="adapter names")
    fadd.add_argument(
        "--reason", required=True, help="why it publishes this format (recorded on the log)"
    )
    fadd.add_argument("--json", action="store_true")
    fadd.set_defaults(func=cmd_publishers_formats_add)

    keys = commands.add_parser("keys", help="publishers' signing keys (each change is a key leaf)")
    key_cmds = keys.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)
    for name, func, help_ in (
        ("add", cmd_keys_add, "register a publisher's Ed25519 verifier key"),
        ("rotate", cmd_keys_rotate, "register a new key and retire the current ones"),
    ):
        sub = key_cmds.add_parser(name, help=help_)
        add_service_options(sub)
        sub.add_argument("--publisher", required=True, metavar="SLUG")
        source = sub.add_mutually_exclusive_group(required=True)
        source.add_argument(
            "--vkey", type=vkey_or_file, help="the verifier key (name+keyid+base64), or a file"
        )
        source.add_argument(
            "--generate",
            metavar="KEYFILE",
            type=key_file,
            help="use the private key in KEYFILE, creating it (mode 600) if missing",
        )
        sub.add_argument("--key-name", help="key name when generating (default: the slug)")
        if name == "add":
            sub.add_argument("--valid-from", metavar="TIME", help="default now")
            sub.add_argument("--valid-until", metavar="TIME", help="default open-ended")
        else:
            sub.add_argument(
                "--grace-hours",
                type=float,
                default=24.0,
                help="how long the old keys stay valid (default 24)",
            )
        sub.add_argument("--json", action="store_true")
        sub.set_defaults(func=func)
    revoke = key_cmds.add_parser("revoke", help="revoke a key")
    add_service_options(revoke)
    revoke.add_argument("--publisher", required=True, metavar="SLUG")
    revoke.add_argument("--key", required=True, help="the key ID (8 hex digits) or vkey")
    revoke.add_argument("--reason", required=True)
    revoke.add_argument("--at", metavar="TIME", help="revoked from (default now)")
    revoke.add_argument("--json", action="store_true")
    revoke.set_defaults(func=cmd_keys_revoke)
    klist = key_cmds.add_parser("list", help="a publisher's keys and their status")
    add_service_options(klist)
    klist.add_argument("--publisher", required=True, metavar="SLUG")
    klist.add_argument("--json", action="store_true")
    klist.set_defaults(func=cmd_keys_list)

    ingest = commands.add_parser("ingest", help="verify, keep, parse and record a signed document")
    add_service_options(ingest)
    ingest.add_argument(
        "file", metavar="FILE", type=input_file, help="the document exactly as published"
    )
    ingest.add_argument("--publisher", required=True, metavar="SLUG")
    ingest.add_argument("--format", required=True, metavar="NAME")
    signature = ingest.add_mutually_exclusive_group(required=True)
    signature.add_argument(
        "--signature", metavar="FILE", type=input_file, help="the publisher's signed note"
    )
    signature.add_argument(
        "--sign-with",
        metavar="KEYFILE",
        type=input_file,
        help="sign here with the publisher's private key",
    )
    ingest.add_argument("--name", help="the file name as published (default: FILE's name)")
    ingest.add_argument(
        "--no-reconcile",
        action="store_true",
        help="do not re-reconcile the figures the document touches (they are by default, once "
        "`corroborate reconcile` has run)",
    )
    ingest.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    ingest.set_defaults(func=cmd_ingest)

    documents = commands.add_parser("documents", help="stored documents")
    doc_cmds = documents.add_subparsers(dest="documents_command", metavar="COMMAND", required=True)
    dlist = doc_cmds.add_parser("list", help="list stored documents")
    add_service_options(dlist)
    dlist.add_argument("--json", action="store_true")
    dlist.set_defaults(func=cmd_documents_list)
    verify = doc_cmds.add_parser(
        "verify", help="re-parse stored originals and check them against what is stored"
    )
    add_service_options(verify)
    verify.add_argument("ids", nargs="*", metavar="ID", type=int)
    verify.add_argument("--all", action="store_true")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=cmd_documents_verify)

    demo = commands.add_parser("demo", help="the demo data")
    demo_cmds = demo.add_subparsers(dest="demo_command", metavar="COMMAND", required=True)
    load = demo_cmds.add_parser("load", help="sign samples/demo with demo keys and ingest it")
    add_service_options(load)
    load.add_argument("--samples", metavar="DIR", type=input_dir, help="default samples/demo")
    load.add_argument(
        "--no-reconcile", action="store_true", help="load the documents only, attest nothing"
    )
    load.add_argument("--json", action="store_true")
    load.set_defaults(func=cmd_demo_load)
