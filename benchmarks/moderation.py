"""Moderation benchmark: members file challenges on attested figures, moderators take them
through the workflow, then the moderators' queue is listed, on the demo data.

Run: ``.venv/bin/python benchmarks/moderation.py [--challenges 10000] [--concurrency 1]
[--queue-runs 200] [--seed 1] [--dir DIR | --keep] [--reuse DB_DIR]
[--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]``.
``--challenges 500`` is a smoke run of about a minute; the default 10,000 took 16.5 minutes on
a busy two-core machine (each write is its own durable transaction: about 38,500 of them).

Set-up (timed as ``setup_s``, not part of the figures): a new database migrated, the demo set
(``samples/demo/``) loaded with ``ingest.demo.load_demo`` and reconciled, as the API's tests do
(``tests/api/conftest.py``): about 62,000 latest figures of 32 regions. SQLite by default (a file
in the working directory, WAL with ``synchronous=FULL``, as the service runs); ``--postgres URL``
(a server's maintenance database, e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``)
creates a new database ``corroborate_bench_<hex>`` there instead and drops it at the end (kept
with ``--keep`` or ``--dir``). ``--reuse DB_DIR`` (SQLite only) copies ``bench.db`` and ``data/``
from an earlier run kept with ``--keep`` or ``--dir``: the demo set already loaded and reconciled
(it must hold no challenges; the original is untouched).

Then, through ``moderation/store.py`` exactly as the API calls it (one transaction per write,
taking the log's lock and appending ``challenge-event`` leaves, texts scored for sentiment):

1. **filing** (``filed_per_s``): ``--challenges`` N challenges, each on a different latest
   figure picked at random (target ``REGION/metric/YYYY-MM-DD``, ``version_seen`` its version:
   no duplicates, and one correction at most per figure), by ⌈N / 4⌉ members
   (``account:1`` …), four each. A fresh member may file 5 challenges a day and 3 per target a
   day (``moderation/reputation.py``): the filings are spread evenly over 14 simulated days
   (``now=``), a member's four about 3.5 days apart, as a public site with a few thousand active
   members would see them. Categories are mixed (half ``wrong_value`` with a claimed value off by
   1 % … 100 %, the others mostly without one); texts come from templates naming the figure,
   about 40 % negative in tone (angry) and the rest neutral or matter-of-fact, with 0 … 2 links.
2. **moderation** (``transitions_per_s``: every ``act()`` call over the phases' wall time), by
   three moderators (``account:900001`` … ``900003``; the confirming one differs from the
   proposer), in phases over 7 more simulated days, each phase in a random order: ``triage`` of
   all but 5 % (left ``OPEN``), ``start_review`` of all but those and another 5 % (left
   ``TRIAGED``), then decisions: 30 % ``reject``, 30 % ``uphold`` without a value change, 10 %
   ``uphold`` with ``corrected_value`` then ``confirm_uphold`` by a second moderator (writing a
   ``correction`` leaf and the figure's new version), 10 % ``request_info`` then ``answer`` by the
   filer (back to ``OPEN``), 10 % left ``IN_REVIEW``. About 30 % stay in the queue.
3. **queue** (``queue_p50_ms``, ``queue_p99_ms``): the moderators' queue as the API would list
   it, through SQLAlchemy on ``runtime.sessions()`` (a new session per listing): the
   ``Challenge`` rows in ``QUEUE_STATES`` with ``priority_expression(as_of)``, ordered by the
   priority then the ID, descending, ``LIMIT 50``; ``--queue-runs`` times unfiltered and as many
   filtered by region (``queue_region_*``, cycling over the regions challenged), after one
   unmeasured listing of each. The first page is checked against ``reputation.priority``, and
   the query plan is printed to stderr.

``--concurrency C`` runs C writers at once (asyncio tasks, each its own session) in filing and
in each moderation phase; the default 1 gives each write's own cost. Writers serialise on the
log's lock (SQLite's write lock, a PostgreSQL advisory lock) either way.

Prints progress to stderr and one JSON line of figures to stdout: ``challenges``, ``members``,
``filing_s``, ``filed_per_s``, ``file_p50_ms``, ``file_p99_ms``; ``transitions`` (every act),
``moderation_s`` (with ``phases_s``), ``transitions_per_s``, ``act_p50_ms``, ``act_p99_ms``
(each call's wall time, waiting for the lock included); per action (``uphold_corrected``: an
uphold with a corrected value) ``actions`` (count), ``action_per_s`` (calls over the seconds
spent in them: the action's throughput alone with ``--concurrency 1``, not with more),
``action_p50_ms`` and ``action_p99_ms``;
``corrections``, ``states`` (challenges per state at the end), ``texts_by_label`` (the
sentiment labels of the texts written), ``leaves_appended``; ``queue_size``, ``queue_rows``,
``queue_p50_ms``, ``queue_p99_ms``, ``queue_region_p50_ms``, ``queue_region_p99_ms``,
``queue_runs``; ``load_before`` and ``load_after`` (one-minute load average when filing starts
and after the queue: other work on the machine slows every figure); ``setup_s``, ``figures`` (latest figures before the run), ``peak_rss_mb``
(``ru_maxrss``, the whole run), ``db_mb`` (SQLite: file and WAL), ``total_s`` (the whole
script), ``backend`` and the machine (``machine``, ``cpu_model``, ``cpus``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if not __package__:  # run as a file: keep this file from shadowing the `ingest` package
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import asyncpg
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlmodel import col

from benchmarks.api import cpu_count, cpu_model_name
from benchmarks.ingest import mb, say
from ingest.demo import load_demo
from ingest.reconcile.engine import reconcile
from models import AttestedFigure, Challenge, Correction, PublicText
from moderation import reputation, store
from moderation.actors import Actor
from service import migrations
from service.runtime import Runtime, open_runtime
from service.settings import load_settings

PER_MEMBER = 4  # challenges per member: under the fresh member's 5 a day even if filed at once
FILING_DAYS = 14  # the filings are spread over this many simulated days…
MODERATION_DAYS = 7  # …and the moderators' work over this many after them
MODERATORS = tuple(
    Actor(f"account:{n}", frozenset({"member", "moderator"})) for n in (900001, 900002, 900003)
)
QUEUE_LIMIT = 50

# What happens to a challenge, with its share (the rest of the N go to "in_review").
OPEN, TRIAGED, IN_REVIEW = "open", "triaged", "in_review"
REJECT, UPHOLD, CORRECT, ANSWERED = "reject", "uphold", "correct", "answered"
SHARES = {
    OPEN: 0.05,
    TRIAGED: 0.05,
    REJECT: 0.30,
    UPHOLD: 0.30,
    CORRECT: 0.10,
    ANSWERED: 0.10,
}
CATEGORIES = {  # category -> weight
    "wrong_value": 50,
    "double_counting": 10,
    "wrong_date": 10,
    "missing_data": 10,
    "definition_change": 10,
    "wrong_place": 5,
    "other": 5,
}
NEGATIVE_TEXTS = (
    "This figure is wrong and misleading. The {region} health ministry's bulletin for {date} "
    "reports {claim}, not {value}. Terrible data quality!",
    "Awful. {metric} for {region} on {date} is clearly broken: {value} makes no sense next to "
    "the official report. Stop publishing bad numbers.",
    "The number is false and misleading. {region}'s own dashboard shows {claim} for {date}. "
    "This is a disgrace.",
    "Disgraceful error: {value} on {date} double counts the weekend backlog for {region}. "
    "Nobody checked this, it is a mess.",
    "Stupid mistake, again. The {metric} series for {region} jumps on {date} because the "
    "publisher changed its definition and nobody noticed. Useless.",
)
NEUTRAL_TEXTS = (
    "The {region} bulletin of {date} lists {claim} for {metric}; the attested figure is {value}.",
    "Per the regional report for {date}, the {metric} count for {region} should be {claim}. "
    "Source linked.",
    "The figure for {region} on {date} appears to follow a reporting change in how {metric} is "
    "counted, see the publisher's notes.",
    "Compare with the publisher's revised file released after {date}: {region} {metric} reads "
    "{claim} there.",
    "The date looks shifted by one day for {region}: {value} matches the report of the day "
    "after {date}.",
)
LINKS = (
    "https://example.org/bulletin/{region}/{date}",
    "https://data.example.net/{region}/{metric}.csv",
    "https://news.example.com/health/{region}-{date}",
)
RATIONALES = {
    "reject": "The publisher's file shows the attested value; the claim cites another definition.",
    "uphold": "Confirmed against the publisher's bulletin: the challenge is right.",
    "request_info": "Please link the bulletin you cite, with the page or table.",
    "confirm_uphold": "Checked the source independently: agreed.",
    "answer": "Table 2 on page 3 of the bulletin for {date} gives {claim}; the link is above.",
}


def _fail(message: str) -> SystemExit:
    return SystemExit(f"benchmarks/moderation.py: {message}")


def _p(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(seconds: Sequence[float], q: float) -> float | None:
    if not seconds:
        return None
    value = statistics.median(seconds) if q == 0.5 else _p(seconds, q)
    return round(1000 * value, 2)


# --- set-up ----------------------------------------------------------------------------------


def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_exec(url: str, statement: str) -> None:
    connection = await asyncpg.connect(_admin_dsn(url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _copy(source: Path, directory: Path) -> None:
    if not (source / "bench.db").is_file() or not (source / "data").is_dir():
        raise _fail(f"--reuse {source}: expected bench.db and data/ there")
    for name in ("bench.db", "bench.db-wal"):
        if (source / name).exists():
            shutil.copy2(source / name, directory / name)
    shutil.copytree(source / "data", directory / "data")


async def set_up(url: str, data_dir: Path, reused: bool) -> dict[str, Any]:
    """Migrate; load and reconcile the demo set unless the (reused) database holds it."""
    started = time.perf_counter()
    await asyncio.to_thread(migrations.upgrade, url)
    runtime = await open_runtime(load_settings(database_url=url, data_dir=data_dir))
    runtime.sequencer.start()
    try:
        async with runtime.sessions() as session:
            runs = await session.scalar(text("SELECT count(*) FROM reconcile_run"))
            filed = await session.scalar(select(func.count()).select_from(Challenge))
        if filed:
            raise _fail(f"the database holds {filed} challenges already: expected none")
        if runs and reused:
            say(f"{runs} reconciliation run(s) in the database already: not loading the demo")
        else:
            began = time.perf_counter()
            await load_demo(runtime.write_sessions, runtime.log, data_dir)
            say(f"loaded the demo set in {time.perf_counter() - began:.1f} s")
            began = time.perf_counter()
            report = await reconcile(runtime.sessions, runtime.write_sessions, runtime.log)
            say(f"reconciled: {report.figures:,} figures in {time.perf_counter() - began:.1f} s")
    finally:
        await runtime.close()
    return {"setup_s": round(time.perf_counter() - started, 1)}


# --- the workload ----------------------------------------------------------------------------


@dataclass
class Planned:
    """One challenge: what is filed and what will happen to it."""

    figure: Any  # a row of (region, metric, date, version, value)
    filer: Actor
    plan: str
    category: str
    claimed: int | None
    text: str
    links: list[str]
    filed_at: dt.datetime
    id: int = 0


@dataclass(frozen=True)
class Job:
    label: str  # the action, for its timings
    run: Callable[[], Awaitable[None]]


@dataclass
class Timings:
    calls: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    phases_s: dict[str, float] = field(default_factory=dict)


def _claimed(rng: random.Random, value: int, category: str, correct: bool) -> int | None:
    if category == "wrong_value" or correct:
        off = max(1, round(abs(value) * rng.choice((0.01, 0.05, 0.2, 1.0))))
        if value == 0:
            off = rng.randint(1, 50)
        claimed = value - off if rng.random() < 0.5 and value - off >= 0 else value + off
        return max(0, claimed)  # a claim is never negative (a daily figure may be)
    if category == "double_counting" and value > 1:
        return value // 2
    return None


def plan_workload(
    figures: Sequence[Any], n: int, rng: random.Random, start: dt.datetime
) -> list[Planned]:
    if n > len(figures):
        raise _fail(f"--challenges {n}: the demo set has only {len(figures):,} latest figures")
    counts = {plan: round(share * n) for plan, share in SHARES.items()}
    counts[IN_REVIEW] = n - sum(counts.values())
    plans = [plan for plan, count in counts.items() for _ in range(count)]
    rng.shuffle(plans)
    chosen = rng.sample(list(figures), n)
    members = math.ceil(n / PER_MEMBER)
    span = dt.timedelta(days=FILING_DAYS)
    planned = []
    for i, (figure, plan) in enumerate(zip(chosen, plans, strict=True)):
        region, metric, date, _version, value = figure
        correct = plan == CORRECT
        category = (
            "wrong_value"
            if correct
            else rng.choices(list(CATEGORIES), weights=list(CATEGORIES.values()))[0]
        )
        claimed = _claimed(rng, value, category, correct)
        words = {
            "region": region,
            "metric": metric.replace("_", " "),
            "date": date.isoformat(),
            "value": f"{value:,}",
            "claim": "another count" if claimed is None else f"{claimed:,}",
        }
        template = rng.choice(NEGATIVE_TEXTS if rng.random() < 0.4 else NEUTRAL_TEXTS)
        links = [
            link.format(region=region, metric=metric, date=date.isoformat())
            for link in rng.sample(LINKS, rng.randint(0, 2))
        ]
        planned.append(
            Planned(
                figure=figure,
                filer=Actor(f"account:{1 + i % members}", frozenset({"member"})),
                plan=plan,
                category=category,
                claimed=claimed,
                text=template.format(**words),
                links=links,
                filed_at=(start + span * i / n).replace(microsecond=0),
            )
        )
    return planned


async def run_phase(name: str, jobs: Sequence[Job], concurrency: int, timings: Timings) -> None:
    """Run the jobs with ``concurrency`` workers, each call's wall time into ``timings``."""
    pending = list(reversed(jobs))
    done = 0
    step = max(1, len(jobs) // 10)
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal done
        while pending:
            job = pending.pop()
            began = time.perf_counter()
            await job.run()
            timings.calls[job.label].append(time.perf_counter() - began)
            done += 1
            if done % step == 0 or done == len(jobs):
                elapsed = time.perf_counter() - started
                say(
                    f"  {name}: {done:,}/{len(jobs):,} in {elapsed:.1f} s ({done / elapsed:,.0f}/s)"
                )

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(jobs))))))
    timings.phases_s[name] = time.perf_counter() - started


async def file_all(
    runtime: Runtime, planned: list[Planned], concurrency: int, timings: Timings
) -> None:
    def job(item: Planned) -> Job:
        async def run() -> None:
            region, metric, date, version, _value = item.figure
            recorded = await store.file_challenge(
                runtime.write_sessions,
                runtime.log,
                item.filer,
                target_kind="figure",
                target_id=f"{region}/{metric}/{date.isoformat()}",
                version_seen=version,
                category=item.category,
                claimed_value=item.claimed,
                links=item.links,
                text=item.text,
                now=item.filed_at,
            )
            if recorded.duplicate_of is not None:
                raise _fail(f"challenge {recorded.challenge_id} was linked as a duplicate")
            item.id = recorded.challenge_id

        return Job("file", run)

    await run_phase("file", [job(item) for item in planned], concurrency, timings)


class Clock:
    """The moderators' simulated time: each action a little later than the one before."""

    def __init__(self, start: dt.datetime, step: dt.timedelta) -> None:
        self.now, self.step = start, step

    def tick(self) -> dt.datetime:
        self.now += self.step
        return self.now


async def moderate(
    runtime: Runtime,
    planned: list[Planned],
    concurrency: int,
    rng: random.Random,
    clock: Clock,
    timings: Timings,
) -> None:
    """The moderation phases, each in a random order."""

    def act(item: Planned, actor: Actor, action: str, label: str = "", **kw: Any) -> Job:
        async def run() -> None:
            await store.act(
                runtime.write_sessions,
                runtime.log,
                actor,
                item.id,
                action,
                now=clock.tick(),
                **kw,
            )

        return Job(label or action, run)

    def moderator(item: Planned, offset: int = 0) -> Actor:
        return MODERATORS[(item.id + offset) % len(MODERATORS)]

    def decide(item: Planned) -> Job:
        who = moderator(item)
        if item.plan == REJECT:
            return act(item, who, "reject", rationale=RATIONALES["reject"])
        if item.plan == UPHOLD:
            return act(item, who, "uphold", rationale=RATIONALES["uphold"])
        if item.plan == CORRECT:
            value = item.figure[4]
            return act(
                item,
                who,
                "uphold",
                "uphold_corrected",
                rationale=RATIONALES["uphold"],
                corrected_value=item.claimed if item.claimed is not None else value + 1,
            )
        return act(item, who, "request_info", rationale=RATIONALES["request_info"])

    def answer(item: Planned) -> Job:
        claim = "another count" if item.claimed is None else f"{item.claimed:,}"
        said = RATIONALES["answer"].format(date=item.figure[2].isoformat(), claim=claim)
        return act(item, item.filer, "answer", rationale=said)

    def shuffled(chosen: list[Planned]) -> list[Planned]:
        rng.shuffle(chosen)
        return chosen

    triaged = [p for p in planned if p.plan != OPEN]
    reviewed = [p for p in triaged if p.plan != TRIAGED]
    decided = [p for p in reviewed if p.plan != IN_REVIEW]
    phases: list[tuple[str, list[Job]]] = [
        ("triage", [act(p, moderator(p), "triage") for p in shuffled(triaged)]),
        ("start_review", [act(p, moderator(p), "start_review") for p in shuffled(reviewed)]),
        ("decide", [decide(p) for p in shuffled(decided)]),
        (
            "confirm_uphold",
            [
                act(p, moderator(p, 1), "confirm_uphold", rationale=RATIONALES["confirm_uphold"])
                for p in shuffled([p for p in planned if p.plan == CORRECT])
            ],
        ),
        ("answer", [answer(p) for p in shuffled([p for p in planned if p.plan == ANSWERED])]),
    ]
    for name, jobs in phases:
        await run_phase(name, jobs, concurrency, timings)


# --- the queue -------------------------------------------------------------------------------


def queue_statement(as_of: dt.datetime, region: str | None = None) -> Any:
    """The moderators' queue, first page: as the API lists it."""
    priority = store.priority_expression(as_of).label("priority")
    statement = (
        select(Challenge, priority)
        .where(col(Challenge.state).in_([str(s) for s in store.QUEUE_STATES]))
        .order_by(priority.desc(), col(Challenge.id).desc())
        .limit(QUEUE_LIMIT)
    )
    if region is not None:
        statement = statement.where(col(Challenge.region) == region)
    return statement


async def list_queue(runtime: Runtime, as_of: dt.datetime, region: str | None) -> list[Any]:
    async with runtime.sessions() as session:
        return list((await session.execute(queue_statement(as_of, region))).all())


def _check_page(rows: list[Any], as_of: dt.datetime, expected: int) -> None:
    if len(rows) != expected:
        raise _fail(f"the queue listed {len(rows)} challenges, expected {expected}")
    keys = [(priority, row.id) for row, priority in rows]
    if keys != sorted(keys, reverse=True):
        raise _fail("the queue is not in priority order")
    for row, priority in rows:
        if row.state not in store.QUEUE_STATES:
            raise _fail(f"challenge {row.id} ({row.state}) listed in the queue")
        filed = row.filed_at if row.filed_at.tzinfo else row.filed_at.replace(tzinfo=dt.UTC)
        wanted = reputation.priority(row.discrepancy, row.support_weight, as_of - filed)
        if abs(wanted - priority) > 1e-6:
            raise _fail(f"challenge {row.id}: priority {priority} in SQL, {wanted} expected")


async def explain(runtime: Runtime, as_of: dt.datetime) -> str:
    statement = queue_statement(as_of, "ITA")
    async with runtime.sessions() as session:
        dialect = session.get_bind().dialect
        compiled = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
        rows = (await session.execute(text(prefix + str(compiled)))).all()
    return "\n".join(" ".join(str(v) for v in row) for row in rows)


async def measure_queue(
    runtime: Runtime, as_of: dt.datetime, runs: int, regions: list[str]
) -> dict[str, Any]:
    async with runtime.sessions() as session:
        size = await session.scalar(
            select(func.count())
            .select_from(Challenge)
            .where(col(Challenge.state).in_([str(s) for s in store.QUEUE_STATES]))
        )
        by_region = dict(
            (
                await session.execute(
                    select(col(Challenge.region), func.count())
                    .where(col(Challenge.state).in_([str(s) for s in store.QUEUE_STATES]))
                    .group_by(col(Challenge.region))
                )
            ).all()
        )
    size = int(size or 0)
    _check_page(await list_queue(runtime, as_of, None), as_of, min(size, QUEUE_LIMIT))
    for region in regions:  # one unmeasured listing each; checked
        expected = min(int(by_region.get(region, 0)), QUEUE_LIMIT)
        _check_page(await list_queue(runtime, as_of, region), as_of, expected)
    try:
        say(
            "the queue's plan (filtered by region):\n  "
            + (await explain(runtime, as_of)).replace("\n", "\n  ")
        )
    except Exception as exc:  # the plan is informative only
        say(f"no query plan: {type(exc).__name__}: {exc}")
    plain: list[float] = []
    filtered: list[float] = []
    rows = 0
    for i in range(runs):
        began = time.perf_counter()
        rows = len(await list_queue(runtime, as_of, None))
        plain.append(time.perf_counter() - began)
        began = time.perf_counter()
        await list_queue(runtime, as_of, regions[i % len(regions)] if regions else None)
        filtered.append(time.perf_counter() - began)
    return {
        "queue_size": size,
        "queue_rows": rows,
        "queue_runs": runs,
        "queue_p50_ms": _ms(plain, 0.5),
        "queue_p99_ms": _ms(plain, 0.99),
        "queue_region_p50_ms": _ms(filtered, 0.5),
        "queue_region_p99_ms": _ms(filtered, 0.99),
        "queue_regions": len(regions),
    }


# --- the run ---------------------------------------------------------------------------------


async def _counts(runtime: Runtime) -> dict[str, Any]:
    async with runtime.sessions() as session:
        states = dict(
            (
                await session.execute(
                    select(col(Challenge.state), func.count()).group_by(col(Challenge.state))
                )
            ).all()
        )
        labels = (
            await session.execute(
                select(col(PublicText.kind), col(PublicText.label), func.count()).group_by(
                    col(PublicText.kind), col(PublicText.label)
                )
            )
        ).all()
        corrections = await session.scalar(select(func.count()).select_from(Correction))
        leaves = await runtime.log.size(session)
    return {
        "states": {str(k): int(v) for k, v in sorted(states.items())},
        "texts_by_label": {f"{kind}:{label}": int(n) for kind, label, n in sorted(labels)},
        "corrections": int(corrections or 0),
        "leaves": int(leaves),
    }


async def run(args: argparse.Namespace, url: str, data_dir: Path, reused: bool) -> dict[str, Any]:
    setup = await set_up(url, data_dir, reused)
    setup_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    runtime = await open_runtime(load_settings(database_url=url, data_dir=data_dir))
    runtime.sequencer.start()
    try:
        async with runtime.sessions() as session:
            figures = (
                await session.execute(
                    select(
                        col(AttestedFigure.region),
                        col(AttestedFigure.metric),
                        col(AttestedFigure.date),
                        col(AttestedFigure.version),
                        col(AttestedFigure.value),
                    )
                    .where(col(AttestedFigure.latest).is_(True))
                    .order_by(
                        col(AttestedFigure.region),
                        col(AttestedFigure.metric),
                        col(AttestedFigure.date),
                    )
                )
            ).all()
            leaves_before = await runtime.log.size(session)
        rng = random.Random(args.seed)
        # simulated time: 14 days of filings, 7 of moderation, ending about now
        end = dt.datetime.now(dt.UTC).replace(microsecond=0)
        start = end - dt.timedelta(days=FILING_DAYS + MODERATION_DAYS)
        planned = plan_workload(figures, args.challenges, rng, start)
        members = len({p.filer.id for p in planned})
        say(
            f"{len(figures):,} latest figures; filing {len(planned):,} challenges by "
            f"{members:,} members (concurrency {args.concurrency})"
        )
        timings = Timings()
        load_before = os.getloadavg()[0]
        await file_all(runtime, planned, args.concurrency, timings)
        filing_s = timings.phases_s["file"]
        say(f"filed {len(planned):,} in {filing_s:.1f} s ({len(planned) / filing_s:,.1f}/s)")

        acts = sum(
            {OPEN: 0, TRIAGED: 1, IN_REVIEW: 2, CORRECT: 4, ANSWERED: 4}.get(p.plan, 3)
            for p in planned
        )
        clock = Clock(
            start + dt.timedelta(days=FILING_DAYS),
            dt.timedelta(days=MODERATION_DAYS) / max(acts, 1),
        )
        await moderate(runtime, planned, args.concurrency, rng, clock, timings)
        moderation = {k: v for k, v in timings.phases_s.items() if k != "file"}
        moderation_s = sum(moderation.values())
        actions = {k: v for k, v in timings.calls.items() if k != "file"}
        transitions = sum(len(v) for v in actions.values())
        say(
            f"{transitions:,} transitions in {moderation_s:.1f} s "
            f"({transitions / moderation_s:,.1f}/s)"
        )

        counted = await _counts(runtime)
        expected = Counter(
            {OPEN: "OPEN", TRIAGED: "TRIAGED", IN_REVIEW: "IN_REVIEW", REJECT: "REJECTED"}.get(
                p.plan, "UPHELD" if p.plan in (UPHOLD, CORRECT) else "OPEN"
            )
            for p in planned
        )
        if counted["states"] != dict(sorted(expected.items())):
            raise _fail(f"states {counted['states']}, expected {dict(expected)}")
        wanted = sum(p.plan == CORRECT for p in planned)
        if counted["corrections"] != wanted:
            raise _fail(f"{counted['corrections']} corrections, expected {wanted}")

        regions = sorted({p.figure[0] for p in planned})
        as_of = max(clock.now, dt.datetime.now(dt.UTC)).replace(microsecond=0)
        queue = await measure_queue(runtime, as_of, args.queue_runs, regions)
        say(
            f"queue ({queue['queue_size']:,} challenges): p50 {queue['queue_p50_ms']} ms, "
            f"p99 {queue['queue_p99_ms']} ms; by region p50 {queue['queue_region_p50_ms']} ms, "
            f"p99 {queue['queue_region_p99_ms']} ms"
        )
    finally:
        await runtime.close()
    load_after = os.getloadavg()[0]
    filed_calls = timings.calls["file"]
    every_act = [s for calls in actions.values() for s in calls]
    return {
        "challenges": len(planned),
        "members": members,
        "moderators": len(MODERATORS),
        "concurrency": args.concurrency,
        "filing_s": round(filing_s, 2),
        "filed_per_s": round(len(planned) / filing_s, 1),
        "file_p50_ms": _ms(filed_calls, 0.5),
        "file_p99_ms": _ms(filed_calls, 0.99),
        "transitions": transitions,
        "moderation_s": round(moderation_s, 2),
        "transitions_per_s": round(transitions / moderation_s, 1),
        "act_p50_ms": _ms(every_act, 0.5),
        "act_p99_ms": _ms(every_act, 0.99),
        "phases_s": {k: round(v, 2) for k, v in moderation.items()},
        "actions": {k: len(v) for k, v in actions.items()},
        "action_per_s": {k: round(len(v) / sum(v), 1) for k, v in actions.items()},
        "action_p50_ms": {k: _ms(v, 0.5) for k, v in actions.items()},
        "action_p99_ms": {k: _ms(v, 0.99) for k, v in actions.items()},
        "corrections": counted["corrections"],
        "states": counted["states"],
        "texts_by_label": counted["texts_by_label"],
        "leaves_appended": counted["leaves"] - leaves_before,
        **queue,
        "load_before": round(load_before, 2),
        "load_after": round(load_after, 2),
        "setup_s": setup["setup_s"],
        "figures": len(figures),
        "setup_peak_rss_mb": mb(setup_rss),
        "peak_rss_mb": mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024),
    }


def main() -> None:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--challenges", type=int, default=10_000, help="how many to file")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="writers at once (default 1: one at a time)"
    )
    parser.add_argument(
        "--queue-runs", type=int, default=200, help="measured listings of the queue, per kind"
    )
    parser.add_argument("--seed", type=int, default=1, help="of the random choices")
    parser.add_argument(
        "--dir", type=Path, help="working directory, kept afterwards (default: a temp dir)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp working directory (and database)"
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        metavar="DB_DIR",
        help="SQLite: copy bench.db and data/ (the demo set, reconciled) from DB_DIR",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="a PostgreSQL server's maintenance database (postgresql+asyncpg://…/postgres): "
        "create a new database there instead of SQLite",
    )
    args = parser.parse_args()
    if args.challenges < 1 or args.concurrency < 1 or args.queue_runs < 1:
        parser.error("--challenges, --concurrency and --queue-runs must be at least 1")
    if args.postgres and args.reuse:
        parser.error("--reuse is for SQLite only")
    if args.dir is not None:
        directory = args.dir
        directory.mkdir(parents=True, exist_ok=True)
        keep = True
    else:
        directory = Path(tempfile.mkdtemp(prefix="corroborate-moderation-bench-"))
        keep = args.keep
    database: str | None = None
    try:
        if args.postgres:
            database = f"corroborate_bench_{uuid.uuid4().hex[:12]}"
            asyncio.run(_pg_exec(args.postgres, f'CREATE DATABASE "{database}"'))
            url = make_url(args.postgres).set(database=database).render_as_string(False)
            say(f"created PostgreSQL database {database}")
        else:
            if (directory / "bench.db").exists():
                raise _fail(f"{directory / 'bench.db'} exists; expected an empty directory")
            if args.reuse is not None:
                _copy(args.reuse, directory)
                say(f"copied {args.reuse}")
            url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
        figures = asyncio.run(run(args, url, directory / "data", args.reuse is not None))
        if not args.postgres:
            stored = [p for p in directory.glob("bench.db*") if p.name != "bench.db-shm"]
            figures["db_mb"] = mb(sum(p.stat().st_size for p in stored))
    finally:
        if database is not None and not keep:
            asyncio.run(
                _pg_exec(args.postgres, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            )
        if keep:
            say(f"kept {directory}" + (f" and database {database}" if database else ""))
        else:
            shutil.rmtree(directory, ignore_errors=True)
    figures.update(
        {
            "backend": "postgresql" if args.postgres else "sqlite",
            "total_s": round(time.perf_counter() - started, 1),
            "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
            "cpu_model": cpu_model_name(),
            "cpus": cpu_count(),
        }
    )
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
