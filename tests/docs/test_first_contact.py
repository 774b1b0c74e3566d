"""What a new user meets in the first hour, checked from the outside on a fresh clone (issue 15):
the README's set-up (``migrate``, ``demo load``, ``serve`` with the default settings, in a clone
of this repository: tests/docs/conftest.py), then each defect that issue found, as the user met
it — over HTTP against the running server, and with the command line run as a user would run it,
from the clone or from another directory.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.auth.conftest import (
    PASSWORD,
    Pkce,
    exchange,
    hidden_fields,
    sign_in_page,
    sign_up,
    submit_sign_in,
)
from tests.docs.conftest import Live
from tests.helpers import cli_env, run_cli

DPC = "samples/italy_dpc/dpc-covid19-ita-andamento-nazionale.csv"
DEMO_CLIENT = "corroborate-demo"


def _size(live: Live) -> int:
    """The log's size from the served checkpoint (its second line)."""
    checkpoint = httpx.get(live.base + "/checkpoint", timeout=30)
    assert checkpoint.status_code == 200, checkpoint.text
    return int(checkpoint.text.splitlines()[1])


def _one_line_exit_2(done: object, *words: str) -> str:
    stderr = getattr(done, "stderr", "")
    assert getattr(done, "returncode", None) == 2, (getattr(done, "returncode", None), stderr)
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    for word in words:
        assert word in stderr, f"expected {word!r} in {stderr!r}"
    return str(stderr)


def test_the_demo_load_names_the_demo_client(live: Live) -> None:
    assert f"client_id {DEMO_CLIENT}" in live.demo_load_output


def test_a_publishers_key_cannot_ingest_another_publishers_format(live: Live) -> None:
    assert (live.clone / DPC).is_file() and (live.clone / "var/demo-keys/who.key").is_file()
    before = _size(live)
    done = run_cli(
        "ingest",
        DPC,
        "--publisher",
        "who",
        "--format",
        "dpc-ita-andamento-nazionale",
        "--sign-with",
        "var/demo-keys/who.key",
        env=live.env,
        cwd=live.clone,
    )
    _one_line_exit_2(done, "who", "dpc-ita-andamento-nazionale")
    assert _size(live) == before


def test_a_missing_signing_key_is_one_line_not_a_traceback(live: Live) -> None:
    before = _size(live)
    done = run_cli(
        "ingest",
        DPC,
        "--publisher",
        "it-dpc",
        "--format",
        "dpc-ita-andamento-nazionale",
        "--sign-with",
        "var/demo-keys/nope.key",
        env=live.env,
        cwd=live.clone,
    )
    _one_line_exit_2(done, "nope.key")
    assert _size(live) == before


def test_the_callers_budget_is_never_cached_publicly(live: Live) -> None:
    answer = httpx.get(live.graphql, params={"query": "{ rateLimit { remaining } }"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "private, no-store"
    assert "etag" not in answer.headers
    public = httpx.get(live.graphql, params={"query": "{ regions(first: 1) { totalCount } }"})
    assert public.headers["cache-control"].startswith("public")


def test_an_unknown_node_is_null_beside_the_rest_of_the_data(live: Live) -> None:
    unknown = base64.b64encode(b"Challenge:999999").decode()
    body = live.post(
        "query($id: ID!) { node(id: $id) { id } challenge(number: 999999) { number } "
        "rateLimit { limit } }",
        id=unknown,
    )
    assert body["data"]["node"] is None and body["data"]["challenge"] is None
    assert body["data"]["rateLimit"]["limit"] > 0
    assert {error["extensions"]["code"] for error in body["errors"]} == {"NOT_FOUND"}


def test_a_member_signs_in_with_the_demo_client_and_is_forbidden_a_moderators_action(
    live: Live,
) -> None:
    async def member_token() -> str:
        async with httpx.AsyncClient(base_url=live.base, timeout=60) as client:
            created = await sign_up(client, email="newcomer@example.org", pseudonym="newcomer")
            assert created.status_code == 201, created.text
            pkce = Pkce.new()
            # a native app's loopback redirect, on a port of its choosing (RFC 8252 §7.3)
            redirect = "http://127.0.0.1:53682/callback"
            fields = await sign_in_page(
                client, DEMO_CLIENT, pkce, redirect_uri=redirect, scope="openid member"
            )
            consent = await submit_sign_in(client, fields, "newcomer@example.org", PASSWORD)
            assert consent.status_code == 200, consent.text
            allowed = await client.post(
                "/oauth/authorize", data={**hidden_fields(consent.text), "decision": "allow"}
            )
            assert allowed.status_code == 302, allowed.text
            location = urlsplit(allowed.headers["location"])
            assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
            code = parse_qs(location.query)["code"][0]
            answer = await exchange(client, DEMO_CLIENT, code, pkce.verifier, redirect_uri=redirect)
            assert answer.status_code == 200, answer.text
            return str(answer.json()["access_token"])

    token = asyncio.run(member_token())
    me = live.post("{ me { pseudonym subject } }", token)
    assert me["data"]["me"]["pseudonym"] == "newcomer"
    assert re.fullmatch(r"member:[A-Za-z0-9_-]{16,}", me["data"]["me"]["subject"])
    before = _size(live)
    refused = live.post(
        'mutation { actOnChallenge(number: 1, action: UPHOLD, rationale: "mine") { state } }',
        token,
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
    assert _size(live) == before


def test_the_cli_run_from_another_directory_names_where_it_looked_and_creates_nothing(
    live: Live, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_cli(
        "figures", "show", "ITA", "cases_cumulative", "2020-06-01", env=cli_env(), cwd=elsewhere
    )
    message = _one_line_exit_2(done)
    assert str(elsewhere / "var" / "corroborate.db") in message, message
    assert "CORROBORATE_DATABASE_URL" in message or "--database-url" in message, message
    assert list(elsewhere.iterdir()) == []
    # pointed at the service's database, the same command answers
    shown = run_cli(
        "figures",
        "show",
        "ITA",
        "cases_cumulative",
        "2020-06-01",
        "--json",
        env=live.env,
        cwd=elsewhere,
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["region"] == "ITA"
    assert list(elsewhere.iterdir()) == []
