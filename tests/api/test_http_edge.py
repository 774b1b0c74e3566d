"""The GraphQL/HTTP edge as a new user and an attacker meet it (issue 15): per-caller answers are
never shared, deeply nested JSON is a 400, tokens outside the Authorization header are refused,
lookups by key are nullable with a NOT_FOUND beside them, refused requests report the real
budget, and every time is written in one form."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import httpx
from graphql import parse

from api.cache_policy import selects_per_caller
from api.scalars import DateTime
from api.schema import schema
from cli.common import print_json
from ledger.times import rfc3339
from service.runtime import Runtime
from tests.auth.test_resource import mint

GQL = "application/graphql-response+json"
ONE_FORM = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def post(
    client: httpx.AsyncClient, body: object, token: str | None = None, **headers: str
) -> httpx.Response:
    sent = {"content-type": "application/json", "accept": GQL, **headers}
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    return await client.post("/graphql", content=json.dumps(body), headers=sent)


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


# -- item 3: per-caller answers -------------------------------------------------------------

PER_CALLER_QUERIES = [
    "{ rateLimit { remaining } }",
    "query { ...Budget } fragment Budget on Query { rateLimit { remaining } }",
    "{ ... on Query { rateLimit { limit } } ledger { size } }",
    "{ challenges(first: 1) { nodes { number allowedActions } } }",
    "query { ...A } fragment A on Query { ...B } fragment B on Query { rateLimit { cost } }",
]


async def test_per_caller_answers_are_private_and_never_served_from_the_cache(
    client: httpx.AsyncClient,
) -> None:
    for query in PER_CALLER_QUERIES:
        for _ in range(2):
            answer = await client.get("/graphql", params={"query": query})
            assert answer.status_code == 200, (query, answer.text)
            assert "errors" not in answer.json(), answer.text
            assert answer.headers["cache-control"] == "private, no-store", query
            assert "etag" not in answer.headers
            assert answer.headers.get("x-response-cache") != "hit", query
    # two callers, one after the other: each sees their own budget, never the other's
    first = await client.get("/graphql", params={"query": "{ rateLimit { remaining } }"})
    again = await client.get("/graphql", params={"query": "{ rateLimit { remaining } }"})
    assert (
        again.json()["data"]["rateLimit"]["remaining"]
        < first.json()["data"]["rateLimit"]["remaining"]
    )
    # a public answer is still public and shared
    public = await client.get("/graphql", params={"query": "{ ledger { size } }"})
    assert public.headers["cache-control"].startswith("public, max-age=")
    shared = await client.get("/graphql", params={"query": "{ ledger { size } }"})
    assert shared.headers["x-response-cache"] == "hit"


async def test_any_request_with_a_token_is_private(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    token = await mint(runtime)
    answer = await client.get(
        "/graphql",
        params={"query": "{ ledger { size } }"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "private, no-store"
    assert "etag" not in answer.headers


def test_per_caller_fields_are_found_through_fragments_and_interfaces() -> None:
    graphql_schema = schema._schema

    def private(document: str, operation: str | None = None) -> bool:
        return selects_per_caller(graphql_schema, parse(document), operation)

    assert private("{ rateLimit { remaining } }")
    assert private("{ me { subject } }")
    assert private("{ myStanding { upheld } }")  # a permission class makes it per caller
    assert private('{ node(id: "x") { ... on Member { email } } }')
    assert private('{ node(id: "x") { ...M } } fragment M on Member { state }')
    assert private("{ challenge(number: 1) { reviewerNotes { body } } }")
    assert private("query A { ledger { size } } query B { rateLimit { cost } }", "B")
    assert not private("query A { ledger { size } } query B { rateLimit { cost } }", "A")
    assert not private('{ node(id: "x") { id ... on Member { pseudonym } } }')
    assert not private("{ ledger { size } publishers(first: 2) { nodes { slug } } }")


# -- item 8: deeply nested JSON -------------------------------------------------------------


async def test_deeply_nested_json_is_a_400_bad_request_everywhere(
    client: httpx.AsyncClient,
) -> None:
    deep = "[" * 49_000 + "]" * 49_000
    bodies = [
        '{"query":"{ ledger { size } }","variables":{"a":' + deep + "}}",
        '{"query":"{ ledger { size } }","extensions":{"a":' + deep + "}}",
        "[" + '{"query":"{ ledger { size } }","variables":{"a":' + deep + "}}]",
        deep,
    ]
    for body in bodies:
        answer = await client.post(
            "/graphql", content=body, headers={"content-type": "application/json", "accept": GQL}
        )
        assert answer.status_code == 400, answer.text[:200]
        assert answer.headers["content-type"].startswith(GQL)
        assert code(answer) == "BAD_REQUEST"
        assert "nested at most 32 levels deep" in answer.json()["errors"][0]["message"]
    for name in ("variables", "extensions"):
        answer = await client.get(
            "/graphql",
            params={"query": "{ ledger { size } }", name: '{"a":' + "[" * 5000 + "]" * 5000 + "}"},
            headers={"accept": GQL},
        )
        assert answer.status_code == 400 and code(answer) == "BAD_REQUEST", answer.text[:200]
        assert f"the `{name}` parameter" in answer.json()["errors"][0]["message"]
    # nesting up to the limit, and brackets inside strings, are fine
    variables: dict[str, Any] = {"a": json.loads("[" * 30 + "]" * 30), "text": "[" * 10_000}
    fine = {"query": "{ ledger { size } }", "variables": variables}
    answer = await post(client, fine)
    assert answer.status_code == 200, answer.text[:300]


# -- item 10: tokens outside the Authorization header --------------------------------------


async def test_a_token_in_the_query_string_or_a_cookie_is_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    token = await mint(runtime)
    in_url = await client.get(
        "/graphql", params={"query": "{ me { subject } }", "access_token": token}
    )
    assert in_url.status_code == 400 and code(in_url) == "BAD_REQUEST"
    message = in_url.json()["errors"][0]["message"]
    assert "Authorization header" in message and "`access_token`" in message
    for cookie in (f"access_token={token}", f"session={token}", f"corroborate=Bearer%20{token}"):
        answer = await post(client, {"query": "{ me { subject } }"}, cookie=cookie)
        assert answer.status_code == 400 and code(answer) == "BAD_REQUEST", cookie
        assert "cookie" in answer.json()["errors"][0]["message"]
    posted = await client.post(
        f"/graphql?access_token={token}",
        json={"query": "{ ledger { size } }"},
        headers={"accept": GQL},
    )
    assert posted.status_code == 400
    documents = await client.post(
        f"/documents?publisher=who&format=x&access_token={token}", content=b"x"
    )
    assert documents.status_code == 400 and "Authorization header" in documents.text
    # a cookie that is no token is no concern of ours
    answer = await post(client, {"query": "{ ledger { size } }"}, cookie="theme=dark")
    assert answer.status_code == 200


# -- item 13: lookups by key are nullable ---------------------------------------------------


async def test_unknown_keys_give_null_and_not_found_while_the_rest_of_data_stays(
    client: httpx.AsyncClient,
) -> None:
    unknown = "T2JzZXJ2YXRpb246OTk5OTk5OTk5"  # Observation:999999999
    answer = await post(
        client,
        {
            "query": "query ($id: ID!) { node(id: $id) { id } challenge(number: 424242) "
            "{ number } checkpoint(size: 999999) { size } ledger { size } "
            'nodes(ids: [$id, "", 7]) { id } }',
            "variables": {"id": unknown},
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["data"] == {
        "node": None,
        "challenge": None,
        "checkpoint": None,
        "ledger": {"size": 0},
        "nodes": [None, None, None],
    }
    by_path = {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]}
    assert by_path == {
        ("node",): "NOT_FOUND",
        ("challenge",): "NOT_FOUND",
        ("checkpoint",): "NOT_FOUND",
        ("nodes", 0): "NOT_FOUND",
        ("nodes", 1): "BAD_USER_INPUT",
        ("nodes", 2): "BAD_USER_INPUT",
    }


def test_every_root_lookup_that_takes_arguments_is_nullable() -> None:
    """GitHub's rule, kept by a test: a root field answering one object for a key is nullable,
    so one unknown key cannot blank the whole `data` (lists and connections are not lookups)."""
    from graphql import GraphQLList, GraphQLNonNull, get_named_type, is_composite_type

    # an aggregate over a filter, and proofs computed over the log (arguments checked,
    # BAD_USER_INPUT), are always answered: they are no lookups of one object by its key
    not_lookups = {"sentiment", "inclusionProof", "consistencyProof"}
    query_type = schema._schema.query_type
    assert query_type is not None
    for name, field in query_type.fields.items():
        if not field.args or name in not_lookups:
            continue
        inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        named = get_named_type(field.type)
        if isinstance(inner, GraphQLList) or named.name.endswith("Connection"):
            continue
        if is_composite_type(named):
            assert not isinstance(field.type, GraphQLNonNull), f"{name} should be nullable"


# -- item 15: the real budget on refused requests -------------------------------------------


async def test_refused_requests_report_the_callers_real_budget(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    spent = await post(client, {"query": "{ ledger { size } rateLimit { remaining } }"})
    remaining = spent.json()["data"]["rateLimit"]["remaining"]
    limit = runtime.settings.api_budget_anonymous
    refused = [
        await post(client, {"query": "{ ledger { size "}),  # parse error
        await post(client, {"query": "{ nope }"}),  # validation error
        await post(client, {"query": "{ ledgerEntries(first: 1000) { totalCount } }"}),
        await post(client, {"nothing": True}),  # no query
        await client.post("/graphql", content=b"{", headers={"content-type": "application/json"}),
        await post(client, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0"}}}),
    ]
    for answer in refused:
        cost = answer.json()["extensions"]["cost"]
        assert cost["limit"] == limit, answer.text
        assert cost["remaining"] == remaining, answer.text  # refused: nothing charged
        assert ONE_FORM.match(cost["resetAt"]), answer.text
        assert answer.headers["x-ratelimit-limit"] == str(limit)
        assert answer.headers["x-ratelimit-remaining"] == str(remaining)
    token = await mint(runtime)
    signed_in = await post(client, {"query": "{ nope }"}, token)
    cost = signed_in.json()["extensions"]["cost"]
    assert cost["limit"] == runtime.settings.api_budget_authenticated
    assert cost["remaining"] == runtime.settings.api_budget_authenticated
    bad_token = await post(client, {"query": "{ ledger { size } }"}, "not-a-token")
    assert bad_token.status_code == 401
    assert bad_token.json()["extensions"]["cost"]["limit"] == limit  # the address's budget


# -- item 16: one time form -----------------------------------------------------------------


def test_the_one_time_form_is_utc_to_the_second_with_z() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    assert rfc3339(dt.datetime(2026, 12, 8, 1, 56, 33, 91174)) == "2026-12-08T01:56:33Z"
    assert rfc3339(dt.datetime(2026, 12, 8, 2, 56, 33, tzinfo=paris)) == "2026-12-08T01:56:33Z"
    assert rfc3339(dt.datetime(2026, 12, 8, 1, 56, 33, tzinfo=dt.UTC)) == "2026-12-08T01:56:33Z"
    assert rfc3339(dt.datetime(9, 1, 2)) == "0009-01-02T00:00:00Z"
    # the GraphQL scalar writes naive (SQLite) and aware datetimes alike
    serialize = DateTime.serialize
    assert serialize is not None
    assert serialize(dt.datetime(2026, 12, 8, 1, 56, 33, 91174)) == "2026-12-08T01:56:33Z"
    assert serialize(dt.datetime(2026, 12, 8, 1, 56, 33, tzinfo=dt.UTC)) == "2026-12-08T01:56:33Z"


def test_cli_json_writes_times_in_the_one_form(capsys: Any) -> None:
    print_json({"at": dt.datetime(2026, 12, 8, 1, 56, 33, 5), "day": dt.date(2026, 12, 8)})
    assert json.loads(capsys.readouterr().out) == {
        "at": "2026-12-08T01:56:33Z",
        "day": "2026-12-08",
    }


async def test_every_time_the_api_writes_is_in_the_one_form(
    demo_client: httpx.AsyncClient,
) -> None:
    query = """{
      checkpoint { signedAt }
      documents(first: 3) { nodes { signedAt receivedAt } }
      publishers(first: 3) { nodes { keys { validFrom } } }
      figures(region: "ITA", first: 2) { nodes { createdAt } }
      rateLimit { resetAt }
    }"""
    answer = await post(demo_client, {"query": query})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    times: list[str] = []

    def collect(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                collect(v, k)
        elif isinstance(value, list):
            for v in value:
                collect(v, key)
        elif key.endswith(("At", "From")) and value is not None:
            times.append(value)

    collect(body)
    assert len(times) >= 8, body
    assert all(ONE_FORM.match(t) for t in times), times
    # resetAt is written alike in the field and in extensions
    assert body["data"]["rateLimit"]["resetAt"] == body["extensions"]["cost"]["resetAt"]
