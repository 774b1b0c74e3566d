"""What the authorization server reads from the settings, and its clock's helpers."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from api.auth.passwords import HashParameters
from api.settings import Settings


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

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthConfig:
        return cls(
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            access_token_ttl_s=settings.auth_access_token_ttl_s,
            refresh_token_ttl_s=settings.auth_refresh_token_ttl_s,
            code_ttl_s=settings.auth_code_ttl_s,
            key_grace_s=settings.auth_key_grace_s,
            hashing=HashParameters(
                time_cost=settings.auth_argon2_time_cost,
                memory_kib=settings.auth_argon2_memory_kib,
                parallelism=settings.auth_argon2_parallelism,
            ),
            signin_window_s=settings.auth_signin_window_s,
            signin_max_failures_account=settings.auth_signin_max_failures_account,
            signin_max_failures_ip=settings.auth_signin_max_failures_ip,
            signup_max_per_ip=settings.auth_signup_max_per_ip,
        )


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware UTC time (SQLite gives back naive ones)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def sha256_hex(secret: str) -> str:
    """How codes, refresh tokens and client secrets are stored and looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()
