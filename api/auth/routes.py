"""The authorization server's HTTP endpoints, sign-up and the sign-in and consent pages.

``GET /oauth/authorize`` checks the authorization request and shows the sign-in form; its
``POST`` checks the password (throttled per IP and per email: the attempt is counted before the
password is checked, see identity/throttle.py) and shows the consent page, whose
``POST`` (with the signed ``consent`` field) redirects to the client with a code or an error.
``POST /oauth/token``, ``/oauth/revoke`` (RFC 7009), ``/oauth/introspect`` (RFC 7662),
``GET /.well-known/openid-configuration`` (and ``oauth-authorization-server``),
``GET /.well-known/jwks.json`` and ``POST /auth/sign-up`` (JSON).

No cookie: the signed-in state between the sign-in and the consent step is the ``consent``
field, a JWT signed with the token key (``typ`` consent+jwt, audience the authorize endpoint,
5 minutes) naming the account and a digest of the authorization request it was made for.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import OAuth2Error
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.relay import to_base64

from api.auth import pages
from identity import accounts, keys, throttle
from identity.config import AuthConfig, now
from identity.server import SCOPES, Client, FormRequest, OAuthServer, metadata
from service.runtime import Runtime

log = logging.getLogger("corroborate.auth")
T = TypeVar("T")

AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
)
MAX_FORM_BYTES = 16_384
CONSENT_TTL_S = 300
CONSENT_TYPE = "consent+jwt"


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _config(request: Request) -> AuthConfig:
    return _runtime(request).settings.auth_config()


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _json_error(status: int, error: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "message": message},
        status_code=status,
        headers={"Cache-Control": "no-store", **headers},
    )


async def _form(request: Request) -> list[tuple[str, str]]:
    """The urlencoded body (OAuth endpoints take nothing else), at most MAX_FORM_BYTES."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise _Refused(
            JSONResponse(
                {
                    "error": "invalid_request",
                    "error_description": "Expected Content-Type application/x-www-form-urlencoded.",
                },
                status_code=400,
                headers={"Cache-Control": "no-store"},
            )
        )
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise _Refused(
            JSONResponse(
                {
                    "error": "invalid_request",
                    "error_description": f"Expected a body of at most {MAX_FORM_BYTES} bytes.",
                },
                status_code=413,
            )
        )
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise _Refused(
            JSONResponse(
                {"error": "invalid_request", "error_description": "Expected UTF-8 form data."},
                status_code=400,
            )
        ) from None


def _oauth_request(request: Request, path: str, items: Sequence[tuple[str, str]]) -> FormRequest:
    return FormRequest(request.method, _config(request).issuer + path, request.headers, items)


async def _with_server(
    request: Request,
    body: Callable[[OAuthServer], T],
    *,
    write: bool,
    auth_time: dt.datetime | None = None,
) -> T:
    """Run ``body`` with a server around a synchronous Session, in one transaction that commits
    whatever the outcome (a refused refresh still records the family it revoked)."""
    runtime = _runtime(request)
    config = _config(request)
    factory = runtime.write_sessions if write else runtime.sessions
    async with factory() as session, session.begin():
        return await session.run_sync(
            lambda db: body(OAuthServer(db, config, now(), auth_time=auth_time))
        )


# -- token, revocation, introspection ------------------------------------------------------------


async def token(request: Request) -> Response:
    try:
        items = await _form(request)
    except _Refused as refused:
        return refused.response
    oauth = _oauth_request(request, "/oauth/token", items)
    response: Response = await _with_server(
        request, lambda server: server.create_token_response(oauth), write=True
    )
    return response


async def revoke(request: Request) -> Response:
    try:
        items = await _form(request)
    except _Refused as refused:
        return refused.response
    oauth = _oauth_request(request, "/oauth/revoke", items)
    response: Response = await _with_server(
        request, lambda server: server.create_endpoint_response("revocation", oauth), write=True
    )
    return response


async def introspect(request: Request) -> Response:
    try:
        items = await _form(request)
    except _Refused as refused:
        return refused.response
    oauth = _oauth_request(request, "/oauth/introspect", items)
    response: Response = await _with_server(
        request,
        lambda server: server.create_endpoint_response("introspection", oauth),
        write=False,
    )
    return response


# -- discovery -----------------------------------------------------------------------------------


async def openid_configuration(request: Request) -> Response:
    return JSONResponse(
        metadata(_config(request)), headers={"Cache-Control": "public, max-age=300"}
    )


async def jwks(request: Request) -> Response:
    runtime, config = _runtime(request), _config(request)
    async with runtime.sessions() as session:
        ready = await session.run_sync(keys.has_signing_key)
    if not ready:  # first start: make the key now, so the JWKS holds the key that will sign
        async with runtime.write_sessions() as session, session.begin():
            await session.run_sync(lambda db: keys.signing_key(db, now()))
    async with runtime.sessions() as session:
        document = await session.run_sync(
            lambda db: keys.public_jwks(db, now(), config.key_grace_s)
        )
    return JSONResponse(
        document,
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=60"},
    )


# -- the authorization endpoint and its pages ----------------------------------------------------


def _authorize_params(items: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in items if name in AUTHORIZE_PARAMS]


def _check_request(server: OAuthServer, oauth: FormRequest) -> tuple[Client, str] | Response:
    """The client and the scope asked for, or the response refusing the request: a redirect
    with an error when the client and redirect URI are good, else an error page."""
    try:
        grant = server.get_consent_grant(oauth, end_user=None)
    except OAuth2Error as error:
        if error.redirect_uri:
            response: Response = server.handle_error_response(oauth, error)
            return response
        return pages.error_page(error.description or error.error, 400)
    return grant.client, grant.request.scope or ""


def _digest(params: Sequence[tuple[str, str]]) -> str:
    return hashlib.sha256(json.dumps(sorted(params)).encode()).hexdigest()


def _consent_token(
    server: OAuthServer, account: accounts.Account, client_id: str, digest: str
) -> str:
    key = server.key()
    issued = int(server.now.timestamp())
    claims = {
        "iss": server.config.issuer,
        "aud": server.config.issuer + "/oauth/authorize",
        "sub": accounts.subject_of(account),
        "client_id": client_id,
        "req": digest,
        "iat": issued,
        "auth_time": issued,
        "exp": issued + CONSENT_TTL_S,
    }
    header = {"alg": keys.ALG, "kid": key.kid, "typ": CONSENT_TYPE}
    return jwt.encode(header, claims, key.key, algorithms=[keys.ALG])


def _read_consent(
    server: OAuthServer, value: str, client_id: str, digest: str
) -> dict[str, Any] | None:
    config = server.config
    try:
        decoded = jwt.decode(
            value,
            keys.verification_keys(server.db, server.now, config.key_grace_s),
            algorithms=[keys.ALG],
        )
        if decoded.header.get("typ") != CONSENT_TYPE:
            return None
        JWTClaimsRegistry(
            now=int(server.now.timestamp()),
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": config.issuer + "/oauth/authorize"},
            client_id={"essential": True, "value": client_id},
            req={"essential": True, "value": digest},
            exp={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError):
        return None
    return dict(decoded.claims)


async def authorize(request: Request) -> Response:
    if request.method == "GET":
        items = _authorize_params(list(request.query_params.multi_items()))
        form: dict[str, str] = {}
    else:
        try:
            posted = await _form(request)
        except _Refused as refused:
            return refused.response
        items = _authorize_params(posted)
        form = dict(posted)
    oauth = _oauth_request(request, "/oauth/authorize", items)
    checked = await _with_server(request, lambda server: _check_request(server, oauth), write=False)
    if isinstance(checked, Response):
        return checked
    client, scope = checked
    params = dict(items)
    if request.method == "GET":
        return pages.sign_in_page(client_name=client.name, params=params)
    if "consent" in form:
        return await _decide(request, oauth, client, form, items)
    return await _sign_in(request, client, scope, form, items)


async def _sign_in(
    request: Request,
    client: Client,
    scope: str,
    form: dict[str, str],
    items: list[tuple[str, str]],
) -> Response:
    runtime, config = _runtime(request), _config(request)
    params = dict(items)
    email, password = form.get("email", ""), form.get("password", "")
    ip_key, account_key = throttle.signin_ip(_ip(request)), throttle.signin_account(email)
    moment = now()
    try:  # counted before the password is checked, so that a burst gets no more guesses
        async with runtime.write_sessions() as session, session.begin():
            taken = await throttle.take(
                session,
                [
                    throttle.Limit(ip_key, config.signin_max_failures_ip),
                    throttle.Limit(account_key, config.signin_max_failures_account),
                ],
                window_s=config.signin_window_s,
                now=moment,
            )
    except throttle.Throttled as refused:
        minutes = max(1, round(refused.retry_after / 60))
        return pages.sign_in_page(
            client_name=client.name,
            params=params,
            email=email,
            error=f"Too many failed sign-ins. Try again in about {minutes} minute(s).",
            status=429,
            headers={"Retry-After": str(refused.retry_after)},
        )
    async with runtime.sessions() as session:
        found = await accounts.authenticate(
            session, email=email, password=password, hashing=config.hashing
        )
    account = found.account
    if account is not None:  # a success gives back what the attempt took
        async with runtime.write_sessions() as session, session.begin():
            await throttle.withdraw(session, taken)
            await throttle.clear(session, account_key)
            if found.rehash is not None:
                await accounts.store_rehash(session, account.id, found.rehash)
    if account is None:
        log.info("sign-in refused", extra={"client_id": client.client_id})
        return pages.sign_in_page(
            client_name=client.name,
            params=params,
            email=email,
            error="Wrong email or password.",
            status=401,
        )
    if not account.active:
        return pages.sign_in_page(
            client_name=client.name,
            params=params,
            email=email,
            error="This account is suspended.",
            status=403,
        )
    digest = _digest(items)
    consent = await _with_server(
        request,
        lambda server: _consent_token(server, account, client.client_id, digest),
        write=True,  # the first signing key may be made here
    )
    described = [(name, SCOPES.get(name, name)) for name in scope.split()]
    log.info("signed in", extra={"account_id": account.id, "client_id": client.client_id})
    return pages.consent_page(
        client_name=client.name,
        pseudonym=account.pseudonym,
        scopes=described,
        params=params,
        consent=consent,
    )


async def _decide(
    request: Request,
    oauth: FormRequest,
    client: Client,
    form: dict[str, str],
    items: list[tuple[str, str]],
) -> Response:
    digest = _digest(items)
    allow = form.get("decision") == "allow"

    def run(server: OAuthServer) -> Response:
        claims = _read_consent(server, form["consent"], client.client_id, digest)
        if claims is None:
            return pages.sign_in_page(
                client_name=client.name,
                params=dict(items),
                error="Your sign-in expired or does not match this request: sign in again.",
                status=400,
            )
        server.auth_time = dt.datetime.fromtimestamp(int(claims["auth_time"]), dt.UTC)
        account = accounts.load_account(
            server.db, public_id=accounts.public_id_of(str(claims["sub"])) or "-"
        )
        grant_user = account if allow and account is not None and account.active else None
        try:
            grant = server.get_consent_grant(oauth, end_user=grant_user)
        except OAuth2Error as error:
            return server.handle_error_response(oauth, error)
        response: Response = server.create_authorization_response(
            oauth, grant_user=grant_user, grant=grant
        )
        return response

    return await _with_server(request, run, write=True)


# -- sign-up -------------------------------------------------------------------------------------


async def sign_up(request: Request) -> Response:
    """``{"email", "password", "pseudonym"}`` → 201 ``{"id", "pseudonym"}``."""
    runtime, config = _runtime(request), _config(request)
    expected = "expected a JSON object with the strings email, password and pseudonym"
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return _json_error(400, "bad_request", expected)
    fields = ("email", "password", "pseudonym")
    if not isinstance(body, dict) or not all(isinstance(body.get(f), str) for f in fields):
        missing = [
            f for f in fields if not isinstance(body, dict) or not isinstance(body.get(f), str)
        ]
        return _json_error(
            400, "bad_request", f"{expected}; missing or not a string: {', '.join(missing)}"
        )
    email, password, pseudonym = body["email"], body["password"], body["pseudonym"]
    key, moment = throttle.signup_ip(_ip(request)), now()
    try:
        async with runtime.write_sessions() as session, session.begin():
            await throttle.take(
                session,
                [throttle.Limit(key, config.signup_max_per_ip)],
                window_s=config.signin_window_s,
                now=moment,
            )
    except throttle.Throttled as refused:
        return _json_error(
            429,
            "throttled",
            f"too many sign-ups from this address: retry after {refused.retry_after} s",
            **{"Retry-After": str(refused.retry_after)},
        )
    try:
        password_hash = await accounts.hash_for_sign_up(
            email=email, password=password, pseudonym=pseudonym, hashing=config.hashing
        )
        async with runtime.write_sessions() as session, session.begin():
            account = await accounts.sign_up(
                session,
                email=email,
                pseudonym=pseudonym,
                password_hash=password_hash,
                now=moment,
            )
    except accounts.AccountError as refused:
        error = "conflict" if refused.status == 409 else "bad_request"
        return _json_error(refused.status, error, str(refused))
    log.info("signed up", extra={"account_id": account.id})
    return JSONResponse(
        {"id": to_base64("Member", account.public_id), "pseudonym": account.pseudonym},
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


routes = [
    Route("/oauth/authorize", authorize, methods=["GET", "POST"]),
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/oauth/introspect", introspect, methods=["POST"]),
    Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
    Route("/.well-known/oauth-authorization-server", openid_configuration, methods=["GET"]),
    Route("/.well-known/jwks.json", jwks, methods=["GET"]),
    Route("/auth/sign-up", sign_up, methods=["POST"]),
]
