"""A challenge's whole life over real HTTP (the ASGI app) with real tokens from our own
authorization server: a member files, one moderator triages, reviews and proposes a corrected
value, a second confirms it; the figure is CORRECTED, its old version deprecated and kept, and
every event and the correction carry proofs that ``corroborate verify`` accepts offline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from service.runtime import Runtime, open_runtime
from service.settings import Settings
from tests.auth.conftest import make_client
from tests.auth.test_resource import member_tokens
from tests.helpers import cli_env, run_cli

FIGURE = """{ figure(region: "ITA", metric: CASES_CUMULATIVE, date: "2020-06-01") {
  id version value status currentVersion { id } } }"""
FILE = """mutation($input: FileChallengeInput!) { fileChallenge(input: $input) {
  number state filer evidence { body sentiment { label } } events { action } } }"""
ACT = """mutation($n: Int!, $a: ChallengeAction!, $r: String!, $v: Int) {
  actOnChallenge(number: $n, action: $a, rationale: $r, correctedValue: $v) {
    state events { action actor } } }"""


@pytest.fixture
async def served(demo_settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    settings = demo_settings.model_copy(
        update={"auth_argon2_time_cost": 1, "auth_argon2_memory_kib": 64}
    )
    runtime = await open_runtime(settings)
    runtime.sequencer.start()
    app = create_app(runtime=runtime)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            yield client, runtime
    finally:
        await runtime.close()


async def call(
    client: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any
) -> dict[str, Any]:
    headers = {"accept": "application/graphql-response+json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    return body


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def people(client: httpx.AsyncClient, runtime: Runtime) -> dict[str, str]:
    app = await make_client(runtime, scopes=["openid", "profile", "member", "moderate"])
    tokens = {}
    for name, roles, scope in (
        ("ada", (), "openid member"),
        ("mia", ("moderator",), "openid member moderate"),
        ("max", ("moderator",), "openid member moderate"),
    ):
        got = await member_tokens(
            client, runtime, app, f"{name}@example.org", name, roles=roles, scope=scope
        )
        tokens[name] = got["access_token"]
    return tokens


async def log_size(client: httpx.AsyncClient) -> int:
    return int((await call(client, "{ ledger { size } }"))["data"]["ledger"]["size"])


async def test_file_review_uphold_correct_and_verify(
    served: tuple[httpx.AsyncClient, Runtime], tmp_path: Path
) -> None:
    client, runtime = served
    tokens = await people(client, runtime)
    before = (await call(client, FIGURE))["data"]["figure"]
    text = "DPC's bulletin of 1 June says 10 more. <script>alert('x')</script> & <b>bold</b>"
    claim = before["value"] + 10
    request = {
        "targetId": before["id"],  # the figure's stable global ID
        "versionSeen": before["version"],
        "category": "WRONG_VALUE",
        "claimedValue": claim,
        "links": ["https://github.com/pcm-dpc/COVID-19"],
        "text": text,
    }
    anonymous = await call(client, FILE, input=request)
    assert code(anonymous) == "UNAUTHENTICATED"
    filed = (await call(client, FILE, tokens["ada"], input=request))["data"]["fileChallenge"]
    assert filed["state"] == "OPEN" and filed["events"] == [{"action": "FILE"}]
    assert filed["evidence"]["body"] == text  # kept as typed, never escaped or stripped
    number = filed["number"]

    size = await log_size(client)
    refused = await call(client, ACT, tokens["ada"], n=number, a="TRIAGE", r="")
    assert code(refused) == "FORBIDDEN" and await log_size(client) == size

    for action, rationale in (("TRIAGE", ""), ("START_REVIEW", "")):
        done = await call(client, ACT, tokens["mia"], n=number, a=action, r=rationale)
        assert "errors" not in done, done
    pending = await call(
        client, ACT, tokens["mia"], n=number, a="UPHOLD", r="DPC revised it", v=claim
    )
    assert pending["data"]["actOnChallenge"]["state"] == "UPHOLD_PENDING"
    size = await log_size(client)
    self_confirm = await call(client, ACT, tokens["mia"], n=number, a="CONFIRM_UPHOLD", r="ok")
    assert code(self_confirm) == "FORBIDDEN" and "four-eyes" in self_confirm["errors"][0]["message"]
    assert await log_size(client) == size
    done = await call(client, ACT, tokens["max"], n=number, a="CONFIRM_UPHOLD", r="checked")
    assert done["data"]["actOnChallenge"]["state"] == "UPHELD"

    after = await call(
        client,
        """query($n: Int!) { ledger { vkey }
          figure(region: "ITA", metric: CASES_CUMULATIVE, date: "2020-06-01") {
            version value status correction { oldValue newValue reason quorum decidedBy }
            versions { version value status latest deprecatedBy { reason newValue } } }
          challenge(number: $n) { state
            events { action ledgerIndex proof { leafIndex tlogProof } leaf { body } }
            correction { ledgerIndex oldValue newValue proof { leafIndex tlogProof } leaf { body }
                         figure { status value } } } }""",
        n=number,
    )
    data = after["data"]
    figure = data["figure"]
    assert (figure["status"], figure["value"], figure["version"]) == (
        "CORRECTED",
        claim,
        before["version"] + 1,
    )
    assert figure["correction"]["oldValue"] == before["value"]
    assert (
        figure["correction"]["quorum"] == 2 and figure["correction"]["reason"] == "DPC revised it"
    )
    old = next(v for v in figure["versions"] if v["version"] == before["version"])
    assert (old["value"], old["latest"]) == (before["value"], False)
    assert old["deprecatedBy"] == {"reason": "DPC revised it", "newValue": claim}

    # the figure kept its ID through the correction; each version has its own, for good
    ids = await call(
        client,
        """query($figure: ID!, $old: ID!, $n: Int!) {
          figure(region: "ITA", metric: CASES_CUMULATIVE, date: "2020-06-01") {
            id currentVersion { id version } }
          now: node(id: $figure) { id ... on AttestedFigure { value version } }
          then: node(id: $old) { id ... on FigureVersion { value version latest figure { id } } }
          challenge(number: $n) { target { nodeId } } }""",
        figure=before["id"],
        old=before["currentVersion"]["id"],
        n=number,
    )
    assert "errors" not in ids, ids
    assert ids["data"]["figure"]["id"] == before["id"]
    assert ids["data"]["figure"]["currentVersion"]["id"] != before["currentVersion"]["id"]
    assert ids["data"]["now"] == {"id": before["id"], "value": claim, "version": 2}
    assert ids["data"]["then"] == {
        "id": before["currentVersion"]["id"],
        "value": before["value"],
        "version": before["version"],
        "latest": False,
        "figure": {"id": before["id"]},
    }
    assert ids["data"]["challenge"]["target"]["nodeId"] == before["id"]
    listed = """query($t: ID!) { challenges(targetId: $t, first: 10) { nodes { number } } }"""
    by_figure = await call(client, listed, t=before["id"])
    by_seen = await call(client, listed, t=before["currentVersion"]["id"])
    by_new = await call(client, listed, t=ids["data"]["figure"]["currentVersion"]["id"])
    assert by_figure["data"]["challenges"]["nodes"] == [{"number": number}]
    assert by_seen["data"]["challenges"]["nodes"] == [{"number": number}]  # filed on version 1
    assert by_new["data"]["challenges"]["nodes"] == []

    challenge = data["challenge"]
    actions = [e["action"] for e in challenge["events"]]
    assert actions == ["FILE", "TRIAGE", "START_REVIEW", "UPHOLD", "CONFIRM_UPHOLD"]
    vkey = tmp_path / "ledger.vkey"
    vkey.write_text(data["ledger"]["vkey"] + "\n")
    correction = challenge["correction"]
    leaves = {e["ledgerIndex"]: (e["proof"], e["leaf"]["body"]) for e in challenge["events"]}
    leaves[correction["ledgerIndex"]] = (correction["proof"], correction["leaf"]["body"])
    for index, (proof, body) in leaves.items():
        assert proof["leafIndex"] == index
        proof_file, leaf_file = tmp_path / f"{index}.proof", tmp_path / f"{index}.leaf"
        proof_file.write_text(proof["tlogProof"])
        leaf_file.write_bytes(body.encode())
        verified = run_cli(
            "verify", str(proof_file), "--leaf", str(leaf_file), "--vkey", str(vkey), env=cli_env()
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr
    assert leaves[correction["ledgerIndex"]][1].startswith("corroborate/correction/v1\n")
