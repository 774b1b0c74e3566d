"""Regions, publishers, documents and observations through GraphQL over HTTP, on the demo data;
global IDs that round-trip; originals served byte for byte."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any

import httpx
from sqlalchemy import insert, select

from models.ingest import Observation
from service.runtime import Runtime


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def errors(client: httpx.AsyncClient, query: str, **variables: Any) -> list[dict[str, Any]]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    found: list[dict[str, Any]] = response.json()["errors"]
    return found


async def test_node_lookup_round_trips_every_type(demo_client: httpx.AsyncClient) -> None:
    ids = await gql(
        demo_client,
        """{ region(code: "US-NY") { id }
             publisher(slug: "who") { id keys { id } }
             documents(first: 1) { nodes { id } }
             observations(region: "ITA", first: 1) { nodes { id } }
             figures(region: "ITA", first: 1) { nodes { id } } }""",
    )
    wanted = {
        "Region": ids["region"]["id"],
        "Publisher": ids["publisher"]["id"],
        "PublisherKey": ids["publisher"]["keys"][0]["id"],
        "Document": ids["documents"]["nodes"][0]["id"],
        "Observation": ids["observations"]["nodes"][0]["id"],
        "AttestedFigure": ids["figures"]["nodes"][0]["id"],
    }
    found = await gql(
        demo_client,
        """query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id
             ... on Region { code } ... on Publisher { slug } ... on PublisherKey { name }
             ... on Document { publisher { slug } } ... on Observation { region { code } }
             ... on AttestedFigure { region { code } } } }""",
        ids=list(wanted.values()),
    )
    assert [(n["__typename"], n["id"]) for n in found["nodes"]] == list(wanted.items())
    assert found["nodes"][0]["code"] == "US-NY"
    assert found["nodes"][1]["slug"] == "who"
    assert found["nodes"][2]["name"] == "demo-who"
    assert found["nodes"][4]["region"]["code"] == found["nodes"][5]["region"]["code"] == "ITA"
    one = await gql(
        demo_client, "query ($id: ID!) { node(id: $id) { id } }", id=wanted["Observation"]
    )
    assert one["node"]["id"] == wanted["Observation"]


async def test_unknown_ids_codes_and_slugs_say_what_was_expected(
    demo_client: httpx.AsyncClient,
) -> None:
    def gid(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    (missing,) = await errors(
        demo_client, "query ($id: ID!) { node(id: $id) { id } }", id=gid("Observation:999999999")
    )
    assert missing["extensions"]["code"] == "NOT_FOUND"
    (malformed,) = await errors(
        demo_client, "query ($id: ID!) { node(id: $id) { id } }", id=gid("Document:abc")
    )
    assert malformed["extensions"]["code"] == "BAD_USER_INPUT"
    assert "expected a Document id" in malformed["message"] and "'abc'" in malformed["message"]
    found = await errors(
        demo_client, '{ region(code: "Italy") { code } publisher(slug: "WHO") { slug } }'
    )
    by_path = {e["path"][0]: e for e in found}
    assert by_path["region"]["extensions"]["code"] == "NOT_FOUND"
    assert "'Italy'" in by_path["region"]["message"] and "ITA" in by_path["region"]["message"]
    assert by_path["publisher"]["extensions"]["code"] == "NOT_FOUND"
    assert "'WHO'" in by_path["publisher"]["message"]
    (region,) = await errors(
        demo_client, '{ observations(region: "Italy", first: 1) { totalCount } }'
    )
    assert region["extensions"]["code"] == "BAD_USER_INPUT"
    (slug,) = await errors(
        demo_client, '{ observations(region: "ITA", publisher: "W%", first: 1) { totalCount } }'
    )
    assert slug["extensions"]["code"] == "BAD_USER_INPUT" and "publisher slug" in slug["message"]


async def test_regions_page_through_the_hierarchy(demo_client: httpx.AsyncClient) -> None:
    query = """query ($after: String) {
      regions(parent: "US-NY", first: 40, after: $after) {
        nodes { code level parent { code } } pageInfo { hasNextPage endCursor } totalCount } }"""
    first = (await gql(demo_client, query))["regions"]
    second = (await gql(demo_client, query, after=first["pageInfo"]["endCursor"]))["regions"]
    listed = first["nodes"] + second["nodes"]
    assert first["pageInfo"]["hasNextPage"] and not second["pageInfo"]["hasNextPage"]
    assert len(listed) == first["totalCount"] == 64  # 62 counties and the CDC's two jurisdictions
    assert [n["code"] for n in listed] == sorted(n["code"] for n in listed)
    assert {n["parent"]["code"] for n in listed} == {"US-NY"}
    levels = {n["code"]: n["level"] for n in listed}
    assert levels["US-NY-NYC"] == levels["US-NY-EXCL-NYC"] == "JURISDICTION"
    assert levels["US-FIPS-36061"] == "COUNTY"
    region = await gql(
        demo_client,
        """{ region(code: "US-NY") { name level parent { code level parent { code } }
                                     children { code } }
             pr: region(code: "US-PR") { sameAs { code level } } }""",
    )
    assert region["region"]["name"] == "New York"
    assert region["region"]["parent"] == {"code": "USA", "level": "COUNTRY", "parent": None}
    assert [c["code"] for c in region["region"]["children"]] == [n["code"] for n in listed]
    assert region["pr"]["sameAs"] == {"code": "PRI", "level": "COUNTRY"}


async def test_publishers_with_their_keys_and_documents(demo_client: httpx.AsyncClient) -> None:
    data = await gql(
        demo_client,
        """{ publishers(first: 100) { nodes { slug } totalCount }
             publisher(slug: "who") { name kind jurisdictions reportLagDays conventions
               keys { name keyId vkey validFrom validUntil revokedAt ledgerIndex
                      publisher { slug } proof { leafIndex } leaf { kind } } }
             documents(publisher: "who", first: 10) { totalCount nodes {
               name format size sha256 note signatures signedAt receivedAt ledgerIndex
               downloadUrl publisher { slug } key { vkey } proof { leafIndex } leaf { kind } } } }""",
    )
    slugs = [n["slug"] for n in data["publishers"]["nodes"]]
    assert slugs == sorted(slugs) and data["publishers"]["totalCount"] == len(slugs) == 8
    who = data["publisher"]
    assert (who["kind"], who["jurisdictions"], who["reportLagDays"]) == (
        "OFFICIAL_AGENCY",
        ["*"],
        1,
    )
    (key,) = who["keys"]
    assert key["vkey"].startswith(f"demo-who+{key['keyId']}+")
    assert key["publisher"] == {"slug": "who"} and key["revokedAt"] is None
    assert key["proof"]["leafIndex"] == key["ledgerIndex"] and key["leaf"]["kind"] == "key"
    documents = data["documents"]["nodes"]
    assert data["documents"]["totalCount"] == len(documents) == 2  # two vintages of WHO's file
    for document in documents:
        assert document["key"]["vkey"] == key["vkey"]
        assert document["publisher"] == {"slug": "who"}
        assert f"sha256 {document['sha256']}\n" in document["note"]
        assert document["signatures"][0].startswith("— demo-who ")
        assert document["proof"]["leafIndex"] == document["ledgerIndex"]
        assert document["leaf"]["kind"] == "document"
        assert document["downloadUrl"].endswith(f"/documents/{document['ledgerIndex']}/original")


async def test_document_original_is_served_byte_exact(demo_client: httpx.AsyncClient) -> None:
    data = await gql(
        demo_client,
        '{ documents(publisher: "it-dpc", first: 1) { nodes { sha256 size downloadUrl } } }',
    )
    (document,) = data["documents"]["nodes"]
    response = await demo_client.get(document["downloadUrl"])
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == document["sha256"]
    assert len(response.content) == document["size"]
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["etag"] == f'"{document["sha256"]}"'
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    cached = await demo_client.get(
        document["downloadUrl"], headers={"If-None-Match": response.headers["etag"]}
    )
    assert cached.status_code == 304 and cached.content == b""
    missing = await demo_client.get("/documents/3/original")  # a key leaf, not a document
    assert missing.status_code == 404
    assert "expected the index of a `document` leaf" in missing.text


async def test_observations_filter_by_publisher_metric_dates_and_versions(
    demo_client: httpx.AsyncClient,
) -> None:
    query = """query ($all: Boolean!) {
      observations(region: "ESP", publisher: "who", metric: CASES_CUMULATIVE,
                   from: "2020-05-11", to: "2020-05-11", allVersions: $all, first: 10) {
        nodes { date metric value version latest sourceRow sourceField derivedFrom
                publisher { slug } document { ledgerIndex } region { code }
                versions { version value latest document { ledgerIndex } } anomalies { type } } } }"""
    current = (await gql(demo_client, query, all=False))["observations"]["nodes"]
    every = (await gql(demo_client, query, all=True))["observations"]["nodes"]
    (latest,) = current
    assert [n["version"] for n in every] == [1, 2]
    assert every[1] == latest and latest["latest"] and not every[0]["latest"]
    assert latest["versions"] == [
        {k: n[k] for k in ("version", "value", "latest", "document")} for n in every
    ]
    assert every[0]["document"] != every[1]["document"]  # the revision came with WHO's later file
    assert (latest["date"], latest["metric"], latest["region"]) == (
        "2020-05-11",
        "CASES_CUMULATIVE",
        {"code": "ESP"},
    )
    assert latest["derivedFrom"] is None and latest["sourceRow"] > 0


async def test_observation_region_filter_includes_counties(demo_client: httpx.AsyncClient) -> None:
    query = """query ($descendants: Boolean!) {
      observations(region: "US-NY", metric: CASES_CUMULATIVE, publisher: "jhu-csse",
                   from: "2020-04-01", to: "2020-04-01", includeDescendants: $descendants,
                   first: 100) { nodes { region { code level } derivedFrom } totalCount } }"""
    state = (await gql(demo_client, query, descendants=False))["observations"]
    below = (await gql(demo_client, query, descendants=True))["observations"]
    assert [n["region"]["code"] for n in state["nodes"]] == ["US-NY"]
    assert "US-FIPS-36061" in state["nodes"][0]["derivedFrom"]  # JHU's roll-up of its counties
    assert below["totalCount"] == 63  # the state and its 62 counties
    assert {n["region"]["level"] for n in below["nodes"]} == {"SUBDIVISION", "COUNTY"}


async def test_observation_cursor_stays_valid_after_new_observations_are_appended(
    demo_client: httpx.AsyncClient, demo_runtime: Runtime
) -> None:
    query = """query ($after: String) {
      observations(region: "ITA", metric: DEATHS_CUMULATIVE, first: 4, after: $after) {
        edges { cursor node { date value publisher { slug } } } } }"""
    rows = (await gql(demo_client, query))["observations"]["edges"]
    async with demo_runtime.write_sessions() as session, session.begin():
        template = (
            await session.execute(
                select(Observation).where(Observation.region == "ITA").limit(1)  # type: ignore[arg-type]
            )
        ).scalar_one()
        await session.execute(
            insert(Observation),
            [
                {
                    "ledger_index": 10**9 + n,
                    "publisher_id": template.publisher_id,
                    "document_id": template.document_id,
                    "region": "ITA",
                    "date": day,
                    "metric": "deaths_cumulative",
                    "version": 1,
                    "value": 1,
                    "source_row": 1,
                    "source_field": "test",
                    "latest": True,
                }
                for n, day in enumerate((dt.date(2019, 1, 1), dt.date(2019, 1, 2)))
            ],
        )
    after = (await gql(demo_client, query, after=rows[1]["cursor"]))["observations"]["edges"]
    assert [e["node"] for e in after[:2]] == [e["node"] for e in rows[2:4]]
