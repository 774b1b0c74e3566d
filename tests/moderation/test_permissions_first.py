"""Who before what: every mutation, called by every caller who may never take it, is refused
``FORBIDDEN`` (``UNAUTHENTICATED`` when anonymous) whatever the state of what it names and
whatever else is wrong with the input, with nothing written. Only a caller who could take the
action in some state hears that the state does not fit (``BAD_USER_INPUT``).

Over real HTTP (the ASGI app) with real tokens: members and moderators signed in through the
authorization-code flow, a publisher's machine through client credentials."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from models import (
    AttestedFigure,
    Challenge,
    ChallengeEvent,
    ChallengeNote,
    ChallengeSupport,
    PublicText,
)
from models.identity import Account as AccountRow
from models.ledger import LedgerEntry
from moderation import store
from moderation.actors import Actor
from service.runtime import Runtime, open_runtime
from service.settings import Settings
from tests.auth.conftest import make_client
from tests.auth.test_resource import member_tokens

ANONYMOUS = "anonymous"
MEMBER = frozenset({"member"})
MODERATOR = frozenset({"member", "moderator"})
MODERATOR_ACTIONS = (
    "TRIAGE",
    "START_REVIEW",
    "REQUEST_INFO",
    "UPHOLD",
    "CONFIRM_UPHOLD",
    "DECLINE_UPHOLD",
    "REJECT",
    "MARK_DUPLICATE",
)
FILER_ACTIONS = ("ANSWER", "APPEAL")

ACT = """mutation($n: Int!, $a: ChallengeAction!, $v: Int, $d: Int) {
  actOnChallenge(number: $n, action: $a, rationale: "", correctedValue: $v, duplicateOf: $d) {
    state } }"""
CLAIM = "mutation($n: Int!) { claimChallenge(number: $n) { state } }"
NOTE = 'mutation($n: Int!) { addReviewerNote(number: $n, text: "") { state } }'
STANCE = 'mutation($n: Int!) { takeStance(number: $n, support: true, comment: "") { state } }'
FILE = """mutation($input: FileChallengeInput!) { fileChallenge(input: $input) { number } }"""
SUSPEND = 'mutation($m: ID!) { suspendMember(member: $m, reason: "") { pseudonym } }'
REINSTATE = "mutation($m: ID!) { reinstateMember(member: $m) { pseudonym } }"
SUBMIT = """mutation($input: SubmitDocumentInput!) { submitDocument(input: $input) {
  ledgerIndex } }"""
ME = "{ me { member { id } } }"


@dataclass
class World:
    client: httpx.AsyncClient
    runtime: Runtime
    tokens: dict[str, str | None]
    members: dict[str, str]  # pseudonym -> Member global ID
    challenges: dict[str, int]  # what it is -> number


@pytest.fixture
async def world(demo_settings: Settings) -> AsyncIterator[World]:
    settings = demo_settings.model_copy(
        update={"auth_argon2_time_cost": 1, "auth_argon2_memory_kib": 64}
    )
    runtime = await open_runtime(settings)
    runtime.sequencer.start()
    from api.app import create_app

    app = create_app(runtime=runtime)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            yield await _populate(client, runtime)
    finally:
        await runtime.close()


async def _populate(client: httpx.AsyncClient, runtime: Runtime) -> World:
    app = await make_client(runtime, scopes=["openid", "profile", "member", "moderate"])
    tokens: dict[str, str | None] = {ANONYMOUS: None}
    for name, roles, scope in (
        ("ada", (), "openid member"),
        ("bob", (), "openid member"),
        ("mia", ("moderator",), "openid member moderate"),
        ("max", ("moderator",), "openid member moderate"),
    ):
        got = await member_tokens(
            client, runtime, app, f"{name}@example.org", name, roles=roles, scope=scope
        )
        tokens[name] = got["access_token"]
    machine = await make_client(
        runtime,
        name="WHO uploader",
        grant_types=["client_credentials"],
        redirect_uris=[],
        publisher="who",
        public=False,
    )
    assert machine.secret is not None
    answer = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(machine.client.client_id, machine.secret),
    )
    assert answer.status_code == 200, answer.text
    tokens["publisher"] = answer.json()["access_token"]
    members = {}
    for name in ("ada", "bob", "mia", "max"):
        me = await call(client, ME, tokens[name])
        members[name] = me["data"]["me"]["member"]["id"]
    return World(client, runtime, tokens, members, await _challenges(runtime))


async def _challenges(runtime: Runtime) -> dict[str, int]:
    """ada's challenges in OPEN, IN_REVIEW, NEEDS_INFO, UPHOLD_PENDING and REJECTED (the
    moderators as the API names them: by pseudonym), and a system challenge if the demo has one."""
    ada, mia = Actor("ada", MEMBER), Actor("mia", MODERATOR)
    now = dt.datetime.now(dt.UTC)
    found: dict[str, int] = {}
    plans = {
        "OPEN": [],
        "IN_REVIEW": ["triage", "start_review"],
        "NEEDS_INFO": ["triage", "start_review", "request_info"],
        "UPHOLD_PENDING": ["triage", "start_review", "uphold"],
        "REJECTED": ["triage", "start_review", "reject"],
    }
    for day, (state, steps) in enumerate(plans.items(), start=1):
        async with runtime.sessions() as session:
            version = (
                await session.execute(
                    select(func.max(_FIGURE.c.version)).where(
                        _FIGURE.c.region == "ITA",
                        _FIGURE.c.metric == "cases_cumulative",
                        _FIGURE.c.date == dt.date(2020, 6, day),
                    )
                )
            ).scalar_one()
        filed = await store.file_challenge(
            runtime.write_sessions,
            runtime.log,
            ada,
            target_kind="figure",
            target_id=f"ITA/cases_cumulative/2020-06-0{day}",
            version_seen=version,
            category="wrong_value",
            claimed_value=1000 + day,
            links=[],
            text="The bulletin says otherwise.",
            now=now,
        )
        for step in steps:
            await store.act(
                runtime.write_sessions,
                runtime.log,
                mia,
                filed.challenge_id,
                step,
                rationale="checked",
                corrected_value=1000 + day if step == "uphold" else None,
                now=now,
            )
        found[state] = filed.challenge_id
    async with runtime.sessions() as session:
        system = (
            await session.execute(
                select(func.min(_CHALLENGE.c.id)).where(_CHALLENGE.c.filer == "system")
            )
        ).scalar()
    if system is not None:
        found["system"] = int(system)
    return found


_FIGURE = AttestedFigure.__table__  # type: ignore[attr-defined]
_CHALLENGE = Challenge.__table__  # type: ignore[attr-defined]
_ACCOUNT = AccountRow.__table__  # type: ignore[attr-defined]


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


async def snapshot(runtime: Runtime) -> tuple[Any, ...]:
    """Everything these mutations could write: log, challenges, events, stances, notes, texts,
    claims and accounts' states."""
    async with runtime.sessions() as session:
        counts = [
            (await session.execute(select(func.count()).select_from(model))).scalar_one()
            for model in (LedgerEntry, ChallengeEvent, ChallengeSupport, ChallengeNote, PublicText)
        ]
        challenges = (
            await session.execute(
                select(_CHALLENGE.c.id, _CHALLENGE.c.state, _CHALLENGE.c.claimed_by).order_by(
                    _CHALLENGE.c.id
                )
            )
        ).all()
        accounts = (
            await session.execute(select(_ACCOUNT.c.id, _ACCOUNT.c.state).order_by(_ACCOUNT.c.id))
        ).all()
    return (tuple(counts), tuple(challenges), tuple(accounts))


def _expected(caller: str) -> str:
    return "UNAUTHENTICATED" if caller == ANONYMOUS else "FORBIDDEN"


async def test_every_mutation_refuses_every_wrong_caller_before_anything_else(
    world: World,
) -> None:
    client, runtime, tokens = world.client, world.runtime, world.tokens
    everyone = set(tokens)
    moderators = {"mia", "max"}
    cases: list[tuple[str, str, dict[str, Any], set[str]]] = []
    numbers = {**world.challenges, "missing": 999_999}
    for what, number in numbers.items():
        for action in MODERATOR_ACTIONS:
            variables = {"n": number, "a": action, "v": None, "d": None}
            if action == "UPHOLD":
                variables["v"] = -5  # wrong in most states: the caller is still checked first
            if action == "MARK_DUPLICATE":
                variables["d"] = number  # itself: wrong input, after the caller
            cases.append((f"{action} on {what}", ACT, variables, moderators))
        cases.append((f"claim {what}", CLAIM, {"n": number}, moderators))
        cases.append((f"note on {what}", NOTE, {"n": number}, moderators))
        if what == "missing":
            continue  # who may answer, appeal or take a stance depends on who filed
        filer = set() if what == "system" else {"ada"}
        for action in FILER_ACTIONS:
            cases.append((f"{action} on {what}", ACT, {"n": number, "a": action}, filer))
        cases.append((f"stance on {what}", STANCE, {"n": number}, {"bob", "mia", "max"} - filer))
    figure_input = {
        "targetId": "ITA/cases_cumulative/2020-06-01",
        "targetKind": "FIGURE",
        "category": "WRONG_VALUE",
        "text": "",  # empty: refused, but only once the caller may file
    }
    cases.append(("file a challenge", FILE, {"input": figure_input}, {"ada", "bob", "mia", "max"}))
    for target in ("bob", "max"):  # max is a moderator: only an admin acts on one
        may = moderators - {target} if target == "bob" else set()
        for name, query in (("suspend", SUSPEND), ("reinstate", REINSTATE)):
            cases.append((f"{name} {target}", query, {"m": world.members[target]}, may))
    document = {
        "publisher": "who",
        "format": "who-covid-19-global-data",
        "content": "not base64 at all!",
        "note": "",
    }
    cases.append(("submit a document", SUBMIT, {"input": document}, {"publisher"}))

    before = await snapshot(runtime)
    tried = 0
    for label, query, variables, allowed in cases:
        for caller in sorted(everyone - allowed):
            body = await call(client, query, tokens[caller], **variables)
            errors = body.get("errors")
            assert errors, f"{label} by {caller}: expected a refusal, got {body}"
            got = errors[0]["extensions"]["code"]
            assert got == _expected(caller), f"{label} by {caller}: {errors[0]['message']}"
            tried += 1
    assert await snapshot(runtime) == before  # nothing written by any refusal
    assert tried > 200


async def test_a_caller_who_may_take_the_action_elsewhere_hears_about_the_state(
    world: World,
) -> None:
    client, tokens, numbers = world.client, world.tokens, world.challenges
    # the case: a member upholding an OPEN challenge is FORBIDDEN …
    member = await call(client, ACT, tokens["bob"], n=numbers["OPEN"], a="UPHOLD", v=None, d=None)
    assert member["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "expected a moderator or admin" in member["errors"][0]["message"]
    # … and a moderator is told the state does not fit
    moderator = await call(
        client, ACT, tokens["mia"], n=numbers["OPEN"], a="UPHOLD", v=None, d=None
    )
    assert moderator["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not allowed on challenge" in moderator["errors"][0]["message"]
    # the filer appealing before a decision: a state error; anyone else: forbidden
    early = await call(client, ACT, tokens["ada"], n=numbers["OPEN"], a="APPEAL")
    assert early["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # the filer's own decided challenge: a stance is never theirs (not a state error)
    own = await call(client, STANCE, tokens["ada"], n=numbers["REJECTED"])
    assert own["errors"][0]["extensions"]["code"] == "FORBIDDEN"
