"""The command line for reconciliation and attested figures.

``corroborate reconcile [--region R] [--metric M] [--since D] [--full]`` runs the reconciler and
prints what it found (statuses, anomalies, lineages, date shifts); ``corroborate figures show
REGION METRIC DATE`` prints one figure, its status, explanation and each publisher's value;
``corroborate figures disputed`` lists the discrepancies. Each takes ``--json`` for one JSON
object on stdout instead of text.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from cli.common import CommandError, add_service_options, print_json, run_domain
from cli.ingest import system_challenges_text
from service.reconciliation import configured_tolerances, open_system_challenges


def _metric(text: str | None) -> str | None:
    if text is None:
        return None
    from ingest.adapters.base import Metric

    known = sorted(str(m) for m in Metric)
    if text not in known:
        raise CommandError(f"metric {text!r}: expected one of {', '.join(known)}")
    return text


def _region(text: str | None) -> str | None:
    if text is None:
        return None
    from ingest.regions import region

    if region(text) is None:
        raise CommandError(
            f"region {text!r}: expected a region code such as ITA, DEU, US-NY or US-NY-NYC "
            "(ISO 3166 alpha-3 for countries, ISO 3166-2 for subdivisions)"
        )
    return text


def _date(text: str | None, what: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{what} {text!r}: expected a date such as 2020-04-01") from None


def _share(count: int, total: int) -> str:
    return f"{count:,} ({count / total:.1%})" if total else f"{count:,}"


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The text summary of a reconciliation report (``ReconcileReport.as_dict()``)."""
    scope = ", ".join(f"{k} {v}" for k, v in report["scope"].items() if v is not None)
    lines = [
        f"{report['mode']} reconciliation (run {report['run']}{'; ' + scope if scope else ''}) "
        f"in {report['seconds']:.1f} s: {report['regions']:,} regions, {report['figures']:,} "
        f"figures; {report['new_versions']:,} new versions, {report['unchanged']:,} unchanged",
    ]
    total = report["figures"]
    if report["by_status"]:
        lines.append(
            "status: "
            + ", ".join(f"{s} {_share(n, total)}" for s, n in report["by_status"].items())
        )
    if report["anomalies"]:
        lines.append(
            "anomalies: " + ", ".join(f"{t} {n:,}" for t, n in report["anomalies"].items())
        )
    source = f" (from run {report['analysis_from_run']})" if report["analysis_from_run"] else ""
    lines.append(f"lineages — identical on ≥ 90% of shared region-days{source}:")
    if not report["lineages"]:
        lines.append("  none: every publisher counts as independent")
    for link in report["lineages"]:
        regions = link["regions"]
        where = regions[0] if len(regions) == 1 else f"{len(regions)} regions"
        lines.append(
            f"  {' + '.join(link['publishers'])}: {link['share']:.1%} of "
            f"{link['compared']:,} region-days ({where})"
        )
    lines.append("date shifts — declared, and the best fit (median difference to the others):")
    for shift in report["date_shifts"]:
        declared_error = shift["declared_error"]
        fits = "fits best" if shift["best"] == shift["declared"] else f"best {shift['best']:+d}"
        text = (
            f"  {shift['publisher']}: declared {shift['declared']:+d} day(s) "
            f"({declared_error:.2%}); {fits}"
            if declared_error is not None
            else f"  {shift['publisher']}: declared {shift['declared']:+d}; {fits}"
        )
        otherwise = shift["regions_fitting_otherwise"]
        if otherwise:
            shown = ", ".join(f"{r} {lag:+d}" for r, lag in list(otherwise.items())[:8])
            more = f" and {len(otherwise) - 8} more" if len(otherwise) > 8 else ""
            text += f"; fits otherwise in {shown}{more}"
        lines.append(text)
    opened = system_challenges_text(report)
    if opened:
        lines.append("moderation: " + opened.removeprefix("; "))
    lines.append(f"ledger: size {report['log_size']:,}")
    return lines


def cmd_reconcile(args: argparse.Namespace) -> int:
    from ingest.reconcile.engine import reconcile

    region = _region(args.region)
    metric = _metric(args.metric)
    since = _date(args.since, "--since")
    quiet = args.json or not sys.stderr.isatty()

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    async def body(runtime: Any) -> dict[str, Any]:
        report = await reconcile(
            runtime.sessions,
            runtime.write_sessions,
            runtime.log,
            tolerances=configured_tolerances(runtime),
            region=region,
            metric=metric,
            since=since,
            full=args.full,
            progress=say,
        )
        return await open_system_challenges(runtime, report.as_dict())

    report = run_domain(args, body)
    if args.json:
        print_json(report)
    else:
        print("\n".join(summary_lines(report)))
    return 0


def _figure_lines(figure: dict[str, Any]) -> list[str]:
    lines = [
        f"{figure['region']} {figure['metric']} {figure['date']}: {figure['value']:,} "
        f"{figure['status']} (version {figure['version']} of {len(figure['versions'])}, "
        f"attestation at ledger index {figure['ledger_index']})",
        f"explanation: {figure['explanation']}",
        "publishers:",
    ]
    for item in figure["inputs"]:
        tags = [f"lineage {item['lineage'] + 1}"]
        if item["counted"]:
            tags.append("counted")
        if "derived" in item:
            tags.append(f"derived: {item['derived']}")
        tags.append(f"observations {', '.join(str(i) for i in item['observations'])}")
        lines.append(
            f"  {item['publisher']}: {item['value']:,} as dated {item['date']} ({'; '.join(tags)})"
        )
        for flag in item.get("anomaly_details", []):
            lines.append(f"    ! {flag['type']}: {flag['detail']}")
    if len(figure["versions"]) > 1:
        lines.append("versions:")
        for v in figure["versions"]:
            lines.append(
                f"  {v['version']}: {v['value']:,} {v['status']} at ledger index "
                f"{v['ledger_index']} ({v['created_at']}){' — latest' if v['latest'] else ''}"
            )
    return lines


def cmd_figures_show(args: argparse.Namespace) -> int:
    from ingest.reconcile.query import FigureNotFound, figure_detail

    region = _region(args.region) or ""
    metric = _metric(args.metric) or ""
    day = _date(args.date, "DATE")
    assert day is not None

    async def body(runtime: Any) -> dict[str, Any]:
        async with runtime.sessions() as session:
            try:
                return await figure_detail(session, region, metric, day, version=args.version)
            except FigureNotFound as exc:
                raise CommandError(str(exc)) from None

    figure = run_domain(args, body)
    if args.json:
        print_json(figure)
    else:
        print("\n".join(_figure_lines(figure)))
    return 0


def cmd_figures_disputed(args: argparse.Namespace) -> int:
    from ingest.reconcile.query import MAX_LIMIT, discrepancies

    region = _region(args.region)
    metric = _metric(args.metric)
    since = _date(args.since, "--since")
    until = _date(args.until, "--until")
    if not 1 <= args.limit <= MAX_LIMIT:
        raise CommandError(f"--limit {args.limit}: expected 1..{MAX_LIMIT}")

    async def body(runtime: Any) -> list[dict[str, Any]]:
        async with runtime.sessions() as session:
            return await discrepancies(
                session,
                region=region,
                metric=metric,
                since=since,
                until=until,
                order=args.sort,
                limit=args.limit,
            )

    found = run_domain(args, body)
    if args.json:
        print_json({"discrepancies": found})
        return 0
    if not found:
        print("no disputed figures in this selection")
    for figure in found:
        ratio = figure["spread_ratio"]
        spread = f"{ratio:.1%}" if ratio is not None else f"{figure['spread']:,}"
        values = ", ".join(
            f"{lineage['counted']} {lineage['value']:,}" for lineage in figure["lineage_values"]
        )
        print(
            f"{figure['region']} {figure['metric']} {figure['date']}: {figure['value']:,} "
            f"spread {spread} — {values}"
        )
    return 0


def register(commands: Any) -> None:
    from ingest.reconcile.query import ORDERS

    rec = commands.add_parser(
        "reconcile", help="attest figures from the publishers' observations (incremental)"
    )
    add_service_options(rec)
    rec.add_argument("--region", metavar="R", help="only this region and its subdivisions")
    rec.add_argument("--metric", metavar="M", help="only this metric, e.g. cases_cumulative")
    rec.add_argument("--since", metavar="DATE", help="only figures dated DATE or later")
    rec.add_argument(
        "--full",
        action="store_true",
        help="recompute the date-shift fits, lineages and every figure in scope",
    )
    rec.add_argument("--json", action="store_true", help="print one JSON object")
    rec.set_defaults(func=cmd_reconcile)

    figures = commands.add_parser("figures", help="attested figures")
    fig_cmds = figures.add_subparsers(dest="figures_command", metavar="COMMAND", required=True)
    show = fig_cmds.add_parser("show", help="one figure, its explanation and every input")
    add_service_options(show)
    show.add_argument("region", metavar="REGION")
    show.add_argument("metric", metavar="METRIC")
    show.add_argument("date", metavar="DATE")
    show.add_argument("--version", type=int, help="an earlier version (default the latest)")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(func=cmd_figures_show)
    disputed = fig_cmds.add_parser("disputed", help="the disputed figures (discrepancies)")
    add_service_options(disputed)
    disputed.add_argument("--region", metavar="R")
    disputed.add_argument("--metric", metavar="M")
    disputed.add_argument("--since", metavar="DATE")
    disputed.add_argument("--until", metavar="DATE")
    disputed.add_argument("--sort", choices=ORDERS, default="size")
    disputed.add_argument("--limit", type=int, default=20)
    disputed.add_argument("--json", action="store_true", help="print one JSON object")
    disputed.set_defaults(func=cmd_figures_disputed)
