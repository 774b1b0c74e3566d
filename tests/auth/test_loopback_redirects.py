"""Native apps' loopback redirect URIs (RFC 8252 §7.3, issue 15 item 10): a client registered
with ``http://127.0.0.1:<port>/path`` (or ``http://[::1]…``) may name any port in the request;
scheme, host, path and query must still be exactly as registered, and ``localhost`` is matched
exactly. Checked through the real authorization and token endpoints."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from identity.clients import Registered
from service.runtime import Runtime
from tests.auth.conftest import (
    PASSWORD,
    Pkce,
    hidden_fields,
    make_client,
    sign_up,
    submit_sign_in,
)

REGISTERED = [
    "http://127.0.0.1:18999/cb",
    "http://[::1]/cb?app=notes",
    "http://localhost:18999/cb",
    "https://app.example.org/callback",
]


@pytest.fixture
async def native_app(runtime: Runtime) -> Registered:
    return await make_client(runtime, name="Desktop notes", redirect_uris=REGISTERED)


def authorize_url(client_id: str, pkce: Pkce, redirect_uri: str) -> str:
    return "/oauth/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid member",
            "state": "loop-1",
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        }
    )


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:18998/cb",  # the case: another port than registered
        "http://127.0.0.1:18999/cb",  # the registered one
        "http://127.0.0.1:1/cb",
        "http://127.0.0.1:65535/cb",
        "http://127.0.0.1/cb",  # no port at all
        "http://[::1]:51234/cb?app=notes",  # registered without a port, asked with one
        "http://[::1]/cb?app=notes",
        "http://localhost:18999/cb",  # localhost: only exactly as registered
    ],
)
async def test_a_loopback_redirect_may_name_any_port(
    client: httpx.AsyncClient, native_app: Registered, redirect_uri: str
) -> None:
    await sign_up(client)
    client_id, pkce = native_app.client.client_id, Pkce.new()
    page = await client.get(authorize_url(client_id, pkce, redirect_uri))
    assert page.status_code == 200, page.text
    consent = await submit_sign_in(client, hidden_fields(page.text), "ada@example.org", PASSWORD)
    assert consent.status_code == 200, consent.text
    allowed = await client.post(
        "/oauth/authorize", data={**hidden_fields(consent.text), "decision": "allow"}
    )
    assert allowed.status_code == 302, allowed.text
    location = urlsplit(allowed.headers["location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri.split("?")[0]
    assert query["state"] == ["loop-1"]
    token = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "code_verifier": pkce.verifier,
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["access_token"]


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:18998/other",  # another path
        "http://127.0.0.1:18998/cb?x=1",  # a query not registered
        "http://127.0.0.1:18998/cb/",
        "http://127.0.0.1:18998/cb#frag",
        "https://127.0.0.1:18998/cb",  # another scheme: loopback is http only
        "http://127.0.0.2:18998/cb",  # another loopback address than registered
        "http://[::1]:18998/cb",  # the IPv6 literal was registered with a query
        "http://[::1]:18998/cb?app=other",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:65536/cb",
        "http://127.0.0.1:/cb",
        "http://user@127.0.0.1:18998/cb",
        "http://127.0.0.1.evil.example:18998/cb",
        "http://localhost:18998/cb",  # localhost is not a loopback IP literal: exact only
        "http://localhost/cb",
        "https://app.example.org:8443/callback",  # ports vary only for loopback
    ],
)
async def test_anything_else_must_match_exactly(
    client: httpx.AsyncClient, native_app: Registered, redirect_uri: str
) -> None:
    page = await client.get(authorize_url(native_app.client.client_id, Pkce.new(), redirect_uri))
    assert page.status_code == 400, page.text
    assert "location" not in page.headers
    assert "is not supported by client" in page.text


async def test_the_code_is_bound_to_the_port_it_was_issued_for(
    client: httpx.AsyncClient, native_app: Registered
) -> None:
    await sign_up(client)
    client_id, pkce = native_app.client.client_id, Pkce.new()
    page = await client.get(authorize_url(client_id, pkce, "http://127.0.0.1:40001/cb"))
    consent = await submit_sign_in(client, hidden_fields(page.text), "ada@example.org", PASSWORD)
    allowed = await client.post(
        "/oauth/authorize", data={**hidden_fields(consent.text), "decision": "allow"}
    )
    code = parse_qs(urlsplit(allowed.headers["location"]).query)["code"][0]
    token = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:40002/cb",  # registered too, but not this code's
            "client_id": client_id,
            "code_verifier": pkce.verifier,
        },
    )
    assert token.status_code == 400 and token.json()["error"] == "invalid_grant"
