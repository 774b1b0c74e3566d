"""Each input's derivation read back as data from the words its attestation records
(``figures.derivation_of``), for every step ``align`` takes: the words and the reader stay in
step, or this fails."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ingest.reconcile.align import Panel, complete, compose
from ingest.reconcile.figures import (
    Derivation,
    InputDerivation,
    RegionContext,
    Source,
    attest,
    derivation_of,
)
from ingest.regions import NEW_YORK_CITY, NEW_YORK_EXCLUDING_NYC

DAY = dt.date(2020, 4, 1)
HOW = {
    "sum": Derivation.COMPOSED_FROM_PARTS,
    "running-sum": Derivation.CUMULATIVE_FROM_DAILY,
    "difference": Derivation.DAILY_FROM_CUMULATIVE,
}


def _panel() -> Panel:
    """A daily-only publisher, a cumulative-only one, and one giving New York in parts."""
    values = []
    for offset in range(5):
        day = DAY + dt.timedelta(days=offset)
        values += [
            ("daily", "ITA", "cases_daily", day, 10 + offset),
            ("total", "ITA", "cases_cumulative", day, 100 + 11 * offset),
            ("parts", NEW_YORK_CITY, "cases_cumulative", day, 50 + offset),
            ("parts", NEW_YORK_EXCLUDING_NYC, "cases_cumulative", day, 20 + offset),
            ("parts", NEW_YORK_CITY, "cases_daily", day, 1),
            ("parts", NEW_YORK_EXCLUDING_NYC, "cases_daily", day, 2),
        ]
    panel = Panel.from_values(values)
    compose(panel)
    complete(panel)
    return panel


def test_every_derived_series_reads_back_as_the_step_that_made_it() -> None:
    panel = _panel()
    sources = {
        slug: Source(slug, "official-agency", worldwide=False, lag=0)
        for slug in ("daily", "total", "parts")
    }
    context = RegionContext(sources=sources, links=[], tolerances={})
    seen = set()
    for key, (how, _) in panel.derivation.items():
        _, region, metric = key
        for figure in attest(panel, {}, region, metric, context):
            for item in json.loads(figure.canonical)["inputs"]:
                if item["publisher"] != key[0]:
                    continue
                found = derivation_of(item.get("derived"))
                assert found.method is HOW[how], (key, item)
                seen.add(found.method)
                if found.method is Derivation.CUMULATIVE_FROM_DAILY:
                    days = (dt.date.fromisoformat(item["date"]) - DAY).days + 1
                    assert found == InputDerivation(
                        Derivation.CUMULATIVE_FROM_DAILY, "cases_daily", DAY, days
                    )
    assert seen == set(HOW.values())


def test_published_inputs_and_unknown_words() -> None:
    assert derivation_of(None) == InputDerivation(Derivation.AS_PUBLISHED)
    older = derivation_of("running sum of deaths_daily")  # without its days: the whole series
    assert (older.method, older.summed_metric, older.first_day) == (
        Derivation.CUMULATIVE_FROM_DAILY,
        "deaths_daily",
        None,
    )
    with pytest.raises(ValueError, match="expected a derivation as the reconciler writes it"):
        derivation_of("moving average of cases_daily")
