"""People are named by their pseudonym wherever they are shown — challenge filers, event actors,
stances, texts, reviewer notes, claims, corrections' ``decidedBy``, the caller's standing, and
the leaves written to the log — and a member's global ID tells nothing of their account number
(issue 15, item 14; docs/decisions/0014-public-names.md). Over real HTTP with real tokens."""

from __future__ import annotations

import base64
from typing import Any

from tests.moderation.test_permissions_first import World, call, world

__all__ = ["world"]

FIGURE = """{ figure(region: "ITA", metric: CASES_CUMULATIVE, date: "2020-06-09") {
  id version value } }"""
FILE = "mutation($input: FileChallengeInput!) { fileChallenge(input: $input) { number } }"
ACT = """mutation($n: Int!, $a: ChallengeAction!, $r: String!, $v: Int) {
  actOnChallenge(number: $n, action: $a, rationale: $r, correctedValue: $v) { state } }"""
SEEN = """query($n: Int!) { challenge(number: $n) {
  filer evidence { author } claimedBy reviewerNotes { author }
  stances { member comment { author } }
  events { actor leaf { body } }
  correction { decidedBy leaf { body } figure { explanation } } } }"""


async def _file(world: World, token: str | None) -> int:
    figure = (await call(world.client, FIGURE))["data"]["figure"]
    request: dict[str, Any] = {
        "targetId": figure["id"],
        "category": "WRONG_VALUE",
        "claimedValue": figure["value"] + 3,
        "text": "The regional bulletin adds three.",
    }
    got = await call(world.client, FILE, token, input=request)
    if "errors" in got and "targetId" in got["errors"][0]["message"]:
        # a tree where targetId still takes REGION/metric/date (issue 15, item 12 not merged)
        request |= {"targetId": "ITA/cases_cumulative/2020-06-09", "targetKind": "FIGURE"}
        request["versionSeen"] = figure["version"]
        got = await call(world.client, FILE, token, input=request)
    assert "errors" not in got, got
    return int(got["data"]["fileChallenge"]["number"])


async def test_people_are_named_by_pseudonym_in_the_api_and_on_the_log(world: World) -> None:
    client, tokens = world.client, world.tokens
    number = await _file(world, tokens["bob"])  # ada filed 5 today already
    stance = await call(
        client,
        'mutation($n: Int!) { takeStance(number: $n, support: true, comment: "Agreed.") { state } }',
        tokens["ada"],
        n=number,
    )
    assert "errors" not in stance, stance
    claimed = await call(
        client,
        "mutation($n: Int!) { claimChallenge(number: $n) { claimedBy } }",
        tokens["mia"],
        n=number,
    )
    assert claimed["data"]["claimChallenge"]["claimedBy"] == "mia"
    note = await call(
        client,
        'mutation($n: Int!) { addReviewerNote(number: $n, text: "Asked the region.") { state } }',
        tokens["mia"],
        n=number,
    )
    assert "errors" not in note, note
    for action in ("TRIAGE", "START_REVIEW"):
        done = await call(client, ACT, tokens["mia"], n=number, a=action, r="", v=None)
        assert "errors" not in done, done
    figure = (await call(client, FIGURE))["data"]["figure"]
    proposed = await call(
        client, ACT, tokens["mia"], n=number, a="UPHOLD", r="Bulletin", v=figure["value"] + 3
    )
    assert "errors" not in proposed, proposed
    before = await call(client, SEEN, tokens["mia"], n=number)
    assert before["data"]["challenge"]["claimedBy"] == "mia"
    confirmed = await call(client, ACT, tokens["max"], n=number, a="CONFIRM_UPHOLD", r="ok", v=None)
    assert confirmed["data"]["actOnChallenge"]["state"] == "UPHELD", confirmed

    seen = (await call(client, SEEN, tokens["mia"], n=number))["data"]["challenge"]
    assert seen["filer"] == "bob" and seen["evidence"]["author"] == "bob"
    assert [e["actor"] for e in seen["events"]] == ["bob", "mia", "mia", "mia", "max"]
    assert seen["stances"] == [{"member": "ada", "comment": {"author": "ada"}}]
    assert seen["reviewerNotes"] == [{"author": "mia"}]
    assert seen["correction"]["decidedBy"] == ["mia", "max"]
    assert "decided by mia and max" in seen["correction"]["figure"]["explanation"]
    leaves = [e["leaf"]["body"] for e in seen["events"]] + [seen["correction"]["leaf"]["body"]]
    for body in leaves:
        assert "account:" not in body, body
    assert '"actor":"bob"' in leaves[0] and '"actor":"max"' in leaves[4]
    assert '"decided_by":["mia","max"]' in leaves[-1]
    standing = await call(client, "{ myStanding { member } }", tokens["bob"])
    assert standing["data"]["myStanding"]["member"] == "bob"


async def test_member_ids_reveal_no_account_number(world: World) -> None:
    client = world.client
    ids = world.members  # as `me { member { id } }` gave them
    for name, global_id in ids.items():
        type_name, key = base64.b64decode(global_id).decode().split(":", 1)
        assert type_name == "Member"
        assert not key.isdigit() and len(key) >= 16, key  # was Member:<account number>
        found = await call(
            client,
            "query($id: ID!) { node(id: $id) { ... on Member { pseudonym } } }",
            id=global_id,
        )
        assert found["data"]["node"] == {"pseudonym": name}, found
    assert len(set(ids.values())) == len(ids)
    # the account numbers are not accepted either
    old = base64.b64encode(b"Member:1").decode()
    gone = await call(
        client, "query($id: ID!) { node(id: $id) { ... on Member { pseudonym } } }", id=old
    )
    assert gone.get("data") is None or gone["data"]["node"] is None
