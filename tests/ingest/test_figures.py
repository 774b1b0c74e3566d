"""Attested figures and anomaly flags, without a database: small panels built by hand with fake
ledger indices (statuses, medians, spreads, lineages, date shifts, derived inputs, tolerances,
each anomaly rule), then the figures computed from the demo set (``samples/demo/``) checked
against the ``rfc8785`` package and ``ledger.leaf.parse_leaf_body``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest
import rfc8785

from ingest.adapters import get_adapter
from ingest.demo import manifest
from ingest.publishers import catalogue
from ingest.reconcile.align import (
    LagFit,
    PairEvidence,
    Panel,
    SeriesKey,
    complete,
    compose,
    linked_pairs,
    pair_evidence,
)
from ingest.reconcile.anomalies import AnomalyType, Flag, series_flags
from ingest.reconcile.engine import Analysis, Computed, analyse, compute
from ingest.reconcile.figures import (
    DEFAULT_TOLERANCES,
    Figure,
    RegionContext,
    Source,
    Status,
    Tolerance,
    attest,
    attestation_body,
    canonical_json,
)
from ledger.leaf import parse_leaf_body

D0 = dt.date(2020, 3, 1)
CC, CD = "cases_cumulative", "cases_daily"
R = "ITA"

SOURCES = {
    "agency": Source("agency", "official-agency", False, 0),
    "world": Source("world", "official-agency", True, 0),
    "academy": Source("academy", "academic-aggregator", True, 0),
    "news": Source("news", "newsroom", False, 0),
    "volunteers": Source("volunteers", "volunteer-project", False, 0),
    "late": Source("late", "official-agency", True, 1),
}
NO_ANALYSIS = Analysis(fits={}, region_fits={}, evidence=[], links=[])

Values = Iterable[tuple[str, str, str, dt.date, int]]


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def series(publisher: str, metric: str, values: Sequence[int], start: int = 0) -> Values:
    return [(publisher, R, metric, day(start + i), v) for i, v in enumerate(values)]


def build(values: Values) -> tuple[Panel, dict[SeriesKey, dict[dt.date, int]]]:
    """A composed, completed panel and fake ledger indices for its published observations."""
    panel = Panel.from_values(values)
    counter = itertools.count(1000)
    index = {
        key: {d: next(counter) for d in sorted(panel.series[key])} for key in sorted(panel.series)
    }
    compose(panel)
    complete(panel)
    return panel, index


def run(
    values: Values,
    *,
    analysis: Analysis = NO_ANALYSIS,
    tolerances: Mapping[str, Tolerance] = DEFAULT_TOLERANCES,
) -> tuple[Computed, dict[SeriesKey, dict[dt.date, int]]]:
    panel, index = build(values)
    return compute(panel, index, SOURCES, analysis, tolerances, regions=[R]), index


def figure(computed: Computed, metric: str, date: dt.date) -> Figure:
    found = [f for f in computed.figures if f.metric == metric and f.date == date]
    assert len(found) == 1, found
    return found[0]


def content(f: Figure) -> dict[str, Any]:
    return json.loads(f.canonical)


def by_publisher(f: Figure) -> dict[str, dict[str, Any]]:
    return {item["publisher"]: item for item in content(f)["inputs"]}


# --- statuses, value, spread ------------------------------------------------------------------


def test_two_independent_publishers_within_tolerance_are_attested() -> None:
    computed, index = run([("agency", R, CC, D0, 1000), ("academy", R, CC, D0, 1012)])
    f = figure(computed, CC, D0)
    assert (f.status, f.value, f.spread, f.lineages) == (Status.ATTESTED, 1006, 12, 2)
    assert f.spread_ratio == pytest.approx(12 / 1006)
    assert f.explanation == (
        "2 independent lineages; median of 2; spread 1.2% within tolerance "
        + DEFAULT_TOLERANCES[CC].describe()
    )
    assert f.digest == hashlib.sha256(f.canonical).hexdigest()
    assert content(f) == {
        "date": "2020-03-01",
        "explanation": f.explanation,
        "inputs": [
            {
                "date": "2020-03-01",
                "lineage": 0,
                "observations": [index[("academy", R, CC)][D0]],
                "publisher": "academy",
                "value": 1012,
            },
            {
                "date": "2020-03-01",
                "lineage": 1,
                "observations": [index[("agency", R, CC)][D0]],
                "publisher": "agency",
                "value": 1000,
            },
        ],
        "lineages": [
            {"counted": "academy", "publishers": ["academy"], "value": 1012},
            {"counted": "agency", "publishers": ["agency"], "value": 1000},
        ],
        "metric": CC,
        "region": R,
        "spread": 12,
        "status": "ATTESTED",
        "tolerance": DEFAULT_TOLERANCES[CC].record(),
        "value": 1006,
    }


def test_lineages_beyond_tolerance_are_disputed_naming_lowest_and_highest() -> None:
    computed, _ = run(
        [("agency", R, CC, D0, 1000), ("academy", R, CC, D0, 1100), ("news", R, CC, D0, 1300)]
    )
    f = figure(computed, CC, D0)
    assert (f.status, f.value, f.spread, f.lineages) == (Status.DISPUTED, 1100, 300, 3)
    assert f.explanation == (
        "3 independent lineages; median of 3; spread 27.3% beyond tolerance "
        f"{DEFAULT_TOLERANCES[CC].describe()} (lowest agency 1,000, highest news 1,300)"
    )


def test_one_publisher_is_single_source() -> None:
    computed, _ = run([("agency", R, CC, D0, 1234)])
    f = figure(computed, CC, D0)
    assert (f.status, f.value, f.spread, f.lineages) == (Status.SINGLE_SOURCE, 1234, 0, 1)
    assert f.spread_ratio == 0
    assert f.explanation == "1 lineage (agency): nothing independent to compare with"


def test_a_zero_value_has_no_spread_ratio_and_shows_the_spread_as_a_count() -> None:
    computed, _ = run([("agency", R, CC, D0, 0), ("academy", R, CC, D0, 0)])
    f = figure(computed, CC, D0)
    assert (f.status, f.value, f.spread, f.spread_ratio) == (Status.ATTESTED, 0, 0, None)
    assert "spread 0 within tolerance" in f.explanation


def _copies(with_news: bool) -> list[tuple[str, str, str, dt.date, int]]:
    values = [*series("agency", CC, [100 * (i + 1) for i in range(40)])]
    values += series("academy", CC, [100 * (i + 1) for i in range(40)])
    if with_news:
        values += series("news", CC, [100 * (i + 1) + 2 for i in range(40)])
    return values


def test_publishers_that_copy_each_other_are_one_lineage_counted_once() -> None:
    panel, _ = build(_copies(with_news=True))
    analysis = analyse(panel, SOURCES)
    assert [(e.first, e.second) for e in analysis.links] == [("academy", "agency")]
    computed, index = run(_copies(with_news=True), analysis=analysis)
    f = figure(computed, CC, day(20))
    assert (f.status, f.lineages, f.value, f.spread) == (Status.ATTESTED, 2, 2101, 2)
    assert "academy and agency counted once (copies)" in f.explanation
    records = content(f)["lineages"]
    # the official agency is counted before the academic aggregator it shares a lineage with
    assert records[0] == {"counted": "agency", "publishers": ["agency", "academy"], "value": 2100}
    inputs = by_publisher(f)
    assert inputs["agency"]["lineage"] == inputs["academy"]["lineage"] == 0
    assert inputs["academy"]["observations"] == [index[("academy", R, CC)][day(20)]]
    assert inputs["news"]["lineage"] == 1

    alone, _ = run(_copies(with_news=False), analysis=analysis)
    f = figure(alone, CC, day(20))
    assert (f.status, f.lineages, f.value, f.spread) == (Status.SINGLE_SOURCE, 1, 2100, 0)
    assert f.explanation == (
        "1 lineage (agency): nothing independent to compare with; "
        "academy and agency counted once (copies)"
    )


def test_a_lineage_counts_published_before_derived_then_by_kind_then_national_first() -> None:
    link = [
        PairEvidence("academy", "agency", 40, 40, (R,)),
        PairEvidence("agency", "world", 40, 40, (R,)),
    ]
    analysis = Analysis(fits={}, region_fits={}, evidence=link, links=link)
    computed, _ = run(
        [
            *series("agency", CD, [10, 20]),  # cumulative derived (running sum)
            *series("academy", CC, [11, 31]),  # cumulative published, daily derived
            *series("world", CD, [12, 22]),
        ],
        analysis=analysis,
    )
    cumulative = content(figure(computed, CC, day(1)))["lineages"]
    assert cumulative == [
        {"counted": "academy", "publishers": ["academy", "agency", "world"], "value": 31}
    ]
    daily = content(figure(computed, CD, day(1)))["lineages"]
    assert daily == [
        {"counted": "agency", "publishers": ["agency", "world", "academy"], "value": 20}
    ]


def test_an_input_names_its_lineage_among_those_with_a_value_that_day() -> None:
    computed, _ = run(
        [
            ("academy", R, CC, day(0), 100),  # the first lineage, silent on day 1
            *series("agency", CC, [100, 200]),
            *series("news", CC, [101, 201]),
        ]
    )
    record = content(figure(computed, CC, day(1)))
    assert [lin["counted"] for lin in record["lineages"]] == ["agency", "news"]
    for item in record["inputs"]:
        assert item["publisher"] in record["lineages"][item["lineage"]]["publishers"]
    assert [item["lineage"] for item in record["inputs"]] == [0, 1]


@pytest.mark.parametrize(
    ("values", "median"),
    [
        ([100, 200, 1000], 200),
        ([100, 200, 300, 1000], 250),
        ([100, 101, 102, 1000], 102),  # 101.5: half to even
        ([100, 103, 104, 1000], 104),  # 103.5: half to even
        ([1, 2], 2),  # 1.5
        ([2, 3], 2),  # 2.5
        ([7], 7),
    ],
)
def test_the_value_is_the_median_of_the_lineage_values(values: list[int], median: int) -> None:
    names = ["agency", "academy", "news", "volunteers"]
    computed, _ = run([(names[i], R, CC, D0, v) for i, v in enumerate(values)])
    f = figure(computed, CC, D0)
    assert f.value == median
    assert f.spread == max(values) - min(values)
    assert f.lineages == len(values)
    if len(values) > 1:
        assert f"median of {len(values)}" in f.explanation


def test_a_publisher_with_a_lag_is_read_one_day_earlier() -> None:
    computed, index = run([("agency", R, CC, day(5), 1000), ("late", R, CC, day(6), 1004)])
    cumulative = [f for f in computed.figures if f.metric == CC]
    assert [f.date for f in cumulative] == [day(5)]
    f = cumulative[0]
    assert (f.status, f.value, f.lineages) == (Status.ATTESTED, 1002, 2)
    assert "late dates shifted −1 day" in f.explanation
    late = by_publisher(f)["late"]
    assert late["date"] == day(6).isoformat()
    assert late["observations"] == [index[("late", R, CC)][day(6)]]


def test_a_region_fit_better_than_the_declared_lag_is_named() -> None:
    fit = LagFit("agency", 0, 0.05, -1, 0.001, {0: 0.05, -1: 0.001}, 30)
    analysis = Analysis(fits={}, region_fits={R: {"agency": fit}}, evidence=[], links=[])
    computed, _ = run(
        [("agency", R, CC, D0, 1000), ("academy", R, CC, D0, 1000)], analysis=analysis
    )
    assert "agency fits best shifted +1 day here (0.1% against 5% as declared)" in (
        figure(computed, CC, D0).explanation
    )


def test_derived_inputs_name_the_observations_they_rest_on() -> None:
    computed, index = run(
        [*series("agency", CC, [100, 150, 190]), *series("academy", CD, [5, 7, 9])]
    )
    cumulative = index[("agency", R, CC)]
    daily = figure(computed, CD, day(2))
    item = by_publisher(daily)["agency"]
    assert item["derived"] == "day-to-day difference of cases_cumulative"
    assert item["observations"] == [cumulative[day(1)], cumulative[day(2)]]
    assert item["value"] == 40
    assert "agency day-to-day difference of cases_cumulative" in daily.explanation
    # the first day of a cumulative series has no difference
    assert "agency" not in by_publisher(figure(computed, CD, day(0)))

    total = by_publisher(figure(computed, CC, day(1)))["academy"]
    assert total["derived"] == "running sum of cases_daily over 2 days from 2020-03-01"
    assert total["observations"] == [index[("academy", R, CD)][day(1)]]
    assert total["value"] == 12


def test_the_tolerance_is_configurable_per_metric() -> None:
    values = [("agency", R, CC, D0, 1000), ("academy", R, CC, D0, 1100)]
    assert figure(run(values)[0], CC, D0).status is Status.DISPUTED
    loose = {CC: Tolerance(Decimal("0.10"), 0)}
    f = figure(run(values, tolerances=loose)[0], CC, D0)
    assert f.status is Status.ATTESTED
    assert "within tolerance 10% or 0" in f.explanation
    assert content(f)["tolerance"] == {"absolute": 0, "relative": "0.10"}
    # the absolute allowance is inclusive
    exact = {CC: Tolerance(Decimal("0"), 100)}
    assert figure(run(values, tolerances=exact)[0], CC, D0).status is Status.ATTESTED
    short = {CC: Tolerance(Decimal("0"), 99)}
    assert figure(run(values, tolerances=short)[0], CC, D0).status is Status.DISPUTED


def test_a_tolerance_describes_and_records_itself() -> None:
    tolerance = Tolerance(Decimal("0.025"), 1000)
    assert tolerance.describe() == "2.5% or 1,000"
    assert tolerance.record() == {"absolute": 1000, "relative": "0.025"}
    assert Tolerance(Decimal("0.02"), 10).describe() == "2% or 10"
    assert tolerance.allows(1000, 0) and not tolerance.allows(1001, 0)
    assert tolerance.allows(2500, 100_000) and not tolerance.allows(2501, 100_000)


def test_a_metric_without_a_tolerance_uses_the_fallback() -> None:
    panel, index = build([("agency", R, "icu", D0, 1000), ("academy", R, "icu", D0, 1040)])
    context = RegionContext(sources=SOURCES, links=[], tolerances=DEFAULT_TOLERANCES)
    [f] = attest(panel, index, R, "icu", context)
    assert f.status is Status.ATTESTED
    assert "within tolerance 5% or 10" in f.explanation


def test_since_leaves_out_earlier_dates() -> None:
    panel, index = build(series("agency", CC, [1, 2, 3, 4]))
    context = RegionContext(sources=SOURCES, links=[], tolerances=DEFAULT_TOLERANCES)
    found = attest(panel, index, R, CC, context, since=day(2))
    assert [f.date for f in found] == [day(2), day(3)]


# --- anomalies --------------------------------------------------------------------------------


def flags_of(values: Values) -> tuple[list[Flag], dict[SeriesKey, dict[dt.date, int]]]:
    panel, index = build(values)
    found = [f for key in sorted(panel.series) for f in series_flags(panel, index, key)]
    return found, index


def test_a_cumulative_decrease_is_flagged_on_the_lower_value() -> None:
    found, index = flags_of(series("agency", CC, [10, 20, 30, 25, 40]))
    key = ("agency", R, CC)
    assert [(f.type, f.date, f.observation, f.series) for f in found] == [
        (AnomalyType.CUMULATIVE_DECREASE, day(3), index[key][day(3)], key)
    ]
    assert found[0].detail == "25 after 30 on 2020-03-03"


def test_a_negative_daily_count_is_flagged() -> None:
    found, index = flags_of(series("agency", CD, [100, 110, -5, 120, 100]))
    key = ("agency", R, CD)
    assert [(f.type, f.observation) for f in found] == [
        (AnomalyType.NEGATIVE_DAILY, index[key][day(2)])
    ]


def test_a_daily_spike_is_a_back_distribution() -> None:
    values = [100 + (i % 3) for i in range(15)]
    values[7] = 1000
    found, index = flags_of(series("agency", CD, values))
    key = ("agency", R, CD)
    assert [(f.type, f.date, f.observation) for f in found] == [
        (AnomalyType.BACK_DISTRIBUTION_SPIKE, day(7), index[key][day(7)])
    ]
    assert found[0].detail == "1,000 new in a day against a median of 101 on the 14 days around it"


def test_a_spike_in_a_daily_series_derived_from_cumulative_is_flagged_on_the_cumulative() -> None:
    increments = [100] * 15
    increments[7] = 1100
    found, index = flags_of(series("agency", CC, list(itertools.accumulate(increments))))
    key = ("agency", R, CC)
    assert [(f.type, f.series, f.date, f.observation) for f in found] == [
        (AnomalyType.BACK_DISTRIBUTION_SPIKE, key, day(7), index[key][day(7)])
    ]


def test_a_cumulative_count_stuck_after_rising_is_frozen_on_each_repeat() -> None:
    values = [10 * (i + 1) for i in range(14)] + [140] * 7  # day 13 is the first 140
    found, index = flags_of(series("agency", CC, values))
    key = ("agency", R, CC)
    assert {f.type for f in found} == {AnomalyType.FROZEN}
    assert [f.observation for f in found] == [index[key][day(n)] for n in range(14, 21)]
    assert found[0].detail == (
        "140 unchanged since 2020-03-14 (8 days) after rising by a median 10 a day"
    )
    short = [10 * (i + 1) for i in range(14)] + [140] * 5
    assert flags_of(series("agency", CC, short))[0] == []
    zeros = [0] * 20 + [10, 20]
    assert flags_of(series("agency", CC, zeros))[0] == []


def _curve(days: int = 120) -> list[int]:
    return [round(100_000 / (1 + math.exp(-(t - 60) / 8))) for t in range(days)]


def test_a_smooth_epidemic_curve_has_no_flags() -> None:
    cumulative = _curve()
    daily = [b - a for a, b in itertools.pairwise(cumulative)]
    found, _ = flags_of([*series("agency", CC, cumulative), *series("academy", CD, daily)])
    assert found == []


def test_weekend_zeros_have_no_flags() -> None:
    daily = []
    for week in range(8):
        daily += [180 + week, 100, 105, 98, 110, 0, 0]  # Monday catches up the weekend
    cumulative = list(itertools.accumulate(daily))
    found, _ = flags_of([*series("agency", CD, daily), *series("academy", CC, cumulative)])
    assert found == []


def _three(jump_at: int, catch_up_at: int | None) -> list[tuple[str, str, str, dt.date, int]]:
    base = [1000 + 100 * i for i in range(40)]

    def shifted(offset: int, when: int | None) -> list[int]:
        return [
            v + offset + (5000 if when is not None and i >= when else 0) for i, v in enumerate(base)
        ]

    return [
        *series("agency", CC, shifted(0, jump_at)),
        *series("academy", CC, shifted(3, catch_up_at)),
        *series("news", CC, shifted(-2, catch_up_at)),
    ]


def test_a_jump_that_leaves_a_publisher_apart_is_a_definition_change() -> None:
    computed, index = run(_three(jump_at=20, catch_up_at=None))
    key = ("agency", R, CC)
    assert [(f.type, f.series, f.date, f.observation) for f in computed.flags] == [
        (AnomalyType.DEFINITION_CHANGE, key, day(20), index[key][day(20)])
    ]
    assert computed.flags[0].detail.endswith(
        "within tolerance of the other lineages before, above them on every day of the 14 after"
    )
    # the figure on that day carries the flag of the input it rests on
    f = figure(computed, CC, day(20))
    assert by_publisher(f)["agency"]["anomalies"] == ["DEFINITION_CHANGE"]
    assert f.explanation.endswith("flagged: agency definition change")


def test_a_backlog_the_others_catch_up_with_stays_a_spike() -> None:
    computed, index = run(_three(jump_at=20, catch_up_at=23))
    found = {(f.series[0], f.date): f.type for f in computed.flags}
    assert found == {
        ("agency", day(20)): AnomalyType.BACK_DISTRIBUTION_SPIKE,
        ("academy", day(23)): AnomalyType.BACK_DISTRIBUTION_SPIKE,
        ("news", day(23)): AnomalyType.BACK_DISTRIBUTION_SPIKE,
    }
    assert {f.observation for f in computed.flags} == {
        index[("agency", R, CC)][day(20)],
        index[("academy", R, CC)][day(23)],
        index[("news", R, CC)][day(23)],
    }


def _copied_jump() -> tuple[list[tuple[str, str, str, dt.date, int]], list[PairEvidence]]:
    """agency jumps for good and two publishers copy it; volunteers report on as before."""
    base = [1000 + 100 * i for i in range(40)]
    jumped = [v + (5000 if i >= 20 else 0) for i, v in enumerate(base)]
    values = [
        *series("agency", CC, jumped),
        *series("academy", CC, jumped),
        *series("news", CC, jumped),
        *series("volunteers", CC, [v + 4 for v in base]),
    ]
    links = linked_pairs(pair_evidence(Panel.from_values(values), {}))
    assert {(e.first, e.second) for e in links} == {
        ("academy", "agency"),
        ("academy", "news"),
        ("agency", "news"),
    }
    return values, links


def test_without_links_the_copies_of_a_jumping_publisher_outvote_the_independent_one() -> None:
    values, _ = _copied_jump()
    computed, index = run(values)  # no lineage links: four independent publishers
    found = {(f.series[0], f.type) for f in computed.flags}
    assert found == {
        (p, AnomalyType.BACK_DISTRIBUTION_SPIKE) for p in ("agency", "academy", "news")
    }
    assert index[("agency", R, CC)][day(20)] in {f.observation for f in computed.flags}


def test_a_jump_its_copies_repeat_is_a_definition_change_against_the_other_lineages() -> None:
    values, links = _copied_jump()
    analysis = Analysis(fits={}, region_fits={}, evidence=links, links=links)
    computed, _ = run(values, analysis=analysis)
    found = {(f.series[0], f.type) for f in computed.flags}
    # (failed before 72c8a23: compute passed a defaultdict read with .get, so no links)
    assert found == {(p, AnomalyType.DEFINITION_CHANGE) for p in ("agency", "academy", "news")}


# --- canonical JSON and attestation leaves over the demo set -----------------------------------


def _demo_panel() -> tuple[Panel, dict[SeriesKey, dict[dt.date, int]], dict[str, Source]]:
    values = []
    for doc in manifest():
        parsed = get_adapter(doc.format).parse(doc.path.read_bytes())
        for obs in parsed.observations:
            if not obs.region.startswith("US-FIPS-"):  # the engine leaves out the counties
                values.append((doc.publisher, obs.region, str(obs.metric), obs.date, obs.value))
    panel, index = build(values)
    sources = {
        slug: Source(
            slug, spec.kind, "*" in spec.jurisdictions, spec.conventions.get("report_lag_days", 0)
        )
        for slug, spec in catalogue().items()
    }
    return panel, index, sources


@pytest.fixture(scope="module")
def demo() -> tuple[
    Panel, dict[SeriesKey, dict[dt.date, int]], dict[str, Source], Analysis, Computed
]:
    panel, index, sources = _demo_panel()
    analysis = analyse(panel, sources)
    computed = compute(panel, index, sources, analysis, DEFAULT_TOLERANCES, regions=panel.regions())
    return panel, index, sources, analysis, computed


def test_canonical_json_of_every_demo_figure_is_rfc8785(demo) -> None:
    *_, computed = demo
    seen: set[str] = set()
    # every figure of the demo's eleven places; one in ten of JHU's overseas territories, whose
    # figures (one publisher, nothing derived) all have one shape
    places = {"ITA", "DEU", "FRA", "ESP", "GBR"} | {
        f"US-{s}" for s in ("NY", "NJ", "CT", "MA", "WA", "CA")
    }
    checked = [f for n, f in enumerate(computed.figures) if f.region in places or n % 10 == 0]
    assert len(checked) > 20_000
    for f in checked:
        record = json.loads(f.canonical)
        assert rfc8785.dumps(record) == f.canonical, (f.region, f.metric, f.date)
        assert canonical_json(record) == f.canonical
        assert f.digest == hashlib.sha256(f.canonical).hexdigest()
        if any("anomalies" in item for item in record["inputs"]):
            seen.add("anomalies")
        if any("derived" in item for item in record["inputs"]):
            seen.add("derived")
        if not f.explanation.isascii():
            seen.add("non-ascii")
        seen.add(str(f.status))
    # the check covered flagged and derived inputs, the minus sign and every status
    assert seen == {"anomalies", "derived", "non-ascii", "ATTESTED", "DISPUTED", "SINGLE_SOURCE"}


def test_attestation_bodies_of_demo_figures_are_canonical_leaves(demo) -> None:
    *_, computed = demo
    for n, f in enumerate(computed.figures[::97]):
        supersedes = None if n % 2 else 1_000_000 + n
        kind, record = parse_leaf_body(attestation_body(f.canonical, n + 1, supersedes))
        assert kind == "attestation"
        assert record == {
            "figure": json.loads(f.canonical),
            "supersedes": supersedes,
            "version": n + 1,
        }


def test_an_analysis_read_back_from_its_record_gives_the_same_figures(demo) -> None:
    panel, index, sources, analysis, computed = demo
    stored = Analysis.from_record(json.loads(json.dumps(analysis.record())))
    again = compute(panel, index, sources, stored, DEFAULT_TOLERANCES, regions=panel.regions())
    assert [f.digest for f in again.figures] == [f.digest for f in computed.figures]
    assert again.flags == computed.flags


def test_demo_lineages_and_flags_are_the_expected_ones(demo) -> None:
    _panel, index, _sources, analysis, computed = demo
    assert {(e.first, e.second) for e in analysis.links} == {
        ("de-rki", "who"),
        ("it-dpc", "jhu-csse"),
    }
    observations = {i: key for key, days in index.items() for i in days.values()}
    for flag in computed.flags:
        key = observations[flag.observation]
        assert key == flag.series
        assert index[key][flag.date] == flag.observation
