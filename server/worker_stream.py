"""Blocking model code in a worker thread, its events streamed to the event loop.

The model's functions are plain blocking code; the service must keep serving (other clients,
health checks) while they run. ``WorkerStream.run(work)`` runs ``work`` in the loop's
executor; ``work`` calls ``emit(item)`` for each event and the handler reads them with
``async for``. When the reading side stops — finished, failed, client gone, deadline passed —
or the ``cancelled`` event is set, the worker's next ``emit`` raises JobCancelled, which ends
the work at its next progress report.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable

from v2m.server.errors import JobCancelled

_END = object()


class WorkerStream:
    """Thread → event loop bridge: ``emit`` from the worker, ``async for`` in the handler."""

    def __init__(self, loop: asyncio.AbstractEventLoop, cancelled: threading.Event | None = None):
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=256)
        self.cancelled = cancelled or threading.Event()
        self.closed = threading.Event()

    def emit(self, item) -> None:
        """Hand ``item`` to the reader (blocks while its queue is full)."""
        if self.cancelled.is_set() or self.closed.is_set():
            raise JobCancelled("the job was cancelled")
        asyncio.run_coroutine_threadsafe(self.queue.put(item), self.loop).result()

    async def run(self, work: Callable[[], None]) -> AsyncIterator:
        """Run ``work`` in a worker thread; yield what it emits; raise what it raised."""
        async for batch in self.run_batches(work):
            for item in batch:
                yield item

    async def run_batches(self, work: Callable[[], None]) -> AsyncIterator[list]:
        """As ``run``, yielding lists: each list is what the work emitted since the reader
        last asked (one item while the reader keeps up; a burst, such as a stem's chunks, in
        one list — what a remote reader receives as one message)."""

        def target() -> None:
            try:
                work()
                self.emit(_END)
            except BaseException as exc:  # handed to the handler, answered as a status
                if not self.closed.is_set():
                    self.loop.call_soon_threadsafe(self._deliver, exc)

        self.loop.run_in_executor(None, target)
        try:
            while True:
                batch = [await self.queue.get()]
                while not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                ended = _END in batch
                if ended:
                    batch = batch[: batch.index(_END)]
                for item in batch:
                    if isinstance(item, BaseException):
                        raise item
                if batch:
                    yield batch
                if ended:
                    break
        finally:
            self.closed.set()
            while not self.queue.empty():  # unblock a worker waiting on a full queue
                self.queue.get_nowait()

    def _deliver(self, item) -> None:
        while self.queue.full():  # an error outranks events nobody will read
            self.queue.get_nowait()
        self.queue.put_nowait(item)
