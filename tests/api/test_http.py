"""GraphQL over HTTP through the ASGI app: media types and statuses, limits that trip before
execution, cost reporting, budgets, caching and persisted queries. Each hostile request is
refused with its status and code, and the server answers the next request normally."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from service.runtime import Runtime

GQL = "application/graphql-response+json"
OK = "{ ledger { size } }"


async def post(
    client: httpx.AsyncClient, body: object, accept: str = GQL, **headers: str
) -> httpx.Response:
    return await client.post(
        "/graphql",
        content=json.dumps(body),
        headers={"content-type": "application/json", "accept": accept, **headers},
    )


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def still_serving(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": OK})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["ledger"]["size"] == 0


async def test_query_answers_in_the_accepted_media_type(client: httpx.AsyncClient) -> None:
    modern = await post(client, {"query": OK})
    assert modern.headers["content-type"] == f"{GQL}; charset=utf-8"
    legacy = await post(client, {"query": OK}, accept="application/json")
    assert legacy.headers["content-type"] == "application/json; charset=utf-8"
    anything = await post(client, {"query": OK}, accept="*/*")
    assert anything.headers["content-type"].startswith("application/json")
    refused = await post(client, {"query": OK}, accept="text/csv")
    assert refused.status_code == 406


async def test_parse_and_validation_errors_are_400_without_data(client: httpx.AsyncClient) -> None:
    parse = await post(client, {"query": "{ ledger { size "})
    assert parse.status_code == 400
    assert "data" not in parse.json() and code(parse) == "GRAPHQL_PARSE_FAILED"
    invalid = await post(client, {"query": "{ nope }"})
    assert invalid.status_code == 400 and code(invalid) == "GRAPHQL_VALIDATION_FAILED"
    legacy = await post(client, {"query": "{ nope }"}, accept="application/json")
    assert legacy.status_code == 200 and code(legacy) == "GRAPHQL_VALIDATION_FAILED"


async def test_bad_variable_is_400_bad_user_input(client: httpx.AsyncClient) -> None:
    response = await post(
        client,
        {
            "query": "query($n: Int!) { ledgerEntries(first: $n) { totalCount } }",
            "variables": {"n": "ten"},
        },
    )
    assert response.status_code == 400
    assert code(response) == "BAD_USER_INPUT"


async def test_deep_nesting_is_refused(client: httpx.AsyncClient) -> None:
    query = "{ " + "ledger { " * 13 + "size" + " }" * 13 + " }"
    response = await post(client, {"query": query})
    assert response.status_code == 400 and code(response) == "GRAPHQL_VALIDATION_FAILED"
    messages = [e["message"] for e in response.json()["errors"]]
    assert any("exceeds maximum operation depth of 12" in m for m in messages), messages
    await still_serving(client)


async def test_alias_flooding_is_refused(client: httpx.AsyncClient) -> None:
    query = "{ " + " ".join(f"a{i}: version" for i in range(31)) + " }"
    response = await post(client, {"query": query})
    assert response.status_code == 400 and code(response) == "GRAPHQL_VALIDATION_FAILED"
    assert "aliases" in response.json()["errors"][0]["message"]
    await still_serving(client)


async def test_token_flooding_is_refused_before_parsing(client: httpx.AsyncClient) -> None:
    query = "{ " + "version " * 3001 + "}"
    response = await post(client, {"query": query})
    assert response.status_code == 400
    assert "tokens" in response.json()["errors"][0]["message"]
    await still_serving(client)


async def test_circular_fragments_are_refused(client: httpx.AsyncClient) -> None:
    query = (
        "query { ledger { ...A } } "
        "fragment A on Ledger { checkpoint { size } ...B } "
        "fragment B on Ledger { ...A }"
    )
    response = await post(client, {"query": query})
    assert response.status_code == 400 and code(response) == "GRAPHQL_VALIDATION_FAILED"
    assert "Cannot spread fragment" in response.json()["errors"][0]["message"]
    await still_serving(client)


async def test_huge_first_is_refused_before_execution(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "{ ledgerEntries(first: 1000000) { totalCount } }"})
    assert response.status_code == 400 and code(response) == "BAD_USER_INPUT"
    assert "expected `first` in 1..100, got 1000000" in response.json()["errors"][0]["message"]
    missing = await post(client, {"query": "{ ledgerEntries { totalCount } }"})
    assert missing.status_code == 200 and code(missing) == "BAD_USER_INPUT"
    await still_serving(client)


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": OK, "variables": {"pad": "x" * 200_000}})
    assert response.status_code == 413 and code(response) == "PAYLOAD_TOO_LARGE"
    await still_serving(client)


async def test_batches_are_capped_at_five_operations(client: httpx.AsyncClient) -> None:
    five = await post(client, [{"query": OK}] * 5)
    assert five.status_code == 200
    assert [r["data"]["ledger"]["size"] for r in five.json()] == [0] * 5
    six = await post(client, [{"query": OK}] * 6)
    assert six.status_code == 400 and code(six) == "BAD_REQUEST"
    assert "at most 5 operations" in six.json()["errors"][0]["message"]
    await still_serving(client)


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b'{"query": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and code(response) == "BAD_REQUEST"
    await still_serving(client)


async def test_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=OK, headers={"content-type": "text/plain", "accept": GQL}
    )
    assert response.status_code == 415 and code(response) == "BAD_REQUEST"
    await still_serving(client)


async def test_mutation_over_get_is_405(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql", params={"query": "mutation { x }"}, headers={"accept": GQL}
    )
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert code(response) == "OPERATION_NOT_ALLOWED"
    await still_serving(client)


async def test_every_response_reports_its_cost(client: httpx.AsyncClient) -> None:
    response = await post(
        client, {"query": "{ ledgerEntries(first: 50) { nodes { index proof { treeSize } } } }"}
    )
    cost = response.json()["extensions"]["cost"]
    # the connection (1) + 50 × (the entry 1 + its proof 1)
    assert cost["requestedQueryCost"] == 101
    assert int(response.headers["x-ratelimit-used"]) == 101
    assert (
        int(response.headers["x-ratelimit-remaining"]) == cost["remaining"] == cost["limit"] - 101
    )
    rate = await post(client, {"query": "{ rateLimit { limit cost remaining resetAt } }"})
    assert rate.json()["data"]["rateLimit"]["cost"] == 1
    assert rate.json()["data"]["rateLimit"]["remaining"] == cost["remaining"] - 1


async def test_a_query_over_the_cost_limit_is_refused(client: httpx.AsyncClient) -> None:
    query = (
        "{ ledgerEntries(first: 100) { nodes { proof { hashes } } } "
        + " ".join(
            f"e{i}: ledgerEntries(first: 100) {{ nodes {{ index proof {{ hashes }} }} }}"
            for i in range(25)
        )
        + " }"
    )
    response = await post(client, {"query": query})
    assert response.status_code == 400 and code(response) == "COST_LIMIT_EXCEEDED"
    assert response.json()["errors"][0]["extensions"]["cost"] > 5000


@pytest.fixture
async def tight_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    runtime.settings = runtime.settings.model_copy(update={"api_budget_anonymous": 5})
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


async def test_budget_spent_is_429_with_retry_after(tight_client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await post(tight_client, {"query": OK})).status_code == 200
    refused = await post(tight_client, {"query": OK})
    assert refused.status_code == 429 and code(refused) == "RATE_LIMITED"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-remaining"] == "0"
    legacy = await post(tight_client, {"query": OK}, accept="application/json")
    assert legacy.status_code == 429


async def test_anonymous_get_is_cacheable_with_etag(client: httpx.AsyncClient) -> None:
    first = await client.get("/graphql", params={"query": OK}, headers={"accept": GQL})
    assert first.status_code == 200
    assert first.headers["cache-control"].startswith("public, max-age=")
    etag = first.headers["etag"]
    again = await client.get(
        "/graphql", params={"query": OK}, headers={"accept": GQL, "if-none-match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    signed_in = await client.get(
        "/graphql", params={"query": OK}, headers={"accept": GQL, "authorization": "Bearer x"}
    )
    assert signed_in.headers["cache-control"] == "private, no-store"
    assert "etag" not in signed_in.headers
    posted = await post(client, {"query": OK})
    assert posted.headers["cache-control"] == "no-store"


async def test_persisted_query_registers_then_serves_by_hash(client: httpx.AsyncClient) -> None:
    digest = hashlib.sha256(OK.encode()).hexdigest()
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})
    unknown = await client.get(
        "/graphql", params={"extensions": extensions}, headers={"accept": "application/json"}
    )
    assert code(unknown) == "PERSISTED_QUERY_NOT_FOUND"
    mismatch = await post(
        client,
        {
            "query": "{ version }",
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
        },
    )
    assert code(mismatch) == "PERSISTED_QUERY_HASH_MISMATCH"
    registered = await post(
        client,
        {"query": OK, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}},
    )
    assert registered.json()["data"]["ledger"]["size"] == 0
    by_hash = await client.get(
        "/graphql", params={"extensions": extensions}, headers={"accept": GQL}
    )
    assert by_hash.status_code == 200 and by_hash.json()["data"]["ledger"]["size"] == 0
    assert by_hash.headers["cache-control"].startswith("public")


async def test_unexpected_errors_are_masked_with_the_request_id(client: httpx.AsyncClient) -> None:
    response = await post(
        client,
        {"query": "{ inclusionProof(index: 0) { treeSize } }"},
        **{"x-request-id": "rid-masked"},
    )
    body = response.json()
    assert code(response) == "BAD_USER_INPUT"  # an empty log: a clear refusal, not a crash
    assert "Traceback" not in response.text and "SELECT" not in response.text
    assert body["errors"][0]["message"].startswith("leaf 0 is not covered")


@pytest.fixture
async def hasty_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    runtime.settings = runtime.settings.model_copy(update={"api_timeout_s": 1e-6})
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


async def test_execution_past_the_timeout_is_stopped(hasty_client: httpx.AsyncClient) -> None:
    response = await post(hasty_client, {"query": "{ ledgerEntries(first: 5) { totalCount } }"})
    assert response.status_code == 504 and code(response) == "TIMEOUT"
    legacy = await post(hasty_client, {"query": OK}, accept="application/json")
    assert legacy.status_code == 200 and code(legacy) == "TIMEOUT"


async def test_parser_and_validation_caches_are_bounded(client: httpx.AsyncClient) -> None:
    from strawberry.extensions.parser_cache import _get_parse_cache
    from strawberry.extensions.validation_cache import _get_validate_cache

    from api.limits import Limits

    size = Limits().cache_size
    for i in range(size + 50):
        await post(client, {"query": f"{{ a{i}: version }}"})
    parsed: Any = _get_parse_cache(size)
    validated: Any = _get_validate_cache(size)
    assert parsed.cache_info().maxsize == validated.cache_info().maxsize == size
    assert parsed.cache_info().currsize <= size
    assert validated.cache_info().currsize <= size
