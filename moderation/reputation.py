"""Reputation from a member's track record, and what it decides: how many challenges a member
may file a day, whether filing is locked, how much their support weighs, and the queue's
priority. Pure: the storage layer (``moderation/store.py``) reads the track record.

A **track record** is what the member's past did once decided: filings upheld or rejected
(duplicates count for neither), and supports or oppositions on challenges that were decided —
*agreeing* when a support met an uphold or an opposition met a rejection, *disagreeing*
otherwise. A member with none of these has **no track record**.

- ``score = 3·upheld + agreeing − 2·rejected − 0.5·disagreeing``, never below 0;
- **daily filing limit** ``= min(50, 5 + ⌊score / 3⌋)`` challenges in any 24 hours;
- at most **3 challenges per member per target per 24 hours**;
- **locked**: when 3 of the member's last 5 decided filings were rejected, filing is refused for
  7 days after the last of those rejections;
- **support weight**: 0.2 with no track record, else ``0.5 + score / 10`` within 0.5 … 3.
  On a challenge the members with no track record count together for at most 1 (so a ring of
  fresh accounts, however large, weighs less than two members with a record);
- **queue priority** ``= 10·discrepancy + 2·support + 0.5·age in days (at most 14 days)``, with
  ``discrepancy`` the relative distance of the challenged value from the claim or from the other
  lineages (0 … 1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DAILY_BASE = 5
DAILY_MAX = 50
PER_TARGET_PER_DAY = 3
LOCK_WINDOW = 5  # the last 5 decided filings
LOCK_REJECTIONS = 3  # of which this many rejected…
LOCK_FOR = dt.timedelta(days=7)  # …lock filing this long after the last of them
FRESH_WEIGHT = 0.2
FRESH_CAP = 1.0
MIN_WEIGHT, MAX_WEIGHT = 0.5, 3.0
DISCREPANCY_POINTS = 10.0
SUPPORT_POINTS = 2.0
AGE_POINTS_PER_DAY = 0.5
AGE_MAX_DAYS = 14.0


@dataclass(frozen=True)
class TrackRecord:
    upheld: int = 0
    rejected: int = 0
    agreeing: int = 0
    disagreeing: int = 0
    #: the last decided filings, newest first: (rejected?, when decided)
    recent: tuple[tuple[bool, dt.datetime], ...] = ()

    @property
    def fresh(self) -> bool:
        """No track record at all."""
        return not (self.upheld or self.rejected or self.agreeing or self.disagreeing)

    @property
    def score(self) -> float:
        raw = 3 * self.upheld + self.agreeing - 2 * self.rejected - 0.5 * self.disagreeing
        return max(0.0, float(raw))

    @property
    def daily_limit(self) -> int:
        return min(DAILY_MAX, DAILY_BASE + int(self.score // 3))

    @property
    def weight(self) -> float:
        if self.fresh:
            return FRESH_WEIGHT
        return min(MAX_WEIGHT, max(MIN_WEIGHT, 0.5 + self.score / 10))

    def locked_until(self) -> dt.datetime | None:
        """When filing unlocks, if 3 of the last 5 decided filings were rejected."""
        window = self.recent[:LOCK_WINDOW]
        rejections = [when for rejected, when in window if rejected]
        if len(rejections) < LOCK_REJECTIONS:
            return None
        return max(rejections) + LOCK_FOR


def support_weight(trusted: float, fresh: float) -> float:
    """A challenge's support: the trusted members' net weight plus the fresh members' net
    weight, the latter within ±``FRESH_CAP``."""
    return trusted + max(-FRESH_CAP, min(FRESH_CAP, fresh))


def discrepancy(value: int | None, other: int | None) -> float:
    """How far ``value`` is from ``other`` relative to it, within 0 … 1 (0 when either is
    unknown)."""
    if value is None or other is None:
        return 0.0
    return min(1.0, abs(value - other) / max(abs(other), 1))


def priority(discrepancy: float, support: float, age: dt.timedelta) -> float:
    days = min(AGE_MAX_DAYS, max(0.0, age.total_seconds() / 86_400))
    return DISCREPANCY_POINTS * discrepancy + SUPPORT_POINTS * support + AGE_POINTS_PER_DAY * days
