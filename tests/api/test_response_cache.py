"""The response cache (api/response_cache.py) through the ASGI app: a repeated anonymous query is
served without execution and charged the same; every kind of public write — a leaf on the log, a
witness's cosignature, a reconciliation run, a publisher registered — is seen by the next query;
per-caller fields, credentials, errors and mutations are never shared; memory stays bounded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from api.response_cache import ResponseCache
from ingest.publishers import PublisherSpec, add_publisher
from ingest.reconcile.engine import reconcile
from service.runtime import Runtime

GQL = "application/graphql-response+json"
SIZE = "{ ledger { size } }"


async def post(client: httpx.AsyncClient, query: str, **headers: str) -> httpx.Response:
    return await client.post(
        "/graphql",
        content=json.dumps({"query": query}),
        headers={"content-type": "application/json", "accept": GQL, **headers},
    )


def cached(response: httpx.Response) -> str:
    return response.headers.get("x-response-cache", "")


async def test_a_repeated_query_is_served_from_the_cache_and_charged(
    client: httpx.AsyncClient,
) -> None:
    first = await post(client, SIZE)
    second = await post(client, SIZE)
    assert (cached(first), cached(second)) == ("miss", "hit")
    assert first.json()["data"] == second.json()["data"] == {"ledger": {"size": 0}}
    cost = first.json()["extensions"]["cost"]
    again = second.json()["extensions"]["cost"]
    assert again["requestedQueryCost"] == cost["requestedQueryCost"] > 0
    assert again["remaining"] == cost["remaining"] - cost["requestedQueryCost"]
    assert int(second.headers["x-ratelimit-used"]) == cost["requestedQueryCost"]
    # other variables, another operation name or another document are other entries
    other = await post(client, "{ ledger { size rootHash } }")
    assert cached(other) == "miss"


async def test_every_public_write_is_seen_by_the_next_query(runtime: Runtime) -> None:
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    query = (
        "{ ledger { size } checkpoint { cosignatures } publishers(first: 5) { totalCount } "
        'figures(region: "ITA", first: 1) { totalCount } }'
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

        async def data() -> dict[str, object]:
            response = await post(client, query)
            assert response.status_code == 200, response.text
            assert cached(await post(client, query)) == "hit"  # unchanged: the same entry
            result: dict[str, object] = response.json()["data"]
            return result

        before = await data()
        assert before["ledger"] == {"size": 0}

        receipt = await runtime.sequencer.append("document", {"test": "cache"})  # a leaf
        after_leaf = await data()
        assert after_leaf["ledger"] == {"size": receipt.size}

        async with runtime.write_sessions() as session, session.begin():  # a cosignature
            await runtime.log.add_cosignature(
                session, receipt.size, "witness.example", b"\x00" * 4, 1, "— witness.example x"
            )
        after_cosignature = await data()
        assert after_cosignature["checkpoint"] != after_leaf["checkpoint"]

        async with runtime.write_sessions() as session, session.begin():  # a publisher
            await add_publisher(
                session,
                PublisherSpec(
                    slug="cache-test",
                    name="Cache test",
                    homepage="https://example.org",
                    licence="CC0",
                    kind="official-agency",
                    jurisdictions=("ITA",),
                ),
            )
        after_publisher = await data()
        assert after_publisher["publishers"] == {"totalCount": 1}

        # a reconciliation run, even one that changes no figure (its anomalies may change)
        await reconcile(runtime.sessions, runtime.write_sessions, runtime.log)
        first_after_run = await post(client, query)
        assert cached(first_after_run) == "miss"


async def test_per_caller_fields_credentials_and_errors_are_not_shared(
    client: httpx.AsyncClient,
) -> None:
    budget = "{ rateLimit { remaining } }"
    one, two = await post(client, budget), await post(client, budget)
    assert cached(one) == cached(two) == "miss"
    assert (
        two.json()["data"]["rateLimit"]["remaining"] < one.json()["data"]["rateLimit"]["remaining"]
    )

    await post(client, SIZE)
    signed_in = await post(client, SIZE, authorization="Bearer x")
    assert cached(signed_in) == ""  # not even looked up
    assert signed_in.headers["cache-control"] == "private, no-store"

    missing = '{ figure(region: "ITA", metric: CASES_CUMULATIVE, date: "2020-03-01") { value } }'
    for _ in range(2):
        refused = await post(client, missing)
        assert refused.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert cached(refused) == "miss"


async def test_a_hit_is_refused_when_the_budget_is_spent(runtime: Runtime) -> None:
    runtime.settings = runtime.settings.model_copy(update={"api_budget_anonymous": 2})
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        assert (await post(client, SIZE)).status_code == 200
        hit = await post(client, SIZE)
        assert hit.status_code == 200 and cached(hit) == "hit"
        refused = await post(client, SIZE)
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert "data" not in refused.json()


async def test_a_get_hit_keeps_its_etag(client: httpx.AsyncClient) -> None:
    first = await client.get("/graphql", params={"query": SIZE}, headers={"accept": GQL})
    second = await client.get("/graphql", params={"query": SIZE}, headers={"accept": GQL})
    assert cached(second) == "hit" and first.headers["etag"] == second.headers["etag"]
    not_modified = await client.get(
        "/graphql",
        params={"query": SIZE},
        headers={"accept": GQL, "if-none-match": first.headers["etag"]},
    )
    assert not_modified.status_code == 304


@pytest.fixture
async def uncached_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    runtime.settings = runtime.settings.model_copy(update={"api_response_cache_bytes": 0})
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        yield client


async def test_the_cache_can_be_turned_off(uncached_client: httpx.AsyncClient) -> None:
    for _ in range(2):
        response = await post(uncached_client, SIZE)
        assert response.status_code == 200 and cached(response) == ""


def test_memory_is_bounded_and_old_versions_never_replace_new_ones() -> None:
    cache = ResponseCache(max_bytes=100)
    cache.put("a", (1, 0), 1, {"x": "a" * 40})
    cache.put("b", (1, 0), 1, {"x": "b" * 40})
    cache.put("c", (1, 0), 1, {"x": "c" * 40})  # over 100 bytes: the least recently used goes
    assert cache.get("a", (1, 0)) is None and cache.get("c", (1, 0)) is not None
    assert cache.size_bytes <= 100
    cache.put("huge", (1, 0), 1, {"x": "h" * 200})  # larger than the cache: not kept
    assert cache.get("huge", (1, 0)) is None
    cache.put("d", (2, 0), 1, {"x": 1})  # a newer version drops the older entries
    assert len(cache) == 1
    cache.put("e", (1, 0), 1, {"x": 1})  # read before a write another result has seen
    assert cache.get("e", (1, 0)) is None and cache.get("d", (2, 0)) is not None
    assert cache.get("d", (2, 1)) is None  # any number moved: not served
