"""The event hub of one API process: committed writes' events (models/events.py) fanned out to
any number of subscribers (GraphQL subscriptions).

On PostgreSQL the hub holds one dedicated asyncpg connection that LISTENs on every channel, so an
event committed by any process sharing the database reaches every API process; the connection is
checked every ``ping_s`` and reopened when lost (logged), and events committed while it is down
are not seen.

On SQLite the hub relays the ``event_outbox`` table (models/events.py), whoever wrote it (this
process, another server process, the CLI): on a connection of its own it asks the cheap
``PRAGMA data_version`` every ``poll_s`` (it changes when another connection commits) and, when
it changed or this process has just committed events, reads the rows after the last one it
relayed, in id order: each committed event once, in commit order. A lost connection is reopened
and reading resumes after the last row relayed.

Each subscriber has a bounded queue and may filter what it is offered. The hub never waits for a
subscriber: when a queue is full its oldest event is dropped, and a warning says so (the first
drop, then every hundredth, and once more when the subscriber has caught up).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiosqlite
import asyncpg
from sqlalchemy.engine import make_url
from starlette.requests import HTTPConnection

from models import events

log = logging.getLogger("corroborate.events")

Accept = Callable[[dict[str, Any]], bool]


class Subscription:
    """One subscriber's events, in the order committed: ``async for payload in subscription``."""

    def __init__(self, channel: str, accept: Accept | None, limit: int) -> None:
        self.channel = channel
        self._accept = accept
        self._limit = limit
        self._items: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def offer(self, payload: dict[str, Any]) -> None:
        if self._closed or (self._accept is not None and not self._accept(payload)):
            return
        if len(self._items) >= self._limit:
            self._items.popleft()
            self.dropped += 1
            if self.dropped % 100 == 1:
                log.warning(
                    "a slow subscriber lost its oldest event",
                    extra={"channel": self.channel, "dropped": self.dropped},
                )
        self._items.append(payload)
        self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()
        payload = self._items.popleft()
        if not self._items and self.dropped:
            log.info(
                "a slow subscriber caught up",
                extra={"channel": self.channel, "dropped": self.dropped},
            )
            self.dropped = 0
        return payload


class EventHub:
    """Start it once per process (``await hub.start()``; ``subscribe`` starts it when needed)."""

    def __init__(
        self,
        database_url: str,
        *,
        queue_size: int = 256,
        ping_s: float = 30.0,
        poll_s: float = 0.5,
        retry_max_s: float = 30.0,
    ) -> None:
        self._url = database_url
        self._postgres = make_url(database_url).get_backend_name() == "postgresql"
        self._queue_size = queue_size
        self._ping_s = ping_s
        self._poll_s = poll_s
        self._wake_up = asyncio.Event()
        #: the id of the last outbox row relayed (SQLite)
        self.relayed: int | None = None
        self._retry_max_s = retry_max_s
        self._subscribers: dict[str, set[Subscription]] = {c: set() for c in events.CHANNELS}
        self._task: asyncio.Task[None] | None = None
        self._stop_local: Callable[[], None] | None = None
        self._listening = asyncio.Event()
        self._connection: asyncpg.Connection | None = None
        self._started = False
        #: how many times the LISTEN connection has been (re)opened (PostgreSQL)
        self.connections = 0

    @property
    def subscribers(self) -> int:
        return sum(len(found) for found in self._subscribers.values())

    @property
    def listener_pid(self) -> int | None:
        """The server process of the LISTEN connection (PostgreSQL), when it is open."""
        connection = self._connection
        if connection is None or connection.is_closed():
            return None
        return int(connection.get_server_pid())

    async def start(self, *, wait_s: float = 10.0) -> None:
        """Begin listening; wait (at most ``wait_s``) until LISTEN is active (PostgreSQL) or the
        outbox's newest row is known (SQLite): events committed after that are relayed."""
        if not self._started:
            self._started = True
            if self._postgres:
                self._task = asyncio.create_task(self._listen(), name="event-hub")
            else:
                loop = asyncio.get_running_loop()

                def wake() -> None:
                    # called on the committing thread, usually this loop's own
                    with contextlib.suppress(RuntimeError):  # the loop has closed
                        loop.call_soon_threadsafe(self._wake_up.set)

                self._stop_local = events.listen(self._url, wake)
                self._task = asyncio.create_task(self._poll(), name="event-hub")
        if not self._listening.is_set():
            try:
                await asyncio.wait_for(self._listening.wait(), wait_s)
            except TimeoutError:
                log.warning("the event hub is not listening yet; it keeps trying")

    async def close(self) -> None:
        if self._stop_local is not None:
            self._stop_local()
            self._stop_local = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for found in self._subscribers.values():
            for subscription in found:
                subscription.close()
        self._listening.clear()
        self._started = False
        self.relayed = None  # started again, it relays what commits from then on

    @contextlib.asynccontextmanager
    async def subscribe(
        self, channel: str, accept: Accept | None = None, *, queue_size: int | None = None
    ) -> AsyncIterator[Subscription]:
        """Events of ``channel`` committed from now on (those ``accept`` takes, if given), at
        most ``queue_size`` of them unread (the hub's default if not given)."""
        if channel not in self._subscribers:
            raise ValueError(f"expected one of the channels {events.CHANNELS}, got {channel!r}")
        await self.start()
        subscription = Subscription(channel, accept, queue_size or self._queue_size)
        self._subscribers[channel].add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers[channel].discard(subscription)
            subscription.close()

    def dispatch(self, channel: str, payload: dict[str, Any]) -> None:
        for subscription in list(self._subscribers.get(channel, ())):
            try:
                subscription.offer(payload)
            except Exception:  # a subscriber's filter failing must not stop the others
                log.exception("a subscriber refused an event", extra={"channel": channel})

    # -- SQLite -------------------------------------------------------------------------------

    async def _poll(self) -> None:
        database = make_url(self._url).database
        if not database or database == ":memory:":
            log.warning("an in-memory SQLite database is not shared: no events are relayed")
            self._listening.set()
            return
        delay = 0.5
        while True:
            try:
                async with aiosqlite.connect(database, isolation_level=None) as connection:
                    await connection.execute("PRAGMA busy_timeout=30000")
                    if self.relayed is None:  # events committed from now on
                        self.relayed = await self._scalar(connection, events.OUTBOX_HEAD) or 0
                    self._listening.set()
                    delay = 0.5
                    await self._relay_forever(connection)
            except (OSError, sqlite3.Error) as exc:
                log.warning(
                    "cannot read the event outbox (%s: %s); retrying in %.1f s",
                    type(exc).__name__,
                    exc,
                    delay,
                )
            finally:
                self._listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max_s)

    @staticmethod
    async def _scalar(connection: aiosqlite.Connection, sql: str) -> int | None:
        async with connection.execute(sql) as cursor:
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else int(row[0])

    async def _relay_forever(self, connection: aiosqlite.Connection) -> None:
        version: int | None = None
        batch = 500
        query = events.outbox_query(batch)
        while True:
            self._wake_up.clear()
            current = await self._scalar(connection, "PRAGMA data_version")
            if current != version:  # another connection committed something: read what's new
                version = current
                while True:
                    async with connection.execute(query, (self.relayed,)) as cursor:
                        rows = list(await cursor.fetchall())
                    for row_id, channel, raw in rows:
                        self.relayed = int(row_id)
                        self._relay(str(channel), raw)
                    if len(rows) < batch:
                        break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_up.wait(), self._poll_s)

    def _relay(self, channel: str, raw: str | bytes | None) -> None:
        try:
            payload = json.loads(raw or "")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            log.warning("ignored an event that is no JSON object", extra={"channel": channel})
            return
        self.dispatch(channel, payload)

    # -- PostgreSQL ---------------------------------------------------------------------------

    def _on_notification(
        self, _connection: Any, _pid: int, channel: str, raw: str | bytes | None
    ) -> None:
        self._relay(channel, raw)

    async def _listen(self) -> None:
        dsn = make_url(self._url).set(drivername="postgresql").render_as_string(hide_password=False)
        delay = 0.5
        while True:
            try:
                connection = await asyncpg.connect(dsn)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning(
                    "cannot open the LISTEN connection: %s; retrying in %.1f s",
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
                continue
            try:
                await self._serve(connection)
            except Exception as exc:  # whatever broke the connection, reopen it
                log.warning(
                    "lost the LISTEN connection (%s: %s); reopening it", type(exc).__name__, exc
                )
            finally:
                self._listening.clear()
                self._connection = None
                if not connection.is_closed():
                    connection.terminate()
            delay = 0.5

    async def _serve(self, connection: asyncpg.Connection) -> None:
        """LISTEN on every channel and keep checking the connection until it is lost."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _c: lost.set())
        for channel in events.CHANNELS:
            await connection.add_listener(channel, self._on_notification)
        self._connection = connection
        self.connections += 1
        self._listening.set()
        log.info("listening for events", extra={"channels": list(events.CHANNELS)})
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self._ping_s)
            if lost.is_set() or connection.is_closed():
                log.warning("lost the LISTEN connection; reopening it")
                return
            await asyncio.wait_for(connection.execute("SELECT 1"), self._ping_s)


def hub_of(connection: HTTPConnection) -> EventHub:
    """The hub of the app serving ``connection`` (``app.state.events``, made by create_app)."""
    hub = getattr(connection.app.state, "events", None)
    if not isinstance(hub, EventHub):
        raise RuntimeError("this app has no event hub: it was not made by api.app.create_app")
    return hub
