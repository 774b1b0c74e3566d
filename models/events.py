"""Events a committed write announces to the API processes: a new checkpoint, new figure versions.

A writer calls :func:`notify` inside its transaction; the event is delivered only if that
transaction commits, and never if it rolls back:

- on PostgreSQL it is ``SELECT pg_notify(channel, payload)``: the server hands it to every
  connection LISTENing on the channel, in any process, when the transaction commits;
- on SQLite (one process serves a database file) it is queued on the session and handed to this
  process's listeners (:func:`listen`) by an ``after_commit`` hook; the end of a transaction that
  did not commit drops the queue. Writes made by another process (the CLI) are not announced.

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

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

CHECKPOINT = "corroborate_checkpoint"
FIGURE = "corroborate_figure"
CHALLENGE = "corroborate_challenge"
CHANNELS = (CHECKPOINT, FIGURE, CHALLENGE)
#: Largest encoded payload accepted (PostgreSQL's limit is 8000 bytes, with the channel name).
MAX_PAYLOAD = 7_900

#: Called with (channel, payload) after a commit, on the committing thread: must not block.
Listener = Callable[[str, dict[str, Any]], None]

log = logging.getLogger("corroborate.events")

_PENDING = "corroborate_events"  # key in Session.info: [(database, channel, payload), ...]
_listeners: dict[str, list[Listener]] = {}


def database_key(url: str | URL) -> str:
    """The name under which a database's in-process listeners are kept (its full URL)."""
    return make_url(url).render_as_string(hide_password=False)


def listen(database: str | URL, listener: Listener) -> Callable[[], None]:
    """Call ``listener`` for every event this process commits to ``database`` (SQLite); returns
    the function that stops it."""
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
    transaction = sync.get_nested_transaction() or sync.get_transaction()
    if transaction is None:
        raise RuntimeError("expected a session in a transaction: events are sent on commit")
    key = database_key(bind.engine.url)
    pending = session.info.setdefault(_PENDING, {}).setdefault(transaction, [])
    pending.extend((key, channel, json.loads(e)) for e in encoded)  # a copy the caller can't edit


# SQLite: each (sub)transaction keeps its own queue; a SAVEPOINT released hands its queue to the
# enclosing transaction, the outermost commit delivers, and any other end drops the queue.


@event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    committed = session.get_nested_transaction() or session.get_transaction()
    found = pending.pop(committed, [])
    if committed is not None and committed.parent is not None:  # a SAVEPOINT was released
        pending.setdefault(committed.parent, []).extend(found)
        return
    for key, channel, payload in found:
        for listener in list(_listeners.get(key, ())):
            try:
                listener(channel, payload)
            except Exception:  # a listener's failure must not fail the writer after its commit
                log.exception("an event listener failed", extra={"channel": channel})


@event.listens_for(Session, "after_transaction_end")
def _drop(session: Session, transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending.pop(transaction, None)  # still there: it did not commit
