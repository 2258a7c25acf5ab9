"""Run a producer iterator in a background thread, a bounded number of items ahead.

Decoding (FFmpeg, GIL released) then overlaps with the consumer's NumPy/OpenCV work instead of
waiting for it. Errors raised by the producer are re-raised in the consumer; if the consumer
stops early, the producer is told to stop and its iterator is closed (which closes the file).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()
_POLL_S = 0.1


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def prefetch(source: Iterator[T], *, depth: int = 8) -> Iterator[T]:
    """Yield ``source``'s items, produced up to ``depth`` ahead in a daemon thread."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=_POLL_S)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            else:
                items.put(_DONE)
        except BaseException as exc:  # handed to the consumer, re-raised there
            items.put(_Failure(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="v2m-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)
