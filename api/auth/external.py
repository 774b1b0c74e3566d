"""Access tokens from the external OpenID Connect issuers an operator trusts
(setting ``auth_external_issuers``): a national login service, an agency's Keycloak.

For each issuer the operator states its URL, the audience its tokens must carry for this API,
the signature algorithms accepted (asymmetric only: settings refuse ``none`` and HS*), where its
roles are in a token and how they map onto ours. A token verifies when:

1. its header names one of those algorithms and a key of the issuer's JWKS (RFC 7517);
2. the signature checks with that key (joserfc, restricted to the header's one algorithm);
3. ``iss`` is the issuer exactly, ``aud`` contains the audience, ``exp`` and ``sub`` are present,
   and ``exp``, ``nbf`` and ``iat`` hold give or take the issuer's leeway;
4. it is an access token: a ``typ`` header, if any, is ``JWT`` or ``at+jwt`` (RFC 9068), and a
   Keycloak-style ``typ`` claim, if any, is ``Bearer`` (not an ID or refresh token).

Roles: the values of the roles claim that ``role_map`` names become ours; any other value is
ignored; every caller is a ``member`` (anyone signed in may file a challenge). A mapped
``publisher`` role needs the publisher claim to name one of the slugs the issuer may speak for.

Keys: the JWKS (at ``jwks_uri``, or the one OpenID Connect Discovery names) is fetched with
httpx, kept ``KEYS_TTL_S``, and fetched again at once when a token names a key not in it (a
rotation), but never more often than every ``REFETCH_MIN_S`` per issuer, so a flood of made-up
``kid``s cannot hammer the issuer. Concurrent requests share one fetch. When the issuer cannot be
reached, the keys last fetched keep serving for ``STALE_MAX_S``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import Key, OctKey, import_key
from joserfc.jwt import JWTClaimsRegistry

from api.auth.identity import Identity, TokenError
from service.settings import ExternalIssuerSetting, Settings, check_external_url

warnings.filterwarnings("ignore", message="EdDSA is deprecated via RFC 9864")

LOG = logging.getLogger(__name__)

#: timeout of each request to an issuer (discovery, JWKS)
FETCH_TIMEOUT_S = 5.0
#: how long an issuer's keys are used before they are fetched again
KEYS_TTL_S = 600.0
#: the least time between two fetches of one issuer's keys, whatever tokens arrive
REFETCH_MIN_S = 30.0
#: how long the keys last fetched keep serving while the issuer cannot be reached
STALE_MAX_S = 3600.0
#: ``typ`` headers of access tokens: RFC 9068's, and the plain JWT most issuers write
_ACCESS_TOKEN_TYPES = {"jwt", "at+jwt", "application/at+jwt"}
#: the key type each algorithm signs with
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


def _claim(claims: dict[str, Any], path: str) -> Any:
    """The value at a dotted path (``realm_access.roles``), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _strings(value: Any) -> list[str]:
    """A claim holding names: a list of strings, or one space-separated string."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _public_keys(document: Any, issuer: str) -> tuple[Key, ...]:
    """The signature keys of a JWKS document; symmetric, encryption and unreadable keys are
    left out."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError('expected a JWKS document ({"keys": [...]})')
    found: list[Key] = []
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = import_key(entry)
        except (JoseError, ValueError, TypeError):
            LOG.warning("external issuer %s publishes a key that cannot be read; ignored", issuer)
            continue
        if isinstance(key, OctKey):
            continue
        found.append(import_key(key.as_dict(private=False)))
    if not found:
        raise ValueError("expected at least one public signature key in the JWKS, found none")
    return tuple(found)


@dataclass
class _Keys:
    """One issuer's keys and when they were fetched (``clock`` seconds)."""

    keys: tuple[Key, ...] = ()
    fetched_at: float | None = None
    attempted_at: float | None = None
    failure: str = ""
    inflight: asyncio.Task[None] | None = field(default=None, repr=False)


class ExternalIssuers:
    """The external issuers this deployment trusts, and their keys.

    One per app, shared by every request. ``transport`` is for tests that need no network;
    ``clock`` (monotonic seconds) times the key cache.
    """

    def __init__(
        self,
        issuers: Iterable[ExternalIssuerSetting],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._configs = {config.issuer: config for config in issuers}
        self._keys = {issuer: _Keys() for issuer in self._configs}
        self._transport = transport
        self._clock = clock

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> ExternalIssuers:
        return cls(settings.auth_external_issuers, transport=transport, clock=clock)

    @property
    def issuers(self) -> Sequence[str]:
        return tuple(self._configs)

    def trusts(self, issuer: str) -> bool:
        """Whether ``issuer`` (a token's ``iss``, exactly) is one the operator configured."""
        return issuer in self._configs

    async def verify(self, token: str, issuer: str) -> Identity:
        """The identity ``token`` carries, verified as one of ``issuer``'s access tokens; else
        :class:`TokenError` saying what was expected (never quoting the token)."""
        config = self._configs.get(issuer)
        if config is None:
            raise TokenError(
                f"expected a token from an issuer this deployment trusts; {issuer[:200]!r} "
                "is not one"
            )
        header = _header(token)
        alg = header.get("alg")
        if alg not in config.algorithms:
            raise TokenError(
                f"expected a token from {issuer} signed with one of "
                f"{', '.join(config.algorithms)}, got alg {str(alg)[:20]!r}"
            )
        typ = header.get("typ")
        if typ is not None and str(typ).lower() not in _ACCESS_TOKEN_TYPES:
            raise TokenError(
                f"expected an access token (typ JWT or at+jwt), got typ {str(typ)[:40]!r}"
            )
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenError("expected the `kid` header to be a string")
        key = _pick_key(await self._keys_for(config, kid), kid, str(alg), issuer)
        try:
            decoded = jwt.decode(token, key, algorithms=[str(alg)])
        except BadSignatureError:
            raise TokenError(
                f"expected a token signed by {issuer}: the signature does not match its key "
                f"{key.kid or ''}".rstrip()
            ) from None
        except (JoseError, ValueError, TypeError) as error:
            raise TokenError(
                f"expected a token signed by {issuer} with {alg}; it could not be verified "
                f"({type(error).__name__})"
            ) from None
        claims = dict(decoded.claims)
        _check_claims(config, claims)
        return _identity(config, claims)

    # -- the issuers' keys ------------------------------------------------------------------------

    async def _keys_for(self, config: ExternalIssuerSetting, kid: str | None) -> tuple[Key, ...]:
        """The issuer's keys, fetched again when stale or when they lack ``kid`` — at most once
        per ``REFETCH_MIN_S``."""
        cache = self._keys[config.issuer]
        if cache.inflight is not None:
            await asyncio.shield(cache.inflight)
        now = self._clock()
        fresh = cache.fetched_at is not None and now - cache.fetched_at < KEYS_TTL_S
        known = kid is None or any(key.kid == kid for key in cache.keys)
        if fresh and known:
            return cache.keys
        recent = cache.attempted_at is not None and now - cache.attempted_at < REFETCH_MIN_S
        if not recent:
            await self._refresh(config, cache)
        if cache.fetched_at is None or self._clock() - cache.fetched_at > STALE_MAX_S:
            raise TokenError(
                f"the keys of {config.issuer} could not be fetched ({cache.failure}); "
                "its tokens cannot be verified now"
            )
        return cache.keys

    async def _refresh(self, config: ExternalIssuerSetting, cache: _Keys) -> None:
        """Fetch the keys, or join the fetch already under way."""
        if cache.inflight is None:
            cache.attempted_at = self._clock()
            task = asyncio.get_running_loop().create_task(self._fetch(config, cache))
            cache.inflight = task

            def done(_: asyncio.Task[None]) -> None:
                if cache.inflight is task:
                    cache.inflight = None

            task.add_done_callback(done)
        else:
            task = cache.inflight
        await asyncio.shield(task)

    async def _fetch(self, config: ExternalIssuerSetting, cache: _Keys) -> None:
        """Fetch the JWKS into ``cache``; on failure keep the keys it has and say why."""
        try:
            async with httpx.AsyncClient(
                timeout=FETCH_TIMEOUT_S,
                transport=self._transport,
                headers={"accept": "application/json"},
            ) as client:
                jwks_uri = config.jwks_uri or await _discover(client, config.issuer)
                document = await _get_json(client, jwks_uri)
            keys = _public_keys(document, config.issuer)
        except (httpx.HTTPError, ValueError) as error:
            cache.failure = str(error)[:300] or type(error).__name__
            LOG.warning(
                "could not fetch the keys of external issuer %s: %s", config.issuer, cache.failure
            )
            return
        cache.keys = keys
        cache.fetched_at = self._clock()
        cache.failure = ""
        LOG.info(
            "fetched %d key(s) of external issuer %s: %s",
            len(keys),
            config.issuer,
            ", ".join(str(key.kid) for key in keys),
        )


async def _get_json(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(url)
    if response.status_code != 200:
        raise ValueError(f"expected 200 from {url}, got {response.status_code}")
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"expected JSON from {url}, got something else") from None


async def _discover(client: httpx.AsyncClient, issuer: str) -> str:
    """The ``jwks_uri`` of the issuer's OpenID Connect Discovery document, which must name the
    issuer exactly (OpenID Connect Discovery 1.0 §4.3)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = await _get_json(client, url)
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        got = document.get("issuer") if isinstance(document, dict) else None
        raise ValueError(f"expected {url} to name the issuer {issuer}, got {str(got)[:200]!r}")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise ValueError(f"expected a jwks_uri in {url}, found none")
    return check_external_url(jwks_uri)


# -- one token ------------------------------------------------------------------------------------


def _header(token: str) -> dict[str, Any]:
    try:
        return dict(jws.extract_compact(token.encode("ascii")).headers())
    except (JoseError, ValueError, UnicodeError):
        raise TokenError(
            "expected a JWT access token (a signed JWS in compact form), got something else"
        ) from None


def _pick_key(keys: tuple[Key, ...], kid: str | None, alg: str, issuer: str) -> Key:
    """The key named by ``kid``; without a ``kid``, the issuer's only key of the right type."""
    key_type = _KEY_TYPES.get(alg[:2])
    if key_type is None:  # settings refuse such algorithms; checked again here all the same
        raise TokenError(f"expected a token signed with a public-key algorithm, got alg {alg}")
    if kid is not None:
        named = [key for key in keys if key.kid == kid]
        if not named:
            raise TokenError(
                f"expected a token signed with one of {issuer}'s keys "
                f"({', '.join(str(k.kid) for k in keys)}), got kid {kid[:80]!r}"
            )
        candidates = named
    else:
        candidates = [key for key in keys if key.key_type == key_type]
        if len(candidates) != 1:
            raise TokenError(
                f"expected a `kid` header naming one of {issuer}'s keys, got a token without one"
            )
    key = candidates[0]
    if key.key_type != key_type or (key.alg is not None and key.alg != alg):
        raise TokenError(
            f"expected a token signed as {issuer}'s key {key.kid} allows "
            f"({key.alg or key.key_type}), got alg {alg}"
        )
    return key


def _check_claims(config: ExternalIssuerSetting, claims: dict[str, Any]) -> None:
    registry = JWTClaimsRegistry(
        leeway=config.leeway_s,
        iss={"essential": True, "value": config.issuer},
        aud={"essential": True, "value": config.audience},
        sub={"essential": True},
        exp={"essential": True},
    )
    try:
        registry.validate(claims)
    except MissingClaimError as error:
        missing = error.claim.replace(",", ", ")
        raise TokenError(f"expected a token with the claims {missing}; it lacks them") from None
    except ExpiredTokenError:
        raise TokenError(
            f"expected an unexpired token: it expired at {claims.get('exp')} "
            f"(now {int(time.time())}, leeway {config.leeway_s} s)"
        ) from None
    except JoseError as error:
        raise TokenError(_claim_error(config, getattr(error, "claim", ""), claims)) from None
    if claims.get("typ") is not None and claims.get("typ") != "Bearer":
        raise TokenError(
            f"expected an access token (typ claim Bearer), got typ {str(claims['typ'])[:40]!r}"
        )


def _claim_error(config: ExternalIssuerSetting, claim: str, claims: dict[str, Any]) -> str:
    now = int(time.time())
    if claim == "iss":
        return f"expected iss {config.issuer!r}, got {str(claims.get('iss'))[:200]!r}"
    if claim == "aud":
        return f"expected aud to include {config.audience!r}, got {str(claims.get('aud'))[:200]!r}"
    if claim == "nbf":
        return (
            f"expected a token already valid: nbf is {claims.get('nbf')} "
            f"(now {now}, leeway {config.leeway_s} s)"
        )
    if claim == "iat":
        return (
            f"expected a token issued in the past: iat is {claims.get('iat')} "
            f"(now {now}, leeway {config.leeway_s} s)"
        )
    return f"expected a valid `{claim}` claim (a string or NumericDate as RFC 7519 says)"


def _identity(config: ExternalIssuerSetting, claims: dict[str, Any]) -> Identity:
    mapped = {
        config.role_map[name]
        for name in _strings(_claim(claims, config.roles_claim))
        if name in config.role_map
    }
    publisher = None
    if "publisher" in mapped:
        assert config.publisher_claim is not None  # settings require it with a publisher role
        publisher = _claim(claims, config.publisher_claim)
        if not isinstance(publisher, str) or publisher not in config.publishers:
            got = "none" if publisher is None else repr(str(publisher)[:80])
            raise TokenError(
                f"expected the `{config.publisher_claim}` claim of a token with a publisher "
                f"role to name one of {', '.join(config.publishers)}, got {got}"
            )
    client_id = next(
        (claims[name] for name in ("azp", "client_id") if isinstance(claims.get(name), str)), None
    )
    name = claims.get("preferred_username")
    return Identity(
        issuer=config.issuer,
        subject=str(claims["sub"]),
        roles=frozenset(mapped | {"member"}),
        scopes=frozenset(_strings(_claim(claims, config.scope_claim))),
        publisher=publisher,
        client_id=client_id,
        account_id=None,
        display_name=name if isinstance(name, str) and name else None,
        own=False,
    )
