"""A challenge names its target by the global ID any query gives (issue 15, item 12): a figure's
stable ID, one of its versions', an observation's or a document's, in `fileChallenge` and in the
`challenges(targetId:)` filter; anything else is refused with what was expected, nothing written.
Real HTTP through the ASGI app, real tokens."""

from __future__ import annotations

import base64

import httpx

from service.runtime import Runtime
from tests.moderation.test_api_lifecycle import FILE, call, code, log_size, people, served

__all__ = ["served"]  # the fixture, shared with the lifecycle test

WHAT = """{ figure(region: "ITA", metric: CASES_CUMULATIVE, date: "2020-06-01") {
  id version currentVersion { id }
  inputs { publisher { slug } observation { id ledgerIndex document { id ledgerIndex } } } } }"""
TARGETS = """query($t: ID!) { challenges(targetId: $t, first: 10) {
  nodes { number target { kind id versionSeen nodeId } } } }"""


def _filing(target: str, **more: object) -> dict[str, object]:
    return {"targetId": target, "category": "WRONG_VALUE", "text": "See the bulletin."} | more


async def test_global_ids_of_versions_observations_and_documents_are_targets(
    served: tuple[httpx.AsyncClient, Runtime],
) -> None:
    client, runtime = served
    tokens = await people(client, runtime)
    figure = (await call(client, WHAT))["data"]["figure"]
    (dpc,) = [i for i in figure["inputs"] if i["publisher"]["slug"] == "it-dpc"]
    observation, document = dpc["observation"], dpc["observation"]["document"]
    expected = {
        figure["currentVersion"]["id"]: (
            "FIGURE",
            "ITA/cases_cumulative/2020-06-01",
            figure["version"],
            figure["id"],
        ),
        observation["id"]: (
            "OBSERVATION",
            str(observation["ledgerIndex"]),
            None,
            observation["id"],
        ),
        document["id"]: ("DOCUMENT", str(document["ledgerIndex"]), None, document["id"]),
    }
    for (target, (kind, ident, seen, node_id)), who in zip(
        expected.items(), ("ada", "mia", "max"), strict=True
    ):
        filed = await call(client, FILE, tokens[who], input=_filing(target))
        assert "errors" not in filed, filed
        listed = await call(client, TARGETS, t=target)
        (node,) = listed["data"]["challenges"]["nodes"]
        assert node["number"] == filed["data"]["fileChallenge"]["number"]
        assert node["target"] == {"kind": kind, "id": ident, "versionSeen": seen, "nodeId": node_id}
    # the figure's own ID lists the challenge filed on its version
    by_figure = await call(client, TARGETS, t=figure["id"])
    assert len(by_figure["data"]["challenges"]["nodes"]) == 1


async def test_targets_named_otherwise_are_refused_with_what_was_expected(
    served: tuple[httpx.AsyncClient, Runtime],
) -> None:
    client, runtime = served
    tokens = await people(client, runtime)
    figure = (await call(client, WHAT))["data"]["figure"]
    size = await log_size(client)
    publisher = base64.b64encode(b"Publisher:it-dpc").decode()
    for target in (
        "ITA/cases_cumulative/2020-06-01",  # the log's words, not an ID
        "ITA/CASES_CUMULATIVE/2020-06-01",
        "",
        publisher,
        base64.b64encode(b"AttestedFigure:ITA/CASES/2020-06-01").decode(),
        base64.b64encode(b"Observation:x1").decode(),
    ):
        refused = await call(client, FILE, tokens["ada"], input=_filing(target))
        assert code(refused) == "BAD_USER_INPUT", (target, refused)
        message = refused["errors"][0]["message"]
        assert "expected" in message and "targetId" in message, message
    anonymous = await call(client, FILE, input=_filing(""))
    assert code(anonymous) == "UNAUTHENTICATED"  # who comes before what
    nowhere = base64.b64encode(b"FigureVersion:999999999").decode()
    assert code(await call(client, FILE, tokens["ada"], input=_filing(nowhere))) == "NOT_FOUND"
    absent = base64.b64encode(b"AttestedFigure:ITA/cases_cumulative/1999-01-01").decode()
    assert code(await call(client, FILE, tokens["ada"], input=_filing(absent))) == "NOT_FOUND"
    mismatch = await call(
        client, FILE, tokens["ada"], input=_filing(figure["id"], targetKind="DOCUMENT")
    )
    assert code(mismatch) == "BAD_USER_INPUT" and "FIGURE" in mismatch["errors"][0]["message"]
    seen = await call(
        client,
        FILE,
        tokens["ada"],
        input=_filing(figure["currentVersion"]["id"], versionSeen=figure["version"] + 1),
    )
    assert code(seen) == "BAD_USER_INPUT" and "versionSeen" in seen["errors"][0]["message"]
    assert await log_size(client) == size
    # the filter refuses what is no target, and finds nothing for a version there is not
    assert code(await call(client, TARGETS, t="ITA/cases_cumulative/2020-06-01")) == (
        "BAD_USER_INPUT"
    )
    empty = await call(client, TARGETS, t=nowhere)
    assert empty["data"]["challenges"]["nodes"] == []
