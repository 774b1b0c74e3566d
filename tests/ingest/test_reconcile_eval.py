"""The reconciler on the held-out files of ``../shared/data/eval/``: the CDC's state file (New York
City reported apart from the rest of the state) and the COVID Tracking Project's later website
export. No rule in ``ingest/reconcile`` names these publishers or files; this checks that what
the real files taught generalises: composition, date shifts, lineages and statuses.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from ingest.adapters import detect_format, get_adapter
from ingest.publishers import catalogue
from ingest.reconcile.align import Panel, SeriesKey, complete, compose
from ingest.reconcile.engine import Computed, analyse, compute
from ingest.reconcile.figures import DEFAULT_TOLERANCES, Source
from tests.conftest import shared_data_dir

FILES = [
    ("eval", "cdc/United_States_COVID-19_Cases_and_Deaths_by_State_over_Time.csv"),
    ("eval", "ctp_website/all-states-history.csv"),
    ("real", "nyt/us-states.csv"),
]


def _sources() -> dict[str, Source]:
    return {
        slug: Source(
            slug=slug,
            kind=spec.kind,
            worldwide="*" in spec.jurisdictions,
            lag=int(spec.conventions.get("report_lag_days", 0)),
        )
        for slug, spec in catalogue().items()
    }


@pytest.fixture(scope="module")
def reconciled() -> tuple[Panel, dict[SeriesKey, dict[dt.date, int]], Computed, object]:
    shared = shared_data_dir()
    if shared is None:
        pytest.skip("../shared/data is not here (set CORROBORATE_REQUIRE_SHARED_DATA=1 to fail)")
    owners = {fmt: slug for slug, spec in catalogue().items() for fmt in spec.formats}
    panel = Panel()
    index: dict[SeriesKey, dict[dt.date, int]] = {}
    number = 0
    for part, name in FILES:
        path: Path = shared / part / name
        content = path.read_bytes()
        fmt = detect_format(content, path.name)
        for obs in get_adapter(fmt).parse(content).observations:
            key = (owners[fmt], obs.region, str(obs.metric))
            panel.series.setdefault(key, {})[obs.date] = obs.value
            index.setdefault(key, {})[obs.date] = number
            number += 1
    compose(panel)
    complete(panel)
    sources = _sources()
    analysis = analyse(panel, sources)
    computed = compute(panel, index, sources, analysis, DEFAULT_TOLERANCES, regions=panel.regions())
    return panel, index, computed, analysis


def test_new_york_is_composed_from_the_cdc_jurisdictions(reconciled: tuple) -> None:
    panel, index, computed, _ = reconciled
    key = ("cdc", "US-NY", "cases_cumulative")
    assert panel.derived[key] == "sum of US-NY-NYC + US-NY-EXCL-NYC"
    day = dt.date(2020, 7, 1)
    [figure] = [
        f
        for f in computed.figures
        if (f.region, f.metric, f.date) == ("US-NY", "cases_cumulative", day)
    ]
    record = json.loads(figure.canonical)
    [cdc] = [i for i in record["inputs"] if i["publisher"] == "cdc"]
    assert cdc["derived"] == "sum of US-NY-NYC + US-NY-EXCL-NYC"
    parts = [
        index[("cdc", part, "cases_cumulative")][day] for part in ("US-NY-NYC", "US-NY-EXCL-NYC")
    ]
    assert cdc["observations"] == parts
    assert cdc["value"] == sum(
        panel.series[("cdc", p, "cases_cumulative")][day] for p in ("US-NY-NYC", "US-NY-EXCL-NYC")
    )
    assert "cdc sum of US-NY-NYC + US-NY-EXCL-NYC" in figure.explanation
    assert figure.lineages == 3  # cdc, ctp and nyt: none copies another


def test_date_shifts_and_lineages_hold(reconciled: tuple) -> None:
    _, _, _, analysis = reconciled
    best = {p: f.best for p, f in analysis.fits.items() if f.best is not None}
    assert best == {"cdc": 0, "ctp": 0, "nyt": 0}
    assert all(analysis.fits[p].declared_fits for p in best)
    assert analysis.links == []  # three independent US sources


def test_statuses_on_the_states(reconciled: tuple) -> None:
    _, _, computed, _ = reconciled
    states = [
        f
        for f in computed.figures
        if f.metric == "cases_cumulative" and f.date.year == 2020 and f.date.month >= 4
    ]
    counts = Counter(str(f.status) for f in states)
    print(f"eval: US state cases_cumulative figures Apr–Dec 2020 by status: {dict(counts)}")
    assert counts["ATTESTED"] > counts["DISPUTED"]  # independent counts of one epidemic agree
    assert counts["ATTESTED"] + counts["DISPUTED"] > 0.9 * len(states)
