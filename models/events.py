"""Events a committed write announces to the API processes: a new checkpoint, new figure versions.

A writer calls :func:`notify` inside its transaction; the event is delivered only if that
transaction commits, and never if it rolls back:

- on PostgreSQL it is ``SELECT pg_notify(channel, payload)``: the server hands it to every
  connection LISTENing on the channel, in any process, when the transaction commits;
- on SQLite it is a row of the ``event_outbox`` table (:class:`EventOutbox`), written in the
  writer's transaction, so it exists only if that transaction commits (a rolled-back SAVEPOINT
  takes its rows with it). Every API process serving the file reads the rows after the last one
  it relayed, in ``id`` order (api/events.py): whoever wrote them — this process, another API
  process, or the CLI. The ids grow in commit order (SQLite has one writer at a time, and the
  table is AUTOINCREMENT, so an id is never given twice even after pruning). When a transaction
  of this process that wrote events commits, an ``after_commit`` hook wakes this process's
  readers (:func:`listen`) at once; others notice within their polling interval. The first
  event of each transaction deletes the rows written more than :data:`OUTBOX_KEEP_S` ago.

Payloads are small JSON objects (PostgreSQL refuses one over 8000 bytes; :data:`MAX_PAYLOAD`):

- ``corroborate_checkpoint``: ``{"size": n}``, once per signed checkpoint;
- ``corroborate_figure``: ``{"region", "metric", "ledger_index", "count"}``, once per run of
  consecutive new figure versions of one region and metric in an append: the versions are the
  ``attested_figure`` rows at ledger indices ``ledger_index`` to ``ledger_index + count - 1``.
  A full reconciliation sends one per (region, metric, chunk of the append), not one per figure;
  a correction sends one for its new version;
- ``corroborate_challenge``: ``{"challenge", "sequence", "state"}`` (and ``ledger_index`` for a
  workflow event), when a challenge is filed, moves, is supported or opposed, or is claimed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, String, Text, delete, event, insert, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import Field, SQLModel, col

CHECKPOINT = "corroborate_checkpoint"
FIGURE = "corroborate_figure"
CHALLENGE = "corroborate_challenge"
CHANNELS = (CHECKPOINT, FIGURE, CHALLENGE)
#: Largest encoded payload accepted (PostgreSQL's limit is 8000 bytes, with the channel name).
MAX_PAYLOAD = 7_900
#: How long an outbox row is kept (SQLite): far longer than any reader's polling interval, and
#: than any transaction holds SQLite's write lock (a row is stamped when written, not committed).
OUTBOX_KEEP_S = 3_600

#: Called after this process commits a transaction that wrote events (SQLite), on the
#: committing thread: must not block. It is a wake-up call; the events are read from the outbox.
Listener = Callable[[], None]

log = logging.getLogger("corroborate.events")

_WROTE = "corroborate_events"  # key in Session.info: {root transaction: {database, ...}}
_listeners: dict[str, list[Listener]] = {}


class EventOutbox(SQLModel, table=True):
    """An event committed on SQLite, for every API process to relay (see the module's text)."""

    __tablename__ = "event_outbox"
    __table_args__ = (
        Index("ix_event_outbox_created_at", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    channel: str = Field(sa_column=Column(String(64), nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False), description="The JSON payload.")
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


def database_key(url: str | URL) -> str:
    """The name under which a database's in-process listeners are kept (its full URL)."""
    return make_url(url).render_as_string(hide_password=False)


def listen(database: str | URL, listener: Listener) -> Callable[[], None]:
    """Call ``listener`` whenever this process commits events to ``database`` (SQLite), so that
    a reader of the outbox need not wait for its next poll; returns the function that stops
    it."""
    key = database_key(database)
    _listeners.setdefault(key, []).append(listener)

    def stop() -> None:
        found = _listeners.get(key, [])
        if listener in found:
            found.remove(listener)
        if not found:
            _listeners.pop(key, None)

    return stop


def encode(payload: dict[str, Any]) -> str:
    encoded = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    if len(encoded.encode()) > MAX_PAYLOAD:
        raise ValueError(
            f"expected an event payload of at most {MAX_PAYLOAD} bytes, got {len(encoded.encode())}"
        )
    return encoded


async def notify(session: AsyncSession, channel: str, payload: dict[str, Any]) -> None:
    """Announce ``payload`` on ``channel`` when the session's transaction commits."""
    await notify_many(session, channel, [payload])


async def notify_many(
    session: AsyncSession, channel: str, payloads: Sequence[dict[str, Any]]
) -> None:
    """Announce each of ``payloads``, in order, when the session's transaction commits (one
    statement on PostgreSQL, whatever their number)."""
    if not payloads:
        return
    encoded = [encode(p) for p in payloads]
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        await session.execute(
            text(
                "SELECT pg_notify(:channel, p.payload) FROM unnest(CAST(:payloads AS text[])) "
                "WITH ORDINALITY AS p(payload, n) ORDER BY p.n"
            ),
            {"channel": channel, "payloads": encoded},
        )
        return
    sync = session.sync_session
    root = sync.get_transaction()
    if root is None:
        raise RuntimeError("expected a session in a transaction: events are sent on commit")
    now = dt.datetime.now(dt.UTC)
    wrote = session.info.setdefault(_WROTE, {})
    if root not in wrote:  # the first events of this transaction: forget the old ones
        await session.execute(
            delete(EventOutbox).where(
                col(EventOutbox.created_at) < now - dt.timedelta(seconds=OUTBOX_KEEP_S)
            )
        )
    wrote.setdefault(root, set()).add(database_key(bind.engine.url))
    await session.execute(
        insert(EventOutbox),
        [{"channel": channel, "payload": e, "created_at": now} for e in encoded],
    )


def outbox_query(limit: int) -> str:
    """The SQL reading the outbox's rows after a given id (the one parameter), oldest first,
    at most ``limit`` of them: (id, channel, payload)."""
    return (
        f"SELECT id, channel, payload FROM {EventOutbox.__tablename__} "
        f"WHERE id > ? ORDER BY id LIMIT {int(limit)}"
    )


#: The SQL giving the id of the newest outbox row (or NULL).
OUTBOX_HEAD = f"SELECT max(id) FROM {EventOutbox.__tablename__}"


# SQLite: a commit of the outermost transaction wakes this process's readers; any other end of
# it forgets what it wrote (the rows went with it).


@event.listens_for(Session, "after_commit")
def _wake(session: Session) -> None:
    wrote = session.info.get(_WROTE)
    if not wrote:
        return
    committed = session.get_nested_transaction() or session.get_transaction()
    if committed is None or committed.parent is not None:  # a SAVEPOINT was released
        return
    for key in wrote.pop(committed, ()):
        for listener in list(_listeners.get(key, ())):
            try:
                listener()
            except Exception:  # a listener's failure must not fail the writer after its commit
                log.exception("an event listener failed")


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    wrote = session.info.get(_WROTE)
    if wrote and transaction.parent is None:
        wrote.pop(transaction, None)
