"""Score jobs: a bounded queue, a fixed number of workers, cancellation, state for GetJob."""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, field

from v2m.server.errors import QueueFullError

STATES = ("queued", "running", "done", "failed", "cancelled")


@dataclass
class Job:
    job_id: str
    state: str = "queued"
    stage: str = ""
    fraction: float = 0.0
    error: str = ""
    artifacts: dict = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)
    events: list = field(default_factory=list)
    """Every event the job streamed so far, for WatchJob; dropped once nobody needs it."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    log_closed: bool = False
    watchers: int = 0

    def notify(self) -> None:
        """Wake the watchers (each waits on the Event it saw; a fresh one replaces it)."""
        self.changed.set()
        self.changed = asyncio.Event()

    def close_log(self) -> None:
        self.log_closed = True
        self.notify()
        self.release_log()

    def release_log(self) -> None:
        if self.log_closed and self.watchers == 0:
            self.events = []


class JobManager:
    """Admits jobs while ``running + queued < workers + max_queue``; runs ``workers`` at once."""

    def __init__(self, *, workers: int, max_queue: int, typical_job_s: float = 5.0):
        self.workers = workers
        self.max_queue = max_queue
        self.typical_job_s = typical_job_s
        self.jobs: dict[str, Job] = {}
        self._slots = asyncio.Semaphore(workers)
        self._active = 0

    def admit(self) -> Job:
        """A new queued job, or QueueFullError with a retry hint."""
        if self._active >= self.workers + self.max_queue:
            wait = self.typical_job_s * (self._active - self.workers + 1) / self.workers
            raise QueueFullError(
                f"the job queue is full ({self._active} jobs for {self.workers} workers); "
                f"retry in about {wait:.0f} s"
            )
        self._active += 1
        job = Job(uuid.uuid4().hex)
        self.jobs[job.job_id] = job
        if len(self.jobs) > 1000:  # forget the oldest finished jobs
            for old in [j for j in self.jobs.values() if j.state in STATES[2:]][:100]:
                self.jobs.pop(old.job_id, None)
        return job

    def slot(self, job: Job) -> _Slot:
        """``async with manager.slot(job):`` waits for a worker slot and holds it."""
        return _Slot(self, job)

    def finished(self, job: Job, state: str, error: str = "") -> None:
        if job.state not in STATES[2:]:
            job.state, job.error = state, error
            self._active -= 1

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)


class _Slot:
    def __init__(self, manager: JobManager, job: Job):
        self.manager, self.job = manager, job

    async def __aenter__(self):
        await self.manager._slots.acquire()
        self.job.state = "running" if not self.job.cancel.is_set() else self.job.state
        return self

    async def __aexit__(self, *exc):
        self.manager._slots.release()
        return False
