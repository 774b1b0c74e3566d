"""A live server for the executed documentation and the client examples: ``corroborate migrate``,
``corroborate demo load`` and ``corroborate serve`` (uvicorn) as real processes on a fresh SQLite
database and a free port, built once per test session (per xdist worker), with real tokens from
our own authorization server: members sign up over HTTP, an operator grants roles with
``corroborate users grant``, and each signs in through the authorization pages with PKCE, as a
browser does (tests/auth/conftest.py)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.auth.conftest import REDIRECT, Pkce, authorization_code, exchange, sign_up
from tests.helpers import ROOT, cli_env, free_port, run_cli, serving

#: who signs in, their roles and the scopes their app asks for
PEOPLE = {
    "member": ("ada@example.org", "ada", (), "openid member"),
    "moderator": ("mia@example.org", "mia", ("moderator",), "openid member moderate"),
    "moderator2": ("max@example.org", "max", ("moderator",), "openid member moderate"),
    "moderator3": ("noa@example.org", "noa", ("moderator",), "openid member moderate"),
}
_ACT = """mutation($n: Int!, $a: ChallengeAction!, $v: Int) {
  actOnChallenge(number: $n, action: $a, rationale: "the test corrects it", correctedValue: $v) {
    state } }"""


@dataclass
class Live:
    """A running ``corroborate serve`` on the demo data."""

    base: str  # http://127.0.0.1:PORT
    env: dict[str, str]  # the operator's environment: the CLI reaches the server's database
    root: Path
    clone: Path  # the fresh clone the server runs in (README's set-up, default settings)
    tokens: dict[str, str] = field(default_factory=dict)
    demo_load_output: str = ""

    @property
    def graphql(self) -> str:
        return self.base + "/graphql"

    @property
    def ws(self) -> str:
        return "ws" + self.base.removeprefix("http") + "/graphql"

    def cli(self, *args: str) -> str:
        done = run_cli(*args, env=self.env)
        assert done.returncode == 0, f"corroborate {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def post(self, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
        headers = {"accept": "application/graphql-response+json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        response = httpx.post(
            self.graphql, json={"query": query, "variables": variables}, headers=headers, timeout=60
        )
        body: dict[str, Any] = response.json()
        return body

    def write(self) -> int:
        """Make the log grow by one leaf through the API, so the serving process signs a
        checkpoint and announces it: a moderator triages the oldest open challenge it may (the
        demo's reconciliation opened 100 system challenges). Returns the challenge's number."""
        moderator = self.tokens["moderator"]
        found = self.post(
            "{ challenges(states: [OPEN], first: 100) { nodes { number allowedActions } } }",
            moderator,
        )
        assert "errors" not in found, found
        nodes = found["data"]["challenges"]["nodes"]
        numbers = [n["number"] for n in nodes if "TRIAGE" in n["allowedActions"]]
        assert numbers, f"expected an open challenge a moderator may triage, found none: {found}"
        number = min(numbers)
        done = self.post(
            'mutation($n: Int!) { actOnChallenge(number: $n, action: TRIAGE, rationale: "") '
            "{ state } }",
            moderator,
            n=number,
        )
        assert "errors" not in done, f"expected challenge {number} triaged, got {done}"
        return number

    def correct(self, region: str, metric: str | None) -> None:
        """Give a figure of ``region`` (and ``metric``) a new version through the API: one
        moderator files a challenge on its earliest figure, a second triages, reviews and upholds
        it with value + 1, a third confirms (four eyes)."""
        found = self.post(
            "query($r: String!, $m: Metric) { figures(region: $r, metric: $m, first: 1) "
            "{ nodes { id value } } }",
            r=region,
            m=metric or "CASES_CUMULATIVE",
        )
        assert "errors" not in found and found["data"]["figures"]["nodes"], found
        figure = found["data"]["figures"]["nodes"][0]
        value = figure["value"] + 1
        filed = self.post(
            "mutation($input: FileChallengeInput!) { fileChallenge(input: $input) { number } }",
            self.tokens["moderator3"],
            input={
                "targetId": figure["id"],
                "category": "WRONG_VALUE",
                "claimedValue": value,
                "text": f"The publisher's own bulletin gives {value}.",
            },
        )
        assert "errors" not in filed, f"expected a challenge filed, got {filed}"
        number = filed["data"]["fileChallenge"]["number"]
        for who, action in (
            ("moderator", "TRIAGE"),
            ("moderator", "START_REVIEW"),
            ("moderator", "UPHOLD"),
            ("moderator2", "CONFIRM_UPHOLD"),
        ):
            corrected = value if action == "UPHOLD" else None
            done = self.post(_ACT, self.tokens[who], n=number, a=action, v=corrected)
            assert "errors" not in done, f"expected {action} done on {number}, got {done}"


async def _sign_up(base: str, email: str, pseudonym: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        answer = await sign_up(client, email=email, pseudonym=pseudonym)
        assert answer.status_code == 201, answer.text


async def _sign_in(base: str, client_id: str, email: str, scope: str) -> str:
    """Through the authorization pages with PKCE, as a browser does: the access token."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        pkce = Pkce.new()
        code = await authorization_code(client, client_id, pkce, email=email, scope=scope)
        answer = await exchange(client, client_id, code, pkce.verifier)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])


def _tokens(live: Live) -> dict[str, str]:
    app = json.loads(
        live.cli(
            "clients",
            "add",
            "Documentation examples",
            "--public",
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "openid",
            "--scope",
            "member",
            "--scope",
            "moderate",
            "--json",
        )
    )
    client_id = str(app["client_id"])
    tokens = {}
    for who, (email, pseudonym, roles, scope) in PEOPLE.items():
        asyncio.run(_sign_up(live.base, email, pseudonym))
        for role in roles:
            live.cli("users", "grant", email, role)
        tokens[who] = asyncio.run(_sign_in(live.base, client_id, email, scope))
    return tokens


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The README's set-up in a fresh clone of this repository: ``migrate``, ``demo load`` and
    ``serve`` run in the clone with the default settings (SQLite under its ``./var``), as
    ``make run`` runs them. The operator's environment (``Live.env``) names the same database
    and data directory explicitly, so CLI calls and documented commands reach it from anywhere."""
    root = tmp_path_factory.mktemp("live")
    clone = root / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    defaults = cli_env(
        port=str(port),
        auth_issuer=base,
        # cheap password hashing and tokens that outlive a slow session; the flows are the same
        auth_argon2_time_cost="1",
        auth_argon2_memory_kib="64",
        auth_access_token_ttl_s="3600",
        api_timeout_s="120",  # as tests/conftest.py: a busy CI machine is slow, not broken
    )
    env = {
        **defaults,
        "CORROBORATE_DATABASE_URL": f"sqlite+aiosqlite:///{clone / 'var' / 'corroborate.db'}",
        "CORROBORATE_DATA_DIR": str(clone / "var"),
    }
    server = Live(base=base, env=env, root=root, clone=clone)
    for args in (["migrate"], ["demo", "load"]):
        done = run_cli(*args, env=defaults, cwd=clone)
        assert done.returncode == 0, f"corroborate {' '.join(args)}: {done.stdout}{done.stderr}"
    server.demo_load_output = done.stdout
    with serving(["serve"], defaults, port, cwd=clone):
        server.tokens = _tokens(server)
        yield server
