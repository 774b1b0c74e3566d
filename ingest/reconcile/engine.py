"""Reconciliation runs: read the latest observations, align, find lineages and anomalies, attest
figures, and write every changed figure as a new version with its ``attestation`` leaf.

Three modes:

- **full** (the first run, or ``full=True``): the date-shift fits and the lineage links are
  computed from every observation in scope, and every figure is recomputed;
- **incremental** (later runs without filters): only the regions holding observations newer than
  the last run's watermark are re-read, with the analysis of the last full run; a figure whose
  content did not change gets no new version, so a new document re-attests only what it touches;
- **scoped** (``region``/``metric``/``since``): the named figures, with the last full run's
  analysis (or a new one if there is none); the watermark does not move.

Scope: attested figures are made for countries, subdivisions and jurisdictions, not for US
counties (decision 0007): no two publishers here report counties independently, and the county
values reach the states through the JHU roll-ups.

Computation happens off the event loop (a worker thread); the writes happen in one writer
transaction that holds the log's lock, so a run is all or nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ingest.publishers import iso_utc
from ingest.reconcile.align import (
    LagFit,
    PairEvidence,
    Panel,
    SeriesKey,
    complete,
    compose,
    fit_lags_by_region,
    linked_pairs,
    pair_evidence,
)
from ingest.reconcile.anomalies import AnomalyType, Flag, series_flags
from ingest.reconcile.figures import (
    DEFAULT_TOLERANCES,
    Figure,
    RegionContext,
    Source,
    Tolerance,
    attest,
    attestation_body,
    reclassify_jumps,
)
from ingest.regions import PARTITIONS, children
from ledger.store import TransparencyLog
from models import events
from models.db import bulk_insert, driver_date
from models.ingest import Observation, Publisher
from models.reconcile import AttestedFigure, ReconcileRun

COUNTY_PREFIX = "US-FIPS-"
CHUNK = 20_000
WHOLE_OF = {part: whole for whole, parts in PARTITIONS.items() for part in parts}

_FIGURE_COLUMNS = (
    "ledger_index", "region", "metric", "date", "version", "latest", "value", "status", "spread",
    "spread_ratio", "lineages", "explanation", "digest", "run_id", "created_at",
)  # fmt: skip

Progress = Callable[[str], None]


class ReconcileError(RuntimeError):
    """A reconciliation that cannot run as asked; nothing was written."""


@dataclass
class ReconcileReport:
    mode: str
    scope: dict[str, Any]
    run_id: int | None = None
    regions: int = 0
    figures: int = 0
    new_versions: int = 0
    unchanged: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    anomalies: dict[str, int] = field(default_factory=dict)
    lineages: list[dict[str, Any]] = field(default_factory=list)
    date_shifts: list[dict[str, Any]] = field(default_factory=list)
    analysis_from_run: int | None = None
    watermark: int = -1
    log_size: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "scope": self.scope,
            "run": self.run_id,
            "regions": self.regions,
            "figures": self.figures,
            "new_versions": self.new_versions,
            "unchanged": self.unchanged,
            "by_status": self.by_status,
            "anomalies": self.anomalies,
            "lineages": self.lineages,
            "date_shifts": self.date_shifts,
            "analysis_from_run": self.analysis_from_run,
            "watermark": self.watermark,
            "log_size": self.log_size,
            "seconds": round(self.seconds, 3),
        }


# --- the analysis (date shifts and lineage links), kept on the run -------------------------------


@dataclass
class Analysis:
    fits: dict[str, LagFit]  # publisher -> fit over every region
    region_fits: dict[str, dict[str, LagFit]]  # region -> publisher -> fit
    evidence: list[PairEvidence]
    links: list[PairEvidence]

    def record(self) -> dict[str, Any]:
        return {
            "fits": {p: _fit_record(f) for p, f in sorted(self.fits.items())},
            "region_fits": {
                r: {p: _fit_record(f) for p, f in sorted(fits.items())}
                for r, fits in sorted(self.region_fits.items())
            },
            "evidence": [_evidence_record(e) for e in self.evidence],
            "links": [_evidence_record(e) for e in self.links],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Analysis:
        return cls(
            fits={p: _fit_from(f) for p, f in record["fits"].items()},
            region_fits={
                r: {p: _fit_from(f) for p, f in fits.items()}
                for r, fits in record["region_fits"].items()
            },
            evidence=[_evidence_from(e) for e in record["evidence"]],
            links=[_evidence_from(e) for e in record["links"]],
        )


def _fit_record(fit: LagFit) -> dict[str, Any]:
    return {
        "declared": fit.declared,
        "declared_error": fit.declared_error,
        "best": fit.best,
        "best_error": fit.best_error,
        "by_lag": {str(lag): error for lag, error in sorted(fit.by_lag.items())},
        "days": fit.days,
    }


def _fit_from(record: Mapping[str, Any]) -> LagFit:
    return LagFit(
        publisher="",
        declared=record["declared"],
        declared_error=record["declared_error"],
        best=record["best"],
        best_error=record["best_error"],
        by_lag={int(lag): error for lag, error in record["by_lag"].items()},
        days=record["days"],
    )


def _evidence_record(e: PairEvidence) -> dict[str, Any]:
    return {
        "publishers": [e.first, e.second],
        "identical": e.identical,
        "compared": e.compared,
        "share": round(e.share, 4),
        "regions": list(e.regions),
    }


def _evidence_from(record: Mapping[str, Any]) -> PairEvidence:
    first, second = record["publishers"]
    return PairEvidence(
        first, second, record["identical"], record["compared"], tuple(record["regions"])
    )


def analyse(panel: Panel, sources: Mapping[str, Source]) -> Analysis:
    """Date-shift fits (over everything and per region) and lineage links of a composed panel."""
    declared = {slug: source.lag for slug, source in sources.items()}
    fits, region_fits = fit_lags_by_region(panel, declared)
    evidence = pair_evidence(panel, declared)
    return Analysis(fits, region_fits, evidence, linked_pairs(evidence))


# --- reading ---------------------------------------------------------------------------------


async def load_sources(session: AsyncSession) -> tuple[dict[str, Source], dict[str, int]]:
    rows = (await session.execute(select(Publisher))).scalars().all()
    sources = {
        p.slug: Source(
            slug=p.slug,
            kind=p.kind,
            worldwide="*" in p.jurisdictions,
            lag=int(p.conventions.get("report_lag_days", 0)),
        )
        for p in rows
    }
    return sources, {p.slug: p.id or 0 for p in rows}


async def load_observations(
    session: AsyncSession, regions: Iterable[str] | None, publisher_ids: Iterable[int] = ()
) -> tuple[Panel, dict[SeriesKey, dict[dt.date, int]]]:
    """The latest observation of every series outside the counties (of ``regions`` if given).

    With ``regions``, naming every publisher (``publisher_ids``) lets the database read the
    observation index (publisher, region, metric, date, version) instead of the whole table.
    """
    obs = Observation.__table__  # type: ignore[attr-defined]
    pub = Publisher.__table__  # type: ignore[attr-defined]
    query = (
        select(obs.c.ledger_index, pub.c.slug, obs.c.region, obs.c.metric, obs.c.date, obs.c.value)
        .join(pub, pub.c.id == obs.c.publisher_id)
        .where(obs.c.latest.is_(True), ~obs.c.region.startswith(COUNTY_PREFIX))
    )
    panel = Panel()
    index: dict[SeriesKey, dict[dt.date, int]] = {}
    batches: list[list[str] | None] = [None]  # everything at once
    if regions is not None:
        wanted = sorted(set(regions))
        batches = [wanted[i : i + 500] for i in range(0, len(wanted), 500)]
    for batch in batches:
        q = query if batch is None else query.where(obs.c.region.in_(batch))
        if batch is not None and publisher_ids:
            q = q.where(obs.c.publisher_id.in_(sorted(publisher_ids)))
        result = await session.stream(q.execution_options(yield_per=50_000))
        async for rows in result.partitions():
            for ledger_index, slug, region, metric, day, value in rows:
                key = (slug, region, metric)
                series = panel.series.get(key)
                if series is None:
                    series = panel.series[key] = {}
                    index[key] = {}
                series[day] = value
                index[key][day] = ledger_index
    return panel, index


def _with_parts(regions: Iterable[str]) -> set[str]:
    found = set(regions)
    for region in list(found):
        found.update(PARTITIONS.get(region, ()))
        if region in WHOLE_OF:
            found.add(WHOLE_OF[region])
            found.update(PARTITIONS[WHOLE_OF[region]])
    return found


def region_and_descendants(code: str) -> set[str]:
    found, stack = {code}, [code]
    while stack:
        for child in children(stack.pop()):
            if child.level != "county" and child.code not in found:
                found.add(child.code)
                stack.append(child.code)
    return _with_parts(found)


async def _last_run(session: AsyncSession, *, full_only: bool = False) -> ReconcileRun | None:
    query = select(ReconcileRun).order_by(ReconcileRun.id.desc()).limit(1)  # type: ignore[union-attr]
    if full_only:
        query = query.where(ReconcileRun.mode == "full")  # type: ignore[arg-type]
    return (await session.execute(query)).scalar_one_or_none()


async def has_run(session: AsyncSession) -> bool:
    """Whether the reconciler has run on this database."""
    return await _last_run(session) is not None


async def _max_observation(session: AsyncSession) -> int:
    found = await session.scalar(select(func.max(Observation.ledger_index)))
    return -1 if found is None else int(found)


# --- computing -------------------------------------------------------------------------------


@dataclass
class Computed:
    figures: list[Figure]
    flags: list[Flag]
    series: list[SeriesKey]  # the publishers' series whose flags were recomputed


def compute(
    panel: Panel,
    index: Mapping[SeriesKey, Mapping[dt.date, int]],
    sources: Mapping[str, Source],
    analysis: Analysis,
    tolerances: Mapping[str, Tolerance],
    *,
    regions: Iterable[str],
    metric: str | None = None,
    since: dt.date | None = None,
) -> Computed:
    """Flags and figures of ``regions`` from a panel already composed and completed."""
    wanted = set(regions)
    series = [k for k in index if k[1] in wanted]
    flags: list[Flag] = []
    for key in panel.series:
        if key[1] in wanted and key[0] in sources:
            flags.extend(series_flags(panel, index, key))
    flags = list(
        {
            (f.observation, f.type): f
            for f in reclassify_jumps(panel, flags, analysis.links, sources, tolerances)
        }.values()
    )
    keys_by_region: dict[str, list[SeriesKey]] = defaultdict(list)
    for key in panel.series:
        keys_by_region[key[1]].append(key)
    by_observation: dict[int, list[AnomalyType]] = defaultdict(list)
    for flag in flags:
        by_observation[flag.observation].append(flag.type)
    metrics_by_region: dict[str, set[str]] = defaultdict(set)
    for _, region, m in panel.series:
        if region in wanted and (metric is None or m == metric):
            metrics_by_region[region].add(m)
    figures: list[Figure] = []
    for region in sorted(metrics_by_region):
        context = RegionContext(
            sources=sources,
            links=analysis.links,
            tolerances=tolerances,
            fits=analysis.region_fits.get(region, {}),
            keys=keys_by_region[region],
            flags=by_observation,
        )
        for m in sorted(metrics_by_region[region]):
            figures.extend(attest(panel, index, region, m, context, since=since))
    return Computed(figures, flags, series)


# --- the run ---------------------------------------------------------------------------------


async def reconcile(
    sessions: async_sessionmaker[AsyncSession],
    write_sessions: async_sessionmaker[AsyncSession],
    log: TransparencyLog,
    *,
    tolerances: Mapping[str, Tolerance] | None = None,
    region: str | None = None,
    metric: str | None = None,
    since: dt.date | None = None,
    full: bool = False,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> ReconcileReport:
    """Run the reconciler (see the module doc for the modes); returns what it found and wrote."""
    started = time.perf_counter()
    started_at = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    tolerances = {**DEFAULT_TOLERANCES, **(tolerances or {})}
    say = progress or (lambda _message: None)
    scope = {
        "region": region,
        "metric": metric,
        "since": since.isoformat() if since else None,
    }
    filtered = region is not None or metric is not None or since is not None
    async with sessions() as session:
        sources, publisher_ids = await load_sources(session)
        last = await _last_run(session)
        last_full = await _last_run(session, full_only=True)
        watermark = await _max_observation(session)
        if region is not None:
            scope_regions: set[str] | None = region_and_descendants(region)
        else:
            scope_regions = None
        if full or last_full is None:
            mode = "full" if not filtered else "scoped"
            say("reading every observation outside the counties")
            panel, index = await load_observations(session, None)
            analysis_run = None
        elif filtered:
            mode = "scoped"
            panel, index = await load_observations(session, scope_regions, publisher_ids.values())
            analysis_run = last_full
        else:
            mode = "incremental"
            assert last is not None
            touched = await session.execute(
                select(Observation.region)  # type: ignore[call-overload]
                .where(
                    Observation.ledger_index > last.watermark,
                    ~Observation.region.startswith(COUNTY_PREFIX),
                )
                .distinct()
            )
            scope_regions = _with_parts(r for (r,) in touched)
            panel, index = await load_observations(session, scope_regions, publisher_ids.values())
            analysis_run = last_full
    # a filtered run covers part of what is new: the watermark stays where the last run left it
    kept = last.watermark if last is not None else -1
    report = ReconcileReport(mode=mode, scope=scope, watermark=kept if filtered else watermark)

    def work() -> tuple[Analysis, Computed, list[str]]:
        compose(panel)
        complete(panel)
        if analysis_run is None:
            say("fitting date shifts and finding lineages")
            analysis = analyse(panel, sources)
        else:
            analysis = Analysis.from_record(analysis_run.analysis)
        regions = panel.regions() if scope_regions is None else sorted(scope_regions)
        say(f"attesting the figures of {len(regions)} regions")
        computed = compute(
            panel, index, sources, analysis, tolerances, regions=regions, metric=metric, since=since
        )
        return analysis, computed, regions

    analysis, computed, regions = await asyncio.to_thread(work)
    report.analysis_from_run = analysis_run.id if analysis_run else None
    report.regions = len(regions)
    report.figures = len(computed.figures)
    report.by_status = dict(sorted(Counter(str(f.status) for f in computed.figures).items()))
    report.anomalies = dict(sorted(Counter(str(f.type) for f in computed.flags).items()))
    report.lineages = [_evidence_record(e) for e in analysis.links]
    report.date_shifts = _date_shifts(analysis, regions)
    say(f"writing the figures that changed ({len(computed.figures):,} computed)")
    await _write(
        write_sessions,
        log,
        report,
        computed,
        analysis if analysis_run is None else None,
        last_id=last.id if last else None,
        publisher_ids=publisher_ids,
        started_at=started_at,
        now=now,
    )
    report.seconds = time.perf_counter() - started
    return report


def _date_shifts(analysis: Analysis, regions: Sequence[str]) -> list[dict[str, Any]]:
    """Every publisher's declared shift and its fit overall, and where a region fits otherwise."""
    shifts = []
    for publisher, fit in sorted(analysis.fits.items()):
        if fit.best is None:
            continue
        elsewhere = {
            region: fits[publisher].best
            for region in regions
            if (fits := analysis.region_fits.get(region))
            and publisher in fits
            and fits[publisher].best != fits[publisher].declared
        }
        shifts.append(
            {
                "publisher": publisher,
                "declared": fit.declared,
                "declared_error": fit.declared_error,
                "best": fit.best,
                "best_error": fit.best_error,
                "regions_fitting_otherwise": dict(sorted(elsewhere.items())),
            }
        )
    return shifts


async def _write(
    write_sessions: async_sessionmaker[AsyncSession],
    log: TransparencyLog,
    report: ReconcileReport,
    computed: Computed,
    analysis: Analysis | None,
    *,
    last_id: int | None,
    publisher_ids: Mapping[str, int],
    started_at: dt.datetime,
    now: dt.datetime | None,
) -> None:
    figures = computed.figures
    table = AttestedFigure.__table__  # type: ignore[attr-defined]
    async with write_sessions() as session, session.begin():
        await log.lock(session)
        latest_run = await _last_run(session)
        if (latest_run.id if latest_run else None) != last_id:
            raise ReconcileError(
                f"another reconciliation (run {latest_run.id if latest_run else '?'}) finished "
                "while this one was computing; nothing was written: run it again"
            )
        run = ReconcileRun(
            mode=report.mode,
            scope=report.scope,
            started_at=started_at,
            finished_at=started_at,
            watermark=report.watermark,
            analysis=analysis.record() if analysis else {"from_run": report.analysis_from_run},
            summary={},
        )
        session.add(run)
        await session.flush()
        report.run_id = run.id
        current = await _latest_figures(session, figures)
        changed: list[tuple[Figure, int, int | None]] = []  # figure, version, superseded index
        for figure in figures:
            found = current.get((figure.region, figure.metric, figure.date))
            if found is None:
                changed.append((figure, 1, None))
            elif found[2] != figure.digest:
                changed.append((figure, found[1] + 1, found[0]))
        report.new_versions = len(changed)
        report.unchanged = len(figures) - len(changed)
        native = driver_date(session)
        to_db = table.c.created_at.type.bind_processor((await session.connection()).dialect)
        created = now or dt.datetime.now(dt.UTC)
        created_value = to_db(created) if to_db else created
        for start in range(0, len(changed), CHUNK):
            chunk = changed[start : start + CHUNK]
            leaves = [
                ("attestation", attestation_body(f.canonical, version, previous))
                for f, version, previous in chunk
            ]
            appended = await log.append(session, leaves)
            await bulk_insert(
                session,
                "attested_figure",
                _FIGURE_COLUMNS,
                [
                    (
                        appended.first_index + i,
                        f.region,
                        f.metric,
                        f.date if native else f.date.isoformat(),
                        version,
                        True,
                        f.value,
                        str(f.status),
                        f.spread,
                        f.spread_ratio,
                        f.lineages,
                        f.explanation,
                        f.digest,
                        run.id,
                        created_value,
                    )
                    for i, (f, version, _) in enumerate(chunk)
                ],
            )
            report.log_size = appended.size
            await events.notify_many(
                session, events.FIGURE, _figure_events(appended.first_index, chunk)
            )
        superseded = [previous for _, _, previous in changed if previous is not None]
        for start in range(0, len(superseded), 1000):
            await session.execute(
                update(table)
                .where(table.c.ledger_index.in_(superseded[start : start + 1000]))
                .values(latest=False)
            )
        await _replace_flags(session, computed, publisher_ids, run.id or 0, native)
        if not changed:
            report.log_size = await log.size(session)
        run.finished_at = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        run.summary = report.as_dict() | {"finished": iso_utc(run.finished_at)}
        await session.flush()


def _figure_events(
    first_index: int, chunk: Sequence[tuple[Figure, int, int | None]]
) -> list[dict[str, Any]]:
    """One event per run of consecutive new versions of one region and metric (models/events.py):
    the figures of a region and metric are attested together, so a run is usually one event."""
    found: list[dict[str, Any]] = []
    for i, (figure, _, _) in enumerate(chunk):
        last = found[-1] if found else None
        if last is not None and (last["region"], last["metric"]) == (figure.region, figure.metric):
            last["count"] += 1
        else:
            found.append(
                {
                    "region": figure.region,
                    "metric": figure.metric,
                    "ledger_index": first_index + i,
                    "count": 1,
                }
            )
    return found


async def _latest_figures(
    session: AsyncSession, figures: Sequence[Figure]
) -> dict[tuple[str, str, dt.date], tuple[int, int, str]]:
    """(region, metric, date) -> (ledger index, version, digest) of the latest versions."""
    table = AttestedFigure.__table__  # type: ignore[attr-defined]
    regions = sorted({f.region for f in figures})
    found: dict[tuple[str, str, dt.date], tuple[int, int, str]] = {}
    for start in range(0, len(regions), 500):
        rows = await session.execute(
            select(
                table.c.region,
                table.c.metric,
                table.c.date,
                table.c.ledger_index,
                table.c.version,
                table.c.digest,
            ).where(table.c.latest.is_(True), table.c.region.in_(regions[start : start + 500]))
        )
        for region, metric, day, ledger_index, version, digest in rows:
            found[(region, metric, day)] = (ledger_index, version, digest)
    return found


async def _replace_flags(
    session: AsyncSession,
    computed: Computed,
    publisher_ids: Mapping[str, int],
    run_id: int,
    native: bool,
) -> None:
    """The recomputed series' flags replace their earlier ones (flags are a reading, not data)."""
    connection = await session.connection()
    if computed.series:
        await connection.execute(
            text(
                "DELETE FROM anomaly WHERE publisher_id = :publisher AND region = :region "
                "AND metric = :metric"
            ),
            [
                {"publisher": publisher_ids[p], "region": r, "metric": m}
                for p, r, m in computed.series
                if p in publisher_ids
            ],
        )
    await bulk_insert(
        session,
        "anomaly",
        (
            "observation_index",
            "publisher_id",
            "region",
            "metric",
            "date",
            "type",
            "detail",
            "run_id",
        ),
        [
            (
                f.observation,
                publisher_ids[f.series[0]],
                f.series[1],
                f.series[2],
                f.date if native else f.date.isoformat(),
                str(f.type),
                f.detail,
                run_id,
            )
            for f in computed.flags
        ],
    )
