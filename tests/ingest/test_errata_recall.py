"""JHU CSSE's published errata as ground truth for the reconciler: how many of them it would flag.

``errata/jhu_csse/Errata.csv`` records 18,446 corrections JHU made to its time series, each with
the value it had published ("Old") and the corrected one ("New"). JHU's files here were taken
after most of them, so they hold the corrected values. This test puts the recorded wrong values
back: for each (compared region, metric, day) it adds the summed ``Old − New`` of its
errata to JHU's series (a county's error rolled up into its state's total, as JHU's US files are
read), wherever at least two lineages other than JHU's cover that region and day, recomputes the
figures with the analysis of the unaltered run, and counts how many of those points are flagged:
DISPUTED on any figure resting on the altered observation (the cumulative figure, and the daily
figures of that day and the next, which JHU's derived daily series takes from it) or an anomaly
on the observation itself.

Recall is reported by the size of the error against the corrected JHU value at the compared level
(≤ 1%, 1–5%, 5–10%, > 10%), with the share of unaltered figures flagged, so the cost of the
sensitivity shows. Run ``pytest -s tests/ingest/test_errata_recall.py`` to see the table.

Rules for reading the errata (every row left out is counted by reason):

- the metric comes from the file name (JHU misspells some): "confirmed"/"cases" → cumulative
  cases, "deaths" → cumulative deaths; "recovered" is not reconciled;
- ``Field Updated`` must be one date (ranges and lists give no per-day values), ``Old`` and
  ``New`` integers;
- Location: "County, State, US" and "State, US" → the state; "US" → the country; in a US file the
  trailing ", US" may be missing. Global rows: "Country" → the country; "Province, Country" → the
  province's own ISO 3166-1 code where it has one (JHU reads Greenland, Hong Kong, ... so), else
  its subdivision where another publisher reports it, else the country where JHU's country total
  is rolled up from its provinces (Australia, Canada, China), else left out;
- an erratum recorded after JHU's file was taken (its update date after the file's last day)
  is left out: the file still holds the wrong value, so there is nothing to put back;
- a row repeating an earlier one (same metric, place, day, Old and New) counts once;
- the rows naming one place, metric and day form a chain of corrections, kept only where JHU's
  file holds the last one's New for that place (a county, state, country or province: checked on
  JHU's own series of it). Where the file holds something else, JHU revised the value again
  later and ``Old − New`` would not give back what it had published. Rows JHU gives no series of
  its own ("Unassigned", "Out of XX", Utah's districts) cannot be checked and are kept.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import math
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ingest.adapters import detect_format, get_adapter
from ingest.adapters.base import Metric
from ingest.publishers import catalogue
from ingest.reconcile.align import DAILY_OF, Panel, SeriesKey, complete, compose
from ingest.reconcile.anomalies import Flag
from ingest.reconcile.engine import Analysis, analyse, compute
from ingest.reconcile.figures import DEFAULT_TOLERANCES, Figure, Source, Status
from ingest.regions import (
    all_regions,
    country_code,
    normalize_name,
    subdivision_code,
    us_state_code,
)
from tests.conftest import shared_data_dir

# Parses nine real files (~7 s), reconciles every region JHU reports and again those altered (~30 s
# in all on two cores).
pytestmark = pytest.mark.slow

JHU = "jhu-csse"
COUNTY_PREFIX = "US-FIPS-"
ERRATA = "errata/jhu_csse/Errata.csv"
# (file under real/, which of JHU's files it is: "us" or "global"; None for other publishers)
FILES: list[tuple[str, str | None]] = [
    ("jhu_csse/time_series_covid19_confirmed_global.csv", "global"),
    ("jhu_csse/time_series_covid19_deaths_global.csv", "global"),
    ("jhu_csse/time_series_covid19_confirmed_US.csv", "us"),
    ("jhu_csse/time_series_covid19_deaths_US.csv", "us"),
    ("who/WHO-COVID-19-global-data.csv", None),
    ("ecdc/ecdc.csv", None),
    ("owid/owid-covid-data.csv", None),
    ("nyt/us-states.csv", None),
    ("ctp/states_daily_4pm_et.csv", None),
]
BANDS = ("≤ 1%", "1–5%", "5–10%", "> 10%")
TARGET = 0.90  # recall wanted above 10%
MINIMUM_POINTS = 20  # in the > 10% band, so that the recall says something

Value = tuple[str, str, str, dt.date, int]  # publisher, region, metric, date, value
METRIC_NAMES = {metric: str(metric) for metric in Metric}


def band(change: int, corrected: int) -> str:
    if corrected == 0:
        return BANDS[3]
    ratio = abs(change) / abs(corrected)
    if ratio <= 0.01:
        return BANDS[0]
    if ratio <= 0.05:
        return BANDS[1]
    if ratio <= 0.10:
        return BANDS[2]
    return BANDS[3]


# --- the files ------------------------------------------------------------------------------


@dataclass
class Parsed:
    values: list[Value]  # every observation outside the US counties
    counties: dict[tuple[str, str], dict[dt.date, int]]  # JHU's series of the counties kept
    last_day: dict[tuple[str, str], dt.date]  # (JHU file kind, metric) -> its last day
    rolled_up: set[str]  # regions JHU gives only as a sum of its rows
    seconds: dict[str, float]


def parse_files(root: Path, keep: set[str]) -> Parsed:
    """Every file once, the series of the counties in ``keep``, and the last day of each of JHU's
    files."""
    owners = {fmt: slug for slug, spec in catalogue().items() for fmt in spec.formats}
    values: list[Value] = []
    counties: dict[tuple[str, str], dict[dt.date, int]] = defaultdict(dict)
    last_day: dict[tuple[str, str], dt.date] = {}
    rolled_up: set[str] = set()
    seconds: dict[str, float] = {}
    for name, jhu_kind in FILES:
        started = time.perf_counter()
        content = (root / name).read_bytes()
        fmt = detect_format(content, name)
        publisher = owners[fmt]
        observations = get_adapter(fmt).parse(content).observations
        for obs in observations:
            if obs.region.startswith(COUNTY_PREFIX):
                # counties are not reconciled (their values reach the states); only read here
                if obs.region in keep:
                    counties[(obs.region, METRIC_NAMES[obs.metric])][obs.date] = obs.value
                continue
            if obs.derived_from:
                rolled_up.add(obs.region)
            values.append((publisher, obs.region, METRIC_NAMES[obs.metric], obs.date, obs.value))
        if jhu_kind is not None:  # each of JHU's files gives one metric
            metric = METRIC_NAMES[observations[0].metric]
            last_day[(jhu_kind, metric)] = max(obs.date for obs in observations)
        seconds[name] = time.perf_counter() - started
    return Parsed(values, dict(counties), last_day, rolled_up, seconds)


# --- the errata -----------------------------------------------------------------------------

_DAY = re.compile(r"\s*(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\s*")
_INTEGER = re.compile(r"\s*-?\d+\s*")


def parse_day(text: str) -> dt.date | None:
    """M/D/YYYY or M/D/YY (with or without leading zeros); None for anything else."""
    found = _DAY.fullmatch(text)
    if found is None:
        return None
    month, day, year = (int(part) for part in found.groups())
    try:
        return dt.date(year + 2000 if year < 100 else year, month, day)
    except ValueError:
        return None


def metric_of(file_name: str) -> str | None:
    name = file_name.casefold()
    if "recovered" in name:
        return None
    if "confirmed" in name or "cases" in name:
        return "cases_cumulative"
    if "deaths" in name:
        return "deaths_cumulative"
    return None


@dataclass(frozen=True)
class Erratum:
    record: int  # 1-based data record in Errata.csv
    region: str  # the compared region
    checked: str | None  # the region whose JHU value the row names; None: no series of its own
    metric: str
    day: dt.date  # the date JHU put on the value
    updated: dt.date
    old: int
    new: int
    location: str

    @property
    def change(self) -> int:
        return self.old - self.new


@dataclass
class Errata:
    rows: int
    used: list[Erratum]
    skipped: Counter[str]
    unchecked: int  # rows used whose own value JHU gives no series for


@functools.cache
def _counties() -> dict[tuple[str, str], str]:
    """(state, normalised county name) -> county code, from the names in ``ingest.regions``."""
    found = {}
    for county in all_regions():
        if county.level == "county" and county.parent is not None:
            name = county.name.rsplit(", ", 1)[0]
            found[(county.parent, normalize_name(name))] = county.code
    return found


def county_code(state: str, name: str) -> str | None:
    counties = _counties()
    key = normalize_name(name)
    return counties.get((state, key)) or counties.get((state, key.removesuffix(" county")))


def place(
    location: str, us_file: bool, compared: set[str], rolled_up: set[str]
) -> tuple[str | None, str | None, str]:
    """The compared region of an erratum's Location, the region whose own value it names (None
    when JHU gives that row no series: "Unassigned", "Out of XX", health districts), or None and
    why not."""
    parts = [part.strip() for part in location.split(",") if part.strip()]
    if not parts:
        return None, None, "Location blank"
    if parts[-1] == "US":
        us_file, parts = True, parts[:-1]
        if not parts:
            return "USA", "USA", ""
    if us_file:
        state = us_state_code(parts[-1])
        if state is None:
            return None, None, "Location: no US state named"
        if len(parts) == 1:
            return state, state, ""
        return state, county_code(state, " ".join(parts[:-1])), ""
    if len(parts) == 1:
        code = country_code(parts[0])
        return (code, code, "") if code is not None else (None, None, "Location: no country named")
    country = country_code(parts[-1]) if len(parts) == 2 else None
    if country is None:
        return None, None, "Location: no country named"
    own = country_code(parts[0])
    if own is not None and own != country:
        return own, own, ""
    subdivision = subdivision_code(country, parts[0])
    if subdivision is not None and subdivision in compared:
        return subdivision, subdivision, ""
    if country in rolled_up:
        return country, subdivision, ""
    return None, None, "Location: a province outside any total compared"


def counties_named(rows: Iterable[Mapping[str, str]]) -> set[str]:
    """The counties whose own values the errata name."""
    found = set()
    for row in rows:
        us_file = "_us" in row["File"].casefold()
        _, checked, _ = place(row["Location"], us_file, set(), set())
        if checked is not None and checked.startswith(COUNTY_PREFIX):
            found.add(checked)
    return found


def read_errata(
    rows: list[dict[str, str]],
    last_day: Mapping[tuple[str, str], dt.date],
    compared: set[str],
    rolled_up: set[str],
    jhu: Mapping[tuple[str, str], Mapping[dt.date, int]],
) -> Errata:
    """The usable errata, one per row, and the rows left out by reason.

    Rows naming the same place, metric and day are a chain of corrections (Old of one, New of
    the one before): they are kept when JHU's file (``jhu``: (region, metric) -> series) holds
    the last New there, so that their summed ``Old − New`` puts back the first wrong value.
    """
    skipped: Counter[str] = Counter()
    seen: set[tuple[str, str, dt.date, int, int]] = set()
    chains: dict[tuple[str, str, dt.date], list[Erratum]] = defaultdict(list)
    for record, row in enumerate(rows, start=1):
        file_name, location = row["File"], row["Location"]
        metric = metric_of(file_name)
        if metric is None:
            recovered = "recovered" in file_name.casefold()
            skipped["recovered (not reconciled)" if recovered else "File names no metric"] += 1
            continue
        day = parse_day(row["Field Updated"])
        if day is None:
            skipped["Field Updated is not one date"] += 1
            continue
        old, new = row["Old"], row["New"]
        if not old.strip() or not new.strip():
            skipped["Old or New blank"] += 1
            continue
        if not (_INTEGER.fullmatch(old) and _INTEGER.fullmatch(new)):
            skipped["Old or New not an integer"] += 1
            continue
        region, checked, why = place(location, "_us" in file_name.casefold(), compared, rolled_up)
        if region is None:
            skipped[why] += 1
            continue
        updated = parse_day(row["Update Date"])
        kind = "us" if region.startswith("US-") else "global"
        if updated is None or updated > last_day[(kind, metric)]:
            skipped["recorded after JHU's file was taken"] += 1
            continue
        if int(old) == int(new):
            skipped["Old equals New"] += 1
            continue
        where = ",".join(part.strip().casefold() for part in location.split(","))
        key = (metric, where.removesuffix(",us"), day, int(old), int(new))
        if key in seen:
            skipped["repeats an earlier row"] += 1
            continue
        seen.add(key)
        erratum = Erratum(
            record, region, checked, metric, day, updated, int(old), int(new), location
        )
        chains[(checked or f"{region}:{key[1]}", metric, day)].append(erratum)
    used: list[Erratum] = []
    unchecked = 0
    for (checked, metric, day), chain in chains.items():
        chain.sort(key=lambda e: (e.updated, e.record))
        if chain[0].checked is None:
            used.extend(chain)
            unchecked += len(chain)
            continue
        held = jhu.get((checked, metric), {}).get(day)
        if held == chain[-1].new:
            used.extend(chain)
        elif held is None:
            skipped["JHU's file has no value for the row that day"] += len(chain)
        elif held == chain[0].old:
            skipped["JHU's file holds the Old value"] += len(chain)
        else:
            skipped["JHU's file holds neither Old nor New (revised again)"] += len(chain)
    used.sort(key=lambda e: e.record)
    return Errata(len(rows), used, skipped, unchecked)


# --- the measurement ------------------------------------------------------------------------


@dataclass
class Point:
    """The summed errata of one (compared region, metric, day): what is put back."""

    region: str
    metric: str
    day: dt.date
    change: int = 0
    rows: list[Erratum] = field(default_factory=list)
    corrected: int = 0  # JHU's value in the file
    band: str = ""
    others: int = 0  # lineages other than JHU's in the unaltered figure
    # outcome in the altered run
    cumulative_disputed: bool = False
    daily_disputed: bool = False
    anomalies: tuple[str, ...] = ()
    flagged_unaltered: bool = False  # already flagged (headline rule) before altering
    status_unaltered: str = ""  # of the cumulative figure
    lineage_values: dict[str, int] = field(default_factory=dict)  # counted -> value, altered
    spread: int = 0  # of the altered cumulative figure

    @property
    def wrong(self) -> int:
        """JHU's value with the error put back."""
        return self.corrected + self.change

    @property
    def caught(self) -> bool:
        return self.cumulative_disputed or self.daily_disputed or bool(self.anomalies)


@dataclass
class Measurement:
    parsed: Parsed
    errata: Errata
    points: list[Point]  # every mapped point
    excluded: Counter[str]  # points not altered, by reason
    altered: list[Point]
    # (flagged, compared) among unaltered cumulative figures with JHU and >= 2 other lineages
    false_cumulative: dict[str, tuple[int, int]]  # run -> (cumulative DISPUTED or anomaly)
    false_headline: dict[str, tuple[int, int]]  # run -> the headline rule
    seconds: dict[str, float]


def sources_of_catalogue() -> dict[str, Source]:
    return {
        slug: Source(
            slug=slug,
            kind=spec.kind,
            worldwide="*" in spec.jurisdictions,
            lag=int(spec.conventions.get("report_lag_days", 0)),
        )
        for slug, spec in catalogue().items()
    }


def numbered(panel: Panel) -> dict[SeriesKey, dict[dt.date, int]]:
    """A ledger index of our own for every published observation."""
    index: dict[SeriesKey, dict[dt.date, int]] = {}
    number = 0
    for key in sorted(panel.series):
        index[key] = {}
        for day in sorted(panel.series[key]):
            index[key][day] = number
            number += 1
    return index


def other_lineages(figure: Figure) -> tuple[bool, int]:
    """Whether JHU's value counts in the figure, and how many lineages besides JHU's it has."""
    lineages = json.loads(figure.canonical)["lineages"]
    counted = any(record["counted"] == JHU for record in lineages)
    return counted, sum(JHU not in record["publishers"] for record in lineages)


class Outcome:
    """The figures and flags of one run, looked up by (region, metric, figure date)."""

    def __init__(self, figures: Iterable[Figure], flags: Iterable[Flag]) -> None:
        self.figures = {(f.region, f.metric, f.date): f for f in figures}
        self.flags: dict[int, set[str]] = defaultdict(set)
        for flag in flags:
            self.flags[flag.observation].add(str(flag.type))

    def disputed(self, region: str, metric: str, day: dt.date) -> bool:
        figure = self.figures.get((region, metric, day))
        return figure is not None and figure.status is Status.DISPUTED


def judge(
    outcome: Outcome,
    index: Mapping[SeriesKey, Mapping[dt.date, int]],
    region: str,
    metric: str,
    day: dt.date,
    lag: int,
) -> tuple[bool, bool, tuple[str, ...]]:
    """For JHU's observation dated ``day``: is the cumulative figure resting on it DISPUTED, is a
    daily figure resting on it (that day's or the next's) DISPUTED, and the anomalies on it."""
    event = day - dt.timedelta(days=lag)
    daily = DAILY_OF[metric]
    cumulative = outcome.disputed(region, metric, event)
    next_day = event + dt.timedelta(days=1)
    daily_hit = outcome.disputed(region, daily, event) or outcome.disputed(region, daily, next_day)
    observation = index.get((JHU, region, metric), {}).get(day)
    kinds = tuple(sorted(outcome.flags.get(observation, ()))) if observation is not None else ()
    return cumulative, daily_hit, kinds


def altered_panel(base: Panel, regions: set[str], points: Iterable[Point]) -> Panel:
    """The published series of ``regions`` with the errata put back into JHU's, composed and
    completed again (so JHU's derived daily series carries them too)."""
    panel = Panel(
        series={
            key: dict(series)
            for key, series in base.series.items()
            if key[1] in regions and base.published(key)
        }
    )
    for point in points:
        panel.series[(JHU, point.region, point.metric)][point.day] += point.change
    compose(panel)
    complete(panel)
    return panel


def measure(root: Path) -> Measurement:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    text = (root / ERRATA).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    parsed = parse_files(root, counties_named(rows))
    seconds["parse"] = time.perf_counter() - started

    clock = time.perf_counter()
    panel = Panel.from_values(parsed.values)
    index = numbered(panel)
    compose(panel)
    complete(panel)
    sources = sources_of_catalogue()
    lag = sources[JHU].lag
    analysis: Analysis = analyse(panel, sources)
    seconds["analyse"] = time.perf_counter() - clock

    clock = time.perf_counter()
    jhu_regions = sorted({key[1] for key in panel.series if key[0] == JHU})
    unaltered = compute(panel, index, sources, analysis, DEFAULT_TOLERANCES, regions=jhu_regions)
    baseline = Outcome(unaltered.figures, unaltered.flags)
    seconds["baseline"] = time.perf_counter() - clock

    clock = time.perf_counter()
    compared = {key[1] for key in panel.series if key[0] != JHU}
    held = {(key[1], key[2]): series for key, series in panel.series.items() if key[0] == JHU}
    errata = read_errata(
        rows, parsed.last_day, compared, parsed.rolled_up, {**held, **parsed.counties}
    )
    grouped: dict[tuple[str, str, dt.date], Point] = {}
    for erratum in errata.used:
        key = (erratum.region, erratum.metric, erratum.day)
        point = grouped.setdefault(key, Point(*key))
        point.change += erratum.change
        point.rows.append(erratum)
    points = list(grouped.values())
    excluded: Counter[str] = Counter()
    altered: list[Point] = []
    for point in points:
        jhu = panel.series.get((JHU, point.region, point.metric), {})
        if point.day not in jhu:
            excluded["JHU gives no value that day"] += 1
            continue
        if point.change == 0:
            excluded["errata cancel out"] += 1
            continue
        point.corrected = jhu[point.day]
        point.band = band(point.change, point.corrected)
        figure = baseline.figures[(point.region, point.metric, point.day - dt.timedelta(days=lag))]
        counted, point.others = other_lineages(figure)
        if not counted:
            excluded["JHU's value is not the one its lineage counts"] += 1
            continue
        if point.others < 2:
            excluded["fewer than 2 other lineages that day"] += 1
            continue
        altered.append(point)
    seconds["errata"] = time.perf_counter() - clock

    clock = time.perf_counter()
    regions = {point.region for point in altered}
    changed = altered_panel(panel, regions, altered)
    run = compute(changed, index, sources, analysis, DEFAULT_TOLERANCES, regions=sorted(regions))
    after = Outcome(
        [*(f for f in unaltered.figures if f.region not in regions), *run.figures],
        [*(f for f in unaltered.flags if f.series[1] not in regions), *run.flags],
    )
    for point in altered:
        point.cumulative_disputed, point.daily_disputed, point.anomalies = judge(
            after, index, point.region, point.metric, point.day, lag
        )
        before = judge(baseline, index, point.region, point.metric, point.day, lag)
        point.flagged_unaltered = before[0] or before[1] or bool(before[2])
        event = point.day - dt.timedelta(days=lag)
        point.status_unaltered = str(baseline.figures[(point.region, point.metric, event)].status)
        figure = after.figures[(point.region, point.metric, event)]
        point.spread = figure.spread
        point.lineage_values = {
            record["counted"]: record["value"]
            for record in json.loads(figure.canonical)["lineages"]
        }
    seconds["altered"] = time.perf_counter() - clock

    clock = time.perf_counter()
    near = {(p.region, p.metric, p.day + dt.timedelta(days=k)) for p in altered for k in (0, 1)}
    false_cumulative = {"unaltered": [0, 0], "altered": [0, 0]}
    false_headline = {"unaltered": [0, 0], "altered": [0, 0]}
    for (region, metric, event), figure in baseline.figures.items():
        if metric not in DAILY_OF or figure.lineages < 3:
            continue
        day = event + dt.timedelta(days=lag)
        if (region, metric, day) in near:
            continue
        counted, others = other_lineages(figure)
        if not counted or others < 2:
            continue
        for name, outcome in (("unaltered", baseline), ("altered", after)):
            cumulative, daily, kinds = judge(outcome, index, region, metric, day, lag)
            false_cumulative[name][0] += cumulative or bool(kinds)
            false_cumulative[name][1] += 1
            false_headline[name][0] += cumulative or daily or bool(kinds)
            false_headline[name][1] += 1
    seconds["false flags"] = time.perf_counter() - clock
    return Measurement(
        parsed=parsed,
        errata=errata,
        points=points,
        excluded=excluded,
        altered=altered,
        false_cumulative={k: (v[0], v[1]) for k, v in false_cumulative.items()},
        false_headline={k: (v[0], v[1]) for k, v in false_headline.items()},
        seconds=seconds,
    )


# --- the table ------------------------------------------------------------------------------


def _share(hit: int, total: int) -> str:
    percent = f"{100 * hit / total:5.1f}%" if total else "   n/a"
    return f"{hit:>5}/{total:<6} {percent}"


def recall(points: Iterable[Point], name: str) -> tuple[int, int]:
    chosen = [p for p in points if p.band == name]
    return sum(p.caught for p in chosen), len(chosen)


def table(m: Measurement) -> str:
    out = io.StringIO()

    def say(text: str = "") -> None:
        print(text, file=out)

    total = sum(m.seconds.values())
    say("JHU CSSE errata put back into JHU's series: recall of the reconciler")
    say(
        "time: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in m.seconds.items())
        + f" (total {total:.1f} s)"
    )
    say("  parsing: " + ", ".join(f"{Path(n).name} {s:.1f} s" for n, s in m.parsed.seconds.items()))
    used_records = {e.record for p in m.altered for e in p.rows}
    say()
    say(f"errata rows read: {m.errata.rows}")
    say(f"  mapped to a (region, metric, day): {len(m.errata.used)}")
    say(f"  used (their point altered): {len(used_records)}")
    say(
        f"  of the mapped, naming a row JHU gives no series of its own (Unassigned, Out of XX, "
        f"districts; not checked against the file): {m.errata.unchecked}"
    )
    for why, n in m.errata.skipped.most_common():
        say(f"  skipped, {why}: {n}")
    say(f"points (summed per compared region, metric, day): {len(m.points)}")
    for why, n in m.excluded.most_common():
        say(f"  not altered, {why}: {n}")
    say(f"  altered: {len(m.altered)} in {len({p.region for p in m.altered})} regions")
    say()
    say(
        f"{'band':<7} {'points':>6}  {'cumulative only':>19}  {'cum. or daily':>19}  "
        f"{'anomaly on it':>19}  {'flagged unaltered':>19}  {'newly flagged':>19}  "
        f"{'change above floor':>19}"
    )
    for name in (*BANDS, "all"):
        chosen = [p for p in m.altered if name in (p.band, "all")]
        fresh = [p for p in chosen if not p.flagged_unaltered]
        above = [p for p in chosen if abs(p.change) > DEFAULT_TOLERANCES[p.metric].absolute]
        say(
            f"{name:<7} {len(chosen):>6}  "
            f"{_share(sum(p.cumulative_disputed or bool(p.anomalies) for p in chosen), len(chosen))}  "
            f"{_share(sum(p.caught for p in chosen), len(chosen))}  "
            f"{_share(sum(bool(p.anomalies) for p in chosen), len(chosen))}  "
            f"{_share(sum(p.flagged_unaltered for p in chosen), len(chosen))}  "
            f"{_share(sum(p.caught for p in fresh), len(fresh))}  "
            f"{_share(sum(p.caught for p in above), len(above))}"
        )
    say("  cumulative only: the cumulative figure DISPUTED, or an anomaly on JHU's observation")
    say("  cum. or daily (the headline): also a daily figure resting on it (that day's or the")
    say("    next's) DISPUTED")
    say("  anomaly on it: any anomaly flag on JHU's altered observation")
    say("  flagged unaltered: the headline rule already flags the point with nothing put back")
    say("  newly flagged: the headline recall among the points not flagged unaltered")
    say("  change above floor: the headline recall among the points whose change exceeds the")
    floors = ", ".join(
        f"{m.split('_')[0]} {DEFAULT_TOLERANCES[m].absolute}"
        for m in ("cases_cumulative", "deaths_cumulative")
    )
    say(f"    metric's absolute tolerance ({floors})")
    say()
    say(
        "unaltered cumulative figures with JHU and >= 2 other lineages (days neither altered nor "
        "just after an altered day), share flagged:"
    )
    for name in ("unaltered", "altered"):
        hit, total = m.false_cumulative[name]
        head_hit, head_total = m.false_headline[name]
        say(
            f"  {name + ' run':<15} cumulative DISPUTED or anomaly {_share(hit, total)}; "
            f"headline rule {_share(head_hit, head_total)}"
        )
    return out.getvalue()


def why_missed(point: Point) -> str:
    """Why the altered cumulative figure stayed within tolerance."""
    others = [v for counted, v in point.lineage_values.items() if counted != JHU]
    middle = statistics.median(others)
    tolerance = DEFAULT_TOLERANCES[point.metric]
    if abs(point.wrong - middle) < abs(point.corrected - middle):
        return "the other lineages are nearer the wrong value than the correction"
    if point.spread <= tolerance.absolute:
        return f"spread within the absolute floor ({tolerance.absolute})"
    return f"spread within the relative tolerance ({tolerance.relative})"


def misses(m: Measurement, name: str, limit: int = 40) -> str:
    chosen = sorted(
        (p for p in m.altered if p.band == name and not p.caught),
        key=lambda p: (p.region, p.metric, p.day),
    )
    lines = [f"misses in band {name}: {len(chosen)}"]
    for why, n in Counter(why_missed(p) for p in chosen).most_common():
        lines.append(f"  {why}: {n}")
    for p in chosen[:limit]:
        ratio = abs(p.change) / abs(p.corrected) if p.corrected else math.inf
        values = ", ".join(f"{k} {v:,}" for k, v in sorted(p.lineage_values.items()))
        lines.append(
            f"    {p.region} {p.metric} {p.day}: {p.corrected:,} -> {p.wrong:,} "
            f"({p.change:+,}, {ratio:.1%}); unaltered {p.status_unaltered}; "
            f"lineages {values}; {why_missed(p)}"
        )
    return "\n".join(lines)


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def measured() -> Measurement:
    shared = shared_data_dir()
    if shared is None:
        pytest.skip("../shared/data is not here (set CORROBORATE_REQUIRE_SHARED_DATA=1 to fail)")
    return measure(shared / "real")


def test_errata_are_read_and_every_row_accounted_for(measured: Measurement) -> None:
    errata = measured.errata
    assert errata.rows == 18_446
    assert len(errata.used) + sum(errata.skipped.values()) == errata.rows
    mapped = sum(len(p.rows) for p in measured.points)
    assert mapped == len(errata.used)
    assert len(measured.points) == sum(measured.excluded.values()) + len(measured.altered)


def test_recall_of_errata_above_ten_percent(measured: Measurement) -> None:
    print()
    print(table(measured))
    for name in BANDS:
        print(misses(measured, name, limit=40 if name == BANDS[3] else 0))
    caught, total = recall(measured.altered, BANDS[3])
    assert total >= MINIMUM_POINTS
    assert all(recall(measured.altered, name)[1] > 0 for name in BANDS)
    share = caught / total
    # Measured with the default tolerances (cumulative: 2% or 1): 37/40. The three misses are
    # changes of 1 on counts under 10 (one death in Palestine and Liechtenstein, one of
    # Thailand's first cases), inside the one-unit slack; every larger change above 10% is caught.
    assert share >= TARGET
