"""Reconciliation runs through the database, on every backend: the first run is full and puts
every figure on the log as an ``attestation`` leaf resting on ``observation`` leaves; a run with
nothing new writes nothing; a revised value re-attests only the figure it changes, as version 2
superseding version 1; scoped runs leave the watermark where it was; the real demo set gives sane
statuses, the DPC/JHU lineage and anomaly rows on the right observations; a run is all or nothing.

The data are real demo extracts (``samples/demo/``) cut to Italy and Germany (JHU, WHO, ECDC and
Italy's ministry DPC; ``reconcile_support``), signed and ingested; one test loads the whole demo.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import statistics
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
import rfc8785
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from ingest.demo import load_demo
from ingest.publishers import catalogue
from ingest.reconcile.anomalies import AnomalyType
from ingest.reconcile.engine import ReconcileError, ReconcileReport, reconcile
from ingest.reconcile.figures import DEFAULT_TOLERANCES, FALLBACK_TOLERANCE, Tolerance
from ledger import merkle
from ledger.leaf import parse_leaf_body
from models import Observation
from models.ingest import Publisher
from models.reconcile import Anomaly, AttestedFigure, ReconcileRun
from service.runtime import Runtime
from tests.ingest.reconcile_support import (
    Publishers,
    country_documents,
    dpc_document,
    revise_dpc_cell,
)

FIGURE = AttestedFigure.__table__  # type: ignore[attr-defined]
ANOMALY = Anomaly.__table__  # type: ignore[attr-defined]
OBSERVATION = Observation.__table__  # type: ignore[attr-defined]
PUBLISHER = Publisher.__table__  # type: ignore[attr-defined]
RUN = ReconcileRun.__table__  # type: ignore[attr-defined]

LAG = {slug: spec.conventions.get("report_lag_days", 0) for slug, spec in catalogue().items()}
CC = "cases_cumulative"
REVISED_DAY = dt.date(2020, 6, 15)  # DPC's totale_casi of this day is revised by +7
CUMULATIVE_OF = {"cases_daily": "cases_cumulative", "deaths_daily": "deaths_cumulative"}
DAILY_OF = {v: k for k, v in CUMULATIVE_OF.items()}


@pytest.fixture
async def publishers(runtime: Runtime) -> Publishers:
    """Italy and Germany from JHU, WHO and ECDC, and Italy from its ministry (DPC)."""
    found = Publishers(runtime)
    await found.load(country_documents(["ITA", "DEU"]))
    return found


async def run(runtime: Runtime, **kwargs: Any) -> ReconcileReport:
    return await reconcile(runtime.sessions, runtime.write_sessions, runtime.log, **kwargs)


async def revise(publishers: Publishers) -> tuple[int, int]:
    """Ingest DPC's file again with one value revised; (old value, new value)."""
    content, old, new = revise_dpc_cell(REVISED_DAY, "totale_casi", 7)
    report = await publishers.ingest(dpc_document(content))
    assert (report.new, report.revised) == (0, 1)
    return old, new


# --- reading the database back ----------------------------------------------------------------


async def figure_rows(runtime: Runtime, *where: Any) -> list[Row[Any]]:
    async with runtime.sessions() as s:
        query = select(FIGURE).where(*where).order_by(FIGURE.c.ledger_index)
        return list((await s.execute(query)).all())


async def anomaly_rows(runtime: Runtime) -> list[Row[Any]]:
    async with runtime.sessions() as s:
        query = select(ANOMALY, PUBLISHER.c.slug).join(
            PUBLISHER, PUBLISHER.c.id == ANOMALY.c.publisher_id
        )
        return list((await s.execute(query.order_by(ANOMALY.c.id))).all())


async def runs(runtime: Runtime) -> list[Row[Any]]:
    async with runtime.sessions() as s:
        return list((await s.execute(select(RUN).order_by(RUN.c.id))).all())


async def log_size(runtime: Runtime) -> int:
    async with runtime.sessions() as s:
        return await runtime.log.size(s)


async def max_observation(runtime: Runtime) -> int:
    async with runtime.sessions() as s:
        found = await s.scalar(select(func.max(OBSERVATION.c.ledger_index)))
    return -1 if found is None else int(found)


async def leaves(runtime: Runtime) -> list[bytes]:
    async with runtime.sessions() as s:
        return await runtime.log.entries(s, 0, await runtime.log.size(s))


Obs = tuple[str, str, str, dt.date, int, bool]  # publisher, region, metric, date, value, latest


async def observation_rows(runtime: Runtime) -> dict[int, Obs]:
    async with runtime.sessions() as s:
        rows = await s.execute(
            select(
                OBSERVATION.c.ledger_index,
                PUBLISHER.c.slug,
                OBSERVATION.c.region,
                OBSERVATION.c.metric,
                OBSERVATION.c.date,
                OBSERVATION.c.value,
                OBSERVATION.c.latest,
            ).join(PUBLISHER, PUBLISHER.c.id == OBSERVATION.c.publisher_id)
        )
        return {int(r[0]): (r[1], r[2], r[3], r[4], int(r[5]), bool(r[6])) for r in rows}


def attestation(bodies: Sequence[bytes], index: int) -> dict[str, Any]:
    kind, record = parse_leaf_body(bodies[index])  # raises unless RFC 8785 canonical
    assert kind == "attestation"
    assert set(record) == {"figure", "supersedes", "version"}
    return record


def check_figures(
    rows: Sequence[Row[Any]], bodies: Sequence[bytes], observations: dict[int, Obs]
) -> dict[int, dict[str, Any]]:
    """Every figure row against its attestation leaf, and every input against the observation
    leaves it names; returns the leaf records by ledger index."""
    by_series: dict[tuple[str, str, str], dict[dt.date, int]] = defaultdict(dict)
    for publisher, region, metric, day, value, latest in observations.values():
        if latest:
            by_series[(publisher, region, metric)][day] = value
    checked: dict[int, tuple[str, str, str, dt.date, int]] = {}

    def observation(index: int) -> tuple[str, str, str, dt.date, int]:
        if index not in checked:
            kind, record = parse_leaf_body(bodies[index])
            assert kind == "observation"
            stored = observations[index][:5]
            on_log = (
                record["publisher"],
                record["region"],
                record["metric"],
                dt.date.fromisoformat(record["date"]),
                record["value"],
            )
            assert on_log == stored, (index, on_log, stored)
            checked[index] = stored
        return checked[index]

    records = {}
    for row in rows:
        record = attestation(bodies, row.ledger_index)
        figure = record["figure"]
        assert record["version"] == row.version
        assert hashlib.sha256(rfc8785.dumps(figure)).hexdigest() == row.digest
        assert (
            figure["region"],
            figure["metric"],
            figure["date"],
            figure["value"],
            figure["status"],
            figure["spread"],
            figure["explanation"],
            len(figure["lineages"]),
        ) == (
            row.region,
            row.metric,
            row.date.isoformat(),
            row.value,
            row.status,
            row.spread,
            row.explanation,
            row.lineages,
        )
        if row.value:
            assert row.spread_ratio == pytest.approx(row.spread / abs(row.value))
        else:
            assert row.spread_ratio is None
        # the value, spread and status follow from the lineages' values and the tolerance
        values = [lineage["value"] for lineage in figure["lineages"]]
        assert row.value == round(statistics.median(values))
        assert row.spread == max(values) - min(values)
        tolerance = figure["tolerance"]
        if len(values) == 1:
            assert row.status == "SINGLE_SOURCE"
        else:
            allowed = max(tolerance["absolute"], float(tolerance["relative"]) * abs(row.value))
            assert row.status == ("ATTESTED" if row.spread <= allowed else "DISPUTED")
        counted = {(lin["counted"], lin["value"]) for lin in figure["lineages"]}
        for item in figure["inputs"]:
            publisher, day = item["publisher"], dt.date.fromisoformat(item["date"])
            assert publisher in figure["lineages"][item["lineage"]]["publishers"]
            assert day - dt.timedelta(days=LAG[publisher]) == row.date
            found = [observation(i) for i in item["observations"]]
            derived = item.get("derived")
            if derived is None:
                assert found == [(publisher, row.region, row.metric, day, item["value"])]
            elif derived.startswith("day-to-day difference of "):
                base = CUMULATIVE_OF[row.metric]
                before, now = found
                assert before[:4] == (publisher, row.region, base, day - dt.timedelta(days=1))
                assert now[:4] == (publisher, row.region, base, day)
                assert item["value"] == now[4] - before[4]
            elif derived.startswith("running sum of "):
                daily = DAILY_OF[row.metric]
                [last] = found
                assert last[:4] == (publisher, row.region, daily, day)
                series = by_series[(publisher, row.region, daily)]
                assert item["value"] == sum(v for d, v in series.items() if d <= day)
            else:
                raise AssertionError(f"unexpected derivation {derived!r}")
            if (publisher, item["value"]) in counted:
                counted.discard((publisher, item["value"]))
        assert not counted, "every lineage's counted value is one of its inputs"
        records[row.ledger_index] = record
    return records


# --- 1. the first run ------------------------------------------------------------------------


async def test_the_first_run_is_full_and_puts_every_figure_on_the_log(
    runtime: Runtime, publishers: Publishers
) -> None:
    size_before = await log_size(runtime)
    report = await run(runtime)
    assert (report.mode, report.run_id, report.analysis_from_run) == ("full", 1, None)
    assert report.regions == 2
    assert report.watermark == await max_observation(runtime)
    rows = await figure_rows(runtime)
    assert len(rows) == report.figures == report.new_versions > 3000
    assert report.unchanged == 0
    assert report.log_size == size_before + report.figures == await log_size(runtime)
    assert report.by_status == dict(sorted(Counter(r.status for r in rows).items()))
    assert set(report.by_status) == {"ATTESTED", "DISPUTED", "SINGLE_SOURCE"}
    assert {r.region for r in rows} == {"ITA", "DEU"}
    assert all(r.version == 1 and r.latest and r.run_id == 1 for r in rows)
    assert len({(r.region, r.metric, r.date) for r in rows}) == len(rows)
    # the new leaves are exactly the figures' attestations, in one block after the observations
    assert sorted(r.ledger_index for r in rows) == list(range(size_before, report.log_size))

    bodies = await leaves(runtime)
    records = check_figures(rows, bodies, await observation_rows(runtime))
    assert all(r["version"] == 1 and r["supersedes"] is None for r in records.values())
    assert any("derived" in i for r in records.values() for i in r["figure"]["inputs"])

    # the figures are covered by the log's signed checkpoint
    async with runtime.sessions() as s:
        checkpoint = await runtime.log.latest_checkpoint(s)
        assert checkpoint.size == report.log_size
        for index in (rows[0].ledger_index, rows[-1].ledger_index):
            proof = await runtime.log.inclusion_proof(s, index, checkpoint.size)
            merkle.verify_inclusion(
                merkle.leaf_hash(bodies[index]), index, checkpoint.size, proof, checkpoint.root_hash
            )

    [stored] = await runs(runtime)
    assert (stored.mode, stored.watermark) == ("full", report.watermark)
    assert stored.scope == {"region": None, "metric": None, "since": None}
    assert {"fits", "region_fits", "evidence", "links"} <= set(stored.analysis)
    assert stored.summary["new_versions"] == report.new_versions
    assert stored.summary["figures"] == report.figures

    flags = await anomaly_rows(runtime)
    assert report.anomalies == dict(sorted(Counter(a.type for a in flags).items()))
    assert all(a.run_id == 1 for a in flags)


# --- 2. nothing new ---------------------------------------------------------------------------


async def test_a_run_with_nothing_new_writes_nothing(
    runtime: Runtime, publishers: Publishers
) -> None:
    first = await run(runtime)
    rows = await figure_rows(runtime)
    flags = await anomaly_rows(runtime)
    size = await log_size(runtime)

    again = await run(runtime)
    assert (again.mode, again.analysis_from_run) == ("incremental", first.run_id)
    assert (again.regions, again.figures, again.new_versions) == (0, 0, 0)
    assert again.log_size == size == await log_size(runtime)
    assert again.watermark == first.watermark

    # everything recomputed, the analysis too: the same content, so still no new version
    full = await run(runtime, full=True)
    assert (full.mode, full.analysis_from_run) == ("full", None)
    assert (full.figures, full.new_versions, full.unchanged) == (first.figures, 0, first.figures)
    assert full.lineages == first.lineages
    assert full.by_status == first.by_status and full.anomalies == first.anomalies

    assert await figure_rows(runtime) == rows
    assert await log_size(runtime) == size
    assert [(a.observation_index, a.type) for a in await anomaly_rows(runtime)] == [
        (a.observation_index, a.type) for a in flags
    ]
    assert [(r.id, r.mode, r.watermark) for r in await runs(runtime)] == [
        (1, "full", first.watermark),
        (2, "incremental", first.watermark),
        (3, "full", first.watermark),
    ]


async def test_a_new_tolerance_re_attests_the_figures_of_its_metric(
    runtime: Runtime, publishers: Publishers
) -> None:
    first = await run(runtime)
    before = await figure_rows(runtime)
    loose = Tolerance(Decimal("0.5"), 0)
    report = await run(runtime, full=True, tolerances={CC: loose})
    # the tolerance is part of each figure's content: every cases_cumulative figure changes
    assert report.new_versions == sum(r.metric == CC for r in before)
    assert report.unchanged == first.figures - report.new_versions
    new = await figure_rows(runtime, FIGURE.c.run_id == report.run_id)
    assert {r.metric for r in new} == {CC} and all(r.version == 2 for r in new)
    records = check_figures(new, await leaves(runtime), await observation_rows(runtime))
    assert all(
        r["figure"]["tolerance"] == {"absolute": 0, "relative": "0.5"} for r in records.values()
    )
    was = Counter(r.status for r in before if r.metric == CC)
    now = Counter(r.status for r in new)
    assert was["DISPUTED"] > 0 and now["DISPUTED"] < was["DISPUTED"]
    assert now["SINGLE_SOURCE"] == was["SINGLE_SOURCE"]


# --- 3. a revised value -----------------------------------------------------------------------


async def test_a_revision_re_attests_only_the_figure_it_changes(
    runtime: Runtime, publishers: Publishers
) -> None:
    first = await run(runtime)
    before = {(r.region, r.metric, r.date): r for r in await figure_rows(runtime)}
    flags_before = await anomaly_rows(runtime)
    old_value, new_value = await revise(publishers)
    size = await log_size(runtime)

    report = await run(runtime)
    assert (report.mode, report.analysis_from_run) == ("incremental", first.run_id)
    assert report.regions == 1  # Italy only
    italy = [k for k in before if k[0] == "ITA"]
    assert report.figures == len(italy)
    assert (report.new_versions, report.unchanged) == (1, len(italy) - 1)
    assert report.log_size == size + 1 == await log_size(runtime)
    assert report.watermark == await max_observation(runtime) > first.watermark

    rows = await figure_rows(runtime)
    assert len(rows) == len(before) + 1
    key = ("ITA", CC, REVISED_DAY)
    versions = [r for r in rows if (r.region, r.metric, r.date) == key]
    old, new = sorted(versions, key=lambda r: r.version)
    assert old._asdict() == before[key]._asdict() | {"latest": False}
    assert (new.version, new.latest, new.run_id, new.ledger_index) == (2, True, 2, size)
    # every other figure, of Italy and of Germany, is the row it was
    others = {(r.region, r.metric, r.date): r for r in rows if r not in versions}
    assert others == {k: r for k, r in before.items() if k != key}

    bodies = await leaves(runtime)
    observations = await observation_rows(runtime)
    record = check_figures([new], bodies, observations)[new.ledger_index]
    assert (record["version"], record["supersedes"]) == (2, old.ledger_index)
    dpc = [i for i in record["figure"]["inputs"] if i["publisher"] == "it-dpc"]
    assert [i["value"] for i in dpc] == [new_value]
    [revised] = dpc[0]["observations"]
    assert observations[revised] == ("it-dpc", "ITA", CC, REVISED_DAY, new_value, True)
    previous = attestation(bodies, old.ledger_index)
    assert [i["value"] for i in previous["figure"]["inputs"] if i["publisher"] == "it-dpc"] == [
        old_value
    ]
    assert previous["supersedes"] is None and previous["version"] == 1

    # Italy's flags were re-read (same flags, new run), Germany's were left alone
    flags = await anomaly_rows(runtime)
    assert sorted((a.observation_index, a.type) for a in flags) == sorted(
        (a.observation_index, a.type) for a in flags_before
    )
    assert {a.run_id for a in flags if a.region == "DEU"} == {first.run_id}
    assert {a.run_id for a in flags if a.region == "ITA"} == {report.run_id}

    last = await run(runtime)
    assert (last.mode, last.regions, last.new_versions) == ("incremental", 0, 0)
    assert await log_size(runtime) == size + 1


# --- 4. scoped runs ---------------------------------------------------------------------------


async def test_scoped_runs_recompute_what_they_name_and_keep_the_watermark(
    runtime: Runtime, publishers: Publishers
) -> None:
    first = await run(runtime)
    everything = await figure_rows(runtime)
    await revise(publishers)

    germany = await run(runtime, region="DEU")
    assert (germany.mode, germany.analysis_from_run, germany.regions) == ("scoped", 1, 1)
    assert germany.figures == sum(r.region == "DEU" for r in everything)
    assert (germany.new_versions, germany.unchanged) == (0, germany.figures)

    deaths = await run(runtime, region="ITA", metric="deaths_cumulative")
    assert deaths.figures == sum(
        (r.region, r.metric) == ("ITA", "deaths_cumulative") for r in everything
    )
    assert deaths.new_versions == 0

    later = dt.date(2020, 6, 16)
    after = await run(runtime, region="ITA", metric=CC, since=later)
    assert after.figures == sum(
        (r.region, r.metric) == ("ITA", CC) and r.date >= later for r in everything
    )
    assert after.new_versions == 0

    dated = await run(runtime, region="ITA", metric=CC, since=REVISED_DAY)
    assert dated.new_versions == 1
    assert dated.scope == {"region": "ITA", "metric": CC, "since": "2020-06-15"}
    [new] = await figure_rows(runtime, FIGURE.c.run_id == dated.run_id)
    assert (new.region, new.metric, new.date, new.version) == ("ITA", CC, REVISED_DAY, 2)

    since_only = await run(runtime, since=dt.date(2020, 12, 1))
    assert (since_only.mode, since_only.regions, since_only.new_versions) == ("scoped", 2, 0)
    assert since_only.figures == sum(r.date >= dt.date(2020, 12, 1) for r in everything)

    stored = await runs(runtime)
    assert [r.mode for r in stored] == ["full"] + ["scoped"] * 5
    assert {r.watermark for r in stored} == {first.watermark}  # scoped runs keep it
    assert stored[4].scope == dated.scope

    # the revision is still past the watermark: the next run without filters re-reads Italy
    # (and finds its figures already re-attested)
    report = await run(runtime)
    assert (report.mode, report.regions, report.new_versions) == ("incremental", 1, 0)
    assert report.figures == sum(r.region == "ITA" for r in everything)
    assert (await runs(runtime))[-1].watermark == await max_observation(runtime)
    assert len(await figure_rows(runtime)) == len(everything) + 1


# --- 5. the real demo set ---------------------------------------------------------------------


async def test_statuses_lineages_and_anomalies_on_the_demo_set(runtime: Runtime) -> None:
    await load_demo(runtime.write_sessions, runtime.log, runtime.settings.data_dir)
    report = await run(runtime)
    links = {tuple(e["publishers"]): e for e in report.lineages}
    assert ("it-dpc", "jhu-csse") in links
    assert links[("it-dpc", "jhu-csse")]["regions"] == ["ITA"]
    assert links[("it-dpc", "jhu-csse")]["share"] > 0.97
    assert set(report.by_status) == {"ATTESTED", "DISPUTED", "SINGLE_SOURCE"}

    rows = await figure_rows(runtime)
    assert len(rows) == report.figures
    assert not any(r.region.startswith("US-FIPS-") for r in rows)  # no county figures
    for row in rows:
        tolerance = DEFAULT_TOLERANCES.get(row.metric, FALLBACK_TOLERANCE)
        if row.status == "SINGLE_SOURCE":
            assert (row.lineages, row.spread) == (1, 0)
        else:
            assert row.lineages >= 2
            agreed = tolerance.allows(row.spread, row.value)
            assert row.status == ("ATTESTED" if agreed else "DISPUTED")
    places = [
        "ITA",
        "DEU",
        "FRA",
        "ESP",
        "GBR",
        "US-NY",
        "US-NJ",
        "US-CT",
        "US-MA",
        "US-WA",
        "US-CA",
    ]
    attested = Counter(r.region for r in rows if r.status == "ATTESTED")
    assert all(attested[p] > 300 for p in places), attested

    [italy] = [r for r in rows if (r.region, r.metric, r.date) == ("ITA", CC, dt.date(2020, 6, 15))]
    assert (italy.status, italy.lineages) == ("ATTESTED", 3)
    assert "it-dpc and jhu-csse counted once (copies)" in italy.explanation
    bodies = await leaves(runtime)
    figure = attestation(bodies, italy.ledger_index)["figure"]
    [shared] = [lin for lin in figure["lineages"] if "it-dpc" in lin["publishers"]]
    assert shared["publishers"] == ["it-dpc", "jhu-csse"] and shared["counted"] == "it-dpc"
    lineage = {i["publisher"]: i["lineage"] for i in figure["inputs"]}
    assert lineage["it-dpc"] == lineage["jhu-csse"]
    assert len(set(lineage.values())) == 3

    # every flag rests on an observation of the series it names, and figures carry them
    flags = await anomaly_rows(runtime)
    assert report.anomalies == dict(sorted(Counter(a.type for a in flags).items()))
    assert set(report.anomalies) == {str(t) for t in AnomalyType}
    observations = await observation_rows(runtime)
    for a in flags:
        publisher, region, metric, day, _value, latest = observations[a.observation_index]
        assert (publisher, region, metric, day) == (a.slug, a.region, a.metric, a.date)
        assert latest and a.run_id == report.run_id
    flagged = defaultdict(set)
    for a in flags:
        flagged[a.observation_index].add(a.type)
    for row in rows:
        if row.region != "ITA":
            continue
        for item in attestation(bodies, row.ledger_index)["figure"]["inputs"]:
            if "anomalies" in item:
                primary = item["observations"][-1]
                assert set(item["anomalies"]) == flagged[primary], item


# --- 6. all or nothing ------------------------------------------------------------------------


async def test_a_run_that_another_overtakes_writes_nothing(
    runtime: Runtime, publishers: Publishers
) -> None:
    """Two runs at once: the first is held in its computation (in its worker thread, through its
    progress callback) until the second has committed; it then refuses to write."""
    size = await log_size(runtime)
    computing, release = threading.Event(), threading.Event()

    def hold(message: str) -> None:
        if message.startswith("attesting"):  # called from the worker thread
            computing.set()
            assert release.wait(60)

    held = asyncio.create_task(run(runtime, progress=hold))
    try:
        assert await asyncio.to_thread(computing.wait, 60)
        winner = await run(runtime)
    finally:
        release.set()
    with pytest.raises(ReconcileError, match="another reconciliation"):
        await held

    assert (winner.mode, winner.run_id) == ("full", 1)
    assert [r.id for r in await runs(runtime)] == [1]
    rows = await figure_rows(runtime)
    assert len(rows) == winner.figures == winner.new_versions
    assert {r.run_id for r in rows} == {1}
    assert await log_size(runtime) == winner.log_size == size + winner.figures
    assert {a.run_id for a in await anomaly_rows(runtime)} == {1}


async def test_a_run_failing_after_its_leaves_are_appended_leaves_no_trace(
    runtime: Runtime, publishers: Publishers
) -> None:
    """A stray row makes the insert of a new figure version fail after its attestation leaf was
    appended: the leaf, the run, the flags and the figures all roll back together."""
    await run(runtime)
    key = ("ITA", CC, REVISED_DAY)
    [current] = await figure_rows(
        runtime, FIGURE.c.region == key[0], FIGURE.c.metric == key[1], FIGURE.c.date == key[2]
    )
    stray = current._asdict() | {"ledger_index": 10**12, "version": 2, "latest": False}
    async with runtime.write_sessions() as s, s.begin():
        await s.execute(insert(FIGURE).values(**stray))
    await revise(publishers)
    size, rows, flags = (
        await log_size(runtime),
        await figure_rows(runtime),
        await anomaly_rows(runtime),
    )
    async with runtime.sessions() as s:
        checkpoint = await runtime.log.latest_checkpoint(s)

    with pytest.raises(IntegrityError):
        await run(runtime)
    assert await log_size(runtime) == size
    assert await figure_rows(runtime) == rows
    assert await anomaly_rows(runtime) == flags
    assert [r.id for r in await runs(runtime)] == [1]

    async with runtime.write_sessions() as s, s.begin():
        await s.execute(delete(FIGURE).where(FIGURE.c.ledger_index == 10**12))
    report = await run(runtime)
    assert (report.mode, report.new_versions, report.log_size) == ("incremental", 1, size + 1)
    # the log grew from the checkpoint it had before the failed run
    async with runtime.sessions() as s:
        latest = await runtime.log.latest_checkpoint(s)
        proof = await runtime.log.consistency_proof(s, checkpoint.size, latest.size)
    merkle.verify_consistency(
        checkpoint.size, latest.size, proof, checkpoint.root_hash, latest.root_hash
    )
    [new] = await figure_rows(runtime, FIGURE.c.run_id == report.run_id)
    assert (new.ledger_index, new.version) == (size, 2)
    record = attestation(await leaves(runtime), size)
    assert record["supersedes"] == current.ledger_index
    assert (record["version"], record["figure"]["region"]) == (2, "ITA")
