"""What a page costs in SQL: every relation goes through a DataLoader, so a page of 50 costs the
same statements as a page of 5 (no N+1). ``BEGIN`` is left out of the count: SQLite's sessions
emit it as a statement, PostgreSQL's driver does not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from api.response_cache import VERSION_SQL
from service.runtime import Runtime

FIGURES = """
query ($n: Int!) {
  figures(region: "ITA", metric: CASES_CUMULATIVE, first: $n) {
    nodes {
      value status
      inputs { publisher { slug } observation { value document { sha256 } } }
      proof { tlogProof }
    }
  }
}
"""

OBSERVATIONS = """
query ($n: Int!) {
  observations(region: "ESP", publisher: "who", allVersions: true, first: $n) {
    nodes {
      value version
      versions { value version }
      anomalies { type detail }
      document { sha256 key { keyId } }
      publisher { slug }
      proof { leafIndex }
    }
  }
}
"""

DOCUMENTS = """
query ($n: Int!) {
  documents(first: $n) { nodes { sha256 publisher { slug keys { vkey } } key { keyId } } }
}
"""

PUBLISHERS = """
query ($n: Int!) {
  publishers(first: $n) { nodes { slug keys { vkey keyId proof { leafIndex } } } }
}
"""


@contextmanager
def counting(runtime: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # the response cache's data version is read per request, not per relation (and on
        # SQLite through a connection of its own): not counted on either backend
        if not statement.lstrip().upper().startswith("BEGIN") and statement != VERSION:
            statements.append(statement)

    engine = runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def cost(
    client: httpx.AsyncClient, runtime: Runtime, query: str, n: int
) -> tuple[int, dict[str, Any]]:
    runtime.log._cache.clear()  # count the tile read a cold cache makes (one for a whole page)
    with counting(runtime) as statements:
        response = await client.post("/graphql", json={"query": query, "variables": {"n": n}})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return len(statements), body["data"]


VERSION = str(VERSION_SQL)


@pytest.mark.parametrize(
    ("query", "sizes", "expected"),
    [
        # figures page; attestation records; publishers; observations; documents; proofs:
        # latest size, checkpoint, cosignatures, tiles
        pytest.param(FIGURES, (5, 50), 9, id="figures-with-inputs-and-proofs"),
        # observations page; versions; anomalies; documents; keys; publishers; proofs (4)
        pytest.param(OBSERVATIONS, (5, 50), 10, id="observations-with-versions-and-anomalies"),
        # documents page; publishers; their keys; the signing keys
        pytest.param(DOCUMENTS, (2, 13), 4, id="documents-with-publishers-and-keys"),
        # publishers page; their keys; proofs (4)
        pytest.param(PUBLISHERS, (2, 8), 6, id="publishers-with-keys-and-proofs"),
    ],
)
async def test_a_page_costs_the_same_statements_whatever_its_size(
    demo_client: httpx.AsyncClient,
    demo_runtime: Runtime,
    query: str,
    sizes: tuple[int, int],
    expected: int,
) -> None:
    small, large = sizes
    small_cost, _ = await cost(demo_client, demo_runtime, query, small)
    large_cost, data = await cost(demo_client, demo_runtime, query, large)
    (listed,) = data.values()
    assert len(listed["nodes"]) == large
    assert (small_cost, large_cost) == (expected, expected)
