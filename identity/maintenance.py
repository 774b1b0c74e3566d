"""Deleting what the authorization server no longer needs: ``corroborate auth purge``.

Every row goes only once nothing can depend on it any more:

* authorization codes past their expiry (a code is redeemable for ``auth_code_ttl_s`` only);
* refresh tokens that expired more than an access token's lifetime (plus the resource side's
  leeway) ago — every access token is issued together with a refresh token of its family, so by
  then every access token of that family has expired too;
* token families with no refresh token left after that (their revocation markers protect no
  live access token);
* revoked access-token ``jti``s past the token's own expiry plus the leeway;
* sign-in and sign-up attempts older than the throttle's window.

Accounts, clients, roles and signing keys are never purged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from identity.tokens import LEEWAY_S
from models.identity import (
    AuthorizationCode,
    LoginAttempt,
    RefreshToken,
    RevokedAccessToken,
    TokenFamily,
)


@dataclass(frozen=True)
class Purged:
    authorization_codes: int
    refresh_tokens: int
    token_families: int
    revoked_access_tokens: int
    login_attempts: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def purge(
    session: AsyncSession, *, now: dt.datetime, access_token_ttl_s: int, window_s: int
) -> Purged:
    """Delete the rows described in the module's docstring, in the caller's transaction."""
    horizon = now - dt.timedelta(seconds=access_token_ttl_s + LEEWAY_S)
    codes = await session.execute(
        delete(AuthorizationCode).where(col(AuthorizationCode.expires_at) < now)
    )
    tokens = await session.execute(
        delete(RefreshToken).where(col(RefreshToken.expires_at) < horizon)
    )
    orphaned = ~exists(
        select(col(RefreshToken.id)).where(
            col(RefreshToken.family_id) == col(TokenFamily.family_id)
        )
    )
    families = await session.execute(
        delete(TokenFamily).where(orphaned, col(TokenFamily.created_at) < horizon)
    )
    revoked = await session.execute(
        delete(RevokedAccessToken).where(
            col(RevokedAccessToken.expires_at) < now - dt.timedelta(seconds=LEEWAY_S)
        )
    )
    attempts = await session.execute(
        delete(LoginAttempt).where(col(LoginAttempt.at) < now - dt.timedelta(seconds=window_s))
    )
    return Purged(
        authorization_codes=_count(codes),
        refresh_tokens=_count(tokens),
        token_families=_count(families),
        revoked_access_tokens=_count(revoked),
        login_attempts=_count(attempts),
    )
