"""Score jobs on the server: admission, the one job function run by the executor (a worker
thread here, or a replica on a Ray cluster), and its events published to the job's log, which
every caller of the job follows.

``JobRunner.submit`` checks a request, and either joins an identical job already running (same
media, same parameters) or queues a new one; ``follow`` replays a job's log and then follows it
live, ending as the job ended (CANCELLED, or the status it failed with).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from v2m.model.backends import Resources, backend_entry
from v2m.model.folders import remove_partials
from v2m.model.options import Limits, ScoreOptions
from v2m.server import convert
from v2m.server.errors import (
    BadRequestError,
    JobCancelled,
    JobFailed,
    WorkerLostError,
    status_for,
)
from v2m.server.executor import Executor, LocalExecutor
from v2m.server.jobs import ACTIVE, Job, JobManager
from v2m.server.paths import resolve_media_path
from v2m.server.score_events import ScoreWork
from v2m.server.settings import ServerSettings
from v2m.server.uploads import find_upload
from v2m.v1 import scoring_pb2 as pb

UPLOAD_PREFIX = "upload:"
"""A path option spelled ``upload:ID`` names a file sent with UploadMedia."""


class JobRunner:
    """Runs Score jobs for a service on its executor: ``workers`` at once (one at a time per
    accelerator of this machine with the local executor)."""

    def __init__(self, settings: ServerSettings, *, after_job: Callable[[], None]):
        self.settings = settings
        self.roots = settings.roots
        self.limits = Limits(
            max_duration_s=settings.max_media_duration_s,
            max_frame_side_px=settings.max_frame_side_px,
        )
        self.data_dir = Path(settings.data_dir).resolve()
        self.jobs = JobManager(workers=settings.workers, max_queue=settings.max_queue)
        self.executor = make_executor(
            settings.ray, replicas=settings.workers, roots=self.roots, data_dir=self.data_dir
        )
        self.after_job = after_job
        """Called (in a thread) when a job has ended: the retention sweep."""
        self._tasks: set[asyncio.Task] = set()

    def submit(self, request: pb.ScoreRequest, path: str) -> tuple[Job, bool]:
        """(job, joined): the running job computing the same thing, or a new queued one.
        Raises the request's errors (bad options, unknown backend, full queue)."""
        fmt = request.audio_format or "pcm_s16le"
        if fmt not in convert.AUDIO_FORMATS:
            raise BadRequestError(
                f"audio_format must be {' or '.join(convert.AUDIO_FORMATS)}, got {fmt!r}"
            )
        options = convert.options_from_request(request)
        entry = backend_entry(options.backend)
        options = self._server_paths(options, entry.path_options)
        job, joined = self.jobs.admit(_request_key(request, path, options=options, fmt=fmt))
        if not joined:
            job.uses = (Path(path), self.data_dir / "jobs" / job.job_id)
            work = ScoreWork(
                job_id=job.job_id,
                path=path,
                options=options,
                out_dir=self.data_dir / "jobs" / job.job_id,
                roots=self.roots,
                limits=self.limits,
                audio_format=fmt,
                max_message_bytes=self.settings.max_message_bytes,
            )
            device = entry.device_for(options.backend_options)
            if not self.executor.one_job_per_accelerator:
                device = "cpu"  # the executor places GPU work on GPU replicas itself
            resources = entry.resources_for(options.backend_options)
            job.task = asyncio.create_task(self._run(job, work, device, resources))
            self._tasks.add(job.task)
            job.task.add_done_callback(self._tasks.discard)
        return job, joined

    def _server_paths(self, options: ScoreOptions, path_options) -> ScoreOptions:
        """``music`` and the backend options that name files or folders, resolved inside the
        media roots (``upload:ID`` names an uploaded file)."""
        resolved = {
            name: self._server_path(value) if name in path_options else value
            for name, value in options.backend_options.items()
        }
        music = self._server_path(options.music) if options.music else None
        return dataclasses.replace(options, backend_options=resolved, music=music)

    def _server_path(self, value: str) -> str:
        if value.startswith(UPLOAD_PREFIX):
            return str(find_upload(self.data_dir / "uploads", value[len(UPLOAD_PREFIX) :]))
        return str(resolve_media_path(value, self.roots, folder=None))

    async def _run(self, job: Job, work: ScoreWork, device: str, resources: Resources):
        """Compute one Score job on the executor, publishing its events to the job's log."""
        job.publish(pb.ScoreEvent(accepted=pb.JobAccepted(job_id=job.job_id)))
        result = None
        try:
            async with self.jobs.slot(job, device=device):
                events = self.executor.stream(work, resources=resources, cancel=job.cancel)
                async for event in events:
                    kind = event.WhichOneof("event")
                    if kind == "progress":
                        job.stage, job.fraction = event.progress.stage, event.progress.fraction
                    if kind == "result":  # published once the job's state says done
                        result = event
                    else:
                        job.publish(event)
            if result is None:
                raise WorkerLostError("the job's work ended without a result; score again")
            job.artifacts = {a.name: a.path for a in result.result.artifacts}
            self.jobs.finished(job, "done")
            job.publish(result)
        except JobCancelled:
            self.jobs.finished(job, "cancelled")
        except Exception as exc:  # noqa: BLE001 — a failing job never takes the server down
            if isinstance(exc, WorkerLostError):  # its half-written folder, if any
                await asyncio.to_thread(
                    remove_partials, work.out_dir.parent, only=str(work.out_dir)
                )
            job.failure = status_for(exc)
            self.jobs.finished(job, "failed", job.failure[1])
        finally:
            if job.state in ACTIVE:  # cancelled while queued, or the server is shutting down
                self.jobs.finished(job, "cancelled")
            job.close_log()
            await asyncio.to_thread(self.after_job)

    async def follow(self, job: Job, *, joined: bool = False):
        """Replay a job's log from the start, then follow it live; end as the job ended
        (raising JobCancelled, or JobFailed with the job's status)."""
        job.followers += 1
        try:
            seen = 0
            while True:
                changed = job.changed
                while seen < len(job.events):
                    event = job.events[seen]
                    seen += 1
                    if joined and seen == 1:
                        event = pb.ScoreEvent(
                            accepted=pb.JobAccepted(job_id=job.job_id, joined=True)
                        )
                    yield event
                if job.log_closed:
                    break
                await changed.wait()
        finally:
            job.followers -= 1
            job.release_log()
        if job.state == "cancelled":
            raise JobCancelled(f"job {job.job_id} was cancelled")
        if job.state == "failed":
            raise JobFailed(*job.failure)

    async def close(self) -> None:
        """Cancel every job still queued or running and wait for them to end (shutdown)."""
        for job in list(self.jobs.jobs.values()):
            if job.state in ACTIVE:
                cancel(job)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=30)
        await self.executor.close()


def cancel(job: Job) -> None:
    """Stop a job: a running one at its worker's next event, a queued one at once."""
    job.cancel.set()
    if job.state == "queued" and job.task is not None:
        job.task.cancel()


def make_executor(
    ray_address: str, *, replicas: int, roots: tuple[Path, ...], data_dir: Path
) -> Executor:
    """The local executor, or (``ray_address`` set: ``auto`` or ``HOST:PORT``) the Ray executor
    with ``replicas`` CPU replicas, after checking every node sees ``roots`` and ``data_dir``."""
    if not ray_address:
        return LocalExecutor()
    from v2m.server.ray_executor import RayExecutor

    return RayExecutor(ray_address, replicas=replicas, roots=roots, data_dir=data_dir)


def _request_key(request: pb.ScoreRequest, path: str, *, options: ScoreOptions, fmt: str) -> str:
    """What a Score request computes: the media file's identity and every parameter."""
    keyed = pb.ScoreRequest()
    keyed.CopyFrom(request)
    keyed.ClearField("media")
    keyed.backend, keyed.audio_format = options.backend, fmt
    stat = os.stat(path)
    digest = hashlib.sha256(keyed.SerializeToString(deterministic=True))
    digest.update(f"\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()
