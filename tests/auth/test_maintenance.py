"""``corroborate auth purge``'s domain function: what expired goes, and nothing a live token still
depends on — a revoked family whose access tokens may still be valid stays revoked."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import func, select, update
from sqlmodel import col

from identity import tokens
from identity.clients import Registered
from identity.maintenance import purge
from models.identity import (
    AuthorizationCode,
    LoginAttempt,
    RefreshToken,
    RevokedAccessToken,
    TokenFamily,
)
from service.runtime import Runtime
from tests.auth.conftest import Pkce, authorization_code, exchange, sign_up, verified_claims


async def _tokens(client: httpx.AsyncClient, app: Registered, email: str) -> dict[str, str]:
    pkce = Pkce.new()
    code = await authorization_code(client, app.client.client_id, pkce, email=email)
    answer = await exchange(client, app.client.client_id, code, pkce.verifier)
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    return body


async def _count(runtime: Runtime, table: type) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_purge_deletes_what_expired_and_keeps_live_revocations(
    client: httpx.AsyncClient, runtime: Runtime, app_client: Registered
) -> None:
    for email, pseudonym in (("ada@example.org", "ada"), ("bob@example.org", "bob")):
        assert (await sign_up(client, email=email, pseudonym=pseudonym)).status_code == 201
    ada = await _tokens(client, app_client, "ada@example.org")
    bob = await _tokens(client, app_client, "bob@example.org")
    ada_sid = (await verified_claims(client, ada["access_token"]))[1]["sid"]
    bob_claims = (await verified_claims(client, bob["access_token"]))[1]
    # bob's family is revoked now: its access token may be valid for minutes, so it must stay
    revoked = await client.post(
        "/oauth/revoke",
        data={"token": bob["refresh_token"], "client_id": app_client.client.client_id},
    )
    assert revoked.status_code == 200
    # ada's access token revoked on its own, then time passes for ada's rows only
    await client.post(
        "/oauth/revoke",
        data={"token": ada["access_token"], "client_id": app_client.client.client_id},
    )
    now = dt.datetime.now(dt.UTC)
    long_ago = now - dt.timedelta(days=40)
    async with runtime.write_sessions() as session, session.begin():
        await session.execute(
            update(RefreshToken)
            .where(col(RefreshToken.family_id) == ada_sid)
            .values(expires_at=long_ago)
        )
        await session.execute(
            update(TokenFamily)
            .where(col(TokenFamily.family_id) == ada_sid)
            .values(created_at=long_ago)
        )
        await session.execute(
            update(AuthorizationCode).values(expires_at=now - dt.timedelta(minutes=1))
        )
        await session.execute(update(RevokedAccessToken).values(expires_at=long_ago))
        session.add(LoginAttempt(key="signin-ip:192.0.2.1", at=long_ago))
        session.add(LoginAttempt(key="signin-ip:192.0.2.1", at=now))

    attempts = await _count(runtime, LoginAttempt)  # the sign-ups' and the two above
    settings = runtime.settings
    async with runtime.write_sessions() as session, session.begin():
        done = await purge(
            session,
            now=now,
            access_token_ttl_s=settings.auth_access_token_ttl_s,
            window_s=settings.auth_signin_window_s,
        )
    assert done.as_dict() == {
        "authorization_codes": 2,
        "refresh_tokens": 1,
        "token_families": 1,
        "revoked_access_tokens": 1,
        "login_attempts": 1,
    }
    assert await _count(runtime, TokenFamily) == 1
    assert await _count(runtime, LoginAttempt) == attempts - 1
    async with runtime.sessions() as session:  # bob's revocation still holds
        assert await tokens.is_revoked(session, bob_claims["jti"], bob_claims["sid"])
    assert (
        await client.post(
            "/graphql",
            json={"query": "{ me { subject } }"},
            headers={"authorization": f"Bearer {bob['access_token']}"},
        )
    ).status_code == 401
    # nothing more to do
    async with runtime.write_sessions() as session, session.begin():
        again = await purge(
            session,
            now=now,
            access_token_ttl_s=settings.auth_access_token_ttl_s,
            window_s=settings.auth_signin_window_s,
        )
    assert set(again.as_dict().values()) == {0}
