"""Throttling sign-ins and sign-ups against credential stuffing: sliding windows in the database,
so that every API process counts the same attempts.

A sign-in attempt counts against the IP address and against the email typed (stored as its
SHA-256: people type passwords into the email field). A key with ``limit`` attempts in the last
``window_s`` seconds is refused until the oldest of those leaves the window. Unknown emails are
counted like known ones, so a refusal tells nothing about whether an account exists.

An attempt is counted *before* its password is checked, atomically with the check of the limit
(:func:`take`): concurrent attempts on one key are serialised (SQLite's single writer; on
PostgreSQL a transaction-scoped advisory lock per key), so a burst never gets more guesses than
the limit. A sign-in that succeeds then gives back what it took: the email's count is cleared
(:func:`clear`) and its attempt against the IP is withdrawn (:func:`withdraw`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

from sqlalchemy import delete, select, text
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


#: The first key of the two-key PostgreSQL advisory locks the throttle takes ("thrt"); the
#: second is the first 32 bits of the SHA-256 of the throttled key. The two-key space does not
#: overlap the one-key space of the ledger's lock.
ADVISORY_CLASS = 0x74687274


def _advisory_key(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big", signed=True)


async def take(
    session: AsyncSession, limits: list[Limit], *, window_s: int, now: dt.datetime
) -> list[int]:
    """Count one attempt against every key of ``limits``, unless one of them already has its
    limit of attempts in the window (then raise Throttled and count nothing); return the ids of
    the counted attempts (for :func:`withdraw`).

    Call it in a transaction of its own, committed before the attempt is judged (the password
    checked), so that concurrent attempts see it. The check and the count are atomic: on
    PostgreSQL each key is locked (an advisory lock held to the end of the transaction, taken in
    one order so that two attempts cannot deadlock); on SQLite the first statement is a write,
    which takes the database's single write lock (or the transaction began IMMEDIATE).
    """
    cutoff = now - dt.timedelta(seconds=window_s)
    keys = sorted({item.key for item in limits})
    if session.get_bind().dialect.name == "postgresql":
        for key in keys:
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:cls, :key)"),
                {"cls": ADVISORY_CLASS, "key": _advisory_key(key)},
            )
    # forget what left the window (on SQLite: the write that takes the lock before any read)
    await session.execute(
        delete(LoginAttempt).where(col(LoginAttempt.key).in_(keys), col(LoginAttempt.at) <= cutoff)
    )
    await check(session, limits, window_s=window_s, now=now)
    attempts = [LoginAttempt(key=key, at=now) for key in keys]
    session.add_all(attempts)
    await session.flush()
    return [attempt.id for attempt in attempts if attempt.id is not None]


async def withdraw(session: AsyncSession, ids: list[int]) -> None:
    """Uncount attempts :func:`take` counted (a sign-in that succeeded)."""
    if ids:
        await session.execute(delete(LoginAttempt).where(col(LoginAttempt.id).in_(ids)))


async def check(
    session: AsyncSession, limits: list[Limit], *, window_s: int, now: dt.datetime
) -> None:
    """Raise Throttled if any key already has its limit of attempts in the window.

    Only a check: an attempt judged after it must be counted in the same serialised transaction
    (:func:`take` does both), or a concurrent burst passes it together."""
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


async def clear(session: AsyncSession, key: str) -> None:
    await session.execute(delete(LoginAttempt).where(col(LoginAttempt.key) == key))
