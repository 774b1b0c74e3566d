"""Anomalies within one publisher's series, flagged on the observations they concern.

Each rule reads one publisher's series for one region (after ``align.complete``, so a publisher
that gives only cumulative counts is also read through its day-to-day differences) and names the
*published* observation a flag belongs to: a spike in a daily series derived from cumulative
counts is flagged on the cumulative value that jumped.

- ``CUMULATIVE_DECREASE``: a cumulative count lower than the publisher's previous day.
- ``NEGATIVE_DAILY``: a published daily count below zero.
- ``BACK_DISTRIBUTION_SPIKE``: a daily count at least ``SPIKE_FACTOR`` times the median of the
  ``SPIKE_WINDOW`` reported days either side (and at least ``SPIKE_MINIMUM``): a backlog reported
  on one day. (``reclassify_jumps`` in ``figures`` turns it into ``DEFINITION_CHANGE`` when the
  jump leaves the publisher persistently apart from the other lineages.)
- ``FROZEN``: a cumulative count repeated on at least ``FROZEN_DAYS`` consecutive days after the
  series had been rising (median daily increase of at least 1 over the ``FROZEN_DAYS * 2`` days
  before); the repeats are flagged.
- ``DEFINITION_CHANGE``: see above; a jump (a spike or a decrease) after which the publisher
  stays apart from the others.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ingest.reconcile.align import CUMULATIVE_OF, DAILY_OF, ONE_DAY, Panel, SeriesKey

SPIKE_FACTOR = 5
SPIKE_MINIMUM = 50
SPIKE_WINDOW = 7
FROZEN_DAYS = 7


class AnomalyType(StrEnum):
    CUMULATIVE_DECREASE = "CUMULATIVE_DECREASE"
    NEGATIVE_DAILY = "NEGATIVE_DAILY"
    BACK_DISTRIBUTION_SPIKE = "BACK_DISTRIBUTION_SPIKE"
    FROZEN = "FROZEN"
    DEFINITION_CHANGE = "DEFINITION_CHANGE"


@dataclass(frozen=True)
class Flag:
    """An anomaly of ``series`` on ``date``, to be recorded on ``observation`` (a ledger index)."""

    series: SeriesKey  # the published series the observation belongs to
    date: dt.date
    observation: int
    type: AnomalyType
    detail: str


Index = Mapping[SeriesKey, Mapping[dt.date, int]]  # published series -> date -> ledger index


def _flag_target(panel: Panel, key: SeriesKey) -> SeriesKey | None:
    """The published series whose observations carry the flags of ``key`` (None: a composition)."""
    if panel.published(key):
        return key
    how, bases = panel.derivation.get(key, ("", ()))
    if how in ("difference", "running-sum") and panel.published(bases[0]):
        return bases[0]
    return None


def series_flags(panel: Panel, index: Index, key: SeriesKey) -> Iterator[Flag]:
    """Every anomaly of one series of ``panel`` (one publisher, region and metric)."""
    target = _flag_target(panel, key)
    if target is None:
        return
    observations = index.get(target, {})
    series = panel.series[key]
    days = sorted(series)
    metric = key[2]

    def flag(day: dt.date, kind: AnomalyType, detail: str) -> Flag | None:
        found = observations.get(day)
        return None if found is None else Flag(target, day, found, kind, detail)

    found: list[Flag | None] = []
    if metric in DAILY_OF:  # cumulative
        if panel.published(key):
            for before, day in itertools.pairwise(days):
                if series[day] < series[before]:
                    found.append(
                        flag(
                            day,
                            AnomalyType.CUMULATIVE_DECREASE,
                            f"{series[day]:,} after {series[before]:,} on {before.isoformat()}",
                        )
                    )
        found.extend(_frozen(series, days, flag))
    elif metric in CUMULATIVE_OF:  # daily
        if panel.published(key):
            for day in days:
                if series[day] < 0:
                    found.append(flag(day, AnomalyType.NEGATIVE_DAILY, f"{series[day]:,}"))
        found.extend(_spikes(series, days, flag))
    yield from (f for f in found if f is not None)


def _spikes(series: Mapping[dt.date, int], days: list[dt.date], flag) -> Iterator[Flag | None]:  # type: ignore[no-untyped-def]
    values = [series[day] for day in days]
    for i, value in enumerate(values):
        if value < SPIKE_MINIMUM:
            continue
        around = values[max(0, i - SPIKE_WINDOW) : i] + values[i + 1 : i + 1 + SPIKE_WINDOW]
        if len(around) < SPIKE_WINDOW:
            continue
        baseline = statistics.median(max(0, v) for v in around)
        if value >= SPIKE_FACTOR * max(baseline, 1):
            yield flag(
                days[i],
                AnomalyType.BACK_DISTRIBUTION_SPIKE,
                f"{value:,} new in a day against a median of {baseline:,.0f} on the "
                f"{len(around)} days around it",
            )


def _frozen(series: Mapping[dt.date, int], days: list[dt.date], flag) -> Iterator[Flag | None]:  # type: ignore[no-untyped-def]
    run_start = 0
    for i in range(1, len(days) + 1):
        same = (
            i < len(days)
            and days[i] - days[i - 1] == ONE_DAY
            and series[days[i]] == series[days[run_start]]
        )
        if same:
            continue
        length = i - run_start
        if length >= FROZEN_DAYS and series[days[run_start]] > 0:
            before = days[max(0, run_start - 2 * FROZEN_DAYS) : run_start + 1]
            rises = [
                series[b] - series[a] for a, b in itertools.pairwise(before) if b - a == ONE_DAY
            ]
            if len(rises) >= FROZEN_DAYS and statistics.median(rises) >= 1:
                first = days[run_start]
                for day in days[run_start + 1 : i]:
                    yield flag(
                        day,
                        AnomalyType.FROZEN,
                        f"{series[first]:,} unchanged since {first.isoformat()} "
                        f"({length} days) after rising by a median {statistics.median(rises):,.0f}"
                        " a day",
                    )
        run_start = i
