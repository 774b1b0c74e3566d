"""Reconciliation benchmark: a full run over every publisher file in ``../shared/data/real/``,
then re-reconciling after one new document, after a broader one, and with nothing new.

Run: ``.venv/bin/python benchmarks/reconcile.py [--data ../shared/data/real] [--dir DIR]
[--reuse DB_DIR]``.

Set-up (not part of the headline figures): a new SQLite database migrated and filled as
``benchmarks/ingest.py`` does (the catalogue's publishers registered with a key generated here,
then every file signed and passed to ``ingest_document``, one durable transaction per file), timed
as ``ingest_s``. ``--reuse DB_DIR`` skips that: it copies ``DB_DIR/bench.db`` and ``DB_DIR/data/``
(an ingested database, for instance one ``benchmarks/ingest.py --dir`` left) into the working
directory first, so the original is untouched; the run's ``ingest_s`` is then null.

Then, through ``ingest.reconcile.engine.reconcile`` (what ``corroborate reconcile`` runs), with the
default tolerances:

1. **full** (``full_s``): reads the latest observation of every series outside the US counties,
   composes and completes them, fits the date shifts, finds the lineages, flags anomalies, attests
   every figure and writes every new figure version with its ``attestation`` leaf in one
   transaction;
2. **one new document** (``incremental_s``): DPC's national file with its last report's case
   counts revised (``nuovi_positivi`` and ``totale_casi`` + 5), signed and ingested first (timed
   apart: ``document_ingest_s``), then an incremental run;
3. **a broader document** (``incremental_who_s``): WHO's later vintage with its last row (one
   country's last day) revised by + 3 cases: the file holds about 300,000 values of ~235
   countries, but only the changed ones become observation versions, so only that country should
   be re-attested (``who_new_version_regions`` says which were);
4. **nothing new** (``noop_s``): another incremental run.

Prints progress to stderr (each run's steps with their elapsed time) and one JSON line of figures
to stdout. ``peak_rss_mb`` is the process's resident high-water mark during the full run (reset
just before it where Linux allows, so it includes what the process held before: see
``rss_before_full_mb``); ``*_steps_s`` split a run at the reconciler's progress messages (read:
the queries, composing parts and completing cumulative/daily series; fit: date shifts and
lineages; attest: anomalies and figures; write: the transaction). ``leaves`` and ``db_mb``
(database file and WAL) are taken at the end; ``load_before_full`` is the one-minute load
average when the full run starts (other work on the machine slows every figure).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import re
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if not __package__:  # run as a file: keep this file from shadowing the `ingest` package
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import text

from benchmarks.ingest import DEFAULT_DATA, FILES, mb, owner, say
from ingest.documents import IngestReport, ingest_document, sign_document
from ingest.publishers import add_key, add_publisher, catalogue
from ingest.reconcile.engine import ReconcileReport, reconcile
from ledger.note import Signer, generate_signer
from service import migrations
from service.runtime import Runtime, open_runtime
from service.settings import load_settings

DPC = ("italy_dpc/dpc-covid19-ita-andamento-nazionale.csv", "dpc-ita-andamento-nazionale")
DPC_REVISION = {"nuovi_positivi": 5, "totale_casi": 5}
WHO = ("who/WHO-COVID-19-global-data.csv", "who-covid-19-global-data")
WHO_REVISION = {"New_cases": 3, "Cumulative_cases": 3}
STEPS = {"fitting": "fit", "attesting": "attest", "writing": "write"}  # first word -> step


def _fail(message: str) -> SystemExit:
    return SystemExit(f"benchmarks/reconcile.py: {message}")


# --- memory ----------------------------------------------------------------------------------


def _reset_peak_rss() -> int:
    """Collect garbage and reset the resident high-water mark (Linux ≥ 4.0; elsewhere it keeps
    growing); returns the resident size then."""
    gc.collect()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return (_status_kb("VmRSS") or 0) * 1024


def _status_kb(field: str) -> int | None:
    try:
        found = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    except OSError:
        return None
    return int(found.group(1)) if found else None


def _peak_rss() -> int:
    peak = _status_kb("VmHWM")
    return (
        peak * 1024
        if peak is not None
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    )


# --- set-up ----------------------------------------------------------------------------------


async def ingest_all(runtime: Runtime, data: Path) -> tuple[float, dict[str, Signer]]:
    """benchmarks/ingest.py's registration and ingestion loop, without its verification."""
    started = time.perf_counter()
    known = catalogue()
    signers: dict[str, Signer] = {}
    for slug in dict.fromkeys(owner(fmt) for _, fmt in FILES):
        signers[slug] = generate_signer(f"{slug}.bench")
        async with runtime.write_sessions() as session, session.begin():
            await runtime.log.lock(session)
            await add_publisher(session, known[slug])
            await add_key(session, runtime.log, slug, signers[slug].vkey)
    for path, fmt in FILES:
        report, seconds = await _ingest(runtime, signers, data / path, fmt)
        say(
            f"{path}: {report.observations} observations ({report.new} new, "
            f"{report.revised} revised) in {seconds:.1f} s"
        )
    return time.perf_counter() - started, signers


def copy_database(source: Path, directory: Path) -> None:
    if not (source / "bench.db").is_file() or not (source / "data").is_dir():
        raise _fail(f"--reuse {source}: expected bench.db and data/ there")
    started = time.perf_counter()
    for name in ("bench.db", "bench.db-wal"):
        if (source / name).exists():
            shutil.copy2(source / name, directory / name)
    shutil.copytree(source / "data", directory / "data")
    say(f"copied {source} in {time.perf_counter() - started:.1f} s")


async def _signer_for(runtime: Runtime, signers: dict[str, Signer], slug: str) -> Signer:
    """The publisher's benchmark key; a reused database's keys are unknown here, so add one."""
    if slug not in signers:
        signers[slug] = generate_signer(f"{slug}.bench-reconcile")
        async with runtime.write_sessions() as session, session.begin():
            await runtime.log.lock(session)
            await add_key(session, runtime.log, slug, signers[slug].vkey)
    return signers[slug]


async def _ingest(
    runtime: Runtime,
    signers: dict[str, Signer],
    path: Path,
    fmt: str,
    content: bytes | None = None,
) -> tuple[IngestReport, float]:
    """Sign and ingest one document; its report and the wall time of ``ingest_document``."""
    slug = owner(fmt)
    signer = await _signer_for(runtime, signers, slug)
    content = await asyncio.to_thread(path.read_bytes) if content is None else content
    note = sign_document(content, publisher=slug, format=fmt, name=path.name, signer=signer)
    started = time.perf_counter()
    report = await ingest_document(
        runtime.write_sessions,
        runtime.log,
        runtime.settings.data_dir,
        publisher=slug,
        format=fmt,
        content=content,
        note=note,
    )
    return report, time.perf_counter() - started


def revise_last_row(content: bytes, deltas: Mapping[str, int]) -> bytes:
    """``content`` (a plain CSV whose last row has no quoted field) with counts of its last row
    changed by ``deltas`` (column -> amount); every other byte is kept."""
    lines = content.decode("utf-8").splitlines(keepends=True)
    header = [name.strip().lstrip("\ufeff") for name in lines[0].rstrip("\r\n").split(",")]
    last = max(i for i, line in enumerate(lines) if line.strip())
    body = lines[last].rstrip("\r\n")
    if '"' in body:
        raise _fail(f"the last row has a quoted field: {body!r}")
    fields = body.split(",")
    for column, delta in deltas.items():
        at = header.index(column)
        fields[at] = str(int(fields[at]) + delta)
    lines[last] = ",".join(fields) + lines[last][len(body) :]
    return "".join(lines).encode("utf-8")


# --- the runs --------------------------------------------------------------------------------


async def _reconcile(runtime: Runtime, label: str, *, full: bool = False) -> dict[str, Any]:
    """One run, timed; its report, wall time, steps and the regions that got new versions."""
    started = time.perf_counter()
    marks: list[tuple[str, float]] = [("read", started)]

    def progress(message: str) -> None:
        now = time.perf_counter()
        step = STEPS.get(message.split(" ", 1)[0])
        if step is not None:
            marks.append((step, now))
        say(f"  {label} {now - started:6.2f} s  {message}")

    report: ReconcileReport = await reconcile(
        runtime.sessions, runtime.write_sessions, runtime.log, full=full, progress=progress
    )
    ended = time.perf_counter()
    marks.append(("end", ended))
    steps = {name: round(marks[i + 1][1] - at, 2) for i, (name, at) in enumerate(marks[:-1])}
    async with runtime.sessions() as session:
        rows = await session.execute(
            text(
                "SELECT region, count(*) FROM attested_figure WHERE run_id = :run "
                "GROUP BY region ORDER BY count(*) DESC, region"
            ),
            {"run": report.run_id},
        )
        touched = {region: count for region, count in rows}
    say(
        f"  {label}: mode {report.mode}, {report.regions} regions, {report.figures:,} figures, "
        f"{report.new_versions:,} new versions in {ended - started:.2f} s"
    )
    return {"report": report, "s": ended - started, "steps": steps, "touched": touched}


def _new_version_regions(touched: Mapping[str, int], most: int = 10) -> dict[str, int]:
    return dict(list(touched.items())[:most])


async def run(data: Path, directory: Path, reuse: Path | None) -> dict[str, Any]:
    needed = [DPC, WHO] if reuse is not None else [*FILES, DPC, WHO]
    missing = [path for path, _ in needed if not (data / path).is_file()]
    if missing:
        raise _fail(f"missing under {data}: {', '.join(dict.fromkeys(missing))}")
    database = directory / "bench.db"
    if database.exists():
        raise _fail(f"{database} exists; expected an empty directory")
    if reuse is not None:
        copy_database(reuse, directory)
    url = f"sqlite+aiosqlite:///{database}"
    await asyncio.to_thread(migrations.upgrade, url)
    runtime = await open_runtime(load_settings(database_url=url, data_dir=directory / "data"))
    try:
        signers: dict[str, Signer] = {}
        ingest_s: float | None = None
        if reuse is None:
            ingest_s, signers = await ingest_all(runtime, data)
            say(f"ingested {len(FILES)} files in {ingest_s:.1f} s")
        async with runtime.sessions() as session:
            prior_runs = await session.scalar(text("SELECT count(*) FROM reconcile_run"))
        if prior_runs:
            say(f"warning: the database holds {prior_runs} reconciliation runs already")

        load = os.getloadavg()[0]
        rss_before = _reset_peak_rss()
        full = await _reconcile(runtime, "full", full=True)
        peak_full = _peak_rss()
        report = full["report"]

        content = revise_last_row((data / DPC[0]).read_bytes(), DPC_REVISION)
        dpc_doc, dpc_ingest_s = await _ingest(runtime, signers, data / DPC[0], DPC[1], content)
        say(
            f"{DPC[0]} (last row revised): {dpc_doc.revised} revised, {dpc_doc.new} new "
            f"observations in {dpc_ingest_s:.2f} s"
        )
        rss_before_incremental = _reset_peak_rss()
        dpc = await _reconcile(runtime, "incremental")
        peak_incremental = _peak_rss()

        content = revise_last_row((data / WHO[0]).read_bytes(), WHO_REVISION)
        who_doc, who_ingest_s = await _ingest(runtime, signers, data / WHO[0], WHO[1], content)
        say(
            f"{WHO[0]} (last row revised): {who_doc.observations} observations, "
            f"{who_doc.revised} revised, {who_doc.new} new in {who_ingest_s:.2f} s"
        )
        who = await _reconcile(runtime, "incremental-who")

        noop = await _reconcile(runtime, "no-op")

        async with runtime.sessions() as session:
            leaves = await runtime.log.size(session)
    finally:
        await runtime.close()
    return {
        "ingest_s": None if ingest_s is None else round(ingest_s, 1),
        "reused": str(reuse) if reuse is not None else None,
        "prior_runs": prior_runs,
        "full_mode": report.mode,
        "full_s": round(full["s"], 2),
        "full_steps_s": full["steps"],
        "regions": report.regions,
        "figures": report.figures,
        "new_versions": report.new_versions,
        "by_status": report.by_status,
        "anomalies": report.anomalies,
        "lineages": len(report.lineages),
        "rss_before_full_mb": mb(rss_before),
        "peak_rss_mb": mb(peak_full),
        "document_ingest_s": round(dpc_ingest_s, 3),
        "document_revised": dpc_doc.revised,
        "incremental_mode": dpc["report"].mode,
        "incremental_s": round(dpc["s"], 3),
        "incremental_steps_s": dpc["steps"],
        "incremental_regions": dpc["report"].regions,
        "incremental_figures": dpc["report"].figures,
        "incremental_new_versions": dpc["report"].new_versions,
        "incremental_new_version_regions": _new_version_regions(dpc["touched"]),
        "rss_before_incremental_mb": mb(rss_before_incremental),
        "incremental_peak_rss_mb": mb(peak_incremental),
        "who_document_ingest_s": round(who_ingest_s, 2),
        "who_document_observations": who_doc.observations,
        "who_document_revised": who_doc.revised,
        "incremental_who_s": round(who["s"], 3),
        "incremental_who_steps_s": who["steps"],
        "who_regions": who["report"].regions,
        "who_figures": who["report"].figures,
        "who_new_versions": who["report"].new_versions,
        "who_new_version_regions": _new_version_regions(who["touched"]),
        "noop_s": round(noop["s"], 3),
        "noop_regions": noop["report"].regions,
        "noop_new_versions": noop["report"].new_versions,
        "leaves": leaves,
        "load_before_full": round(load, 2),
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared/data/real")
    parser.add_argument("--dir", type=Path, help="where to put the database (default: a temp dir)")
    parser.add_argument(
        "--reuse",
        type=Path,
        metavar="DB_DIR",
        help="copy an ingested bench.db and data/ from DB_DIR instead of ingesting",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        figures = asyncio.run(run(args.data, directory, args.reuse))
        stored = [p for p in directory.glob("bench.db*") if p.name != "bench.db-shm"]
        figures["db_mb"] = mb(sum(p.stat().st_size for p in stored))  # file and WAL
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
