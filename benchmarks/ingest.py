"""Ingestion benchmark: every publisher file in ``../shared/data/real/`` into an empty SQLite
database, through the code path of ``corroborate ingest``.

Run: ``.venv/bin/python benchmarks/ingest.py [--data ../shared/data/real] [--dir DIR]``.

Migrates a new database, registers the catalogue's publishers with a key generated here for each,
then for every file signs a document statement and calls ``ingest_document`` (statement and
signature checked, original kept, document and observation leaves appended, rows stored, one
durable transaction per file: WAL with ``synchronous=FULL``, as the service runs). WHO's
2020-11-09 vintage goes in before the later one, so the second is mostly unchanged values plus
revisions. Afterwards, timed apart, ``verify_documents`` re-checks every document against its
kept original and the log.

Prints a progress line per file to stderr and one JSON line of figures to stdout: ``total_s``
(registration and every file, not the migration), ``observations`` (parsed and accepted, summed
over the files), ``leaves`` (the log's size at the end: key, document and observation leaves),
``peak_rss_mb`` (after ingestion, before verification), ``db_mb`` (database file and WAL) and
``verify_s``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

if not __package__:  # run as a file: keep this file from shadowing the `ingest` package
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from ingest.documents import ingest_document, sign_document, verify_documents
from ingest.publishers import add_key, add_publisher, catalogue
from ledger.note import generate_signer
from service import migrations
from service.runtime import open_runtime
from service.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "real"

# (path under real/, format), in the order ingested: an earlier vintage before the later one.
FILES = [
    ("jhu_csse/time_series_covid19_confirmed_global.csv", "jhu-csse-global-confirmed"),
    ("jhu_csse/time_series_covid19_deaths_global.csv", "jhu-csse-global-deaths"),
    ("jhu_csse/time_series_covid19_confirmed_US.csv", "jhu-csse-us-confirmed"),
    ("jhu_csse/time_series_covid19_deaths_US.csv", "jhu-csse-us-deaths"),
    ("who/vintage-2020-11-09/WHO-COVID-19-global-data.csv", "who-covid-19-global-data"),
    ("who/WHO-COVID-19-global-data.csv", "who-covid-19-global-data"),
    ("ecdc/ecdc.csv", "ecdc-case-distribution"),
    ("owid/owid-covid-data.csv", "owid-covid-data"),
    ("nyt/us-states.csv", "nyt-us-states"),
    ("ctp/states_daily_4pm_et.csv", "ctp-states-daily"),
    ("italy_dpc/dpc-covid19-ita-andamento-nazionale.csv", "dpc-ita-andamento-nazionale"),
    ("rki/COVID-19-Todesfaelle_Deutschland.csv", "rki-todesfaelle-deutschland"),
    ("rki/COVID-19-Faelle_7-Tage-Inzidenz_Deutschland.csv", "rki-faelle-7-tage-inzidenz"),
]


def owner(format: str) -> str:
    return next(slug for slug, spec in catalogue().items() if format in spec.formats)


def mb(nbytes: int) -> float:
    return round(nbytes / 2**20, 1)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def run(data: Path, directory: Path) -> dict[str, float | int | str]:
    missing = [path for path, _ in FILES if not (data / path).is_file()]
    if missing:
        raise SystemExit(f"benchmarks/ingest.py: missing under {data}: {', '.join(missing)}")
    database = directory / "bench.db"
    if database.exists():
        raise SystemExit(f"benchmarks/ingest.py: {database} exists; expected an empty directory")
    url = f"sqlite+aiosqlite:///{database}"
    await asyncio.to_thread(migrations.upgrade, url)
    data_dir = directory / "data"
    runtime = await open_runtime(load_settings(database_url=url, data_dir=data_dir))
    observations = 0
    try:
        started = time.perf_counter()
        known = catalogue()
        signers = {}
        for slug in dict.fromkeys(owner(fmt) for _, fmt in FILES):
            signers[slug] = generate_signer(f"{slug}.bench")
            async with runtime.write_sessions() as session, session.begin():
                await runtime.log.lock(session)
                await add_publisher(session, known[slug])
                await add_key(session, runtime.log, slug, signers[slug].vkey)
        for path, fmt in FILES:
            slug = owner(fmt)
            content = (data / path).read_bytes()
            note = sign_document(
                content, publisher=slug, format=fmt, name=Path(path).name, signer=signers[slug]
            )
            report = await ingest_document(
                runtime.write_sessions,
                runtime.log,
                runtime.settings.data_dir,
                publisher=slug,
                format=fmt,
                content=content,
                note=note,
            )
            observations += report.observations
            say(
                f"{path}: {report.records} rows, {report.observations} observations "
                f"({report.new} new, {report.revised} revised, {report.unchanged} unchanged), "
                f"{report.leaves} leaves in {report.seconds:.1f} s "
                f"({report.observations / report.seconds:,.0f} observations/s)"
            )
        total = time.perf_counter() - started
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        async with runtime.sessions() as session:
            leaves = await runtime.log.size(session)
        say(f"ingested {len(FILES)} files in {total:.1f} s; verifying every document")
        started = time.perf_counter()
        async with runtime.sessions() as session:
            checks = await verify_documents(session, runtime.log, runtime.settings.data_dir)
        verify = time.perf_counter() - started
        bad = [check.as_dict() for check in checks if not check.ok]
        if bad:
            raise SystemExit(f"benchmarks/ingest.py: documents do not verify: {bad}")
        verify_peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    finally:
        await runtime.close()
    return {
        "files": len(FILES),
        "total_s": round(total, 1),
        "observations": observations,
        "observations_per_s": round(observations / total),
        "leaves": leaves,
        "peak_rss_mb": mb(peak_rss),
        "verify_s": round(verify, 1),
        "verify_observations": sum(check.observations for check in checks),
        "verify_peak_rss_mb": mb(verify_peak_rss),
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared/data/real")
    parser.add_argument("--dir", type=Path, help="where to put the database (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        figures = asyncio.run(run(args.data, directory))
        stored = [p for p in directory.glob("bench.db*") if p.name != "bench.db-shm"]
        figures["db_mb"] = mb(sum(p.stat().st_size for p in stored))  # file and WAL
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
