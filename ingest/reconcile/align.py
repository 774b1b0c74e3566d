"""Alignment before comparison, and lineage detection — pure functions over publishers' series.

A *series* is one publisher's values for one region and metric, by the date the publisher put
on them. Before publishers can be compared:

- **Dates.** A publisher declares ``report_lag_days``: its value dated D counts up to D − lag.
  ``fit_lags`` checks each declaration against the data: for every candidate lag it takes the
  median relative difference between the publisher's cumulative series, read at D + lag, and
  every other publisher's, read at D + their declared lag. It reports the declared lag's fit and
  the lag that fits best.
- **Jurisdictions.** ``compose`` adds a region a publisher reports only in parts (CDC's New York
  City and the rest of New York State → ``US-NY``), marked derived. County roll-ups to states are
  already made by the adapters that need them (JHU's US files) and marked there.
- **Cumulative and daily.** ``complete`` derives the cumulative series from a daily one (and the
  daily from a cumulative one) where a publisher gives only one, marked derived, so that like is
  compared with like.

**Lineages.** Publishers that copy one another are one lineage and count once. A pair is linked
when their *published* (never derived) values are identical on at least ``threshold`` of the
region-days both cover, dates aligned by lag; days where both say 0 are left out, since every
series starts with zeros. Links are found over all regions at once (so a copier is recognised by
its whole record), but grouped per region (``lineages``): WHO relaying Italy's ministry joins
them in Italy only, where both report, not elsewhere.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ingest.regions import PARTITIONS

Series = dict[dt.date, int]
SeriesKey = tuple[str, str, str]  # (publisher, region, metric)

CUMULATIVE_OF = {"cases_daily": "cases_cumulative", "deaths_daily": "deaths_cumulative"}
DAILY_OF = {cumulative: daily for daily, cumulative in CUMULATIVE_OF.items()}
ONE_DAY = dt.timedelta(days=1)


@dataclass
class Panel:
    """Every series in play; ``derived`` names the ones computed here rather than published."""

    series: dict[SeriesKey, Series] = field(default_factory=dict)
    derived: dict[SeriesKey, str] = field(default_factory=dict)  # key -> how it was derived
    # key -> ("sum", parts) | ("difference", (cumulative,)) | ("running-sum", (daily,))
    derivation: dict[SeriesKey, tuple[str, tuple[SeriesKey, ...]]] = field(default_factory=dict)

    @classmethod
    def from_values(cls, values: Iterable[tuple[str, str, str, dt.date, int]]) -> Panel:
        """From (publisher, region, metric, date, value) tuples."""
        panel = cls()
        for publisher, region, metric, day, value in values:
            panel.series.setdefault((publisher, region, metric), {})[day] = value
        return panel

    def publishers(self) -> list[str]:
        return sorted({key[0] for key in self.series})

    def regions(self) -> list[str]:
        return sorted({key[1] for key in self.series})

    def published(self, key: SeriesKey) -> bool:
        return key in self.series and key not in self.derived


def compose(panel: Panel, partitions: Mapping[str, Sequence[str]] = PARTITIONS) -> None:
    """Add each partitioned region a publisher gives only in parts, on the days it gives them all."""
    for publisher, _region, metric in list(panel.series):
        for whole, parts in partitions.items():
            if (publisher, whole, metric) in panel.series:
                continue
            found = [panel.series.get((publisher, part, metric)) for part in parts]
            if any(series is None for series in found):
                continue
            series_list = [s for s in found if s is not None]
            days = set.intersection(*(set(s) for s in series_list))
            key = (publisher, whole, metric)
            panel.series[key] = {day: sum(s[day] for s in series_list) for day in sorted(days)}
            panel.derived[key] = f"sum of {' + '.join(parts)}"
            panel.derivation[key] = ("sum", tuple((publisher, part, metric) for part in parts))


def complete(panel: Panel) -> None:
    """Derive the missing cumulative or daily series of each publisher, region and measure.

    A cumulative series derived from daily values is their running sum from the publisher's first
    day, so it is only as complete as the daily series; a daily series derived from a cumulative
    one is its day-to-day difference (the first day has none).
    """
    for (publisher, region, metric), series in list(panel.series.items()):
        if metric in CUMULATIVE_OF:
            target = (publisher, region, CUMULATIVE_OF[metric])
            if target not in panel.series:
                total, derived = 0, {}
                for day in sorted(series):
                    total += series[day]
                    derived[day] = total
                panel.series[target] = derived
                panel.derived[target] = f"running sum of {metric}"
                panel.derivation[target] = ("running-sum", ((publisher, region, metric),))
        elif metric in DAILY_OF:
            target = (publisher, region, DAILY_OF[metric])
            if target not in panel.series:
                panel.series[target] = {
                    day: value - series[day - ONE_DAY]
                    for day, value in series.items()
                    if day - ONE_DAY in series
                }
                panel.derived[target] = f"day-to-day difference of {metric}"
                panel.derivation[target] = ("difference", ((publisher, region, metric),))


# --- date conventions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LagFit:
    publisher: str
    declared: int
    declared_error: float | None  # median relative difference at the declared lag
    best: int | None  # the lag that fits best (None: nothing to compare with)
    best_error: float | None
    by_lag: dict[int, float]  # lag -> median relative difference
    days: int  # comparisons made at the best lag

    @property
    def declared_fits(self) -> bool:
        return self.best is None or self.best == self.declared


def _relative(a: int, b: int) -> float:
    return abs(a - b) / max(abs(a), abs(b))


def fit_lags(
    panel: Panel,
    declared: Mapping[str, int],
    *,
    regions: Iterable[str] | None = None,
    metrics: Sequence[str] = ("cases_cumulative", "deaths_cumulative"),
    lags: Sequence[int] = (-2, -1, 0, 1, 2, 3),
    minimum: int = 10,
) -> dict[str, LagFit]:
    """How well each publisher's declared lag fits, and which lag fits best (see module doc).

    Values under ``minimum`` are left out: early zeros and single cases say nothing about dates.
    """
    overall, _ = fit_lags_by_region(
        panel, declared, regions=regions, metrics=metrics, lags=lags, minimum=minimum
    )
    return overall


def fit_lags_by_region(
    panel: Panel,
    declared: Mapping[str, int],
    *,
    regions: Iterable[str] | None = None,
    metrics: Sequence[str] = ("cases_cumulative", "deaths_cumulative"),
    lags: Sequence[int] = (-2, -1, 0, 1, 2, 3),
    minimum: int = 10,
) -> tuple[dict[str, LagFit], dict[str, dict[str, LagFit]]]:
    """``fit_lags`` over all the regions together, and for each region alone, in one pass."""
    wanted = set(regions) if regions is not None else None
    by_region: dict[tuple[str, str], dict[str, Series]] = defaultdict(dict)
    for (publisher, region, metric), series in panel.series.items():
        if metric in metrics and (wanted is None or region in wanted):
            by_region[(region, metric)][publisher] = series
    # (publisher, region) -> lag -> relative differences
    errors: dict[tuple[str, str], dict[int, list[float]]] = {}
    steps = [(lag, dt.timedelta(days=lag)) for lag in lags]
    for (region, _metric), group in by_region.items():
        for publisher, mine in group.items():
            found = errors.setdefault((publisher, region), {lag: [] for lag in lags})
            for other, theirs in group.items():
                if other == publisher:
                    continue
                other_lag = dt.timedelta(days=declared.get(other, 0))
                for day, value in theirs.items():
                    if value < minimum:
                        continue
                    event = day - other_lag
                    for lag, step in steps:
                        mine_value = mine.get(event + step)
                        if mine_value is not None and mine_value >= minimum:
                            found[lag].append(_relative(mine_value, value))
    overall: dict[str, dict[int, list[float]]] = {
        p: {lag: [] for lag in lags} for p in panel.publishers()
    }
    per_region: dict[str, dict[str, LagFit]] = defaultdict(dict)
    for (publisher, region), found in errors.items():
        for lag, values in found.items():
            overall[publisher][lag].extend(values)
        fit = _fit(publisher, declared.get(publisher, 0), found)
        if fit.best is not None:
            per_region[region][publisher] = fit
    return (
        {p: _fit(p, declared.get(p, 0), found) for p, found in overall.items()},
        dict(per_region),
    )


def _fit(publisher: str, own: int, errors: Mapping[int, list[float]]) -> LagFit:
    by_lag = {lag: statistics.median(found) for lag, found in errors.items() if found}
    best = min(by_lag, key=lambda lag: (by_lag[lag], abs(lag - own))) if by_lag else None
    return LagFit(
        publisher=publisher,
        declared=own,
        declared_error=by_lag.get(own),
        best=best,
        best_error=by_lag.get(best) if best is not None else None,
        by_lag=by_lag,
        days=len(errors[best]) if best is not None else 0,
    )


# --- lineages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairEvidence:
    """How often two publishers' published values are identical on the region-days both cover."""

    first: str
    second: str
    identical: int
    compared: int
    regions: tuple[str, ...]

    @property
    def share(self) -> float:
        return self.identical / self.compared if self.compared else 0.0


def pair_evidence(panel: Panel, lags: Mapping[str, int]) -> list[PairEvidence]:
    """Identity of every pair of publishers over the published series both give (any metric)."""
    by_region: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key in panel.series:
        if panel.published(key):
            by_region[(key[1], key[2])].append(key[0])
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    where: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (region, metric), publishers in by_region.items():
        publishers.sort()
        for i, first in enumerate(publishers):
            a = panel.series[(first, region, metric)]
            shift_a = dt.timedelta(days=lags.get(first, 0))
            for second in publishers[i + 1 :]:
                b = panel.series[(second, region, metric)]
                shift_b = dt.timedelta(days=lags.get(second, 0))
                tally = counts[(first, second)]
                for day, value in a.items():
                    other = b.get(day - shift_a + shift_b)
                    if other is None or (value == 0 and other == 0):
                        continue
                    tally[1] += 1
                    tally[0] += value == other
                where[(first, second)].add(region)
    return [
        PairEvidence(first, second, identical, compared, tuple(sorted(where[(first, second)])))
        for (first, second), (identical, compared) in sorted(counts.items())
        if compared
    ]


def linked_pairs(
    evidence: Iterable[PairEvidence], *, threshold: float = 0.9, minimum_days: int = 30
) -> list[PairEvidence]:
    """The pairs that copy one another: identical on ``threshold`` of at least ``minimum_days``."""
    return [e for e in evidence if e.compared >= minimum_days and e.share >= threshold]


def lineages(publishers: Iterable[str], links: Iterable[PairEvidence]) -> list[tuple[str, ...]]:
    """Group ``publishers`` (those reporting one region) into lineages by the links among them."""
    present = sorted(set(publishers))
    parent = {p: p for p in present}

    def root(p: str) -> str:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for link in links:
        if link.first in parent and link.second in parent:
            parent[root(link.first)] = root(link.second)
    groups: dict[str, list[str]] = defaultdict(list)
    for p in present:
        groups[root(p)].append(p)
    return sorted(tuple(sorted(group)) for group in groups.values())
