"""Ledger benchmark: append throughput, proof generation and offline verification on SQLite.

Run: ``.venv/bin/python benchmarks/ledger.py [--leaves 1000000] [--batch 10000]``.
Commits are durable (WAL with synchronous=FULL, as the service runs). Prints progress to stderr
and one JSON line of figures to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

if not __package__:  # run as a file: keep this file from shadowing the `ledger` package
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from ledger import merkle
from ledger.bundle import verify_bundle
from ledger.leaf import leaf_body
from ledger.note import parse_vkey
from ledger.provenance import proof_bundle
from service import migrations
from service.runtime import open_runtime
from service.settings import load_settings


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(
    leaves: int, batch: int, samples: int, directory: Path
) -> dict[str, float | int | str]:
    url = f"sqlite+aiosqlite:///{directory}/bench.db"
    await asyncio.to_thread(migrations.upgrade, url)
    runtime = await open_runtime(load_settings(database_url=url, data_dir=directory / "data"))
    try:
        records = (
            {
                "publisher": "jhu-csse",
                "region": "ITA",
                "date": f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "metric": "cases_cumulative",
                "value": i * 7,
                "document": 1,
                "row": i,
            }
            for i in range(leaves)
        )
        append_seconds = 0.0
        appended = 0
        while appended < leaves:
            n = min(batch, leaves - appended)
            entries = [("observation", leaf_body("observation", next(records))) for _ in range(n)]
            started = time.perf_counter()
            async with runtime.write_sessions() as session, session.begin():
                await runtime.log.append(session, entries)
            append_seconds += time.perf_counter() - started
            appended += n
            if appended % (10 * batch) == 0:
                print(f"appended {appended}", file=sys.stderr)
        size = appended
        rng = random.Random(1)
        inclusion_ms: list[float] = []
        consistency_ms: list[float] = []
        verify_ms: list[float] = []
        bundle_verify_ms: list[float] = []
        async with runtime.sessions() as session:
            latest = await runtime.log.latest_checkpoint(session)
            for _ in range(samples):
                index = rng.randrange(size)
                t = time.perf_counter()
                proof = await runtime.log.inclusion_proof(session, index, size)
                inclusion_ms.append((time.perf_counter() - t) * 1000)
                old = rng.randrange(1, size)
                t = time.perf_counter()
                await runtime.log.consistency_proof(session, old, size)
                consistency_ms.append((time.perf_counter() - t) * 1000)
            _kind, body = await runtime.log.entry(session, 12345 % size)
            bundle = (await proof_bundle(session, runtime.log, 12345 % size)).to_text()
            leaf = merkle.leaf_hash(body)
            proof = await runtime.log.inclusion_proof(session, 12345 % size, size)
        log_verifier = parse_vkey(runtime.signer.vkey)  # a verifier parses the key once
        for _ in range(samples):
            t = time.perf_counter()
            merkle.verify_inclusion(leaf, 12345 % size, size, proof, latest.root_hash)
            verify_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            verify_bundle(bundle, body, log_verifier)
            bundle_verify_ms.append((time.perf_counter() - t) * 1000)
    finally:
        await runtime.close()
    return {
        "leaves": size,
        "batch": batch,
        "append_total_s": round(append_seconds, 2),
        "leaves_per_s": round(size / append_seconds),
        "inclusion_proof_p50_ms": round(statistics.median(inclusion_ms), 3),
        "inclusion_proof_p99_ms": round(_p(inclusion_ms, 0.99), 3),
        "consistency_proof_p50_ms": round(statistics.median(consistency_ms), 3),
        "consistency_proof_p99_ms": round(_p(consistency_ms, 0.99), 3),
        "verify_inclusion_p50_ms": round(statistics.median(verify_ms), 4),
        "verify_bundle_with_signature_p50_ms": round(statistics.median(bundle_verify_ms), 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--dir", type=Path, help="where to put the database (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        figures = asyncio.run(run(args.leaves, args.batch, args.samples, directory))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
