"""challengeUpdated and queueChanged over a real websocket (graphql-transport-ws, uvicorn), with
the connection signed in by the token in its connection_init payload."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from moderation import store
from moderation.actors import Actor
from service.runtime import Runtime
from tests.api.test_subscriptions import PROTOCOL, Client, served, subscribers, until
from tests.auth.test_resource import mint
from tests.moderation.test_store import ADA, MOD_A, file, latest_figure

QUEUE = "subscription { queueChanged { number state supporters } }"
UPDATED = "subscription($n: Int!) { challengeUpdated(number: $n) { number state supporters } }"


@contextlib.asynccontextmanager
async def signed_in(url: str, token: str | None) -> AsyncIterator[Client]:
    async with connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        found = Client(ws)
        payload = {} if token is None else {"authorization": f"Bearer {token}"}
        await found.send({"type": "connection_init", "payload": payload})
        assert await found.receive() == {"type": "connection_ack"}
        yield found


async def test_moderators_see_the_queue_change_and_anyone_a_challenge(
    demo_runtime: Runtime,
) -> None:
    rt = demo_runtime
    figure = await latest_figure(rt, "ITA", "cases_cumulative", "2020-06-01")
    first = await file(rt, ADA, figure)
    moderator = await mint(
        rt, subject=MOD_A.id, roles=["member", "moderator"], scope="member moderate"
    )
    member = await mint(rt, subject="account:3", roles=["member"], scope="member")
    async with served(rt) as (url, app):
        async with signed_in(url, moderator) as mod, signed_in(url, None) as anyone:
            await mod.subscribe("q", QUEUE)
            await anyone.subscribe("c", UPDATED, n=first.challenge_id)
            await until(subscribers(app, 2))
            await store.act(rt.write_sessions, rt.log, MOD_A, first.challenge_id, "triage")
            for client in (mod, anyone):
                message = await client.receive()
                data = message["payload"]["data"]
                changed = data.get("queueChanged") or data.get("challengeUpdated")
                assert changed == {
                    "number": first.challenge_id,
                    "state": "TRIAGED",
                    "supporters": 0,
                }
            bob = Actor("account:2", frozenset({"member"}))
            await store.take_stance(rt.write_sessions, bob, first.challenge_id, stance="support")
            for client in (mod, anyone):
                data = (await client.receive())["payload"]["data"]
                changed = data.get("queueChanged") or data.get("challengeUpdated")
                assert changed["supporters"] == 1
        # a member may not follow the queue; a bad token does not get a connection
        async with signed_in(url, member) as plain:
            await plain.subscribe("q", QUEUE)
            refused = await plain.receive()
            assert refused["type"] == "next" and refused["payload"]["data"] is None
            assert refused["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        async with connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
            await ws.send(
                json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer x"}})
            )
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
