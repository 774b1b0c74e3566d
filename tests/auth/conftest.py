"""Fixtures for identity tests: cheap argon2 (the policy and flows are the same), small throttle
limits, a registered publisher, clients, and a browser-like walk through the sign-in pages."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from identity.clients import Registered, register_client
from ingest.publishers import add_publisher, catalogue
from service.runtime import Runtime
from service.settings import Settings, load_settings
from tests.conftest import TEST_ORIGIN

PASSWORD = "plover-quantum-harbour-91"
REDIRECT = "https://app.example.org/callback"
ISSUER = "http://127.0.0.1:8000"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        log_origin=TEST_ORIGIN,
        auth_argon2_time_cost=1,
        auth_argon2_memory_kib=64,
        auth_signin_max_failures_account=3,
        auth_signin_max_failures_ip=5,
        auth_signup_max_per_ip=8,
    )


async def make_client(runtime: Runtime, **options: Any) -> Registered:
    values: dict[str, Any] = {
        "name": "Field notes app",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": [REDIRECT],
        "scopes": None,
        "publisher": None,
        "public": True,
        "auth_method": "client_secret_basic",
    }
    values.update(options)
    async with runtime.write_sessions() as session, session.begin():
        return await register_client(session, now=dt.datetime.now(dt.UTC), **values)


async def add_who(runtime: Runtime) -> str:
    async with runtime.write_sessions() as session, session.begin():
        await add_publisher(session, catalogue()["who"])
    return "who"


@pytest.fixture
async def app_client(runtime: Runtime) -> Registered:
    """A public client (an app): authorization code + PKCE, refresh tokens."""
    return await make_client(runtime)


async def sign_up(
    client: httpx.AsyncClient,
    email: str = "ada@example.org",
    pseudonym: str = "ada",
    password: str = PASSWORD,
) -> httpx.Response:
    return await client.post(
        "/auth/sign-up", json={"email": email, "password": password, "pseudonym": pseudonym}
    )


class _Forms(HTMLParser):
    """The hidden fields of a page's form, and the page's error message."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.alert = False
        self.error = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden":
            self.fields[str(values["name"])] = str(values.get("value") or "")
        self.alert = tag == "p" and values.get("role") == "alert"

    def handle_data(self, data: str) -> None:
        if self.alert:
            self.error += data


def hidden_fields(page: str) -> dict[str, str]:
    parser = _Forms()
    parser.feed(page)
    return parser.fields


def page_error(page: str) -> str:
    parser = _Forms()
    parser.feed(page)
    return parser.error


@dataclass
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def authorize_query(client_id: str, pkce: Pkce, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid member",
        "state": "st-123",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return "/oauth/authorize?" + urlencode(params)


async def sign_in_page(
    client: httpx.AsyncClient, client_id: str, pkce: Pkce, **extra: str
) -> dict[str, str]:
    page = await client.get(authorize_query(client_id, pkce, **extra))
    assert page.status_code == 200, page.text
    assert 'name="password"' in page.text
    return hidden_fields(page.text)


async def submit_sign_in(
    client: httpx.AsyncClient, fields: dict[str, str], email: str, password: str
) -> httpx.Response:
    return await client.post(
        "/oauth/authorize", data={**fields, "email": email, "password": password}
    )


async def authorization_code(
    client: httpx.AsyncClient,
    client_id: str,
    pkce: Pkce,
    email: str = "ada@example.org",
    password: str = PASSWORD,
    **extra: str,
) -> str:
    """Walk the pages as a browser does: authorize → sign in → allow → the code."""
    fields = await sign_in_page(client, client_id, pkce, **extra)
    consent = await submit_sign_in(client, fields, email, password)
    assert consent.status_code == 200, consent.text
    allowed = await client.post(
        "/oauth/authorize", data={**hidden_fields(consent.text), "decision": "allow"}
    )
    assert allowed.status_code == 302, allowed.text
    location = urlsplit(allowed.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["st-123"]
    return query["code"][0]


async def exchange(
    client: httpx.AsyncClient, client_id: str, code: str, verifier: str, **extra: str
) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "code_verifier": verifier,
            **extra,
        },
    )


async def published_keys(client: httpx.AsyncClient) -> KeySet:
    document = (await client.get("/.well-known/jwks.json")).json()
    return KeySet.import_key_set(document)


async def verified_claims(
    client: httpx.AsyncClient, token: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of ``token``, its signature checked with joserfc against the keys
    fetched from the JWKS endpoint (not with the server's own verification code)."""
    decoded = jwt.decode(token, await published_keys(client), algorithms=["EdDSA"])
    return dict(decoded.header), dict(decoded.claims)


# -- a second, independent OpenID Connect issuer (tests/auth/issuer.py) ----------------------------
# (imported here, not at the top: this block was appended to a file others edit)

from collections.abc import AsyncIterator  # noqa: E402

from tests.auth.issuer import SecondIssuer, run_issuer  # noqa: E402


@pytest.fixture
async def external_issuer() -> AsyncIterator[SecondIssuer]:
    """A Keycloak-like issuer built with authlib, with its own RSA keys, served over HTTP on a
    free loopback port for the test: ``.issuer``, ``.jwks_uri``, ``.token(...)``,
    ``.rotate_key()``, ``.add_client(...)`` and ``.setting(...)`` (its auth_external_issuers
    entry)."""
    async with run_issuer() as issuer:
        yield issuer
