"""The authorization-code flow with PKCE over real HTTP, as a browser and an app drive it, and
each way it refuses."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import update
from strawberry.relay import from_base64

from identity.clients import Registered
from models.identity import AuthorizationCode
from service.runtime import Runtime
from tests.auth.conftest import (
    ISSUER,
    REDIRECT,
    Pkce,
    authorization_code,
    authorize_query,
    exchange,
    hidden_fields,
    page_error,
    sign_in_page,
    sign_up,
    submit_sign_in,
    verified_claims,
)


async def test_sign_up_then_code_flow_issues_a_signed_at_jwt(
    client: httpx.AsyncClient, app_client: Registered
) -> None:
    created = await sign_up(client)
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    assert created.json() == {"id": member_id, "pseudonym": "ada"}
    # the member's opaque global ID, which names no account number; tokens carry the same key
    kind, public_id = from_base64(member_id)
    assert kind == "Member" and not public_id.isdigit() and len(public_id) >= 16

    pkce = Pkce.new()
    client_id = app_client.client.client_id
    code = await authorization_code(client, client_id, pkce, nonce="n-0S6_WzA2Mj")
    answer = await exchange(client, client_id, code, pkce.verifier)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    assert body["scope"] == "openid member" and body["refresh_token"]

    header, claims = await verified_claims(client, body["access_token"])
    assert header["alg"] == "EdDSA" and header["typ"] == "at+jwt" and header["kid"]
    assert claims["iss"] == ISSUER and claims["aud"] == "corroborate-api"
    assert claims["sub"] == f"member:{public_id}"
    assert claims["client_id"] == client_id and claims["scope"] == "openid member"
    assert claims["roles"] == ["member"] and "publisher" not in claims
    assert claims["exp"] - claims["iat"] == 600 and claims["nbf"] == claims["iat"]
    assert abs(claims["iat"] - time.time()) < 60
    assert claims["jti"] and claims["sid"]

    # openid: an ID token for the client, with the pseudonym and never the email
    id_header, id_claims = await verified_claims(client, body["id_token"])
    assert id_header["alg"] == "EdDSA"
    assert id_claims["aud"] == [client_id] and id_claims["iss"] == ISSUER
    assert id_claims["sub"] == f"member:{public_id}" and id_claims["nonce"] == "n-0S6_WzA2Mj"
    assert id_claims["preferred_username"] == "ada"
    assert "ada@example.org" not in str(id_claims)


async def test_discovery_documents_describe_the_endpoints(client: httpx.AsyncClient) -> None:
    from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

    document = (await client.get("/.well-known/openid-configuration")).json()
    AuthorizationServerMetadata(document).validate()
    # OpenID Connect Discovery's other required fields (it also wants RS256 among the ID token
    # algorithms: Corroborate signs with EdDSA only, docs/decisions/0009-identity.md)
    assert document["subject_types_supported"] == ["public"]
    assert document["id_token_signing_alg_values_supported"] == ["EdDSA"]
    assert document["issuer"] == ISSUER
    assert document["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert document["code_challenge_methods_supported"] == ["S256"]
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "OKP" and keys[0]["crv"] == "Ed25519"
    assert "d" not in keys[0]  # the public half only


async def test_wrong_pkce_verifier_is_refused(
    client: httpx.AsyncClient, app_client: Registered
) -> None:
    await sign_up(client)
    pkce = Pkce.new()
    client_id = app_client.client.client_id
    code = await authorization_code(client, client_id, pkce)
    wrong = await exchange(client, client_id, code, Pkce.new().verifier)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    # the code was not spent by the failed attempt: the right verifier still works once
    assert (await exchange(client, client_id, code, pkce.verifier)).status_code == 200


async def test_authorize_without_pkce_redirects_with_an_error(
    client: httpx.AsyncClient, app_client: Registered
) -> None:
    pkce = Pkce.new()
    url = authorize_query(app_client.client.client_id, pkce).replace(
        f"&code_challenge={pkce.challenge}", ""
    )
    answer = await client.get(url)
    assert answer.status_code == 302
    assert answer.headers["location"].startswith(REDIRECT + "?error=invalid_request")
    plain = await client.get(
        authorize_query(app_client.client.client_id, pkce, code_challenge_method="plain")
    )
    assert plain.status_code == 302 and "error=invalid_request" in plain.headers["location"]


async def test_reused_code_is_refused_and_revokes_what_it_gave(
    client: httpx.AsyncClient, app_client: Registered
) -> None:
    await sign_up(client)
    pkce = Pkce.new()
    client_id = app_client.client.client_id
    code = await authorization_code(client, client_id, pkce)
    first = await exchange(client, client_id, code, pkce.verifier)
    assert first.status_code == 200
    again = await exchange(client, client_id, code, pkce.verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # RFC 6749 §4.1.2: the tokens the code gave are revoked
    refreshed = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
            "client_id": client_id,
        },
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_wrong_redirect_uri_is_refused_at_both_ends(
    client: httpx.AsyncClient, app_client: Registered
) -> None:
    await sign_up(client)
    pkce = Pkce.new()
    client_id = app_client.client.client_id
    # at the authorization endpoint: an error page, never a redirect to the unknown URI
    page = await client.get(
        authorize_query(client_id, pkce, redirect_uri="https://evil.example.net/cb")
    )
    assert page.status_code == 400 and "location" not in page.headers
    assert "evil.example.net/cb is not supported" in page.text
    # at the token endpoint: the code was issued for another redirect URI
    code = await authorization_code(client, client_id, pkce)
    wrong = await exchange(
        client, client_id, code, pkce.verifier, redirect_uri="https://app.example.org/other"
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


async def test_expired_code_is_refused(
    client: httpx.AsyncClient, app_client: Registered, runtime: Runtime
) -> None:
    await sign_up(client)
    pkce = Pkce.new()
    client_id = app_client.client.client_id
    code = await authorization_code(client, client_id, pkce)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    async with runtime.write_sessions() as session, session.begin():
        await session.execute(update(AuthorizationCode).values(expires_at=past))
    answer = await exchange(client, client_id, code, pkce.verifier)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


async def test_unknown_client_is_refused(client: httpx.AsyncClient) -> None:
    pkce = Pkce.new()
    page = await client.get(authorize_query("no-such-client", pkce))
    assert page.status_code == 400 and "location" not in page.headers
    assert "client does not exist" in page.text
    token = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("no-such-client", "secret"),
    )
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"


async def test_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient, app_client: Registered
) -> None:
    await sign_up(client)
    fields = await sign_in_page(client, app_client.client.client_id, Pkce.new())
    wrong = await submit_sign_in(client, fields, "ada@example.org", "not-the-password-at-all")
    unknown = await submit_sign_in(client, fields, "nobody@example.org", "not-the-password-at-all")
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert page_error(answer.text) == "Wrong email or password."
        assert "consent" not in hidden_fields(answer.text)


async def test_denied_consent_redirects_with_access_denied(
    client: httpx.AsyncClient, app_client: Registered
) -> None:
    await sign_up(client)
    fields = await sign_in_page(client, app_client.client.client_id, Pkce.new())
    consent = await submit_sign_in(client, fields, "ada@example.org", "plover-quantum-harbour-91")
    assert "<strong>ada</strong>" in consent.text and "ada@example.org" not in consent.text
    denied = await client.post(
        "/oauth/authorize", data={**hidden_fields(consent.text), "decision": "deny"}
    )
    assert denied.status_code == 302
    location = urlsplit(denied.headers["location"])
    assert location.geturl().startswith(REDIRECT + "?")
    query = parse_qs(location.query)
    assert query["error"] == ["access_denied"] and query["state"] == ["st-123"]
    assert "code" not in query


async def test_consent_token_is_bound_to_its_request(
    client: httpx.AsyncClient, app_client: Registered
) -> None:
    await sign_up(client)
    client_id = app_client.client.client_id
    fields = await sign_in_page(client, client_id, Pkce.new())
    consent = hidden_fields(
        (await submit_sign_in(client, fields, "ada@example.org", "plover-quantum-harbour-91")).text
    )
    # an attacker's own PKCE challenge swapped in under the victim's consent
    swapped = {**consent, "code_challenge": Pkce.new().challenge, "decision": "allow"}
    answer = await client.post("/oauth/authorize", data=swapped)
    assert answer.status_code == 400 and "sign in again" in page_error(answer.text)
    forged = {**consent, "consent": consent["consent"][:-4] + "AAAA", "decision": "allow"}
    assert (await client.post("/oauth/authorize", data=forged)).status_code == 400
