"""Where jobs run: the executor seam between the front door and the work.

The front server — gRPC, the WebSocket bridge, auth, uploads, job ids, the status table — is the
same whatever runs the work. A *work* is a picklable callable ``work(emit)`` that hands each
event it produces to ``emit`` (``ScoreWork`` is the one the job runner sends). An executor runs
it and streams the events back:

- ``local`` (the default): a worker thread of this process (``WorkerStream``);
- ``ray``: a replica on a Ray cluster (``v2m.server.ray_executor``; ``v2m serve --ray``).

``make_executor`` (in ``job_runner``) picks one from the settings.

Both honour the same contract: ``stream`` yields the events as they come; when ``cancel`` is set
or the reader stops, the work stops at its next event (JobCancelled); an error the work raised
is raised again to the reader as the same typed error.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from v2m.model.backends import Resources
from v2m.server.worker_stream import WorkerStream

Work = Callable[[Callable[[object], None]], None]


@dataclass(frozen=True)
class NodeInfo:
    """One machine the executor runs work on."""

    address: str
    cpus: float
    gpus: float
    alive: bool = True


@dataclass(frozen=True)
class ExecutorInfo:
    """What ``GetServerInfo`` and ``v2m doctor`` show: the executor and its nodes."""

    name: str
    nodes: tuple[NodeInfo, ...] = ()


class Executor(Protocol):
    name: str
    one_job_per_accelerator: bool
    """Whether the job manager must run GPU jobs one at a time (this process's accelerator);
    a cluster's executor places them on GPU replicas itself."""

    def stream(
        self, work: Work, *, resources: Resources, cancel: threading.Event
    ) -> AsyncIterator[object]: ...

    def run(self, work: Work, *, resources: Resources) -> None:
        """Run ``work`` to its end from a plain thread (the watch folder); events dropped."""

    def info(self) -> ExecutorInfo: ...

    async def close(self) -> None: ...


class LocalExecutor:
    """Work in a worker thread of this process."""

    name = "local"
    one_job_per_accelerator = True

    async def stream(self, work: Work, *, resources: Resources, cancel: threading.Event):
        stream = WorkerStream(asyncio.get_running_loop(), cancelled=cancel)
        async for event in stream.run(lambda: work(stream.emit)):
            yield event

    def run(self, work: Work, *, resources: Resources) -> None:
        work(lambda event: None)

    def info(self) -> ExecutorInfo:
        node = NodeInfo("this machine", cpus=float(os.cpu_count() or 1), gpus=float(_gpus()))
        return ExecutorInfo(self.name, (node,))

    async def close(self) -> None:
        return None


def _gpus() -> int:
    """NVIDIA GPUs the driver lists (no CUDA library loaded to count them)."""
    listed = Path("/proc/driver/nvidia/gpus")
    return len(list(listed.iterdir())) if listed.is_dir() else 0
