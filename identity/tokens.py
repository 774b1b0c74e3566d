"""Access tokens: JWTs signed with the current Ed25519 key (RFC 9068 profile), and their
revocation.

The contract the API's resource side verifies:

- header: ``alg`` EdDSA, ``kid`` (a key in /.well-known/jwks.json), ``typ`` at+jwt;
- claims: ``iss`` (setting auth_issuer), ``aud`` (setting auth_audience), ``sub``
  (``member:<public id>`` for a member, the opaque key of its global ID, ``client:<client_id>`` for client credentials), ``client_id``,
  ``scope`` (space-separated), ``exp``, ``iat``, ``nbf``, ``jti``, ``roles`` (some of member,
  moderator, publisher, admin), ``publisher`` (the publisher's slug, when bound to one) and
  ``sid`` (the token family, for tokens issued to an account).

A token is revoked when its ``jti`` was revoked (RFC 7009) or its family was (refresh-token
reuse, revocation of a refresh token, a suspended account): ``is_revoked``.

joserfc warns that RFC 9864 deprecates the ``EdDSA`` algorithm name in favour of ``Ed25519``;
``EdDSA`` is what verifiers support today, so that one warning is silenced here.
"""

from __future__ import annotations

import datetime as dt
import secrets
import warnings
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from identity.keys import ALG, ActiveKey
from models.identity import RevokedAccessToken, TokenFamily

TYPE = "at+jwt"
warnings.filterwarnings("ignore", message="EdDSA is deprecated via RFC 9864")

#: clock skew allowed on ``exp`` and ``nbf`` of our own tokens (the resource side, api/auth/resource.py)
LEEWAY_S = 30


@dataclass(frozen=True)
class Issued:
    token: str
    claims: dict[str, Any]


def issue_access_token(
    key: ActiveKey,
    *,
    issuer: str,
    audience: str,
    ttl_s: int,
    subject: str,
    client_id: str,
    scope: str,
    roles: list[str],
    publisher: str | None,
    sid: str | None,
    now: dt.datetime,
) -> Issued:
    issued_at = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "client_id": client_id,
        "scope": scope,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + ttl_s,
        "jti": secrets.token_urlsafe(24),
        "roles": sorted(roles),
    }
    if publisher is not None:
        claims["publisher"] = publisher
    if sid is not None:
        claims["sid"] = sid
    header = {"alg": ALG, "kid": key.kid, "typ": TYPE}
    return Issued(jwt.encode(header, claims, key.key, algorithms=[ALG]), claims)


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def decode_access_token(
    token: str,
    keys: KeySet,
    *,
    issuer: str,
    audience: str,
    now: dt.datetime,
    allow_expired: bool = False,
    leeway_s: int = 0,
) -> dict[str, Any] | None:
    """The claims of a valid access token signed by one of ``keys``, else None: a bad
    signature, another ``typ``, issuer or audience, not yet valid, or expired (unless
    ``allow_expired``, for revocation); ``leeway_s`` allows that much clock skew."""
    try:
        decoded = jwt.decode(token, keys, algorithms=[ALG])
    except (JoseError, ValueError):
        return None
    if decoded.header.get("typ") != TYPE:
        return None
    registry = JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=leeway_s,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        sub={"essential": True},
        jti={"essential": True},
        exp={"essential": True},
    )
    claims = dict(decoded.claims)
    try:
        registry.validate(claims | ({"exp": 2**62} if allow_expired else {}))
    except JoseError:
        return None
    return claims


def revoke_access_token(db: Session, jti: str, expires_at: dt.datetime) -> None:
    if db.get(RevokedAccessToken, jti) is None:
        db.add(RevokedAccessToken(jti=jti, expires_at=expires_at))
        db.flush()


def revoke_family(db: Session, family_id: str, now: dt.datetime, reason: str) -> None:
    """Revoke every refresh token of the family and every access token carrying its ``sid``."""
    db.execute(
        update(TokenFamily)
        .where(col(TokenFamily.family_id) == family_id, col(TokenFamily.revoked_at).is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


def revoke_account_families(db: Session, account_id: int, now: dt.datetime, reason: str) -> int:
    """Revoke every token family of an account (it was suspended); how many were revoked."""
    result = db.execute(
        update(TokenFamily)
        .where(col(TokenFamily.account_id) == account_id, col(TokenFamily.revoked_at).is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def is_revoked_sync(db: Session, jti: str, sid: str | None) -> bool:
    if db.get(RevokedAccessToken, jti) is not None:
        return True
    if sid is None:
        return False
    revoked_at = db.scalar(
        select(col(TokenFamily.revoked_at)).where(col(TokenFamily.family_id) == sid)
    )
    return revoked_at is not None


async def is_revoked(session: AsyncSession, jti: str, sid: str | None) -> bool:
    """Whether an access token (its ``jti`` and ``sid`` claims) was revoked before it expired.

    For the resource side, after it has checked the token's signature and claims. A ``sid``
    naming no family (never issued here) counts as not revoked: the signature is what vouches.
    """
    if await session.get(RevokedAccessToken, jti) is not None:
        return True
    if sid is None:
        return False
    revoked_at = await session.scalar(
        select(col(TokenFamily.revoked_at)).where(col(TokenFamily.family_id) == sid)
    )
    return revoked_at is not None
