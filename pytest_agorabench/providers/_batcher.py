"""Groups concurrent async requests into batches for one synchronous batch function run in a worker thread.

The first request on an event loop waits ``wait_s`` for company; then up to ``batch_size`` queued requests
with an equal key run together. Requests that arrive while a batch runs form the next batch, so a busy
model never idles between batches. Queues are per event loop (asyncio futures belong to one loop).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable


@dataclass
class _Request:
    item: Any
    key: Hashable
    batch_size: int
    future: asyncio.Future


@dataclass
class _LoopQueue:
    pending: list[_Request] = field(default_factory=list)
    task: asyncio.Task | None = None  # strong ref: asyncio keeps only weak refs to tasks


class Batcher:
    def __init__(self, run_batch: Callable[[list[Any], Any], list[Any]]) -> None:
        self._run_batch = run_batch  # (items, key) -> one result per item, in order
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopQueue] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()  # several loops (threads) may share one engine

    async def submit(self, item: Any, key: Hashable, batch_size: int, wait_s: float) -> Any:
        loop = asyncio.get_running_loop()
        with self._lock:
            queue = self._queues.setdefault(loop, _LoopQueue())
        request = _Request(item, key, max(1, batch_size), loop.create_future())
        queue.pending.append(request)
        if queue.task is None:
            queue.task = loop.create_task(self._dispatch(queue, wait_s))
        return await request.future

    async def _dispatch(self, queue: _LoopQueue, wait_s: float) -> None:
        try:
            await asyncio.sleep(wait_s)  # let concurrent callers join the first batch
            while queue.pending:
                first = queue.pending[0]
                batch = [r for r in queue.pending if r.key == first.key][: first.batch_size]
                taken = {id(r) for r in batch}
                queue.pending = [r for r in queue.pending if id(r) not in taken]
                batch = [r for r in batch if not r.future.done()]  # callers cancelled while queued
                if batch:
                    await self._run(batch, first.key)
        finally:
            queue.task = None
            for r in queue.pending:  # only left over when the loop is shutting down
                if not r.future.done():
                    r.future.set_exception(RuntimeError("event loop closed before the request ran"))
            queue.pending.clear()

    async def _run(self, batch: list[_Request], key: Any) -> None:
        try:
            results = await asyncio.to_thread(self._run_batch, [r.item for r in batch], key)
        except Exception as exc:  # a failed batch fails its callers, not the dispatcher
            for r in batch:
                if not r.future.done():
                    r.future.set_exception(exc)
            return
        for r, result in zip(batch, results):
            if not r.future.done():
                r.future.set_result(result)
