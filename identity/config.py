"""What the authorization server reads from the settings, and its clock's helpers."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from identity.passwords import HashParameters


@dataclass(frozen=True)
class AuthConfig:
    issuer: str
    audience: str
    access_token_ttl_s: int
    refresh_token_ttl_s: int
    code_ttl_s: int
    key_grace_s: int
    hashing: HashParameters
    signin_window_s: int
    signin_max_failures_account: int
    signin_max_failures_ip: int
    signup_max_per_ip: int


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware UTC time (SQLite gives back naive ones)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def sha256_hex(secret: str) -> str:
    """How codes, refresh tokens and client secrets are stored and looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()
