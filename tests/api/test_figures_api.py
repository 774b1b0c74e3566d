"""Attested figures through GraphQL over HTTP, on the reconciled demo data: one figure with what
it rests on, pages that survive appends, the region/publisher filters, discrepancies, proofs that
verify offline with the real CLI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, update

from ingest.reconcile.query import figure_detail
from models.reconcile import AttestedFigure
from service.runtime import Runtime
from tests.helpers import cli_env, run_cli


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def refusal(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    (error,) = response.json()["errors"]
    assert isinstance(error, dict)
    return error


ITA_PAGE = """
query ($first: Int, $after: String, $last: Int, $before: String) {
  figures(region: "ITA", metric: CASES_CUMULATIVE, first: $first, after: $after,
          last: $last, before: $before) {
    edges { cursor node { date value version } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""


async def test_figure_shows_inputs_and_lineages_as_attested(
    demo_client: httpx.AsyncClient, demo_runtime: Runtime
) -> None:
    data = await gql(
        demo_client,
        """{ figure(region: "ITA", metric: CASES_CUMULATIVE, date: "2020-06-01") {
              region { code } metric date value status spread spreadRatio explanation version
              latest digest lineageCount tolerance { relative absolute }
              inputs { publisher { slug } counted value date derived lineage { index value }
                       observations { ledgerIndex publisher { slug } } }
              lineages { value counted { slug } publishers { slug } }
              versions { version latest } supersedes { version }
            } }""",
    )
    figure = data["figure"]
    async with demo_runtime.sessions() as session:
        detail = await figure_detail(session, "ITA", "cases_cumulative", dt.date(2020, 6, 1))
    assert figure["region"] == {"code": "ITA"} and figure["metric"] == "CASES_CUMULATIVE"
    assert (figure["value"], figure["status"], figure["spread"]) == (
        detail["value"],
        detail["status"],
        detail["spread"],
    )
    assert figure["explanation"] == detail["explanation"]
    assert figure["tolerance"] == {"relative": "0.02", "absolute": 1}
    assert [(i["publisher"]["slug"], i["value"], i["counted"]) for i in figure["inputs"]] == [
        (i["publisher"], i["value"], i["counted"]) for i in detail["inputs"]
    ]
    assert [[o["ledgerIndex"] for o in i["observations"]] for i in figure["inputs"]] == [
        i["observations"] for i in detail["inputs"]
    ]
    for given in figure["inputs"]:
        assert {o["publisher"]["slug"] for o in given["observations"]} == {
            given["publisher"]["slug"]
        }
        assert given["lineage"]["value"] == figure["lineages"][given["lineage"]["index"]]["value"]
    assert [
        (lin["value"], [p["slug"] for p in lin["publishers"]]) for lin in figure["lineages"]
    ] == [(lin["value"], lin["publishers"]) for lin in detail["lineage_values"]]
    assert figure["versions"] == [{"version": 1, "latest": True}]
    assert figure["supersedes"] is None


async def test_figure_cursor_stays_valid_after_new_figures_are_appended(
    demo_client: httpx.AsyncClient, demo_runtime: Runtime
) -> None:
    before = await gql(demo_client, ITA_PAGE, first=6)
    rows = before["figures"]["edges"]
    cursor = rows[2]["cursor"]
    # a new version of a figure before the cursor and a figure dated before them all: neither
    # may move the rows after the cursor
    first_date = dt.date.fromisoformat(rows[0]["node"]["date"])
    async with demo_runtime.write_sessions() as session, session.begin():
        old = (
            await session.execute(
                AttestedFigure.__table__.select().where(  # type: ignore[attr-defined]
                    AttestedFigure.region == "ITA",
                    AttestedFigure.metric == "cases_cumulative",
                    AttestedFigure.date == first_date,
                )
            )
        ).one()
        await session.execute(
            update(AttestedFigure)
            .where(AttestedFigure.ledger_index == old.ledger_index)
            .values(latest=False)
        )
        base = dict(old._mapping)
        await session.execute(
            insert(AttestedFigure),
            [
                base | {"ledger_index": 10**9, "version": 2, "latest": True, "value": 7},
                base | {"ledger_index": 10**9 + 1, "date": dt.date(2019, 1, 1), "latest": True},
            ],
        )
    after = await gql(demo_client, ITA_PAGE, first=3, after=cursor)
    assert [e["node"] for e in after["figures"]["edges"]] == [e["node"] for e in rows[3:6]]
    assert after["figures"]["pageInfo"]["hasPreviousPage"] is True
    back = await gql(demo_client, ITA_PAGE, last=2, before=cursor)
    assert [e["node"] for e in back["figures"]["edges"]] == [
        {**rows[0]["node"], "version": 2, "value": 7},
        rows[1]["node"],
    ]
    revised = await gql(
        demo_client,
        """query ($date: Date!) {
             latest: figure(region: "ITA", metric: CASES_CUMULATIVE, date: $date) {
               version value versions { version latest } }
             first: figureVersion(region: "ITA", metric: CASES_CUMULATIVE, date: $date,
                                  version: 1) {
               version latest } }""",
        date=first_date.isoformat(),
    )
    assert revised["latest"] == {
        "version": 2,
        "value": 7,
        "versions": [{"version": 1, "latest": False}, {"version": 2, "latest": True}],
    }
    assert revised["first"] == {"version": 1, "latest": False}


async def test_region_filter_includes_descendants(demo_client: httpx.AsyncClient) -> None:
    query = """query ($descendants: Boolean!) {
      figures(region: "USA", metric: CASES_CUMULATIVE, from: "2020-04-01", to: "2020-04-01",
              includeDescendants: $descendants, first: 100) {
        nodes { region { code parent { code } } } totalCount } }"""
    alone = await gql(demo_client, query, descendants=False)
    below = await gql(demo_client, query, descendants=True)
    assert alone["figures"] == {"nodes": [], "totalCount": 0}  # the demo attests no USA total
    codes = [n["region"]["code"] for n in below["figures"]["nodes"]]
    assert codes == ["US-CA", "US-CT", "US-MA", "US-NJ", "US-NY", "US-WA"]
    assert {n["region"]["parent"]["code"] for n in below["figures"]["nodes"]} == {"USA"}
    assert below["figures"]["totalCount"] == 6


async def test_publisher_filter_keeps_figures_with_an_input_from_it(
    demo_client: httpx.AsyncClient,
) -> None:
    query = """query ($publisher: String) {
      figures(region: "DEU", metric: DEATHS_CUMULATIVE, publisher: $publisher, first: 100) {
        nodes { inputs { publisher { slug } } } totalCount } }"""
    everything = await gql(demo_client, query, publisher=None)
    from_rki = await gql(demo_client, query, publisher="de-rki")
    nodes = from_rki["figures"]["nodes"]
    assert nodes and all("de-rki" in {i["publisher"]["slug"] for i in n["inputs"]} for n in nodes)
    assert 0 < from_rki["figures"]["totalCount"] < everything["figures"]["totalCount"]
    unknown = await gql(demo_client, query, publisher="nobody")
    assert unknown["figures"]["totalCount"] == 0


async def test_discrepancies_are_disputed_figures_sorted_and_paged(
    demo_client: httpx.AsyncClient,
) -> None:
    query = """query ($order: DiscrepancyOrder!, $after: String) {
      discrepancies(orderBy: $order, first: 4, after: $after) {
        edges { cursor node { spread spreadRatio
          figure { date status ledgerIndex } lineages { value publishers { slug } } } }
        pageInfo { endCursor } } }"""
    by_size: list[dict[str, Any]] = []
    after = None
    for _ in range(2):
        page = (await gql(demo_client, query, order="SIZE", after=after))["discrepancies"]
        by_size += [e["node"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
    ratios = [n["spreadRatio"] for n in by_size]
    assert len(by_size) == 8 and ratios == sorted(ratios, reverse=True)
    assert len({n["figure"]["ledgerIndex"] for n in by_size}) == 8
    for node in by_size:
        assert node["figure"]["status"] == "DISPUTED"
        values = [lineage["value"] for lineage in node["lineages"]]
        assert node["spread"] == max(values) - min(values)
        assert all(lineage["publishers"] for lineage in node["lineages"])
    by_date = (await gql(demo_client, query, order="DATE"))["discrepancies"]["edges"]
    dates = [e["node"]["figure"]["date"] for e in by_date]
    assert dates == sorted(dates, reverse=True)
    wrong = await refusal(
        demo_client,
        query,
        order="DATE",
        after=(await gql(demo_client, query, order="SIZE"))["discrepancies"]["pageInfo"][
            "endCursor"
        ],
    )
    assert wrong["extensions"]["code"] == "BAD_USER_INPUT"
    assert "discrepancies-date" in wrong["message"]


async def test_bad_figure_arguments_say_what_was_expected(demo_client: httpx.AsyncClient) -> None:
    missing = await refusal(
        demo_client, '{ figure(region: "ITA", metric: CASES_DAILY, date: "1999-01-01") { value } }'
    )
    assert missing["extensions"]["code"] == "NOT_FOUND"
    assert "ITA CASES_DAILY on 1999-01-01" in missing["message"]
    region = await refusal(demo_client, '{ figures(region: "Italy", first: 1) { totalCount } }')
    assert region["extensions"]["code"] == "BAD_USER_INPUT"
    assert "expected `region` to be a region code" in region["message"]
    assert "'Italy'" in region["message"]
    dates = await refusal(
        demo_client,
        '{ figures(region: "ITA", from: "2020-05-02", to: "2020-05-01", first: 1) { totalCount } }',
    )
    assert dates["extensions"]["code"] == "BAD_USER_INPUT"
    assert "from 2020-05-02 and to 2020-05-01" in dates["message"]
    unpaged = await refusal(demo_client, '{ figures(region: "ITA") { totalCount } }')
    assert unpaged["extensions"]["code"] == "BAD_USER_INPUT"


async def test_figure_proof_verifies_offline(
    demo_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    data = await gql(
        demo_client,
        """{ ledger { vkey }
             figure(region: "ITA", metric: CASES_CUMULATIVE, date: "2020-06-01") {
               ledgerIndex proof { leafIndex tlogProof } leaf { body }
               inputs { observation { proof { tlogProof } leaf { body } } } } }""",
    )
    figure = data["figure"]
    assert figure["proof"]["leafIndex"] == figure["ledgerIndex"]
    vkey = tmp_path / "ledger.vkey"
    vkey.write_text(data["ledger"]["vkey"] + "\n")
    observation = figure["inputs"][0]["observation"]
    for name, item in (("figure", figure), ("observation", observation)):
        proof, leaf = tmp_path / f"{name}.proof", tmp_path / f"{name}.leaf"
        proof.write_text(item["proof"]["tlogProof"])
        leaf.write_bytes(item["leaf"]["body"].encode())
        done = run_cli(
            "verify", str(proof), "--leaf", str(leaf), "--vkey", str(vkey), env=cli_env()
        )
        assert done.returncode == 0, done.stdout + done.stderr
    tampered = tmp_path / "figure.leaf"
    tampered.write_bytes(figure["leaf"]["body"].replace('"value":', '"value":1', 1).encode())
    done = run_cli(
        "verify",
        str(tmp_path / "figure.proof"),
        "--leaf",
        str(tampered),
        "--vkey",
        str(vkey),
        env=cli_env(),
    )
    assert done.returncode != 0


INPUTS = """{ figure(region: "ITA", metric: CASES_CUMULATIVE, date: "2020-06-01") {
  inputs { ... on FigureInput { publisher { slug } } ...sources }
} }
fragment sources on FigureInput {
  last: observation { ledgerIndex value }
  observations { ledgerIndex }
}"""


async def test_inputs_preload_through_fragments_and_fall_back_to_loading_each(
    demo_client: httpx.AsyncClient, monkeypatch: Any
) -> None:
    """`inputs` loads its publishers and observations once for the list when they are selected
    (aliases and fragments included); a field it did not preload is still loaded, by itself."""
    from api.figures import types

    preloaded = (await gql(demo_client, INPUTS))["figure"]["inputs"]
    assert preloaded and all(i["publisher"]["slug"] and i["last"] for i in preloaded)
    assert all(i["last"]["ledgerIndex"] == i["observations"][-1]["ledgerIndex"] for i in preloaded)
    monkeypatch.setattr(types, "_selects", lambda info, name: False)
    # another text of the same query: not the response cache's entry of the first
    one_by_one = (await gql(demo_client, INPUTS + "\n"))["figure"]["inputs"]
    assert one_by_one == preloaded


DERIVED = """query ($metric: Metric!, $after: String) {
  figure(region: "ITA", metric: $metric, date: "2020-06-01") {
    date
    inputs {
      publisher { slug } value date dateShiftDays derivation derived
      observation { id ledgerIndex }
      derivedFrom(first: 100, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { id ledgerIndex value date metric region { code } publisher { slug } }
      }
    }
  }
}"""


async def _inputs(client: httpx.AsyncClient, metric: str) -> list[dict[str, Any]]:
    """Every input of ITA's figure for 2020-06-01, each `derivedFrom` read to its end."""
    figure = (await gql(client, DERIVED, metric=metric))["figure"]
    inputs: list[dict[str, Any]] = figure["inputs"]
    for i, item in enumerate(inputs):
        nodes = list(item["derivedFrom"]["nodes"])
        page = item["derivedFrom"]["pageInfo"]
        while page["hasNextPage"]:
            more = (await gql(client, DERIVED, metric=metric, after=page["endCursor"]))["figure"]
            following = more["inputs"][i]["derivedFrom"]
            nodes += following["nodes"]
            page = following["pageInfo"]
        assert len(nodes) == item["derivedFrom"]["totalCount"]
        item["all"] = nodes
    return inputs


async def test_ecdc_running_sum_input_names_every_daily_observation_it_adds_up(
    demo_client: httpx.AsyncClient,
) -> None:
    """ECDC gives daily counts only: its input to ITA's running total is their sum (issue 15,
    item 17). The input says so as data, names every daily observation summed, and they add up."""
    inputs = await _inputs(demo_client, "CASES_CUMULATIVE")
    (ecdc,) = [i for i in inputs if i["publisher"]["slug"] == "ecdc"]
    assert ecdc["derivation"] == "CUMULATIVE_FROM_DAILY"
    assert ecdc["dateShiftDays"] == 1 and ecdc["date"] == "2020-06-02"  # ECDC's report lag
    summed = ecdc["all"]
    assert len(summed) > 100  # more than one page: ECDC's series starts in December 2019
    assert {(o["metric"], o["region"]["code"], o["publisher"]["slug"]) for o in summed} == {
        ("CASES_DAILY", "ITA", "ecdc")
    }
    assert sum(o["value"] for o in summed) == ecdc["value"]
    days = [dt.date.fromisoformat(o["date"]) for o in summed]
    assert days == sorted(set(days)) and days[-1] == dt.date(2020, 6, 2)
    assert f"over {len(summed)} days from {days[0].isoformat()}" in ecdc["derived"]
    assert summed[-1]["id"] == ecdc["observation"]["id"]  # the day the attestation names
    # a published input rests on its one observation, with its value
    (dpc,) = [i for i in inputs if i["publisher"]["slug"] == "it-dpc"]
    assert (dpc["derivation"], dpc["derived"], dpc["dateShiftDays"]) == ("AS_PUBLISHED", None, 0)
    assert [o["id"] for o in dpc["all"]] == [dpc["observation"]["id"]]
    assert dpc["all"][0]["value"] == dpc["value"]


async def test_difference_input_names_the_two_cumulative_observations(
    demo_client: httpx.AsyncClient,
) -> None:
    inputs = await _inputs(demo_client, "CASES_DAILY")
    differences = [i for i in inputs if i["derivation"] == "DAILY_FROM_CUMULATIVE"]
    assert differences, [(i["publisher"]["slug"], i["derivation"]) for i in inputs]
    for item in differences:
        earlier, later = item["all"]
        assert {earlier["metric"], later["metric"]} == {"CASES_CUMULATIVE"}
        assert dt.date.fromisoformat(later["date"]) - dt.date.fromisoformat(
            earlier["date"]
        ) == dt.timedelta(days=1)
        assert later["value"] - earlier["value"] == item["value"]
        assert later["date"] == item["date"]


async def test_figure_and_version_ids_resolve_through_node(
    demo_client: httpx.AsyncClient, demo_runtime: Runtime
) -> None:
    """A figure's ID is its region, metric and date, kept by every version; each version has its
    own; `node` resolves both, and an ID issued before (a version's ledger index) still finds
    that version (issue 15, item 11)."""
    import base64

    data = await gql(
        demo_client,
        """{ figure(region: "ITA", metric: CASES_CUMULATIVE, date: "2020-06-01") {
              id value ledgerIndex currentVersion { id ledgerIndex value figure { id } } } }""",
    )
    figure = data["figure"]
    version = figure["currentVersion"]
    assert figure["id"] != version["id"] and version["figure"]["id"] == figure["id"]
    assert base64.b64decode(figure["id"]) == b"AttestedFigure:ITA/cases_cumulative/2020-06-01"
    legacy = base64.b64encode(f"AttestedFigure:{figure['ledgerIndex']}".encode()).decode()
    nodes = await gql(
        demo_client,
        """query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id
             ... on AttestedFigure { value } ... on FigureVersion { value ledgerIndex } } }""",
        ids=[figure["id"], version["id"], legacy],
    )
    assert nodes["nodes"] == [
        {"__typename": "AttestedFigure", "id": figure["id"], "value": figure["value"]},
        {
            "__typename": "FigureVersion",
            "id": version["id"],
            "value": figure["value"],
            "ledgerIndex": figure["ledgerIndex"],
        },
        {
            "__typename": "FigureVersion",
            "id": version["id"],
            "value": figure["value"],
            "ledgerIndex": figure["ledgerIndex"],
        },
    ]
    unknown = base64.b64encode(b"AttestedFigure:ITA/cases_cumulative/1999-01-01").decode()
    missing = await demo_client.post(
        "/graphql", json={"query": f'{{ nodes(ids: ["{unknown}"]) {{ id }} }}'}
    )
    assert missing.json()["data"] == {"nodes": [None]}
    for key in (
        b"ITA/CASES/2020-06-01",
        b"ITA/cases_cumulative/June",
        b"ita/cases_cumulative/2020-06-01",
    ):
        bad = base64.b64encode(b"AttestedFigure:" + key).decode()
        error = await refusal(demo_client, f'{{ nodes(ids: ["{bad}"]) {{ id }} }}')
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert "REGION/metric/YYYY-MM-DD" in error["message"]
