"""Refresh-token rotation and reuse, revocation (RFC 7009), introspection (RFC 7662), client
credentials for publishers' machines, key rotation, and ``is_revoked`` for the resource side."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from identity import keys, tokens
from identity.accounts import suspend
from identity.clients import Registered
from service.runtime import Runtime
from tests.auth.conftest import (
    Pkce,
    add_who,
    authorization_code,
    exchange,
    make_client,
    sign_up,
    verified_claims,
)


async def _tokens(client: httpx.AsyncClient, app: Registered) -> dict[str, Any]:
    pkce = Pkce.new()
    code = await authorization_code(client, app.client.client_id, pkce)
    answer = await exchange(client, app.client.client_id, code, pkce.verifier)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _refresh(
    client: httpx.AsyncClient, app: Registered, refresh_token: str
) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": app.client.client_id,
        },
    )


async def _operator(runtime: Runtime) -> tuple[str, str]:
    made = await make_client(
        runtime,
        name="operators",
        grant_types=["authorization_code"],
        redirect_uris=["https://ops.example.org/cb"],
        scopes=["introspect"],
        public=False,
    )
    assert made.secret is not None
    return made.client.client_id, made.secret


async def _introspect(
    client: httpx.AsyncClient, operator: tuple[str, str], token: str
) -> dict[str, Any]:
    answer = await client.post("/oauth/introspect", data={"token": token}, auth=operator)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _is_revoked(runtime: Runtime, claims: dict[str, Any]) -> bool:
    async with runtime.sessions() as session:
        return await tokens.is_revoked(session, claims["jti"], claims.get("sid"))


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: httpx.AsyncClient, app_client: Registered, runtime: Runtime
) -> None:
    await sign_up(client)
    first = await _tokens(client, app_client)
    _header, first_claims = await verified_claims(client, first["access_token"])

    second = await _refresh(client, app_client, first["refresh_token"])
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    _header, second_claims = await verified_claims(client, rotated["access_token"])
    assert second_claims["sid"] == first_claims["sid"]
    assert second_claims["jti"] != first_claims["jti"]
    assert not await _is_revoked(runtime, second_claims)

    # the old refresh token no longer works, and its reuse revokes the whole family
    reused = await _refresh(client, app_client, first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert (await _refresh(client, app_client, rotated["refresh_token"])).status_code == 400
    assert await _is_revoked(runtime, second_claims)
    assert await _is_revoked(runtime, first_claims)


async def test_revoking_a_refresh_token_revokes_its_family(
    client: httpx.AsyncClient, app_client: Registered, runtime: Runtime
) -> None:
    await sign_up(client)
    issued = await _tokens(client, app_client)
    _header, claims = await verified_claims(client, issued["access_token"])
    answer = await client.post(
        "/oauth/revoke",
        data={
            "token": issued["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": app_client.client.client_id,
        },
    )
    assert answer.status_code == 200, answer.text
    assert (await _refresh(client, app_client, issued["refresh_token"])).status_code == 400
    assert await _is_revoked(runtime, claims)


async def test_revoked_access_token_introspects_as_inactive(
    client: httpx.AsyncClient, app_client: Registered, runtime: Runtime
) -> None:
    await sign_up(client)
    operator = await _operator(runtime)
    issued = await _tokens(client, app_client)
    _header, claims = await verified_claims(client, issued["access_token"])

    active = await _introspect(client, operator, issued["access_token"])
    assert active["active"] is True
    assert active["sub"] == claims["sub"] and active["jti"] == claims["jti"]
    assert active["roles"] == ["member"] and active["client_id"] == app_client.client.client_id
    refresh = await _introspect(client, operator, issued["refresh_token"])
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"

    answer = await client.post(
        "/oauth/revoke",
        data={"token": issued["access_token"], "client_id": app_client.client.client_id},
    )
    assert answer.status_code == 200
    assert await _is_revoked(runtime, claims)
    assert await _introspect(client, operator, issued["access_token"]) == {"active": False}
    # only the access token: the family and its refresh token are untouched
    assert (await _introspect(client, operator, issued["refresh_token"]))["active"] is True
    # RFC 7009 §2.2: an unknown token is answered 200 too
    unknown = await client.post(
        "/oauth/revoke", data={"token": "no-such-token", "client_id": app_client.client.client_id}
    )
    assert unknown.status_code == 200
    assert await _introspect(client, operator, "no-such-token") == {"active": False}


async def test_introspection_needs_the_introspect_scope(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    confidential = await make_client(runtime, public=False, scopes=["member"])
    assert confidential.secret is not None
    answer = await client.post(
        "/oauth/introspect",
        data={"token": "anything"},
        auth=(confidential.client.client_id, confidential.secret),
    )
    assert answer.status_code == 403 and answer.json()["error"] == "insufficient_scope"
    wrong_secret = await client.post(
        "/oauth/introspect",
        data={"token": "anything"},
        auth=(confidential.client.client_id, "not-the-secret"),
    )
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"


async def test_client_credentials_for_a_publishers_machine(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    slug = await add_who(runtime)
    machine = await make_client(
        runtime,
        name="WHO uploader",
        grant_types=["client_credentials"],
        redirect_uris=[],
        publisher=slug,
        public=False,
    )
    assert machine.secret is not None
    answer = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(machine.client.client_id, machine.secret),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "refresh_token" not in body and body["scope"] == "publish"
    header, claims = await verified_claims(client, body["access_token"])
    assert header["typ"] == "at+jwt"
    assert claims["sub"] == f"client:{machine.client.client_id}"
    assert claims["roles"] == ["publisher"] and claims["publisher"] == "who"
    assert "sid" not in claims
    assert not await _is_revoked(runtime, claims)

    wrong = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(machine.client.client_id, "not-the-secret"),
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    beyond = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "admin"},
        auth=(machine.client.client_id, machine.secret),
    )
    assert beyond.status_code == 400 and beyond.json()["error"] == "invalid_scope"


async def test_client_credentials_without_a_publisher_are_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from identity.accounts import AccountError

    try:
        await make_client(
            runtime, grant_types=["client_credentials"], redirect_uris=[], public=False
        )
    except AccountError as refused:
        assert "give --publisher SLUG" in str(refused)
    else:
        raise AssertionError("a client_credentials client without a publisher was registered")
    # a confidential app client (no publisher) cannot use the grant either
    app = await make_client(runtime, public=False)
    assert app.secret is not None
    answer = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(app.client.client_id, app.secret),
    )
    assert answer.status_code == 400 and answer.json()["error"] == "unauthorized_client"


async def test_suspension_revokes_tokens_and_refuses_sign_in(
    client: httpx.AsyncClient, app_client: Registered, runtime: Runtime
) -> None:
    from tests.auth.conftest import PASSWORD, page_error, sign_in_page, submit_sign_in

    await sign_up(client)
    issued = await _tokens(client, app_client)
    _header, claims = await verified_claims(client, issued["access_token"])
    async with runtime.write_sessions() as session, session.begin():
        await suspend(session, email="Ada@Example.org", now=dt.datetime.now(dt.UTC))
    assert await _is_revoked(runtime, claims)
    assert (await _refresh(client, app_client, issued["refresh_token"])).status_code == 400
    fields = await sign_in_page(client, app_client.client.client_id, Pkce.new())
    refused = await submit_sign_in(client, fields, "ada@example.org", PASSWORD)
    assert refused.status_code == 403
    assert page_error(refused.text) == "This account is suspended."


async def test_rotated_key_stays_published_for_its_grace(
    client: httpx.AsyncClient, app_client: Registered, runtime: Runtime
) -> None:
    await sign_up(client)
    before = await _tokens(client, app_client)
    old_header, _claims = await verified_claims(client, before["access_token"])

    async def rotate(session: AsyncSession) -> tuple[str, list[str]]:
        return await session.run_sync(lambda db: keys.rotate(db, dt.datetime.now(dt.UTC)))

    async with runtime.write_sessions() as session, session.begin():
        new_kid, retired = await rotate(session)
    assert retired == [old_header["kid"]]
    published = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert published == {old_header["kid"], new_kid}
    # the token the old key signed still verifies against the JWKS; new tokens use the new key
    await verified_claims(client, before["access_token"])
    after = await _tokens(client, app_client)
    new_header, _claims = await verified_claims(client, after["access_token"])
    assert new_header["kid"] == new_kid

    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=runtime.settings.auth_key_grace_s + 1)
    async with runtime.sessions() as session:
        document = await session.run_sync(
            lambda db: keys.public_jwks(db, later, runtime.settings.auth_key_grace_s)
        )
    assert [k["kid"] for k in document["keys"]] == [new_kid]
