"""GraphQL API benchmark: requests per second and latency of ``POST /graphql`` on the real server,
with every publisher file in ``../shared/data/real/`` ingested and reconciled.

Run: ``.venv/bin/python benchmarks/api.py [--data ../shared/data/real] [--dir DIR | --keep]
[--reuse DB_DIR] [--duration 20] [--warmup 5] [--single 5] [--workers 2]
[--scenarios typename,a,b]``. Needs ``wrk`` on the PATH (Debian/Ubuntu: ``apt-get install wrk``).

Set-up (timed as ``setup_s``, not part of the load figures): a new SQLite database migrated and
filled as ``benchmarks/ingest.py`` does (the catalogue's publishers registered with a key generated
here, every file signed and passed to ``ingest_document``; ``ingest_s``), then a full run of
``ingest.reconcile.engine.reconcile`` as ``benchmarks/reconcile.py`` does (``reconcile_s``).
``--reuse DB_DIR`` skips that: it copies ``DB_DIR/bench.db`` and ``DB_DIR/data/`` into the working
directory (the original is untouched) and reconciles only if the copy holds no reconciliation run.
A ``DB_DIR`` comes from an earlier run of this script with ``--keep`` (the temporary working
directory is kept and its path printed) or ``--dir DIR`` (always kept), or from
``benchmarks/ingest.py --dir DB_DIR`` (then reconciled here on first use, each time), or from
``benchmarks/reconcile.py --dir DB_DIR`` (ingested and reconciled, plus its two revised documents).

Then the real server starts as a separate process, as it is deployed:
``corroborate serve --workers 2 --port <a free port>`` with ``CORROBORATE_DATABASE_URL``,
``CORROBORATE_DATA_DIR`` and ``CORROBORATE_LOG_ORIGIN`` of the set-up and
``CORROBORATE_API_BUDGET_ANONYMOUS=1000000000`` (the load generator is one anonymous client; every
other setting at its default, access logs included, written to ``server.log`` in the working
directory), and the script waits for ``/readyz``. The response cache (``api/response_cache.py``)
is on by default, and then every measured request after the first of each worker is a hit: the
figures are those of a popular query on unchanged data. ``--response-cache-bytes 0`` turns it
off, for the cost of executing each query (the figures of a query never asked before, or asked
just after a write). Each query is first sent once with httpx and
checked: no ``errors``, the expected number of nodes (a wrong query stops the run). Then, per
scenario, ``wrk`` with 2 threads and 32 connections POSTs the query as JSON (``Accept:
application/graphql-response+json``, so a refused request is a 4xx): a warm-up of ``--warmup``
seconds, discarded, then a measured run of ``--duration`` seconds with ``--latency``, then
(``--single``) a run with one thread and one connection, for the latency of a lone client. A Lua
script generated into the working directory counts responses that are not 200 or whose body holds
``"errors"`` and prints them; after each wrk run the script waits until the workers are idle again
(requests wrk gave up on may still be executing). The scenarios:

0. ``typename``: ``{ __typename }``, the baseline (HTTP, middleware, parsing, validation, limits,
   no data);
a. ``a``: one country's attested cases over 90 days, ``figures(region: "ITA",
   metric: CASES_CUMULATIVE, from: "2020-06-01", to: "2020-08-29", first: 90)`` with each figure's
   date, value, status and spread — target ≥ 40 % of the baseline's requests/s;
b. ``b``: the same with each input's publisher and observation value and each figure's proof
   (``tlogProof``, its attestation leaf's inclusion proof) — target p99 ≤ 250 ms.

wrk runs on the same machine as the server and takes CPU from it: the figures are the machine's,
load generator included. wrk's latencies are those of the requests completed within the run
(``--timeout 10s``, the server's own ``api_timeout_s``).

Prints progress to stderr and one JSON line of figures to stdout: per scenario ``*_rps`` (wrk's
requests/s), ``*_p50_ms`` and ``*_p99_ms`` (wrk's latency distribution), ``*_requests``,
``*_non2xx`` (wrk's non-2xx/3xx count), ``*_graphql_errors`` (200s whose body holds ``"errors"``),
``*_socket_errors`` (connect, read, write and timeout), ``*_worker_cpu_s`` (CPU seconds each
server worker spent during the measured run: how evenly the connections were spread),
``*_cpu_ms_per_request`` (those seconds over the completed requests: the server's cost of one,
less sensitive than requests/s to other work on the machine; requests stopped by a timeout
count in the CPU but not in the requests), ``*_wrk_cpus`` and ``*_other_cpus`` (CPUs, on
average, that wrk and everything else on the machine — other work, steal — kept busy meanwhile),
``*_response_bytes`` (the checked response's body) and ``*_c1_rps``, ``*_c1_p50_ms``,
``*_c1_p99_ms`` (one connection); then ``ratio_a_to_typename``, ``a_meets_40pct``,
``b_meets_p99_250ms``, ``failures`` (what went wrong: any non-2xx response, any ``errors``, any
socket error or timeout, a measured run with no completed request); ``setup_s`` (with
``ingest_s`` and ``reconcile_s``, null when skipped), ``server_start_s`` (spawn to the first
ready ``/readyz``), ``total_s`` (the whole script); ``figures`` (latest figure versions in the
database), ``setup_peak_rss_mb`` (this process, ``ru_maxrss``), ``server_peak_rss_mb``
(``VmHWM`` of the server process and its descendants, summed, read after the last run),
``load_before`` (one-minute load average before the first scenario), and the machine:
``machine`` (as the other benchmarks record it), ``cpu_model`` and ``cpus``. When ``failures`` is
not empty the JSON line is still printed, then the script says what failed and exits with 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if not __package__:  # run as a file: keep this file from shadowing the `ingest` package
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import httpx
from sqlalchemy import text

from benchmarks.ingest import DEFAULT_DATA, FILES, mb, say
from benchmarks.reconcile import copy_database, ingest_all
from ingest.reconcile.engine import reconcile
from service import migrations
from service.runtime import open_runtime
from service.settings import load_settings

THREADS = 2
CONNECTIONS = 32
WORKERS = 2
BUDGET = 1_000_000_000  # points per window: the load generator is one anonymous client
WRK_TIMEOUT_S = 10  # the server's default api_timeout_s
TARGET_A_SHARE = 0.40
TARGET_B_P99_MS = 250.0

FIGURES_90 = (
    'figures(region: "ITA", metric: CASES_CUMULATIVE, from: "2020-06-01", to: "2020-08-29", '
    "first: 90)"
)


@dataclass(frozen=True)
class Scenario:
    key: str
    query: str
    nodes: int | None  # expected len(data.figures.nodes); None: no figures asked


SCENARIOS = [
    Scenario("typename", "{ __typename }", None),
    Scenario("a", f"{{ {FIGURES_90} {{ nodes {{ date value status spread }} }} }}", 90),
    Scenario(
        "b",
        f"{{ {FIGURES_90} {{ nodes {{ date value status spread "
        "inputs { publisher { slug } observation { value } } proof { tlogProof } } } }",
        90,
    ),
]


def _fail(message: str) -> SystemExit:
    return SystemExit(f"benchmarks/api.py: {message}")


# --- set-up ----------------------------------------------------------------------------------


async def set_up(data: Path, directory: Path, reuse: Path | None) -> dict[str, Any]:
    """Fill ``directory`` with ``bench.db`` and ``data/``: ingested and reconciled."""
    database = directory / "bench.db"
    if database.exists():
        raise _fail(f"{database} exists; expected an empty directory")
    if reuse is None:
        missing = [path for path, _ in FILES if not (data / path).is_file()]
        if missing:
            raise _fail(f"missing under {data}: {', '.join(missing)}")
    started = time.perf_counter()
    if reuse is not None:
        copy_database(reuse, directory)
    url = f"sqlite+aiosqlite:///{database}"
    await asyncio.to_thread(migrations.upgrade, url)
    settings = load_settings(database_url=url, data_dir=directory / "data")
    runtime = await open_runtime(settings)
    ingest_s: float | None = None
    reconcile_s: float | None = None
    try:
        if reuse is None:
            ingest_s, _ = await ingest_all(runtime, data)
            say(f"ingested {len(FILES)} files in {ingest_s:.1f} s")
        async with runtime.sessions() as session:
            runs = await session.scalar(text("SELECT count(*) FROM reconcile_run"))
        if runs:
            say(f"{runs} reconciliation run(s) in the database already: not reconciling")
        else:
            began = time.perf_counter()
            report = await reconcile(
                runtime.sessions,
                runtime.write_sessions,
                runtime.log,
                full=True,
                progress=lambda message: say(
                    f"  reconcile {time.perf_counter() - began:6.2f} s  {message}"
                ),
            )
            reconcile_s = time.perf_counter() - began
            say(f"reconciled: {report.figures:,} figures in {reconcile_s:.1f} s")
        async with runtime.sessions() as session:
            figures = await session.scalar(
                text("SELECT count(*) FROM attested_figure WHERE latest")
            )
    finally:
        await runtime.close()
    await asyncio.to_thread(_checkpoint, database)
    return {
        "url": url,
        "log_origin": settings.log_origin,
        "setup_s": round(time.perf_counter() - started, 1),
        "ingest_s": None if ingest_s is None else round(ingest_s, 1),
        "reconcile_s": None if reconcile_s is None else round(reconcile_s, 1),
        "figures": figures,
    }


def _checkpoint(database: Path) -> None:
    """Fold the WAL into the database file, so the server starts from an empty WAL."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# --- the server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _corroborate() -> str:
    beside = Path(sys.executable).with_name("corroborate")
    found = str(beside) if beside.exists() else shutil.which("corroborate")
    if found is None:
        raise _fail("no `corroborate` command: install the project (pip install -e .)")
    return found


def start_server(
    directory: Path,
    setup: dict[str, Any],
    port: int,
    workers: int,
    response_cache_bytes: int | None = None,
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CORROBORATE_DATABASE_URL": setup["url"],
        "CORROBORATE_DATA_DIR": str(directory / "data"),
        "CORROBORATE_LOG_ORIGIN": setup["log_origin"],
        "CORROBORATE_API_BUDGET_ANONYMOUS": str(BUDGET),
    }
    if response_cache_bytes is not None:
        env["CORROBORATE_API_RESPONSE_CACHE_BYTES"] = str(response_cache_bytes)
    command = [_corroborate(), "serve", "--workers", str(workers), "--port", str(port)]
    say(f"starting {' '.join(command)} (log: {directory / 'server.log'})")
    with (directory / "server.log").open("ab") as log:
        return subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its workers below
        )


def _log_tail(directory: Path, lines: int = 20) -> str:
    try:
        return "\n".join(
            (directory / "server.log").read_text(errors="replace").splitlines()[-lines:]
        )
    except OSError:
        return "(no server.log)"


def wait_ready(server: subprocess.Popen[bytes], base: str, directory: Path) -> None:
    deadline = time.monotonic() + 120
    last = "no answer"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise _fail(
                f"the server exited with status {server.returncode}:\n{_log_tail(directory)}"
            )
        try:
            answer = httpx.get(f"{base}/readyz", timeout=5, trust_env=False)
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text[:200]}"
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)
    raise _fail(f"the server was not ready after 120 s ({last}):\n{_log_tail(directory)}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)  # uvicorn's supervisor stops its workers
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # the group started above: the server and workers
        server.wait(timeout=10)


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def server_peak_rss(pid: int) -> int | None:
    """VmHWM of the server's process and its descendants (the workers), summed, in bytes."""
    total = 0
    for each in _descendants(pid):
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        if found:
            total += int(found.group(1)) * 1024
    return total or None


# --- the load --------------------------------------------------------------------------------


def check_query(base: str, scenario: Scenario) -> int:
    """Send the query once; fail unless it answers 200 with no errors and the expected nodes.
    Returns the body's size in bytes."""
    answer = httpx.post(
        f"{base}/graphql",
        json={"query": scenario.query},
        headers={"Accept": "application/graphql-response+json"},
        timeout=60,
        trust_env=False,  # no proxy from the environment for 127.0.0.1
    )
    try:
        body = answer.json()
    except ValueError:
        raise _fail(
            f"{scenario.key}: {answer.status_code}, not JSON: {answer.text[:300]}"
        ) from None
    if answer.status_code != 200 or body.get("errors"):
        raise _fail(f"{scenario.key}: {answer.status_code} {json.dumps(body)[:1000]}")
    if scenario.nodes is not None:
        nodes = ((body.get("data") or {}).get("figures") or {}).get("nodes")
        if not isinstance(nodes, list) or len(nodes) != scenario.nodes:
            got = "no nodes" if not isinstance(nodes, list) else f"{len(nodes)} nodes"
            raise _fail(f"{scenario.key}: expected {scenario.nodes} nodes, got {got}")
    return len(answer.content)


LUA = """\
wrk.method = "POST"
wrk.body = [==[%s]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/graphql-response+json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  errors = 0
  first = ""
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if first == "" then first = status .. " " .. string.sub(body, 1, 300) end
  elseif string.find(body, '"errors"', 1, true) then
    errors = errors + 1
    if first == "" then first = status .. " " .. string.sub(body, 1, 300) end
  end
end

function done(summary, latency, requests)
  local non200, errors, first = 0, 0, ""
  for _, thread in ipairs(threads) do
    non200 = non200 + thread:get("non200")
    errors = errors + thread:get("errors")
    if first == "" then first = thread:get("first") end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH non200=%%d errors=%%d connect=%%d read=%%d write=%%d timeout=%%d status=%%d\\n",
    non200, errors, e.connect, e.read, e.write, e.timeout, e.status))
  if first ~= "" then io.write("BENCH first=" .. first .. "\\n") end
end
"""

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _duration_ms(value: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if not found:
        raise _fail(f"cannot read wrk's latency {value!r}")
    return float(found.group(1)) * _UNITS_MS[found.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, the 50 % and 99 % latencies, the request count and every error count."""

    def grab(pattern: str) -> str:
        found = re.search(pattern, output, re.M)
        if not found:
            raise _fail(f"cannot find {pattern!r} in wrk's output:\n{output}")
        return found.group(1)

    counts = dict(
        (name, int(value))
        for name, value in re.findall(r"(\w+)=(\d+)", grab(r"^BENCH (non200=.*)$"))
    )
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    first = re.search(r"^BENCH first=(.*)$", output, re.M)
    return {
        "rps": float(grab(r"^Requests/sec:\s+([\d.]+)")),
        # 0: wrk recorded no latency (every request failed or timed out)
        "p50_ms": _duration_ms(grab(r"^\s+50%\s+(\S+)")) or None,
        "p99_ms": _duration_ms(grab(r"^\s+99%\s+(\S+)")) or None,
        "requests": int(grab(r"^\s+(\d+) requests in ")),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
        "counts": counts,
        "first": first.group(1) if first else None,
    }


def _round(ms: float | None) -> float | None:
    return None if ms is None else round(ms, 2)


def _ms(ms: float | None) -> str:
    return "n/a" if ms is None else f"{ms:.2f} ms"


def run_wrk(
    url: str, script: Path, seconds: int, *, threads: int = THREADS, connections: int = CONNECTIONS
) -> tuple[dict[str, Any], list[str]]:
    """One wrk run: its figures and what went wrong (bad responses, socket errors)."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={WRK_TIMEOUT_S}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise _fail(f"wrk exited with status {done.returncode}:\n{output}")
    figures = parse_wrk(output)
    counts = figures["counts"]
    figures["graphql_errors"] = counts.get("errors", 0)
    bad = {
        "responses not 200": max(figures["non2xx"], counts.get("non200", 0)),
        'responses with "errors"': figures["graphql_errors"],
        "socket errors (connect, read, write, timeout)": figures["socket_errors"],
    }
    problems = [f"{n} {what}" for what, n in bad.items() if n]
    if problems and figures["first"]:
        problems.append(f"first: {figures['first']}")
    if figures["requests"] == 0:
        problems.append(f"no request completed in {seconds} s")
    return figures, problems


def _worker_pids(server: int) -> list[int]:
    """The uvicorn workers (spawned children), or the server itself when it has none."""
    workers = []
    for pid in _descendants(server)[1:]:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            workers.append(pid)
    return workers or [server]


def _cpu_s(pids: list[int]) -> list[float]:
    """User and system CPU seconds of each process so far (0 for one that is gone)."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = []
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            seconds.append(0.0)
            continue
        seconds.append((int(fields[11]) + int(fields[12])) / ticks)  # utime, stime
    return seconds


def _machine_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (every CPU; steal included) since boot."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    """CPU seconds of this process's finished children (the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def settle(workers: list[int], most_s: float = 120.0) -> None:
    """Wait until the workers are idle: requests wrk gave up on may still be running, and would
    slow the next run."""
    deadline = time.monotonic() + most_s
    before = sum(_cpu_s(workers))
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sum(_cpu_s(workers))
        if now - before < 0.05 * len(workers):  # under 10 % of a core each
            return
        before = now
    say(f"warning: the server was still busy {most_s:.0f} s after a run")


def load(
    base: str,
    directory: Path,
    scenarios: list[Scenario],
    *,
    server: int,
    warmup: int,
    duration: int,
    single: int,
) -> tuple[dict[str, Any], list[str]]:
    """Every scenario: checked once, warmed up, measured; the figures and what went wrong."""
    figures: dict[str, Any] = {}
    failures: list[str] = []
    workers = _worker_pids(server)
    for scenario in scenarios:
        key = scenario.key
        size = check_query(base, scenario)
        script = directory / f"wrk-{key}.lua"
        body = json.dumps({"query": scenario.query})
        if "]==]" in body:
            raise _fail(f"{key}: the query cannot go into a Lua long string")
        script.write_text(LUA % body)
        if warmup:
            _, problems = run_wrk(f"{base}/graphql", script, warmup)
            failures += [  # a slow query may complete nothing in a short warm-up: no matter
                f"{key} (warm-up): {problem}"
                for problem in problems
                if not problem.startswith("no request completed")
            ]
            settle(workers)
        cpu_before, machine_before, wrk_before = (
            _cpu_s(workers),
            _machine_cpu_s(),
            _children_cpu_s(),
        )
        began = time.perf_counter()
        result, problems = run_wrk(f"{base}/graphql", script, duration)
        elapsed = time.perf_counter() - began
        cpu = [round(b - a, 1) for a, b in zip(cpu_before, _cpu_s(workers), strict=True)]
        wrk_cpu = _children_cpu_s() - wrk_before
        other = _machine_cpu_s() - machine_before - sum(cpu) - wrk_cpu
        failures += [f"{key}: {problem}" for problem in problems]
        settle(workers)
        say(
            f"{key}: {result['rps']:,.1f} requests/s, p50 {_ms(result['p50_ms'])}, "
            f"p99 {_ms(result['p99_ms'])} ({result['requests']:,} requests, "
            f"{size:,}-byte responses; worker CPU {cpu} s){'; ' if problems else ''}"
            + "; ".join(problems)
        )
        figures[f"{key}_rps"] = round(result["rps"], 1)
        figures[f"{key}_p50_ms"] = _round(result["p50_ms"])
        figures[f"{key}_p99_ms"] = _round(result["p99_ms"])
        figures[f"{key}_requests"] = result["requests"]
        figures[f"{key}_non2xx"] = result["non2xx"]
        figures[f"{key}_graphql_errors"] = result["graphql_errors"]
        figures[f"{key}_socket_errors"] = result["socket_errors"]
        figures[f"{key}_worker_cpu_s"] = cpu
        figures[f"{key}_cpu_ms_per_request"] = (
            round(1000 * sum(cpu) / result["requests"], 2) if result["requests"] else None
        )
        figures[f"{key}_wrk_cpus"] = round(wrk_cpu / elapsed, 2)
        figures[f"{key}_other_cpus"] = round(max(other, 0.0) / elapsed, 2)
        figures[f"{key}_response_bytes"] = size
        if single:
            alone, problems = run_wrk(f"{base}/graphql", script, single, threads=1, connections=1)
            failures += [f"{key} (one connection): {problem}" for problem in problems]
            settle(workers)
            say(
                f"{key}, one connection: {alone['rps']:,.1f} requests/s, "
                f"p50 {_ms(alone['p50_ms'])}, p99 {_ms(alone['p99_ms'])}"
            )
            figures[f"{key}_c1_rps"] = round(alone["rps"], 1)
            figures[f"{key}_c1_p50_ms"] = _round(alone["p50_ms"])
            figures[f"{key}_c1_p99_ms"] = _round(alone["p99_ms"])
    return figures, failures


# --- the machine -----------------------------------------------------------------------------


def cpu_model_name() -> str | None:
    try:
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    except OSError:
        return platform.processor() or None
    return found.group(1).strip() if found else (platform.processor() or None)


def cpu_count() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


# --- main ------------------------------------------------------------------------------------


def run(args: argparse.Namespace, directory: Path) -> tuple[dict[str, Any], list[str]]:
    started = time.perf_counter()
    setup = asyncio.run(set_up(args.data, directory, args.reuse))
    setup_peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    began = time.perf_counter()
    server = start_server(directory, setup, port, args.workers, args.response_cache_bytes)
    try:
        wait_ready(server, base, directory)
        server_start_s = time.perf_counter() - began
        say(f"ready at {base} after {server_start_s:.1f} s")
        load_before = os.getloadavg()[0]
        figures, failures = load(
            base,
            directory,
            [s for s in SCENARIOS if s.key in args.scenarios],
            server=server.pid,
            warmup=args.warmup,
            duration=args.duration,
            single=args.single,
        )
        peak = server_peak_rss(server.pid)
    finally:
        stop_server(server)
    ratio = (
        figures["a_rps"] / figures["typename_rps"]
        if figures.get("typename_rps") and "a_rps" in figures
        else None
    )
    clean = {key: not any(f.startswith(f"{key}:") for f in failures) for key in ("a", "b")}
    return {
        **figures,
        "ratio_a_to_typename": None if ratio is None else round(ratio, 3),
        "a_meets_40pct": None if ratio is None else ratio >= TARGET_A_SHARE and clean["a"],
        "b_meets_p99_250ms": (
            (figures["b_p99_ms"] or math.inf) <= TARGET_B_P99_MS and clean["b"]
            if "b_p99_ms" in figures
            else None
        ),
        "failures": failures,
        "setup_s": setup["setup_s"],
        "ingest_s": setup["ingest_s"],
        "reconcile_s": setup["reconcile_s"],
        "reused": str(args.reuse) if args.reuse is not None else None,
        "server_start_s": round(server_start_s, 1),
        "total_s": round(time.perf_counter() - started, 1),
        "figures": setup["figures"],
        "setup_peak_rss_mb": mb(setup_peak_rss),
        "server_peak_rss_mb": None if peak is None else mb(peak),
        "load_generator": (
            f"wrk -t{THREADS} -c{CONNECTIONS} -d{args.duration}s --timeout {WRK_TIMEOUT_S}s "
            f"(warm-up {args.warmup}s; one connection {args.single}s)"
        ),
        "server": f"corroborate serve --workers {args.workers}",
        "response_cache_bytes": args.response_cache_bytes,  # null: the server's default (on)
        "load_before": round(load_before, 2),
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
        "cpu_model": cpu_model_name(),
        "cpus": cpu_count(),
    }, failures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared/data/real")
    parser.add_argument(
        "--dir", type=Path, help="working directory, kept afterwards (default: a temp dir)"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temp working directory (bench.db, data/, server.log) for --reuse",
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        metavar="DB_DIR",
        help="copy bench.db and data/ from DB_DIR instead of ingesting (and reconciling)",
    )
    parser.add_argument("--duration", type=int, default=20, help="seconds measured per scenario")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per scenario")
    parser.add_argument(
        "--single",
        type=int,
        default=5,
        help="seconds of a run with one connection per scenario (0: none)",
    )
    parser.add_argument(
        "--workers", type=int, default=WORKERS, help="server worker processes (default 2)"
    )
    parser.add_argument(
        "--response-cache-bytes",
        type=int,
        metavar="N",
        help="the server's CORROBORATE_API_RESPONSE_CACHE_BYTES (0: no response cache; "
        "default: the server's default, on)",
    )
    parser.add_argument(
        "--scenarios",
        type=lambda value: value.split(","),
        default=[s.key for s in SCENARIOS],
        help="which to run, comma-separated (default: typename,a,b; flags need all three)",
    )
    args = parser.parse_args()
    unknown = set(args.scenarios) - {s.key for s in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenarios {', '.join(sorted(unknown))}: expected typename, a, b")
    if shutil.which("wrk") is None:
        raise _fail("wrk not found on PATH: install it (Debian/Ubuntu: apt-get install wrk)")
    if args.dir is not None:
        directory = args.dir
        directory.mkdir(parents=True, exist_ok=True)
        figures, failures = run(args, directory)
    elif args.keep:
        directory = Path(tempfile.mkdtemp(prefix="corroborate-api-bench-"))
        figures, failures = run(args, directory)
        say(f"kept {directory}; rerun with --reuse {directory}")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            figures, failures = run(args, Path(tmp))
    print(json.dumps(figures), flush=True)
    if failures:
        raise _fail("FAILED, responses went wrong under load:\n  " + "\n  ".join(failures))


if __name__ == "__main__":
    main()
