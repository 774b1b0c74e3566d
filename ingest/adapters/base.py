"""The types every publisher adapter shares.

An adapter turns the bytes of one publisher document (a CSV exactly as published) into
``ParsedObservation`` values. It is pure: bytes in, values out, no I/O, no database. It never
repairs what a publisher said: negative daily counts, cumulative series that go down and
publisher-specific jurisdictions are all kept as published; a blank cell is skipped and counted,
never read as zero. Anything it cannot place (a cruise ship, an aggregate such as "World") is
listed in ``ParseResult.unmapped`` with how many records carried it.

Numbering: ``source_row`` is the 1-based number of the CSV *data* record (the header is not
counted, as in the publishers' provenance notes), so record 1 is the first line after the header.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Metric(StrEnum):
    """What a figure counts. Cumulative metrics are running totals; daily ones are new counts."""

    CASES_CUMULATIVE = "cases_cumulative"
    CASES_DAILY = "cases_daily"
    DEATHS_CUMULATIVE = "deaths_cumulative"
    DEATHS_DAILY = "deaths_daily"
    # RKI's 7-day-incidence file counts cases by the date the local health office was notified
    # (Meldedatum) and back-fills that history: a different definition from the report-date counts
    # every other publisher gives, so it gets metrics of its own rather than being compared as if
    # it were the same thing.
    CASES_CUMULATIVE_BY_NOTIFICATION_DATE = "cases_cumulative_by_notification_date"
    CASES_DAILY_BY_NOTIFICATION_DATE = "cases_daily_by_notification_date"


@dataclass(frozen=True, slots=True)
class ParsedObservation:
    """One figure, as one publisher gave it for one region, date and metric.

    ``date`` is the date as the publisher labelled it (no shifting between conventions).
    ``derived_from`` is empty for a figure read from one cell. For a roll-up (JHU's county rows
    summed to a state, provinces summed to a country) it names the components in record order:
    a region code each, or ``"<parent code>:<publisher's label>"`` for a row that counts towards
    the total but is no region of its own (JHU's "Unassigned", "Out of UT", "Repatriated
    Travellers"). A roll-up's ``source_row`` is the record of its first component and its
    ``source_field`` the column summed.
    """

    region: str
    date: datetime.date
    metric: Metric
    value: int
    source_row: int
    source_field: str
    derived_from: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UnmappedName:
    """A publisher's name that maps to no region: its records produced no observation."""

    raw: str
    rows: int
    reason: str


@dataclass
class ParseResult:
    format: str
    observations: list[ParsedObservation]
    unmapped: list[UnmappedName]
    skipped_empty: int
    notes: list[str]
    records: int = 0  # data records read (header excluded)


class FormatError(ValueError):
    """The bytes are not a document of the expected format; the message says what was expected
    and what arrived."""


class Adapter(Protocol):
    format: str
    description: str

    def header_matches(self, header: Sequence[str]) -> bool:
        """Whether a parsed header row is this format's (used by format detection)."""
        ...

    def parse(self, content: bytes) -> ParseResult: ...


__all__ = [
    "Adapter",
    "FormatError",
    "Metric",
    "ParseResult",
    "ParsedObservation",
    "UnmappedName",
]
