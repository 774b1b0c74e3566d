"""Reviewer notes are for moderators: a member reaching them through `challenge` or through
`node` gets FORBIDDEN, as does a member adding one; a moderator reads and writes them."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from identity import accounts
from service.runtime import Runtime
from tests.auth.test_resource import mint
from tests.moderation.test_store import ADA, MOD_A, file, latest_figure

NOTES = "query($n: Int!) { challenge(number: $n) { id number reviewerNotes { author body } } }"
BY_NODE = "query($id: ID!) { node(id: $id) { ... on Challenge { reviewerNotes { body } } } }"
ADD = """mutation($n: Int!, $t: String!) { addReviewerNote(number: $n, text: $t) {
  reviewerNotes { author body } } }"""


@pytest.fixture
async def http(demo_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime=demo_runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def call(client: httpx.AsyncClient, query: str, token: str, **variables: Any) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    return response.json()


async def test_only_moderators_read_and_write_reviewer_notes(
    demo_runtime: Runtime, http: httpx.AsyncClient
) -> None:
    figure = await latest_figure(demo_runtime, "ITA", "cases_cumulative", "2020-06-01")
    number = (await file(demo_runtime, ADA, figure)).challenge_id
    async with demo_runtime.write_sessions() as session, session.begin():
        mod = await accounts.sign_up(
            session,
            email="mod-a@example.org",
            pseudonym="mod-a",
            password_hash="unused",
            now=dt.datetime.now(dt.UTC),
            roles=("moderator",),
        )
    moderator = await mint(
        demo_runtime,
        subject=accounts.subject_of(mod),
        roles=["member", "moderator"],
        scope="member moderate",
    )
    member = await mint(demo_runtime, subject=ADA.id, roles=["member"], scope="member")
    # a moderator role without the moderate scope does not count
    unscoped = await mint(
        demo_runtime, subject=MOD_A.id, roles=["member", "moderator"], scope="member"
    )

    note = "Asked DPC's press office <b>by phone</b>; waiting."
    added = await call(http, ADD, moderator, n=number, t=note)
    assert added["data"]["addReviewerNote"]["reviewerNotes"] == [{"author": "mod-a", "body": note}]
    for token in (member, unscoped):
        refused = await call(http, ADD, token, n=number, t="mine")
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    seen = await call(http, NOTES, moderator, n=number)
    assert seen["data"]["challenge"]["reviewerNotes"] == [{"author": "mod-a", "body": note}]
    global_id = seen["data"]["challenge"]["id"]
    for token in (member, unscoped):
        hidden = await call(http, NOTES, token, n=number)
        assert hidden["data"] is None or hidden["data"]["challenge"] is None
        assert hidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert note not in str(hidden)
        through_node = await call(http, BY_NODE, token, id=global_id)
        assert through_node["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert note not in str(through_node)
    anonymous = await http.post("/graphql", json={"query": NOTES, "variables": {"n": number}})
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert note not in anonymous.text
    moderator_by_node = await call(http, BY_NODE, moderator, id=global_id)
    assert moderator_by_node["data"]["node"]["reviewerNotes"] == [{"body": note}]
