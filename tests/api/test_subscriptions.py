"""GraphQL subscriptions over a real websocket (graphql-transport-ws), served by uvicorn in this
test's event loop so that the app shares the test's runtime; the events come from real commits."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
import types
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select, text
from sqlmodel import col
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from api.events import EventHub
from ingest.reconcile.engine import reconcile
from ledger.leaf import leaf_body
from models import events
from models.db import create_engine, session_factory, writer
from models.ledger import LedgerCheckpoint
from service.runtime import Runtime
from tests.conftest import TEST_ORIGIN
from tests.helpers import ROOT, cli_env, free_port, run_cli
from tests.ingest.reconcile_support import Publishers, dpc_document, revise_dpc_cell

PROTOCOL = "graphql-transport-ws"
CHECKPOINTS = "subscription { checkpointAdvanced { size rootHash note } }"
REVISED_DAY = dt.date(2020, 6, 15)  # DPC's totale_casi of this day is revised by +7


@contextlib.asynccontextmanager
async def served(runtime: Runtime, **settings: Any) -> AsyncIterator[tuple[str, Starlette]]:
    """The app on ``runtime`` (with ``settings`` overridden) under uvicorn: (websocket URL, app)."""
    app = create_app(runtime.settings.model_copy(update=settings), runtime=runtime)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert not task.done() and time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}/graphql", app
    finally:
        server.should_exit = True
        await task


class Client:
    """A graphql-transport-ws client on one connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        found = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert isinstance(found, dict)
        return found

    async def init(self) -> None:
        await self.send({"type": "connection_init"})
        assert await self.receive() == {"type": "connection_ack"}

    async def subscribe(self, id: str, query: str, **variables: Any) -> None:
        await self.send(
            {"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )


@contextlib.asynccontextmanager
async def client(url: str) -> AsyncIterator[Client]:
    async with connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        found = Client(ws)
        await found.init()
        yield found


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def subscribers(app: Starlette, count: int) -> Callable[[], bool]:
    return lambda: bool(app.state.events.subscribers == count)


async def take(subscription: AsyncIterator[dict[str, Any]], count: int) -> list[int]:
    return [(await asyncio.wait_for(anext(subscription), 10))["n"] for _ in range(count)]


async def test_checkpoint_advanced_yields_the_checkpoint_of_each_append(runtime: Runtime) -> None:
    async with served(runtime) as (url, app), client(url) as ws:
        await ws.subscribe("1", CHECKPOINTS)
        await until(subscribers(app, 1))
        receipt = await runtime.sequencer.append("document", {"test": 1})
        message = await ws.receive()
        assert message["id"] == "1" and message["type"] == "next"
        advanced = message["payload"]["data"]["checkpointAdvanced"]
        assert advanced["size"] == receipt.size == receipt.index + 1
        assert advanced["note"] == receipt.checkpoint_note.decode()
        await ws.send({"id": "1", "type": "complete"})
        await until(subscribers(app, 0))


async def test_figure_changed_yields_the_new_version_a_reconciliation_writes(
    runtime: Runtime,
) -> None:
    publishers = Publishers(runtime)
    await publishers.ingest(dpc_document())
    await reconcile(runtime.sessions, runtime.write_sessions, runtime.log)
    query = (
        "subscription($region: String!, $metric: Metric) { figureChanged(region: $region, "
        "metric: $metric) { region { code } metric date version value versions { value } } }"
    )
    async with served(runtime) as (url, app), client(url) as ws:
        await ws.subscribe("cases", query, region="ITA", metric="CASES_CUMULATIVE")
        await ws.subscribe("deaths", query, region="ITA", metric="DEATHS_CUMULATIVE")
        await ws.subscribe("germany", query, region="DEU")
        await until(subscribers(app, 3))
        values = [revise_dpc_cell(REVISED_DAY, "totale_casi", 0)[1]]
        for delta in (7, 9):  # twice: the second event must not see the first one's loaders
            content, _, new = revise_dpc_cell(REVISED_DAY, "totale_casi", delta)
            await publishers.ingest(dpc_document(content))
            report = await reconcile(runtime.sessions, runtime.write_sessions, runtime.log)
            assert report.new_versions == 1
            values.append(new)
            assert await ws.receive() == {
                "id": "cases",
                "type": "next",
                "payload": {
                    "data": {
                        "figureChanged": {
                            "region": {"code": "ITA"},
                            "metric": "CASES_CUMULATIVE",
                            "date": REVISED_DAY.isoformat(),
                            "version": len(values),
                            "value": new,
                            "versions": [{"value": v} for v in values],
                        }
                    }
                },
            }
        # nothing for the other two: a round trip after their events would have arrived
        await asyncio.sleep(0.3)
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}


async def test_commits_of_another_engine_arrive_and_rollbacks_send_nothing(
    runtime: Runtime, backend: str
) -> None:
    """On PostgreSQL this is NOTIFY fan-out: the hub LISTENs on its own connection, the writes
    come from an engine of their own; the hub also reopens a LISTEN connection it loses."""
    other = create_engine(runtime.settings.database_url)
    writes = session_factory(writer(other))
    body = leaf_body("document", {"test": "fan-out"})

    async def append(count: int, *, fail: bool = False) -> int:
        async with writes() as session, session.begin():
            appended = await runtime.log.append(session, [("document", body)] * count)
            if fail:
                raise RuntimeError("rolled back")
        return appended.size

    try:
        async with served(runtime) as (url, app), client(url) as ws:
            await ws.subscribe("1", "subscription { checkpointAdvanced { size } }")
            await until(subscribers(app, 1))
            with pytest.raises(RuntimeError, match="rolled back"):
                await append(1, fail=True)
            size = await append(2)
            message = await ws.receive()
            assert message["payload"]["data"]["checkpointAdvanced"] == {"size": size}

            if backend == "postgresql":
                hub = app.state.events
                opened = hub.connections
                async with other.connect() as connection:
                    await connection.execute(
                        text("SELECT pg_terminate_backend(:pid)"), {"pid": hub.listener_pid}
                    )
                await until(lambda: hub.connections == opened + 1 and hub.listener_pid)
                size = await append(1)
                message = await ws.receive()
                assert message["payload"]["data"]["checkpointAdvanced"] == {"size": size}
    finally:
        await other.dispose()


async def test_the_hub_gets_committed_events_only_and_a_slow_subscriber_loses_the_oldest(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    hub = EventHub(runtime.settings.database_url, queue_size=2)
    try:
        async with (
            hub.subscribe(events.FIGURE, queue_size=10) as everything,
            hub.subscribe(events.FIGURE, lambda e: e["region"] == "ITA") as italy,
        ):
            async with runtime.write_sessions() as session, session.begin():
                await events.notify(session, events.FIGURE, {"region": "ITA", "n": 1})
                savepoint = await session.begin_nested()
                await events.notify(session, events.FIGURE, {"region": "ITA", "n": 2})
                await savepoint.rollback()
                async with session.begin_nested():
                    await events.notify(session, events.FIGURE, {"region": "ITA", "n": 3})
                    await events.notify(session, events.FIGURE, {"region": "DEU", "n": 4})
                await events.notify_many(
                    session, events.FIGURE, [{"region": "ITA", "n": 5}, {"region": "ITA", "n": 6}]
                )
            # what committed, in order; the rolled-back SAVEPOINT's event is not there
            assert await take(everything, 5) == [1, 3, 4, 5, 6]
            # Italy's subscriber read nothing yet and keeps two: it lost the oldest two
            assert italy.dropped == 2
            assert await take(italy, 2) == [5, 6]
            assert "a slow subscriber lost its oldest event" in caplog.messages
    finally:
        await hub.close()


@pytest.mark.parametrize("backend", ["sqlite"])  # the transport does not depend on the database
async def test_only_graphql_transport_ws_with_an_init_timeout_and_a_subscription_cap(
    runtime: Runtime,
) -> None:
    async with served(runtime, ws_init_timeout_s=0.3, ws_max_subscriptions=1) as (url, app):
        # the legacy graphql-ws protocol is refused
        async with connect(url, subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol is None
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
                4406,
                "Subprotocol not acceptable",
            )

        # no connection_init within the timeout
        async with connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == PROTOCOL
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4408
            assert 0.25 < time.monotonic() - started < 5

        # one subscription over the cap is answered with an error; the first one goes on
        async with client(url) as ws:
            await ws.subscribe("1", CHECKPOINTS)
            await ws.subscribe("2", CHECKPOINTS)
            assert await ws.receive() == {
                "id": "2",
                "type": "error",
                "payload": [{"message": "Subscription limit reached"}],
            }
            await until(subscribers(app, 1))
            receipt = await runtime.sequencer.append("document", {"test": "cap"})
            message = await ws.receive()
            assert message["id"] == "1"
            assert message["payload"]["data"]["checkpointAdvanced"]["size"] == receipt.size


async def test_a_subscription_past_the_budget_is_refused(runtime: Runtime) -> None:
    from api.context import Context
    from api.limits import Budgets, Limits
    from api.schema import create_schema

    limits = Limits(budget_anonymous=1)  # CHECKPOINTS costs 1: one subscription, not two
    schema = create_schema(limits, Budgets(limits.window_s))

    app = create_app(runtime=runtime)
    request = types.SimpleNamespace(app=app)  # what the resolvers read: app.state.events

    async def subscribe() -> Any:
        context = Context(runtime=runtime, request=request, response=None, client="ip:test")  # type: ignore[arg-type]
        found = await schema.subscribe(CHECKPOINTS, context_value=context)
        return found if hasattr(found, "errors") else await asyncio.wait_for(anext(found), 0.5)

    with pytest.raises(TimeoutError):  # the first waits for a checkpoint
        await subscribe()
    refused = await subscribe()
    assert refused.errors[0].extensions["code"] == "RATE_LIMITED"


# -- writes of other processes on SQLite (issue 15, item 18) -------------------------------------

DPC_SAMPLE = ROOT / "samples/demo/italy_dpc/dpc-covid19-ita-andamento-nazionale.csv"
DPC_FORMAT = "dpc-ita-andamento-nazionale"
ITALY_CASES = (
    'subscription { figureChanged(region: "ITA", metric: CASES_CUMULATIVE) { date version value } }'
)


def _revised_dpc(folder: Path) -> tuple[Path, str, int]:
    """The ministry's file with its last day's case total revised up by 1,000: (file, day, new)."""
    lines = DPC_SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].split(",")
    last = lines[-1].split(",")
    new = int(last[header.index("totale_casi")]) + 1000
    last[header.index("totale_casi")] = str(new)
    lines[-1] = ",".join(last)
    folder.mkdir(parents=True, exist_ok=True)
    revised = folder / DPC_SAMPLE.name
    revised.write_text("".join(lines), encoding="utf-8")
    return revised, last[header.index("data")][:10], new


async def _checkpoint_sizes(runtime: Runtime, after: int) -> list[int]:
    async with runtime.sessions() as session:
        found = await session.scalars(
            select(col(LedgerCheckpoint.size))
            .where(col(LedgerCheckpoint.size) > after)
            .order_by(col(LedgerCheckpoint.size))
        )
        return [int(size) for size in found]


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL: NOTIFY reaches every process
async def test_writes_of_the_cli_reach_subscribers_on_sqlite(
    runtime: Runtime, tmp_path: Path
) -> None:
    """The server runs under uvicorn on a SQLite file; `corroborate ingest` and `reconcile` run as
    processes of their own; their events arrive over the websocket, each once, in order."""
    env = cli_env(
        database_url=runtime.settings.database_url,
        data_dir=str(runtime.settings.data_dir),
        log_origin=TEST_ORIGIN,
    )
    key = tmp_path / "it-dpc.key"
    revised, last_day, revised_value = _revised_dpc(tmp_path / "revised")

    async def cli(*args: str) -> None:  # in a thread: the server keeps serving meanwhile
        result = await asyncio.to_thread(run_cli, *args, env=env, timeout=300)
        assert result.returncode == 0, (result.stdout, result.stderr)

    async def messages(id: str, until_done: Callable[[list[Any]], bool]) -> list[Any]:
        found: list[Any] = []
        while not until_done(found):
            message = await ws.receive()
            assert message["type"] == "next", message
            got[message["id"]].append(message["payload"]["data"])
            found = got[id]
        return found

    before = (await _checkpoint_sizes(runtime, -1) or [0])[-1]
    got: dict[str, list[Any]] = {"checkpoints": [], "figures": []}
    async with served(runtime) as (url, app), client(url) as ws:
        await ws.subscribe("checkpoints", "subscription { checkpointAdvanced { size } }")
        await ws.subscribe("figures", ITALY_CASES)
        await until(subscribers(app, 2))

        await cli("publishers", "add", "--from-catalogue", "it-dpc")
        await cli("keys", "add", "--publisher", "it-dpc", "--generate", str(key))
        ingest = ("--publisher", "it-dpc", "--format", DPC_FORMAT, "--sign-with", str(key))
        await cli("ingest", str(DPC_SAMPLE), *ingest)
        await cli("reconcile")
        # the full reconciliation: version 1 of every day's figure, each once, in date order
        first = await messages("figures", lambda found: len(found) >= 312)
        days = [item["figureChanged"]["date"] for item in first]
        assert days == sorted(set(days)) and len(days) == 312
        assert {item["figureChanged"]["version"] for item in first} == {1}

        # a revision: its ingest re-reconciles what it touches, in the same process
        await cli("ingest", str(revised), *ingest)
        [changed] = (await messages("figures", lambda found: len(found) >= 313))[312:]
        assert changed["figureChanged"] == {"date": last_day, "version": 2, "value": revised_value}

        # every checkpoint the processes signed, once each and in order
        sizes = await _checkpoint_sizes(runtime, before)
        assert len(sizes) >= 4  # the publisher, its key, two documents, figures...
        await messages("checkpoints", lambda found: len(found) >= len(sizes))
        assert [item["checkpointAdvanced"]["size"] for item in got["checkpoints"]] == sizes

        # nothing more: a round trip after any further event would have arrived
        await asyncio.sleep(1.0)
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}


@pytest.mark.parametrize("backend", ["sqlite"])  # the outbox is SQLite's
async def test_the_outbox_forgets_old_rows_and_a_restarted_hub_relays_from_its_start(
    runtime: Runtime,
) -> None:
    hub = EventHub(runtime.settings.database_url)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=events.OUTBOX_KEEP_S + 60)
    async with runtime.write_sessions() as session, session.begin():
        session.add(events.EventOutbox(channel=events.FIGURE, payload='{"n":0}', created_at=old))
    try:
        async with hub.subscribe(events.FIGURE) as figures:
            async with runtime.write_sessions() as session, session.begin():
                await events.notify(session, events.FIGURE, {"n": 1})
            assert await take(figures, 1) == [1]  # the old row was there before the hub started
        await hub.close()
        async with runtime.write_sessions() as session, session.begin():  # while it is closed
            await events.notify(session, events.FIGURE, {"n": 2})
        async with hub.subscribe(events.FIGURE) as figures:
            async with runtime.write_sessions() as session, session.begin():
                await events.notify(session, events.FIGURE, {"n": 3})
            # a restarted hub relays what commits from its start: n=2 went to nobody
            assert await take(figures, 1) == [3]
        async with runtime.sessions() as session:
            kept = await session.scalars(select(col(events.EventOutbox.payload)))
            assert sorted(kept) == ['{"n":1}', '{"n":2}', '{"n":3}']  # the old one was pruned
    finally:
        await hub.close()


async def test_a_websocket_message_nested_too_deep_closes_with_4400(runtime: Runtime) -> None:
    """Item 8 of issue 15 on the websocket: 49,000 levels of arrays inside one subscribe message
    (well under any size cap) close the connection with 4400, as a malformed message does, and
    the server goes on serving."""
    deep = "[" * 49_000 + "]" * 49_000
    async with served(runtime) as (url, app):
        async with client(url) as ws:
            raw = (
                '{"id": "1", "type": "subscribe", "payload": {"query": '
                + json.dumps(CHECKPOINTS)
                + ', "variables": {"a": '
                + deep
                + "}}}"
            )
            await ws.ws.send(raw)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
        async with client(url) as ws:  # still serving
            await ws.subscribe("1", CHECKPOINTS)
            await until(subscribers(app, 1))
            receipt = await runtime.sequencer.append("document", {"test": "after deep"})
            message = await ws.receive()
            assert message["payload"]["data"]["checkpointAdvanced"]["size"] == receipt.size
