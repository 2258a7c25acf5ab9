"""Score jobs: a bounded queue, a fixed number of workers, one job at a time per accelerator,
cancellation, shared computation for identical requests, and the event log clients follow."""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, field

from v2m.server.errors import QueueFullError

STATES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE = STATES[:2]


@dataclass
class Job:
    job_id: str
    key: str = ""
    """What the job computes (media identity + parameters); equal keys share one job."""
    state: str = "queued"
    stage: str = ""
    fraction: float = 0.0
    error: str = ""
    failure: tuple | None = None
    """``(status code, message)`` a failed job ended with, answered to every follower."""
    task: asyncio.Task | None = None
    artifacts: dict = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)
    events: list = field(default_factory=list)
    """Every event the job produced so far, replayed to each follower; dropped once delivered."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    log_closed: bool = False
    followers: int = 0
    """Streams reading the log (Score callers and WatchJob)."""
    owners: int = 0
    """Score callers waiting for the result; when the last one leaves, the job is cancelled."""
    uses: tuple = ()
    """Files and folders the job reads or writes; retention leaves them alone while it runs."""

    def publish(self, event) -> None:
        """Append an event to the log and wake the followers."""
        self.events.append(event)
        self.notify()

    def notify(self) -> None:
        """Wake the followers (each waits on the Event it saw; a fresh one replaces it)."""
        self.changed.set()
        self.changed = asyncio.Event()

    def close_log(self) -> None:
        self.log_closed = True
        self.notify()
        self.release_log()

    def release_log(self) -> None:
        if self.log_closed and self.followers == 0:
            self.events = []


class JobManager:
    """Admits jobs while ``active < workers + max_queue``; runs ``workers`` at once, and at most
    one at a time on each accelerator (``device`` other than ``"cpu"``)."""

    def __init__(self, *, workers: int, max_queue: int, typical_job_s: float = 5.0):
        self.workers = workers
        self.max_queue = max_queue
        self.typical_job_s = typical_job_s
        self.jobs: dict[str, Job] = {}
        self._slots = asyncio.Semaphore(workers)
        self._devices: dict[str, asyncio.Lock] = {}
        self._active = 0

    def admit(self, key: str = "") -> tuple[Job, bool]:
        """``(job, joined)``: the active job with the same non-empty ``key`` if there is one
        (``joined`` true), else a new queued job, or QueueFullError with a retry hint."""
        if key:
            for job in self.jobs.values():
                if job.key == key and job.state in ACTIVE and not job.cancel.is_set():
                    return job, True
        if self._active >= self.workers + self.max_queue:
            wait = self.typical_job_s * (self._active - self.workers + 1) / self.workers
            raise QueueFullError(
                f"the job queue is full ({self._active} jobs for {self.workers} workers); "
                f"retry in about {wait:.0f} s"
            )
        self._active += 1
        job = Job(uuid.uuid4().hex, key=key)
        self.jobs[job.job_id] = job
        if len(self.jobs) > 1000:  # forget the oldest finished jobs
            for old in [j for j in self.jobs.values() if j.state not in ACTIVE][:100]:
                self.jobs.pop(old.job_id, None)
        return job, False

    def slot(self, job: Job, *, device: str = "cpu") -> _Slot:
        """``async with manager.slot(job, device=...):`` waits for the device (if it is an
        accelerator) and then a worker slot, and holds both."""
        lock = None if device == "cpu" else self._devices.setdefault(device, asyncio.Lock())
        return _Slot(self, job, lock)

    def finished(self, job: Job, state: str, error: str = "") -> None:
        if job.state in ACTIVE:
            job.state, job.error = state, error
            self._active -= 1

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)


class _Slot:
    def __init__(self, manager: JobManager, job: Job, device_lock: asyncio.Lock | None):
        self.manager, self.job, self.device_lock = manager, job, device_lock

    async def __aenter__(self):
        # The accelerator first: a job waiting for it must not hold a CPU worker meanwhile.
        if self.device_lock:
            await self.device_lock.acquire()
        try:
            await self.manager._slots.acquire()
        except BaseException:
            if self.device_lock:
                self.device_lock.release()
            raise
        if not self.job.cancel.is_set():
            self.job.state = "running"
        return self

    async def __aexit__(self, *exc):
        self.manager._slots.release()
        if self.device_lock:
            self.device_lock.release()
        return False
