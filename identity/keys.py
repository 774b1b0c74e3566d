"""The keys that sign access tokens and ID tokens: Ed25519 JWKs (RFC 8037) kept in the database,
so that every API process signs with the same key and publishes the same JWKS.

The newest key not retired signs. ``rotate`` makes a new key and retires the others; a retired
key stays in the JWKS for ``auth_key_grace_s`` (at least the access-token lifetime), so tokens it
signed keep verifying until they expire. A key's ``kid`` is its RFC 7638 thumbprint.

These functions take a synchronous Session: they run inside the authorization server's
``run_sync`` bridge (identity/server.py) or through ``AsyncSession.run_sync``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import KeySet, OKPKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from identity.config import utc
from models.identity import SigningKey

ALG = "EdDSA"


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    key: OKPKey


def _generate(now: dt.datetime) -> SigningKey:
    key = OKPKey.generate_key("Ed25519", private=True)
    kid = key.thumbprint()
    key = OKPKey.import_key(key.as_dict(private=True) | {"kid": kid, "use": "sig", "alg": ALG})
    return SigningKey(
        kid=kid, alg=ALG, private_jwk=json.dumps(key.as_dict(private=True)), created_at=now
    )


def _load(row: SigningKey) -> ActiveKey:
    return ActiveKey(kid=row.kid, key=OKPKey.import_key(json.loads(row.private_jwk)))


def signing_key(db: Session, now: dt.datetime) -> ActiveKey:
    """The key to sign with: the newest not retired, made on first use."""
    row = db.scalar(
        select(SigningKey)
        .where(col(SigningKey.retired_at).is_(None))
        .order_by(col(SigningKey.created_at).desc(), col(SigningKey.kid))
        .limit(1)
    )
    if row is None:
        row = _generate(now)
        db.add(row)
        db.flush()
    return _load(row)


def has_signing_key(db: Session) -> bool:
    return (
        db.scalar(select(SigningKey.kid).where(col(SigningKey.retired_at).is_(None)).limit(1))  # type: ignore[call-overload]
        is not None
    )


def rotate(db: Session, now: dt.datetime) -> tuple[str, list[str]]:
    """Make a new signing key and retire the others: (the new kid, the kids retired)."""
    retired = list(
        db.scalars(select(col(SigningKey.kid)).where(col(SigningKey.retired_at).is_(None))).all()
    )
    db.execute(
        update(SigningKey).where(col(SigningKey.retired_at).is_(None)).values(retired_at=now)
    )
    row = _generate(now)
    db.add(row)
    db.flush()
    return row.kid, retired


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    created_at: dt.datetime
    retired_at: dt.datetime | None
    published: bool
    signing: bool


def list_keys(db: Session, now: dt.datetime, grace_s: int) -> list[KeyInfo]:
    """Every key, newest first: whether it is still published and which one signs."""
    rows = db.scalars(
        select(SigningKey).order_by(col(SigningKey.created_at).desc(), col(SigningKey.kid))
    ).all()
    found: list[KeyInfo] = []
    for row in rows:
        retired = utc(row.retired_at) if row.retired_at else None
        found.append(
            KeyInfo(
                kid=row.kid,
                created_at=utc(row.created_at),
                retired_at=retired,
                published=retired is None or now < retired + dt.timedelta(seconds=grace_s),
                signing=retired is None and not any(k.signing for k in found),
            )
        )
    return found


def public_jwks(db: Session, now: dt.datetime, grace_s: int) -> dict[str, Any]:
    """The JWKS document: the public halves of the keys still published."""
    published = {info.kid for info in list_keys(db, now, grace_s) if info.published}
    rows = db.scalars(select(SigningKey).where(col(SigningKey.kid).in_(published))).all()
    keys = [OKPKey.import_key(json.loads(row.private_jwk)).as_dict(private=False) for row in rows]
    keys.sort(key=lambda jwk: str(jwk["kid"]))
    return {"keys": keys}


def verification_keys(db: Session, now: dt.datetime, grace_s: int) -> KeySet:
    return KeySet.import_key_set(public_jwks(db, now, grace_s))  # type: ignore[arg-type]
