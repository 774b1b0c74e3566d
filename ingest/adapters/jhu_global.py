"""JHU CSSE global time series: ``time_series_covid19_confirmed_global.csv`` and
``time_series_covid19_deaths_global.csv``.

Wide tables: ``Province/State, Country/Region, Lat, Long`` and then one column per day (M/D/YY)
holding a cumulative count. The two files have the same header; which metric a file carries is
not in its content, so each is a format of its own (detection needs a hint, see
``ingest.adapters.detect_format``).

How rows map (decided by reading the data, not by a list of countries):

- A row with an empty ``Province/State`` is the country itself (for France, the United Kingdom,
  the Netherlands and Denmark: the mainland only).
- A province row whose name has an ISO 3166-1 code of its own (Greenland and the Faroe Islands
  under Denmark, Aruba under the Netherlands, Hong Kong and Macau under China, ...) maps to that
  code and is not added to any country.
- A province row that is an ISO 3166-2 subdivision (Australian states, Canadian provinces,
  Chinese provinces) gives observations for that subdivision.
- Where a country has no country-level row (Australia, Canada and China here), its total is
  rolled up from all its other rows, as JHU itself totals a country: the subdivisions, plus rows
  that are no region of their own ("Diamond Princess", "Grand Princess" and "Repatriated
  Travellers" under Canada; "Unknown" under China), which count in the total only. Those
  derived observations name their components in ``derived_from``.
- A province row that is none of these, under a country that has its own row ("Channel Islands"
  under the United Kingdom), and country-level rows that are no country ("Diamond Princess",
  "MS Zaandam") are listed as unmapped.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.adapters.base import FormatError, Metric, ParsedObservation, ParseResult
from ingest.adapters.table import (
    US_SHORT_DATE,
    BadValue,
    UnmappedTally,
    count,
    preview,
    read_csv,
)
from ingest.regions import country_code, subdivision_code, unmapped_reason

FIXED_COLUMNS = ("Province/State", "Country/Region", "Lat", "Long")


def date_columns(fmt: str, header: Sequence[str], fixed: Sequence[str]) -> list[datetime.date]:
    """The dates of a JHU wide header: the fixed columns, then strictly increasing M/D/YY days."""
    if tuple(header[: len(fixed)]) != tuple(fixed):
        raise FormatError(
            f"{fmt}: expected header starting {','.join(fixed)!r}, got {preview(header)!r}"
        )
    days: list[datetime.date] = []
    for position, name in enumerate(header[len(fixed) :], start=len(fixed) + 1):
        try:
            day = US_SHORT_DATE.parse(name)
        except ValueError:
            raise FormatError(
                f"{fmt}: expected header {','.join(fixed)!r} then dates as M/D/YY, got "
                f"{preview(header)!r} (column {position} is {name!r})"
            ) from None
        if days and day <= days[-1]:
            raise FormatError(
                f"{fmt}: header column {position}: expected a day after {days[-1]}, got {name!r}"
            )
        days.append(day)
    if not days:
        raise FormatError(f"{fmt}: expected date columns after {','.join(fixed)!r}, got none")
    return days


def header_is_wide(header: Sequence[str], fixed: Sequence[str]) -> bool:
    if tuple(header[: len(fixed)]) != tuple(fixed) or len(header) == len(fixed):
        return False
    try:
        for name in header[len(fixed) :]:
            US_SHORT_DATE.parse(name)
    except ValueError:
        return False
    return True


@dataclass
class RollUp:
    """The rows summed into one region's derived total."""

    components: list[str] = field(default_factory=list)
    records: list[int] = field(default_factory=list)
    values: list[list[int | None]] = field(default_factory=list)

    def add(self, component: str, record: int, values: list[int | None]) -> None:
        self.components.append(component)
        self.records.append(record)
        self.values.append(values)


def emit(
    observations: list[ParsedObservation],
    region: str,
    days: Sequence[datetime.date],
    columns: Sequence[str],
    metric: Metric,
    values: Sequence[int | None],
    record: int,
) -> int:
    """Append one row's observations; returns how many blank cells were skipped."""
    skipped = 0
    for day, column, value in zip(days, columns, values, strict=True):
        if value is None:
            skipped += 1
        else:
            observations.append(ParsedObservation(region, day, metric, value, record, column))
    return skipped


def emit_roll_up(
    observations: list[ParsedObservation],
    region: str,
    roll_up: RollUp,
    days: Sequence[datetime.date],
    columns: Sequence[str],
    metric: Metric,
) -> int:
    """Append the summed observations; returns how many days were left out for a blank part."""
    derived_from = tuple(roll_up.components)
    first_record = min(roll_up.records)
    incomplete = 0
    for index, (day, column) in enumerate(zip(days, columns, strict=True)):
        parts = [values[index] for values in roll_up.values]
        if any(part is None for part in parts):
            incomplete += 1
            continue
        total = sum(part for part in parts if part is not None)
        observations.append(
            ParsedObservation(region, day, metric, total, first_record, column, derived_from)
        )
    return incomplete


class JhuGlobalAdapter:
    def __init__(self, format: str, metric: Metric, what: str) -> None:
        self.format = format
        self.metric = metric
        self.description = (
            f"JHU CSSE time_series_covid19_{what}_global.csv: cumulative {what} by country, "
            "territory and province (wide, one column per day); provinces summed to countries "
            "that have no country-level row"
        )

    def header_matches(self, header: Sequence[str]) -> bool:
        return header_is_wide(header, FIXED_COLUMNS)

    def parse(self, content: bytes) -> ParseResult:
        fmt = self.format
        header, records = read_csv(fmt, content)
        days = date_columns(fmt, header, FIXED_COLUMNS)
        columns = header[len(FIXED_COLUMNS) :]
        rows: list[tuple[int, str, str, list[int | None]]] = []
        total = 0
        for record, line, fields in records:
            total = record
            try:
                values = [count(c, v) for c, v in zip(columns, fields[4:], strict=True)]
            except BadValue as error:
                raise error.at(fmt, record, line) from None
            rows.append((record, fields[0], fields[1], values))
        with_own_row = {country for _, province, country, _ in rows if not province}

        observations: list[ParsedObservation] = []
        unmapped = UnmappedTally()
        roll_ups: dict[str, RollUp] = {}
        in_total_only: list[str] = []
        seen: set[str] = set()
        repeated: list[str] = []
        skipped = 0

        def own(region: str, record: int, values: list[int | None]) -> int:
            if region in seen:
                repeated.append(region)
            seen.add(region)
            return emit(observations, region, days, columns, self.metric, values, record)

        for record, province, country_name, values in rows:
            country = country_code(country_name)
            if not province:
                if country is None:
                    unmapped.add(country_name, unmapped_reason(country_name))
                else:
                    skipped += own(country, record, values)
                continue
            label = f"{province}, {country_name}"
            if country is None:
                unmapped.add(label, unmapped_reason(country_name))
                continue
            territory = country_code(province)
            if territory is not None and territory != country:
                skipped += own(territory, record, values)
                continue
            subdivision = subdivision_code(country, province)
            if subdivision is not None:
                skipped += own(subdivision, record, values)
            if country_name not in with_own_row:
                roll_ups.setdefault(country, RollUp()).add(
                    subdivision or f"{country}:{province}", record, values
                )
                if subdivision is None:
                    in_total_only.append(label)
            elif subdivision is None:
                unmapped.add(label, unmapped_reason(province))

        notes: list[str] = []
        for country, roll_up in roll_ups.items():
            if country in seen:
                repeated.append(country)
            incomplete = emit_roll_up(observations, country, roll_up, days, columns, self.metric)
            notes.append(
                f"{country}: no country-level row; total rolled up from {len(roll_up.components)} rows"
                + (f", {incomplete} days left out for a blank part" if incomplete else "")
            )
        if in_total_only:
            notes.append(
                "rows counted in their country's total only (no region of their own): "
                + "; ".join(in_total_only)
            )
        if repeated:
            notes.append(f"regions given by more than one row (all kept): {sorted(set(repeated))}")
        return ParseResult(fmt, observations, unmapped.result(), skipped, notes, total)


CONFIRMED = JhuGlobalAdapter("jhu-csse-global-confirmed", Metric.CASES_CUMULATIVE, "confirmed")
DEATHS = JhuGlobalAdapter("jhu-csse-global-deaths", Metric.DEATHS_CUMULATIVE, "deaths")
