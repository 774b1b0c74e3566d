"""The attested figure of a region, metric and date — pure functions over an aligned panel.

For each (region, metric), the publishers giving that metric there (published, or derived by
``align`` and marked so) are grouped into lineages (``align.lineages``: copies count once). A
publisher's value dated D is read as the figure for D − its declared lag. On every date:

- each lineage gives one value: that of its first member with a value on the date, members
  ordered published before derived, then official agencies before academic aggregators,
  newsrooms and volunteer projects, then national before worldwide publishers, then by slug;
- the **value** is the median of the lineages' values (with an even count, the mean of the middle
  two, rounded half to even): no single lineage moves it far;
- the **spread** is the largest minus the smallest lineage value; the metric's tolerance allows
  ``max(absolute, relative * |value|)``;
- the **status** is ``ATTESTED`` (two or more lineages within tolerance), ``DISPUTED`` (beyond
  it) or ``SINGLE_SOURCE`` (one lineage). ``CORRECTED`` is set later, by moderation only.

Each figure carries the observations it rests on (ledger indices), each input's anomaly flags,
and a short explanation naming every rule applied.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ingest.reconcile.align import (
    CUMULATIVE_OF,
    DAILY_OF,
    LagFit,
    PairEvidence,
    Panel,
    SeriesKey,
    lineages,
)
from ingest.reconcile.anomalies import AnomalyType, Flag

KIND_RANK = {"official-agency": 0, "academic-aggregator": 1, "newsroom": 2, "volunteer-project": 3}


class Status(StrEnum):
    ATTESTED = "ATTESTED"
    DISPUTED = "DISPUTED"
    SINGLE_SOURCE = "SINGLE_SOURCE"
    CORRECTED = "CORRECTED"


@dataclass(frozen=True)
class Tolerance:
    """Lineages agree when their spread is at most ``max(absolute, relative * |value|)``."""

    relative: Decimal
    absolute: int

    @functools.cached_property
    def _ratio(self) -> float:
        return float(self.relative)

    @functools.cached_property
    def _text(self) -> str:
        return f"{_percent(self._ratio)} or {self.absolute:,}"

    def describe(self) -> str:
        """How the tolerance reads in an explanation: "2% or 1" (made once per tolerance)."""
        return self._text

    def allows(self, spread: int, value: int) -> bool:
        return spread <= max(self.absolute, self._ratio * abs(value))

    def record(self) -> dict[str, Any]:
        return {"absolute": self.absolute, "relative": str(self.relative)}


# Cumulative counts are compared closely: 2% covers days reported late by one publisher, and a
# slack of 1 a single case or death dated differently; a larger absolute floor hid real errors
# in small counts (JHU's errata: 2 -> 4 deaths), see docs/reconciliation.md. Daily counts move
# with each publisher's cut-off time, so they get a wider band and a floor.
DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    "cases_cumulative": Tolerance(Decimal("0.02"), 1),
    "deaths_cumulative": Tolerance(Decimal("0.02"), 1),
    "cases_daily": Tolerance(Decimal("0.10"), 20),
    "deaths_daily": Tolerance(Decimal("0.10"), 5),
}
FALLBACK_TOLERANCE = Tolerance(Decimal("0.05"), 10)


@dataclass(frozen=True)
class Source:
    """What the figures need to know of a publisher."""

    slug: str
    kind: str
    worldwide: bool
    lag: int


@dataclass
class Figure:
    region: str
    metric: str
    date: dt.date
    value: int
    status: Status
    spread: int
    spread_ratio: float | None
    lineages: int
    explanation: str
    canonical: bytes  # the attested content as RFC 8785 JSON
    digest: str = ""  # SHA-256 of ``canonical``: equal content, no new version


def _percent(ratio: float) -> str:
    if ratio == 0:
        return "0%"
    if ratio < 0.1:
        return f"{ratio * 100:.2g}%"
    return f"{ratio * 100:.1f}%".replace(".0%", "%")


def _shift(days: int) -> str:
    return f"{'−' if days > 0 else '+'}{abs(days)} day{'s' if abs(days) != 1 else ''}"


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def canonical_json(content: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes of a figure's content, which is built with every object's keys already in
    sorted order and holds only ASCII keys, strings, safe integers and lists: for such values
    compact ``json.dumps`` writes exactly the canonical form (as ``ledger.leaf``'s fast path), and
    not sorting again halves the cost. tests/ingest/test_reconcile.py checks the bytes against
    the ``rfc8785`` package on real figures."""
    return _ENCODER.encode(content).encode()


ATTESTATION_PREFIX = b"corroborate/attestation/v1\n"


def attestation_body(canonical: bytes, version: int, supersedes: int | None) -> bytes:
    """The ``attestation`` leaf of a figure version: the canonical JSON of
    ``{"figure": content, "supersedes": index or null, "version": n}``, spliced from the content's
    canonical bytes (keys in that order are already sorted), so the content is serialised once.
    """
    previous = b"null" if supersedes is None else str(supersedes).encode()
    return (
        ATTESTATION_PREFIX
        + b'{"figure":'
        + canonical
        + b',"supersedes":'
        + previous
        + b',"version":'
        + str(version).encode()
        + b"}"
    )


def observations_of(
    panel: Panel,
    index: Mapping[SeriesKey, Mapping[dt.date, int]],
    key: SeriesKey,
    day: dt.date,
) -> tuple[list[int], list[int]]:
    """The ledger indices of the published observations a (possibly derived) value rests on, and
    the *primary* ones among them: those dated ``day``, whose anomaly flags the value carries.

    A difference rests on the values of ``day`` and the day before, a composed region on its
    parts. A running sum rests on the whole daily series up to ``day``; only the value of ``day``
    is named (with the number of days summed in the input's ``derived``), so an attestation stays
    small: the earlier values are that same series' observations, on the ledger (decision 0007).
    """
    if panel.published(key):
        found = index.get(key, {}).get(day)
        return ([], []) if found is None else ([found], [found])
    how, bases = panel.derivation.get(key, ("", ()))
    if how == "sum":
        every: list[int] = []
        primary: list[int] = []
        for base in bases:
            more, main = observations_of(panel, index, base, day)
            every += more
            primary += main
        return every, primary
    if how == "difference":
        before, _ = observations_of(panel, index, bases[0], day - dt.timedelta(days=1))
        now, main = observations_of(panel, index, bases[0], day)
        return before + now, main
    if how == "running-sum":
        last = index.get(bases[0], {}).get(day)
        return ([], []) if last is None else ([last], [last])
    return [], []


class Derivation(StrEnum):
    """How an input's value was made from its publisher's observations (``align``'s steps)."""

    AS_PUBLISHED = "AS_PUBLISHED"  # the observation's value itself
    CUMULATIVE_FROM_DAILY = "CUMULATIVE_FROM_DAILY"  # ``complete``: a running sum of daily values
    DAILY_FROM_CUMULATIVE = "DAILY_FROM_CUMULATIVE"  # ``complete``: a day-to-day difference
    COMPOSED_FROM_PARTS = "COMPOSED_FROM_PARTS"  # ``compose``: the sum of a region's parts


@dataclass(frozen=True)
class InputDerivation:
    """An input's derivation as data, read back from the ``derived`` words of its attestation.

    ``summed_metric``/``first_day``/``days``: for a running sum, the daily metric summed and the
    days it covers (``first_day`` is None in a text that does not name them).
    """

    method: Derivation
    summed_metric: str | None = None
    first_day: dt.date | None = None
    days: int | None = None


_RUNNING_SUM = re.compile(
    r"running sum of (?P<metric>[a-z_]+)"
    r"(?: over (?P<days>\d+) days? from (?P<first>\d{4}-\d{2}-\d{2}))?"
)
_DIFFERENCE = re.compile(r"day-to-day difference of [a-z_]+")
_COMPOSED = re.compile(r"sum of [A-Z0-9-]+(?: \+ [A-Z0-9-]+)+")


def derivation_of(derived: str | None) -> InputDerivation:
    """The derivation of an attested input from its ``derived`` text (None: as published).

    The texts are the ones ``align.compose``/``align.complete`` and ``_derived_text`` write; an
    unknown text is a ValueError (tests/ingest/test_figures_derivation.py keeps them in step).
    """
    if derived is None:
        return InputDerivation(Derivation.AS_PUBLISHED)
    if (match := _RUNNING_SUM.fullmatch(derived)) is not None:
        first = match.group("first")
        return InputDerivation(
            Derivation.CUMULATIVE_FROM_DAILY,
            summed_metric=match.group("metric"),
            first_day=None if first is None else dt.date.fromisoformat(first),
            days=None if match.group("days") is None else int(match.group("days")),
        )
    if _DIFFERENCE.fullmatch(derived):
        return InputDerivation(Derivation.DAILY_FROM_CUMULATIVE)
    if _COMPOSED.fullmatch(derived):
        return InputDerivation(Derivation.COMPOSED_FROM_PARTS)
    raise ValueError(
        f"expected a derivation as the reconciler writes it (running sum of …, day-to-day "
        f"difference of …, sum of … + …), got {derived!r:.120}"
    )


def _derived_text(panel: Panel, key: SeriesKey, day: dt.date) -> str:
    text = panel.derived[key]
    how, bases = panel.derivation.get(key, ("", ()))
    if how == "running-sum":
        daily = panel.series.get(bases[0], {})
        first = min(daily)
        return f"{text} over {(day - first).days + 1} days from {first.isoformat()}"
    return text


@dataclass
class RegionContext:
    """Everything the figures of one region depend on besides the panel."""

    sources: Mapping[str, Source]
    links: Sequence[PairEvidence]
    tolerances: Mapping[str, Tolerance]
    fits: Mapping[str, LagFit] = field(default_factory=dict)  # this region's lag fits
    keys: Sequence[SeriesKey] | None = None  # this region's series (None: look in the panel)
    flags: Mapping[int, Sequence[AnomalyType]] = field(default_factory=dict)  # obs -> types


def _order(panel: Panel, key: SeriesKey, source: Source) -> tuple[int, int, int, str]:
    return (
        0 if panel.published(key) else 1,
        KIND_RANK.get(source.kind, 9),
        1 if source.worldwide else 0,
        source.slug,
    )


def attest(
    panel: Panel,
    index: Mapping[SeriesKey, Mapping[dt.date, int]],
    region: str,
    metric: str,
    context: RegionContext,
    *,
    since: dt.date | None = None,
) -> Iterator[Figure]:
    """The figures of ``region`` and ``metric`` on every date any publisher gives (from ``since``)."""
    tolerance = context.tolerances.get(metric, FALLBACK_TOLERANCE)
    keys = panel.series if context.keys is None else context.keys
    present = sorted(
        publisher
        for publisher, r, m in keys
        if r == region and m == metric and publisher in context.sources
    )
    if not present:
        return
    groups = []
    for group in lineages(present, context.links):
        ordered = sorted(
            group, key=lambda p: _order(panel, (p, region, metric), context.sources[p])
        )
        groups.append(ordered)
    series = {p: panel.series[(p, region, metric)] for p in present}
    lag = {p: dt.timedelta(days=context.sources[p].lag) for p in present}
    dates: set[dt.date] = set()
    for p in present:
        dates.update(day - lag[p] for day in series[p])
    rules = _rules(panel, region, metric, present, groups, context)
    tolerance_record = tolerance.record()
    for day in sorted(dates):
        if since is not None and day < since:
            continue
        yield _figure(
            panel, index, region, metric, day, groups, series, lag, context, tolerance,
            tolerance_record, rules,
        )  # fmt: skip


@dataclass(frozen=True)
class _Rules:
    """The alignment rules of one region and metric; each figure names those of the publishers
    that gave it a value."""

    shifted: list[tuple[int, list[str]]]  # lag -> publishers read through it
    fits: list[tuple[str, str]]  # publisher -> "fits best shifted ... here"
    copies: list[list[str]]  # lineages of more than one publisher
    derived: list[tuple[str, str]]  # publisher -> how its series was derived

    def explain(self, contributing: set[str]) -> list[str]:
        rules = []
        for lag, names in self.shifted:
            here = [p for p in names if p in contributing]
            if here:
                rules.append(f"{', '.join(here)} dates shifted {_shift(lag)}")
        rules += [text for p, text in self.fits if p in contributing]
        for group in self.copies:
            here = [p for p in group if p in contributing]
            if len(here) > 1:
                rules.append(f"{' and '.join(here)} counted once (copies)")
        rules += [f"{p} {text}" for p, text in self.derived if p in contributing]
        return rules


def _rules(
    panel: Panel,
    region: str,
    metric: str,
    present: list[str],
    groups: list[list[str]],
    context: RegionContext,
) -> _Rules:
    shifted: dict[int, list[str]] = {}
    for p in present:
        if context.sources[p].lag:
            shifted.setdefault(context.sources[p].lag, []).append(p)
    fits = []
    for p in present:
        fit = context.fits.get(p)
        if (
            fit is not None
            and fit.best is not None
            and fit.best_error is not None
            and fit.declared_error is not None
            and fit.best_error < 0.9 * fit.declared_error
        ):
            fits.append(
                (
                    p,
                    f"{p} fits best shifted {_shift(fit.best)} here "
                    f"({_percent(fit.best_error)} against {_percent(fit.declared_error)} "
                    "as declared)",
                )
            )
    return _Rules(
        shifted=sorted(shifted.items()),
        fits=fits,
        copies=[sorted(group) for group in groups if len(group) > 1],
        derived=[
            (p, panel.derived[(p, region, metric)])
            for p in present
            if not panel.published((p, region, metric))
        ],
    )


def _figure(
    panel: Panel,
    index: Mapping[SeriesKey, Mapping[dt.date, int]],
    region: str,
    metric: str,
    day: dt.date,
    groups: list[list[str]],
    series: Mapping[str, Mapping[dt.date, int]],
    lag: Mapping[str, dt.timedelta],
    context: RegionContext,
    tolerance: Tolerance,
    tolerance_record: dict[str, Any],
    rules: _Rules,
) -> Figure:
    lineage_records: list[dict[str, Any]] = []
    inputs = []
    values: list[tuple[int, str]] = []
    flagged: list[str] = []
    for group in groups:
        counted: str | None = None
        number = len(lineage_records)  # lineages with no value on this day are left out
        for p in group:
            published_day = day + lag[p]
            value = series[p].get(published_day)
            if value is None:
                continue
            key = (p, region, metric)
            observations, primary = observations_of(panel, index, key, published_day)
            # Every object below is built with its keys in sorted order: see ``canonical_json``.
            item: dict[str, Any] = {}
            kinds = sorted({str(t) for i in primary for t in context.flags.get(i, ())})
            if kinds:
                item["anomalies"] = kinds
                flagged.append(f"{p} {', '.join(k.lower().replace('_', ' ') for k in kinds)}")
            item["date"] = published_day.isoformat()
            if not panel.published(key):
                item["derived"] = _derived_text(panel, key, published_day)
            item["lineage"] = number
            item["observations"] = observations
            item["publisher"] = p
            item["value"] = value
            inputs.append(item)
            if counted is None:
                counted = p
                values.append((value, p))
                lineage_records.append({"counted": p, "publishers": group, "value": value})
    ordered = sorted(values)
    numbers = [v for v, _ in ordered]
    value = round(statistics.median(numbers))
    spread = numbers[-1] - numbers[0]
    ratio = spread / abs(value) if value else None
    if len(values) == 1:
        status = Status.SINGLE_SOURCE
        summary = f"1 lineage ({values[0][1]}): nothing independent to compare with"
    else:
        status = Status.ATTESTED if tolerance.allows(spread, value) else Status.DISPUTED
        shown = _percent(ratio) if ratio is not None else f"{spread:,}"
        within = "within" if status is Status.ATTESTED else "beyond"
        summary = (
            f"{len(values)} independent lineages; median of {len(values)}; spread {shown} "
            f"{within} tolerance {tolerance.describe()}"
        )
        if status is Status.DISPUTED:
            summary += (
                f" (lowest {ordered[0][1]} {ordered[0][0]:,}, highest {ordered[-1][1]} "
                f"{ordered[-1][0]:,})"
            )
    parts = [summary, *rules.explain({item["publisher"] for item in inputs})]
    if flagged:
        parts.append("flagged: " + "; ".join(flagged))
    explanation = "; ".join(parts)
    canonical = canonical_json(
        {
            "date": day.isoformat(),
            "explanation": explanation,
            "inputs": inputs,
            "lineages": lineage_records,
            "metric": metric,
            "region": region,
            "spread": spread,
            "status": str(status),
            "tolerance": tolerance_record,
            "value": value,
        }
    )
    return Figure(
        region=region,
        metric=metric,
        date=day,
        value=value,
        status=status,
        spread=spread,
        spread_ratio=ratio,
        lineages=len(values),
        explanation=explanation,
        canonical=canonical,
        digest=hashlib.sha256(canonical).hexdigest(),
    )


# --- definition changes ----------------------------------------------------------------------

PERSIST_DAYS = 14
BEFORE_DAYS = 7


def reclassify_jumps(
    panel: Panel,
    flags: list[Flag],
    links: Sequence[PairEvidence],
    sources: Mapping[str, Source],
    tolerances: Mapping[str, Tolerance],
) -> list[Flag]:
    """Turn a jump (a spike or a cumulative decrease) into ``DEFINITION_CHANGE`` when the
    publisher agreed with the other lineages before it (median difference within tolerance over
    the ``BEFORE_DAYS`` before) and stays apart from them after it (beyond tolerance, on the same
    side as the jump, on every one of the ``PERSIST_DAYS`` from the jump on that can be compared).
    A backlog that the others report too, on other days, closes the gap again and stays a spike.
    """
    by_region: dict[str, list[SeriesKey]] = {}
    for key in panel.series:
        by_region.setdefault(key[1], []).append(key)
    out = []
    for flag in flags:
        if flag.type not in (AnomalyType.BACK_DISTRIBUTION_SPIKE, AnomalyType.CUMULATIVE_DECREASE):
            out.append(flag)
            continue
        publisher, region, metric = flag.series
        cumulative = metric if metric in DAILY_OF else CUMULATIVE_OF.get(metric)
        if cumulative is None:
            out.append(flag)
            continue
        side = -1 if flag.type is AnomalyType.CUMULATIVE_DECREASE else 1
        if _persistent_step(
            panel,
            region,
            by_region.get(region, []),
            publisher,
            cumulative,
            flag.date,
            side,
            links,
            sources,
            tolerances.get(cumulative, FALLBACK_TOLERANCE),
        ):
            out.append(
                Flag(
                    flag.series,
                    flag.date,
                    flag.observation,
                    AnomalyType.DEFINITION_CHANGE,
                    f"{flag.detail}; within tolerance of the other lineages before, "
                    f"{'above' if side > 0 else 'below'} them on every day of the "
                    f"{PERSIST_DAYS} after",
                )
            )
        else:
            out.append(flag)
    return out


def _persistent_step(
    panel: Panel,
    region: str,
    keys: Sequence[SeriesKey],
    publisher: str,
    metric: str,
    jump: dt.date,
    side: int,
    links: Sequence[PairEvidence],
    sources: Mapping[str, Source],
    tolerance: Tolerance,
) -> bool:
    mine = panel.series.get((publisher, region, metric))
    if mine is None or publisher not in sources:
        return False
    present = [p for p, _, m in keys if m == metric and p in sources and p != publisher]
    groups = lineages([*present, publisher], links)
    others = [g for g in groups if publisher not in g]
    if not others:
        return False
    own_lag = dt.timedelta(days=sources[publisher].lag)

    def others_at(event: dt.date) -> int | None:
        values = []
        for group in others:
            for p in group:
                v = panel.series[(p, region, metric)].get(event + dt.timedelta(days=sources[p].lag))
                if v is not None:
                    values.append(v)
                    break
        return int(statistics.median(values)) if values else None

    event = jump - own_lag
    before: list[tuple[int, int]] = []
    after: list[tuple[int, int]] = []
    for offset in range(-BEFORE_DAYS, PERSIST_DAYS):
        day = event + dt.timedelta(days=offset)
        own = mine.get(day + own_lag)
        theirs = others_at(day)
        if own is None or theirs is None:
            continue
        (before if offset < 0 else after).append((own - theirs, theirs))
    if len(before) < BEFORE_DAYS // 2 or len(after) < PERSIST_DAYS // 2:
        return False
    if not tolerance.allows(abs(int(statistics.median(d for d, _ in before))), before[-1][1]):
        return False
    return all(d * side > 0 and not tolerance.allows(abs(d), theirs) for d, theirs in after)
