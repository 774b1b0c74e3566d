"""The app over real HTTP semantics (the ASGI app through httpx): health, readiness, metrics, logs."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from api.logs import JsonFormatter


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_database_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    replaced = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert replaced.headers["x-request-id"] != "bad id with spaces"


async def test_metrics_are_prometheus_text(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'corroborate_http_requests_total{method="GET",route="/healthz",status="200"}' in (
        response.text
    )
    assert "corroborate_ledger_size 0.0" in response.text


async def test_graphql_query_returns_the_ledger(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ ledger { origin size vkey checkpoint { size note } } }"}
    )
    assert response.status_code == 200
    ledger = response.json()["data"]["ledger"]
    assert ledger["origin"] == "test.corroborate.example/log"
    assert ledger["size"] == 0
    assert ledger["vkey"].startswith("test.corroborate.example/log+")
    assert ledger["checkpoint"]["note"].startswith("test.corroborate.example/log\n0\n")


async def test_graphiql_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_request_log_line_is_json_without_query_string(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="corroborate.http"):
        await client.get("/healthz?token=secret", headers={"X-Request-ID": "rid-1"})
    record = next(r for r in caplog.records if r.name == "corroborate.http")
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "request"
    assert line["path"] == "/healthz"
    assert line["status"] == 200
    assert "secret" not in json.dumps(line)
