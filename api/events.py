"""The event hub of one API process: committed writes' events (models/events.py) fanned out to
any number of subscribers (GraphQL subscriptions).

On PostgreSQL the hub holds one dedicated asyncpg connection that LISTENs on every channel, so an
event committed by any process sharing the database reaches every API process; the connection is
checked every ``ping_s`` and reopened when lost (logged), and events committed while it is down
are not seen. On SQLite the hub listens to this process's own commits.

Each subscriber has a bounded queue and may filter what it is offered. The hub never waits for a
subscriber: when a queue is full its oldest event is dropped, and a warning says so (the first
drop, then every hundredth, and once more when the subscriber has caught up).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

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
        retry_max_s: float = 30.0,
    ) -> None:
        self._url = database_url
        self._postgres = make_url(database_url).get_backend_name() == "postgresql"
        self._queue_size = queue_size
        self._ping_s = ping_s
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
        """Begin listening; on PostgreSQL wait (at most ``wait_s``) until LISTEN is active."""
        if not self._started:
            self._started = True
            if self._postgres:
                self._task = asyncio.create_task(self._listen(), name="event-hub")
            else:
                loop = asyncio.get_running_loop()

                def deliver(channel: str, payload: dict[str, Any]) -> None:
                    # called on the committing thread, usually this loop's own
                    with contextlib.suppress(RuntimeError):  # the loop has closed
                        loop.call_soon_threadsafe(self.dispatch, channel, payload)

                self._stop_local = events.listen(self._url, deliver)
                self._listening.set()
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

    # -- PostgreSQL ---------------------------------------------------------------------------

    def _on_notification(
        self, _connection: Any, _pid: int, channel: str, raw: str | bytes | None
    ) -> None:
        try:
            payload = json.loads(raw or "")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            log.warning("ignored a notification that is no JSON object", extra={"channel": channel})
            return
        self.dispatch(channel, payload)

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
