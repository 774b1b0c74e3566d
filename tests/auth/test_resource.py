"""The resource side over real HTTP: bearer tokens in GraphQL, `me`, budgets per subject,
permissions on mutations and private fields — and each attack refused with UNAUTHENTICATED or
FORBIDDEN, with nothing written."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
from typing import Any

import httpx
import pytest
from strawberry.relay import to_base64

from identity import accounts, keys, tokens
from identity.clients import Registered
from service.runtime import Runtime
from tests.auth.conftest import (
    ISSUER,
    Pkce,
    authorization_code,
    exchange,
    make_client,
    sign_up,
)

AUDIENCE = "corroborate-api"
ME = "{ me { subject pseudonym roles scopes member { id pseudonym email } rateLimit { limit remaining } } }"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return (
        json.loads(base64.urlsafe_b64decode(header + "==")),
        json.loads(base64.urlsafe_b64decode(payload + "==")),
        signature,
    )


async def gql(
    client: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any
) -> httpx.Response:
    headers = {"accept": "application/graphql-response+json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def member_tokens(
    client: httpx.AsyncClient,
    runtime: Runtime,
    app: Registered,
    email: str,
    pseudonym: str,
    roles: tuple[str, ...] = (),
    scope: str = "openid member",
) -> dict[str, Any]:
    """Sign up, get roles granted by an admin, sign in through the pages: the token response."""
    assert (await sign_up(client, email=email, pseudonym=pseudonym)).status_code == 201
    for role in roles:
        async with runtime.write_sessions() as session, session.begin():
            await accounts.grant_role(
                session, email=email, role=role, granted_by="test", now=dt.datetime.now(dt.UTC)
            )
    pkce = Pkce.new()
    got = await authorization_code(client, app.client.client_id, pkce, email=email, scope=scope)
    answer = await exchange(client, app.client.client_id, got, pkce.verifier)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def mint(runtime: Runtime, *, now: dt.datetime | None = None, **claims: Any) -> str:
    """A token signed with the server's own current key, with chosen claims (for attacks that
    need a valid signature on bad claims)."""
    moment = now or dt.datetime.now(dt.UTC)
    async with runtime.write_sessions() as session, session.begin():
        key = await session.run_sync(lambda db: keys.signing_key(db, moment))
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "ttl_s": 600,
        "subject": "account:1",
        "client_id": "test",
        "scope": "member",
        "roles": ["member"],
        "publisher": None,
        "sid": None,
    }
    values.update(claims)
    return tokens.issue_access_token(key, now=moment, **values).token


async def test_me_names_the_caller_with_their_budget(
    client: httpx.AsyncClient, runtime: Runtime, app_client: Registered
) -> None:
    ada = await member_tokens(client, runtime, app_client, "ada@example.org", "ada")
    answer = await gql(client, ME, ada["access_token"])
    assert answer.status_code == 200, answer.text
    me = answer.json()["data"]["me"]
    assert me["pseudonym"] == "ada" and me["roles"] == ["member"]
    assert me["subject"].startswith("member:") and me["member"]["email"] == "ada@example.org"
    assert me["rateLimit"]["limit"] == runtime.settings.api_budget_authenticated
    assert answer.headers["cache-control"] == "private, no-store"
    # anonymous: no `me`
    anonymous = await gql(client, ME)
    assert code(anonymous) == "UNAUTHENTICATED"


async def test_budgets_are_kept_per_subject(
    client: httpx.AsyncClient, runtime: Runtime, app_client: Registered
) -> None:
    ada = (await member_tokens(client, runtime, app_client, "ada@example.org", "ada"))[
        "access_token"
    ]
    bob = (await member_tokens(client, runtime, app_client, "bob@example.org", "bob"))[
        "access_token"
    ]
    query = "{ rateLimit { remaining } }"
    first = (await gql(client, query, ada)).json()["data"]["rateLimit"]["remaining"]
    second = (await gql(client, query, ada)).json()["data"]["rateLimit"]["remaining"]
    other = (await gql(client, query, bob)).json()["data"]["rateLimit"]["remaining"]
    anonymous = (await gql(client, query)).json()["data"]["rateLimit"]["remaining"]
    assert second < first and other == first
    assert anonymous < runtime.settings.api_budget_anonymous + 1 < first


async def test_forged_tokens_are_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    assert (await sign_up(client, email="bob@example.org", pseudonym="bob")).status_code == 201
    async with runtime.sessions() as session:
        bob = await accounts.find(session, email="bob@example.org")
    assert bob is not None
    bob_id = to_base64("Member", bob.public_id)
    # every forged token claims an admin: with any of them the suspension would go through
    powers: dict[str, Any] = {
        "roles": ["admin"],
        "scope": "member moderate admin",
        "subject": "account:999",
    }
    good = await mint(runtime)
    assert (await gql(client, "{ me { subject } }", good)).status_code == 200
    header, claims, _ = _parts(await mint(runtime, **powers))
    body = _b64(json.dumps(claims).encode())

    alg_none = _b64(json.dumps({**header, "alg": "none"}).encode()) + "." + body + "."
    public_x = (await client.get("/.well-known/jwks.json")).json()["keys"][0]["x"]
    hs_header = _b64(json.dumps({**header, "alg": "HS256"}).encode())
    hs_signature = hmac.new(
        base64.urlsafe_b64decode(public_x + "=="), f"{hs_header}.{body}".encode(), hashlib.sha256
    ).digest()
    hs256 = f"{hs_header}.{body}.{_b64(hs_signature)}"
    header_part, _, signature = good.split(".")
    tampered_claims = {**_parts(good)[1], "roles": ["admin"], "scope": powers["scope"]}
    tampered = f"{header_part}.{_b64(json.dumps(tampered_claims).encode())}.{signature}"
    attacks = {
        "alg none": alg_none,
        "HS256 keyed with the public key": hs256,
        "tampered payload": tampered,
        "expired": await mint(
            runtime, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), **powers
        ),
        "not yet valid": await mint(
            runtime, now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), **powers
        ),
        "wrong audience": await mint(runtime, audience="another-api", **powers),
        "wrong issuer": await mint(runtime, issuer="https://issuer.invalid", **powers),
        "not a JWT": "not-a-token",
    }
    control = await gql(client, SUSPEND, await mint(runtime, **powers), id=bob_id)
    assert control.json()["data"]["suspendMember"]["state"] == "suspended", control.text
    async with runtime.write_sessions() as session, session.begin():  # the control, undone
        await accounts.reactivate(session, email="bob@example.org")
    for name, token in attacks.items():
        refused = await gql(client, SUSPEND, token, id=bob_id)
        assert refused.status_code == 401, (name, refused.text)
        assert code(refused) == "UNAUTHENTICATED", name
        assert "data" not in refused.json(), name
        assert refused.headers["www-authenticate"].startswith("Bearer"), name
        assert token not in refused.text or name == "not a JWT", name
    assert await _state(runtime, "bob@example.org") == "active"  # nothing written
    # other schemes are refused too, and the server keeps serving
    basic = await client.post(
        "/graphql", json={"query": "{ version }"}, headers={"authorization": "Basic eDp5"}
    )
    assert basic.status_code == 401
    assert (await gql(client, "{ version }")).status_code == 200


async def test_tokens_of_a_revoked_refresh_chain_stop_working(
    client: httpx.AsyncClient, runtime: Runtime, app_client: Registered
) -> None:
    first = await member_tokens(client, runtime, app_client, "ada@example.org", "ada")
    rotate = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": app_client.client.client_id,
    }
    second = (await client.post("/oauth/token", data=rotate)).json()
    assert (await gql(client, "{ me { subject } }", second["access_token"])).status_code == 200
    # the rotated-out refresh token is replayed: the whole family is revoked
    assert (await client.post("/oauth/token", data=rotate)).status_code == 400
    for token in (first["access_token"], second["access_token"]):
        refused = await gql(client, "{ me { subject } }", token)
        assert refused.status_code == 401 and code(refused) == "UNAUTHENTICATED"
    # an access token revoked on its own (RFC 7009) stops working too
    third = await member_tokens(client, runtime, app_client, "bob@example.org", "bob")
    revoked = await client.post(
        "/oauth/revoke",
        data={"token": third["access_token"], "client_id": app_client.client.client_id},
    )
    assert revoked.status_code == 200
    assert (await gql(client, "{ me { subject } }", third["access_token"])).status_code == 401


SUSPEND = 'mutation($id: ID!) { suspendMember(member: $id, reason: "spam") { pseudonym state } }'
MEMBER_EMAIL = "query($id: ID!) { node(id: $id) { ... on Member { pseudonym email } } }"


async def _state(runtime: Runtime, email: str) -> str:
    async with runtime.sessions() as session:
        found = await accounts.find(session, email=email)
    assert found is not None
    return found.state


async def test_roles_guard_mutations_and_private_fields(
    client: httpx.AsyncClient, runtime: Runtime, app_client: Registered
) -> None:
    ada = await member_tokens(client, runtime, app_client, "ada@example.org", "ada")
    bob = await member_tokens(client, runtime, app_client, "bob@example.org", "bob")
    console = await make_client(
        runtime, name="Moderation console", scopes=["openid", "member", "moderate"]
    )
    mod = await member_tokens(
        client,
        runtime,
        console,
        "moira@example.org",
        "moira",
        roles=("moderator",),
        scope="openid member moderate",
    )
    me = (await gql(client, ME, bob["access_token"])).json()["data"]["me"]
    bob_id = me["member"]["id"]
    assert bob_id == to_base64("Member", me["subject"].split(":")[1])

    # a member calling a moderator mutation: FORBIDDEN, nothing written
    refused = await gql(client, SUSPEND, ada["access_token"], id=bob_id)
    assert code(refused) == "FORBIDDEN" and refused.json()["data"] is None
    assert await _state(runtime, "bob@example.org") == "active"
    # anonymous: UNAUTHENTICATED
    assert code(await gql(client, SUSPEND, id=bob_id)) == "UNAUTHENTICATED"

    # a moderator reading another member's email through `node`: FORBIDDEN
    peek = await gql(client, MEMBER_EMAIL, mod["access_token"], id=bob_id)
    assert code(peek) == "FORBIDDEN" and peek.json()["data"] == {"node": None}  # nullable
    assert "bob@example.org" not in peek.text
    # … through `nodes` neither; the pseudonym is public
    peek_many = await gql(
        client,
        "query($id: ID!) { nodes(ids: [$id]) { ... on Member { pseudonym email } } }",
        mod["access_token"],
        id=bob_id,
    )
    assert code(peek_many) == "FORBIDDEN" and "bob@example.org" not in peek_many.text
    public = await gql(
        client, "query($id: ID!) { node(id: $id) { ... on Member { pseudonym } } }", id=bob_id
    )
    assert public.json()["data"]["node"] == {"pseudonym": "bob"}
    # the member themself may read it
    own = await gql(client, MEMBER_EMAIL, bob["access_token"], id=bob_id)
    assert own.json()["data"]["node"]["email"] == "bob@example.org"

    # the moderator may suspend the member: the member's tokens stop working at once
    done = await gql(client, SUSPEND, mod["access_token"], id=bob_id)
    assert done.json()["data"]["suspendMember"] == {"pseudonym": "bob", "state": "suspended"}
    assert (await gql(client, "{ me { subject } }", bob["access_token"])).status_code == 401
    # but not another moderator, nor themself
    mod_id = (await gql(client, ME, mod["access_token"])).json()["data"]["me"]["member"]["id"]
    assert code(await gql(client, SUSPEND, mod["access_token"], id=mod_id)) == "FORBIDDEN"

    # a moderator token without the `moderate` scope does not carry the power
    narrow = await member_tokens(
        client, runtime, app_client, "cyril@example.org", "cyril", roles=("moderator",)
    )
    ada_id = (await gql(client, ME, ada["access_token"])).json()["data"]["me"]["member"]["id"]
    assert code(await gql(client, SUSPEND, narrow["access_token"], id=ada_id)) == "FORBIDDEN"
    assert await _state(runtime, "ada@example.org") == "active"


async def test_tokens_are_never_logged(
    client: httpx.AsyncClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good = await mint(runtime)
    bad = await mint(runtime, audience="another-api")
    assert (await gql(client, "{ me { subject } }", good)).status_code == 200
    assert (await gql(client, "{ me { subject } }", bad)).status_code == 401
    # a token put in the URL is refused, not read (and the query string is never logged)
    leaked = await client.get("/graphql", params={"query": "{ version }", "access_token": good})
    assert leaked.status_code == 400 and "Authorization header" in leaked.text
    # what the server logged (the test's own HTTP client logs the URL it was given)
    logged = [r.getMessage() + repr(r.__dict__) for r in caplog.records if r.name != "httpx"]
    assert any("/graphql" in line for line in logged), "expected the requests to be logged"
    for token in (good, bad):
        for part in token.split("."):
            assert not any(part in line for line in logged)


async def test_an_external_issuers_tokens_work_when_trusted_and_only_then(
    settings: Any, external_issuer: Any
) -> None:
    """Federation end to end: a second, independent authlib issuer (its own keys, over HTTP);
    its client-credentials token, obtained from its token endpoint, reaches `me` with roles
    from its claims when the issuer is configured, and is refused when it is not."""
    from api.app import create_app
    from service.runtime import open_runtime
    from service.settings import load_settings

    client_of_issuer = external_issuer.add_client("health-dashboard", ["cb-moderator"])
    issued = await _issuer_token(external_issuer, client_of_issuer)
    person = external_issuer.token(roles=["cb-moderator"], preferred_username="dr-ines")

    for trusted in (False, True):
        configured = load_settings(
            database_url=settings.database_url,
            data_dir=settings.data_dir,
            log_origin=settings.log_origin,
            auth_external_issuers=[external_issuer.setting()] if trusted else [],
        )
        runtime = await open_runtime(configured)
        try:
            app = create_app(runtime=runtime)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            ) as http:
                for token in (issued, person):
                    answer = await gql(
                        http, "{ me { issuer pseudonym roles member { id } } }", token
                    )
                    if not trusted:
                        assert answer.status_code == 401 and code(answer) == "UNAUTHENTICATED"
                        continue
                    assert answer.status_code == 200, answer.text
                    me = answer.json()["data"]["me"]
                    assert me["issuer"] == external_issuer.issuer
                    assert me["roles"] == ["member", "moderator"] and me["member"] is None
                assert (await gql(http, "{ me { pseudonym } }", person)).json().get("data") == (
                    {"me": {"pseudonym": "dr-ines"}} if trusted else None
                )
        finally:
            await runtime.close()


async def _issuer_token(issuer: Any, client: Any) -> str:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            issuer.token_endpoint,
            data={"grant_type": "client_credentials"},
            headers={"authorization": issuer.basic_auth(client)},
        )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


async def test_a_token_names_its_member_by_public_id_and_an_unknown_one_is_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert (await sign_up(client, email="cyra@example.org", pseudonym="cyra")).status_code == 201
    async with runtime.sessions() as session:
        cy = await accounts.find(session, email="cyra@example.org")
    assert cy is not None
    own = await mint(runtime, subject=accounts.subject_of(cy))
    answer = await gql(client, "{ me { subject pseudonym member { id } } }", own)
    me = answer.json()["data"]["me"]
    assert me["subject"] == f"member:{cy.public_id}" and me["pseudonym"] == "cyra"
    assert me["member"]["id"] == to_base64("Member", cy.public_id)
    assert cy.public_id != str(cy.id) and len(cy.public_id) >= 16
    # a well-signed token for a member who does not exist is refused, not taken as anonymous
    ghost = await gql(client, "{ me { subject } }", await mint(runtime, subject="member:nobody"))
    assert ghost.status_code == 401 and "does not exist" in ghost.text
