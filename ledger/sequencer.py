"""Group commit: appends from many callers go to the log in batches, one transaction each.

A caller awaits its receipt, which arrives only after its batch is committed together with the
checkpoint that covers it. Several processes may run a sequencer on one database: the log's lock
(SQLite's write lock, a PostgreSQL advisory lock) orders their batches.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.leaf import leaf_body
from ledger.store import Appended, CheckpointConflict, TransparencyLog
from models.db import session_factory, writer


@dataclass(frozen=True)
class Receipt:
    index: int
    size: int
    checkpoint_note: bytes


@dataclass
class _Pending:
    entries: list[tuple[str, bytes]]
    future: asyncio.Future[list[Receipt]]


class Sequencer:
    def __init__(
        self,
        log: TransparencyLog,
        engine: AsyncEngine,
        *,
        batch_max: int = 4096,
        batch_wait_ms: int = 5,
    ) -> None:
        self.log = log
        self._sessions = session_factory(writer(engine))
        self._batch_max = batch_max
        self._wait = batch_wait_ms / 1000
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ledger-sequencer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def append(self, kind: str, record: dict[str, Any]) -> Receipt:
        return (await self.append_many([(kind, record)]))[0]

    async def append_many(self, records: Sequence[tuple[str, dict[str, Any]]]) -> list[Receipt]:
        entries = [(kind, leaf_body(kind, record)) for kind, record in records]
        self.start()
        future: asyncio.Future[list[Receipt]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(entries, future))
        return await future

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            count = len(first.entries)
            deadline = asyncio.get_running_loop().time() + self._wait
            while count < self._batch_max:
                remaining = deadline - asyncio.get_running_loop().time()
                try:
                    item = (
                        self._queue.get_nowait()
                        if remaining <= 0
                        else await asyncio.wait_for(self._queue.get(), remaining)
                    )
                except (asyncio.QueueEmpty, TimeoutError):
                    break
                batch.append(item)
                count += len(item.entries)
            await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        entries = [entry for pending in batch for entry in pending.entries]
        try:
            appended = await self._append_with_retry(entries)
        except Exception as exc:  # every waiter learns why its batch failed
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        index = appended.first_index
        for pending in batch:
            receipts = [
                Receipt(index + i, appended.size, appended.checkpoint_note)
                for i in range(len(pending.entries))
            ]
            index += len(pending.entries)
            if not pending.future.done():
                pending.future.set_result(receipts)

    async def _append_with_retry(self, entries: list[tuple[str, bytes]]) -> Appended:
        for attempt in range(3):
            try:
                async with self._sessions() as session, session.begin():
                    return await self.log.append(session, entries)
            except CheckpointConflict:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
