"""A DataLoader that waits for the event loop to settle before it calls its batch function.

strawberry's DataLoader dispatches two loop iterations after the first ``load``. graphql-core
reaches a list's nested fields through several awaits, so the loads of one page arrive over
several iterations and are split into many batches: a page of 90 figures with their proofs made
17 proof batches, each opening a session and reading the checkpoint again. This one keeps
collecting keys until ``settle`` iterations pass with no new key (at most ``max_wait``), then
calls the batch function once. Same interface: ``load``, ``load_many``, ``prime``; values cached per key
for the loader's life (one request).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class DataLoader(Generic[K, V]):
    def __init__(
        self,
        load_fn: Callable[[Sequence[K]], Awaitable[Sequence[V]]],
        *,
        settle: int = 3,
        max_wait: int = 50,
    ) -> None:
        self.load_fn = load_fn
        self.settle = settle
        self.max_wait = max_wait
        self._cache: dict[K, asyncio.Future[V]] = {}
        self._pending: dict[K, asyncio.Future[V]] = {}
        self._dispatcher: asyncio.Task[None] | None = None

    def load(self, key: K) -> asyncio.Future[V]:
        found = self._cache.get(key)
        if found is not None:
            return found
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._cache[key] = self._pending[key] = future
        if self._dispatcher is None:
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())
        return future

    def prime(self, key: K, value: V) -> None:
        """Cache ``value`` for ``key`` unless it is already loaded or being loaded."""
        if key not in self._cache:
            future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
            future.set_result(value)
            self._cache[key] = future

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        return list(await asyncio.gather(*(self.load(key) for key in keys)))

    async def _dispatch(self) -> None:
        quiet, waited = 0, 0
        while quiet < self.settle and waited < self.max_wait:
            seen = len(self._pending)
            await asyncio.sleep(0)
            waited += 1
            quiet = quiet + 1 if len(self._pending) == seen else 0
        batch, self._pending, self._dispatcher = self._pending, {}, None
        keys = list(batch)
        try:
            values = await self.load_fn(keys)
            if len(values) != len(keys):
                raise ValueError(
                    f"expected the batch function to return {len(keys)} values, got {len(values)}"
                )
        except BaseException as exc:
            for key, future in batch.items():
                self._cache.pop(key, None)  # a failed load may be retried
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for future, value in zip(batch.values(), values, strict=True):
            if not future.done():
                future.set_result(value)
