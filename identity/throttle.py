"""Throttling sign-ins and sign-ups against credential stuffing: sliding windows in the database,
so that every API process counts the same attempts.

A failed sign-in counts against the IP address and against the email typed (stored as its
SHA-256: people type passwords into the email field); a successful one clears the email's count.
A key with ``limit`` attempts in the last ``window_s`` seconds is refused until the oldest of
those leaves the window. Unknown emails are counted like known ones, so a refusal tells nothing
about whether an account exists.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from identity.config import sha256_hex, utc
from models.identity import LoginAttempt


class Throttled(Exception):
    """Too many attempts; ``retry_after`` seconds until the next one is allowed."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many attempts: retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int


def signin_ip(address: str) -> str:
    return f"signin-ip:{address}"


def signin_account(email: str) -> str:
    return f"signin-account:{sha256_hex(email.strip().lower())}"


def signup_ip(address: str) -> str:
    return f"signup-ip:{address}"


async def check(
    session: AsyncSession, limits: list[Limit], *, window_s: int, now: dt.datetime
) -> None:
    """Raise Throttled if any key already has its limit of attempts in the window."""
    cutoff = now - dt.timedelta(seconds=window_s)
    wait = 0.0
    for item in limits:
        # the limit-th most recent attempt in the window: while it is in, the key is refused
        oldest_counted = await session.scalar(
            select(col(LoginAttempt.at))
            .where(col(LoginAttempt.key) == item.key, col(LoginAttempt.at) > cutoff)
            .order_by(col(LoginAttempt.at).desc())
            .offset(item.limit - 1)
            .limit(1)
        )
        if oldest_counted is not None:
            free_at = utc(oldest_counted) + dt.timedelta(seconds=window_s)
            wait = max(wait, (free_at - now).total_seconds())
    if wait > 0:
        raise Throttled(max(1, math.ceil(wait)))


async def record(
    session: AsyncSession, keys: list[str], *, window_s: int, now: dt.datetime
) -> None:
    """Count one attempt against each key, forgetting that key's attempts older than the
    window."""
    cutoff = now - dt.timedelta(seconds=window_s)
    for key in keys:
        await session.execute(
            delete(LoginAttempt).where(col(LoginAttempt.key) == key, col(LoginAttempt.at) <= cutoff)
        )
        session.add(LoginAttempt(key=key, at=now))
    await session.flush()


async def clear(session: AsyncSession, key: str) -> None:
    await session.execute(delete(LoginAttempt).where(col(LoginAttempt.key) == key))
