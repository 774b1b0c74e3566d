"""Sign-up, the password policy, throttled sign-in, roles, and secrets that never reach the
database or the logs in clear."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from api.logs import JsonFormatter
from identity import accounts
from identity.clients import Registered
from identity.passwords import policy_problems
from models import metadata
from service.runtime import Runtime
from tests.auth.conftest import (
    PASSWORD,
    Pkce,
    add_who,
    authorization_code,
    exchange,
    make_client,
    page_error,
    sign_in_page,
    sign_up,
    submit_sign_in,
    verified_claims,
)


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short-1", "at least 12 characters, got 7"),
        ("x" * 1025, "at most 1024 characters"),
        ("zzzzzzzzzzzzzz", "more than one character"),
        ("abcdefghijklmn", "sequence"),
        ("9876543210987", "sequence"),
        ("qwertyuiopasdf", "sequence"),
        ("xyzxyzxyzxyzxyz", "short pattern repeated"),
        ("Password2024!", "most common breached passwords"),
        ("P@ssw0rdP@ssw0rd", "most common breached passwords"),
        ("!!sunshine1987", "most common breached passwords"),
        ("grace.hopper-likes-tea", "email address's name"),
        ("I-am-Amazing-Grace-7", "pseudonym"),
    ],
)
def test_password_policy_says_what_was_expected(password: str, expected: str) -> None:
    problems = policy_problems(
        password, email="grace.hopper@example.org", pseudonym="amazing-grace"
    )
    assert any(expected in problem for problem in problems), problems
    assert all(password not in problem for problem in problems)


def test_password_policy_accepts_a_long_unusual_password() -> None:
    assert policy_problems(PASSWORD, email="ada@example.org", pseudonym="ada") == []
    assert policy_problems("correct horse battery staple", email="a@b.org", pseudonym="x1y") == []


async def test_sign_up_refusals_say_what_was_expected(client: httpx.AsyncClient) -> None:
    weak = await sign_up(client, password="password1234")
    assert weak.status_code == 400
    assert (
        "password: expected a password that is not one of the most common" in weak.json()["message"]
    )
    bad = await sign_up(client, email="not-an-email", pseudonym="no spaces allowed")
    assert bad.status_code == 400
    assert "email: expected an address" in bad.json()["message"]
    assert "pseudonym: expected 3 to 32 letters" in bad.json()["message"]
    missing = await client.post("/auth/sign-up", json={"email": "a@example.org"})
    assert missing.status_code == 400
    assert missing.json()["message"].endswith("missing or not a string: password, pseudonym")
    garbage = await client.post(
        "/auth/sign-up", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 400 and "expected a JSON object" in garbage.json()["message"]


async def test_the_systems_name_is_no_members_pseudonym(client: httpx.AsyncClient) -> None:
    # moderation names people by pseudonym on the log; `system` is the service's own name there
    for name in ("system", "SYSTEM", "System"):
        refused = await sign_up(client, email=f"{name}@example.org", pseudonym=name)
        assert refused.status_code == 400
        assert f"pseudonym: {name!r} is reserved" in refused.json()["message"]
    assert (await sign_up(client, email="sys@example.org", pseudonym="systems")).status_code == 201


async def test_taken_email_or_pseudonym_is_a_conflict(client: httpx.AsyncClient) -> None:
    assert (await sign_up(client)).status_code == 201
    same_email = await sign_up(client, email="ADA@example.org", pseudonym="someone-else")
    assert same_email.status_code == 409 and "email" in same_email.json()["message"]
    same_name = await sign_up(client, email="other@example.org", pseudonym="ADA")
    assert (
        same_name.status_code == 409 and "pseudonym 'ADA' is taken" in same_name.json()["message"]
    )


async def test_failed_sign_ins_are_throttled_per_account(
    client: httpx.AsyncClient, app_client: Registered
) -> None:
    await sign_up(client)
    fields = await sign_in_page(client, app_client.client.client_id, Pkce.new())
    for _ in range(3):  # auth_signin_max_failures_account in the tests' settings
        answer = await submit_sign_in(client, fields, "ada@example.org", "wrong-password-x1")
        assert answer.status_code == 401
    throttled = await submit_sign_in(client, fields, "ada@example.org", PASSWORD)
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= 900
    assert "Too many failed sign-ins" in page_error(throttled.text)
    # an email nobody has is throttled the same way: the 429 tells nothing about accounts
    for _ in range(3):
        await submit_sign_in(client, fields, "nobody@example.org", "wrong-password-x1")
    assert (await submit_sign_in(client, fields, "nobody@example.org", "x" * 12)).status_code == 429


async def test_failed_sign_ins_are_throttled_per_ip(
    client: httpx.AsyncClient, app_client: Registered
) -> None:
    await sign_up(client)
    fields = await sign_in_page(client, app_client.client.client_id, Pkce.new())
    for number in range(5):  # auth_signin_max_failures_ip, over different emails
        answer = await submit_sign_in(client, fields, f"user{number}@example.org", "wrong-pass-1x")
        assert answer.status_code == 401
    assert (await submit_sign_in(client, fields, "ada@example.org", PASSWORD)).status_code == 429


async def test_successful_sign_in_clears_the_account_count(
    client: httpx.AsyncClient, app_client: Registered
) -> None:
    await sign_up(client)
    fields = await sign_in_page(client, app_client.client.client_id, Pkce.new())
    for _ in range(2):
        await submit_sign_in(client, fields, "ada@example.org", "wrong-password-x1")
    assert (await submit_sign_in(client, fields, "ada@example.org", PASSWORD)).status_code == 200
    for _ in range(2):
        await submit_sign_in(client, fields, "ada@example.org", "wrong-password-x1")
    assert (await submit_sign_in(client, fields, "ada@example.org", PASSWORD)).status_code == 200


async def test_sign_ups_are_throttled_per_ip(client: httpx.AsyncClient) -> None:
    for number in range(8):  # auth_signup_max_per_ip in the tests' settings
        answer = await sign_up(client, email=f"u{number}@example.org", pseudonym=f"user{number}")
        assert answer.status_code == 201, answer.text
    throttled = await sign_up(client, email="u9@example.org", pseudonym="user9")
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1


async def test_roles_reach_the_access_token(
    client: httpx.AsyncClient, app_client: Registered, runtime: Runtime
) -> None:
    await sign_up(client)
    slug = await add_who(runtime)
    now = dt.datetime.now(dt.UTC)
    async with runtime.write_sessions() as session, session.begin():
        with pytest.raises(accounts.AccountError, match="needs --publisher"):
            await accounts.grant_role(
                session, email="ada@example.org", role="publisher", granted_by="test", now=now
            )
        with pytest.raises(accounts.AccountError, match="no publisher has the slug 'nope'"):
            await accounts.grant_role(
                session,
                email="ada@example.org",
                role="publisher",
                publisher="nope",
                granted_by="test",
                now=now,
            )
        with pytest.raises(accounts.AccountError, match="expected one of member, moderator"):
            await accounts.grant_role(
                session, email="ada@example.org", role="owner", granted_by="test", now=now
            )
        await accounts.grant_role(
            session, email="ada@example.org", role="moderator", granted_by="test", now=now
        )
        account = await accounts.grant_role(
            session,
            email="ada@example.org",
            role="publisher",
            publisher=slug,
            granted_by="test",
            now=now,
        )
    assert account.role_names == ["member", "moderator", "publisher"]
    pkce = Pkce.new()
    code = await authorization_code(client, app_client.client.client_id, pkce)
    issued = (await exchange(client, app_client.client.client_id, code, pkce.verifier)).json()
    _header, claims = await verified_claims(client, issued["access_token"])
    assert claims["roles"] == ["member", "moderator", "publisher"] and claims["publisher"] == "who"

    async with runtime.write_sessions() as session, session.begin():
        account = await accounts.revoke_role(session, email="ada@example.org", role="publisher")
        with pytest.raises(accounts.AccountError, match="every account is a member"):
            await accounts.revoke_role(session, email="ada@example.org", role="member")
    assert account.role_names == ["member", "moderator"] and account.publisher is None


async def test_secrets_are_never_stored_or_logged_in_clear(
    client: httpx.AsyncClient,
    app_client: Registered,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    machine = await make_client(
        runtime,
        grant_types=["client_credentials"],
        redirect_uris=[],
        publisher=await add_who(runtime),
        public=False,
    )
    assert machine.secret is not None
    assert (await sign_up(client)).status_code == 201
    fields = await sign_in_page(client, app_client.client.client_id, Pkce.new())
    wrong_password = "a-wrong-guess-1234"
    await submit_sign_in(client, fields, "ada@example.org", wrong_password)
    pkce = Pkce.new()
    code = await authorization_code(client, app_client.client.client_id, pkce)
    issued = (await exchange(client, app_client.client.client_id, code, pkce.verifier)).json()
    machine_token = (
        await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(machine.client.client_id, machine.secret),
        )
    ).json()
    secrets = {
        "password": PASSWORD,
        "wrong password": wrong_password,
        "code": code,
        "refresh token": issued["refresh_token"],
        "access token": issued["access_token"],
        "client secret": machine.secret,
        "machine token": machine_token["access_token"],
    }

    # every row of every table, on either backend
    async with runtime.sessions() as session:
        stored = []
        for table in metadata.sorted_tables:
            stored += [repr(tuple(row)) for row in (await session.execute(select(table))).all()]
    everything = "\n".join(stored)
    assert "argon2id" in everything  # the hash is there...
    for what, value in secrets.items():
        if what not in ("access token", "machine token"):  # JWTs are never stored at all
            assert value not in everything, f"{what} stored in clear"
    # ... and on SQLite the database's files themselves, WAL included
    if runtime.settings.is_sqlite:
        path = Path(runtime.settings.database_url.removeprefix("sqlite+aiosqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for what, value in secrets.items():
            assert value.encode() not in raw, f"{what} in the database file"

    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert "signed in" in logged and "sign-in refused" in logged  # the logs were captured
    for what, value in secrets.items():
        assert value not in logged, f"{what} logged"
