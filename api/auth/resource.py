"""The resource side: turn an ``Authorization: Bearer`` header into a verified :class:`Identity`.

A token is routed by its (unverified) ``iss`` claim to the one verifier allowed to vouch for it:

* **our own authorization server** (``auth_issuer``): an EdDSA ``at+jwt`` signed by a key of our
  JWKS (identity/keys.py), for ``auth_audience``, within its validity period give or take
  ``LEEWAY_S``, and neither its ``jti`` nor its refresh-token family revoked (identity/tokens.py);
* **an external issuer an operator trusts** (``auth_external_issuers``, api/auth/external.py),
  with that issuer's keys, algorithms, audience and role mapping;
* anything else is refused. Routing on ``iss`` only picks the keys: the signature check that
  follows is what makes the claim true, and a token claiming our issuer is only ever checked
  against our keys (so ``alg: none`` or an HS256 token keyed with a public key fail there).

Tokens come only from the header: never from a URL or a cookie, and they are never logged.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlmodel import col

from api.auth.external import ExternalIssuers
from api.auth.identity import Identity, TokenError
from identity import tokens
from identity.accounts import public_id_of
from identity.keys import verification_keys
from identity.tokens import LEEWAY_S
from models.identity import Account as AccountRow
from service.runtime import Runtime

#: our verification keys are re-read at least this often (a rotation is seen by then) …
KEYS_TTL_S = 60.0
#: … and at once for a token naming a key we do not hold, but not more often than this
KEYS_RETRY_S = 5.0


def _segment(token: str, index: int) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError(
            f"expected a JWT access token (three base64url parts separated by dots), got "
            f"{len(parts)} part(s)"
        )
    try:
        raw = parts[index] + "=" * (-len(parts[index]) % 4)
        value = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError):
        raise TokenError("expected a JWT access token with base64url JSON parts") from None
    if not isinstance(value, dict):
        raise TokenError("expected a JWT access token whose parts are JSON objects")
    return value


#: query parameters that carry a token (RFC 6750 §2.3 names ``access_token``)
TOKEN_PARAMETERS = ("access_token", "authorization", "bearer", "token", "id_token")
_JWT = re.compile(r"^(?:bearer\s+)?eyJ[\w-]*\.[\w-]*\.[\w-]*$", re.IGNORECASE)


def misplaced_token(query: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
    """Where a request carries a bearer token outside the Authorization header — a query
    parameter or a cookie — or None. Such a token is refused, not ignored: a caller who put it
    there would otherwise be answered as anonymous without knowing why, and a token in a URL
    ends up in logs, histories and caches (RFC 6750 §2.3, §5.3)."""
    for name in query:
        if name.lower() in TOKEN_PARAMETERS:
            return f"the query parameter `{name[:40]}`"
    for name, value in cookies.items():
        if name.lower() in TOKEN_PARAMETERS or _JWT.match(unquote(value).strip().strip('"')):
            return f"the cookie `{name[:40]}`"
    return None


def misplaced_token_message(where: str) -> str:
    return (
        "expected the access token in the Authorization header (Authorization: Bearer <token>), "
        f"got one in {where}: tokens are read only from that header, never from a URL or a "
        "cookie (RFC 6750 §2.3)"
    )


def bearer_token(header: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError(
            "expected an Authorization header of the form 'Bearer <access token>', got "
            f"{'another scheme' if scheme.lower() != 'bearer' else 'no token'}"
        )
    return token.strip()


class Authenticator:
    """One per app; shared by GraphQL (api/view.py) and the plain routes (``app.state``)."""

    def __init__(self, runtime: Runtime, external: ExternalIssuers | None = None) -> None:
        self.runtime = runtime
        self.config = runtime.settings.auth_config()
        # the issuers of CORROBORATE_AUTH_EXTERNAL_ISSUERS unless given (tests)
        self.external = (
            external if external is not None else ExternalIssuers.from_settings(runtime.settings)
        )
        self._keys: KeySet | None = None
        self._kids: frozenset[str] = frozenset()
        self._loaded_at = -1e9

    async def identify(self, header: str | None) -> Identity | None:
        """None for an anonymous request; the verified identity; or :class:`TokenError`."""
        if header is None:
            return None
        token = bearer_token(header)
        issuer = _segment(token, 1).get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise TokenError("expected an access token with an `iss` claim, got none")
        if issuer == self.config.issuer:
            return await self._own(token)
        if self.external.trusts(issuer):
            return await self.external.verify(token, issuer)
        raise TokenError(
            f"expected a token from {self.config.issuer} or an issuer this deployment trusts, "
            f"got one from {issuer[:200]!r}"
        )

    async def _own(self, token: str) -> Identity:
        kid = _segment(token, 0).get("kid")
        keys = await self._verification_keys(kid if isinstance(kid, str) else None)
        now = dt.datetime.now(dt.UTC)
        claims = tokens.decode_access_token(
            token,
            keys,
            issuer=self.config.issuer,
            audience=self.config.audience,
            now=now,
            leeway_s=LEEWAY_S,
        )
        if claims is None:
            raise TokenError(
                f"expected an access token signed with one of {self.config.issuer}'s keys "
                f"(EdDSA, typ at+jwt) for the audience {self.config.audience!r}, within its "
                "validity period; this one is not"
            )
        jti, sid = str(claims["jti"]), claims.get("sid")
        subject = str(claims["sub"])
        public_id = public_id_of(subject)
        account_id = None
        async with self.runtime.sessions() as session:
            if await tokens.is_revoked(session, jti, sid if isinstance(sid, str) else None):
                raise TokenError("the access token was revoked")
            if public_id is not None:
                account_id = await session.scalar(
                    select(col(AccountRow.id)).where(col(AccountRow.public_id) == public_id)
                )
                if account_id is None:
                    raise TokenError(
                        f"the access token names a member that does not exist: {subject}"
                    )
        roles = claims.get("roles", [])
        publisher = claims.get("publisher")
        return Identity(
            issuer=self.config.issuer,
            subject=subject,
            roles=frozenset(str(r) for r in roles) if isinstance(roles, list) else frozenset(),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            publisher=publisher if isinstance(publisher, str) else None,
            client_id=str(claims["client_id"]) if "client_id" in claims else None,
            account_id=account_id,
            own=True,
        )

    async def _verification_keys(self, kid: str | None) -> KeySet:
        age = time.monotonic() - self._loaded_at
        unknown = kid is not None and kid not in self._kids
        if self._keys is None or age > KEYS_TTL_S or (unknown and age > KEYS_RETRY_S):
            now = dt.datetime.now(dt.UTC)
            grace = self.config.key_grace_s
            async with self.runtime.sessions() as session:
                keys = await session.run_sync(lambda db: verification_keys(db, now, grace))
            self._keys = keys
            self._kids = frozenset(str(k.kid) for k in keys.keys if k.kid is not None)
            self._loaded_at = time.monotonic()
        return self._keys
