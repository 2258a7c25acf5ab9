"""The ``v2m.v1.ScoringService`` handlers (grpc.aio; the WebSocket bridge calls them too).

Each handler translates its request onto the model or the job runner and its answer back;
every failure is raised as a typed error and answered with the status ``errors.status_for``
chooses, so a failing request never takes the server down. Streams count against a
per-connection allowance; stored results follow the retention policy.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

from v2m import __version__
from v2m.model.backends import list_backends
from v2m.server import convert
from v2m.server.errors import (
    BadRequestError,
    JobDeliveredError,
    OverAllowanceError,
    UnknownJobError,
    status_for,
)
from v2m.server.job_runner import JobRunner, cancel
from v2m.server.jobs import ACTIVE, Job
from v2m.server.paths import resolve_media_path
from v2m.server.retention import clean_partial_work, sweep
from v2m.server.settings import ServerSettings
from v2m.server.uploads import UploadStore, find_upload
from v2m.server.worker_stream import WorkerStream
from v2m.v1 import scoring_pb2 as pb
from v2m.v1 import scoring_pb2_grpc as pb_grpc

log = logging.getLogger("v2m.server")


class ScoringService(pb_grpc.ScoringServiceServicer):
    def __init__(self, settings: ServerSettings):
        self.settings = settings
        self.data_dir = Path(settings.data_dir).resolve()
        (self.data_dir / "jobs").mkdir(parents=True, exist_ok=True)
        self.runner = JobRunner(settings, after_job=self.sweep)
        self.jobs = self.runner.jobs
        self._streams: dict[str, int] = {}
        self.expired: dict[str, str] = {}
        """Job id → why its results are gone (retention), for GetJob's NOT_FOUND."""
        for path in clean_partial_work(self.data_dir):
            log.info('{"event": "removed partial work", "path": "%s"}', path)
        self.sweep()

    # ------------------------------------------------------------------- housekeeping

    def sweep(self) -> None:
        """Apply the retention policy (blocking: run it in a thread from the event loop)."""
        s = self.settings
        keep = [p for job in list(self.jobs.jobs.values()) if job.state in ACTIVE for p in job.uses]
        removed = sweep(
            self.data_dir,
            max_age_s=s.retention_max_age_s,
            max_bytes=s.retention_max_bytes,
            keep=keep,
        )
        for entry in removed:
            log.info(
                '{"event": "retention", "removed": "%s", "why": "%s"}', entry.path, entry.reason
            )
            if entry.path.parent.name == "jobs":
                self.jobs.jobs.pop(entry.path.name, None)
                self.expired[entry.path.name] = entry.reason
        while len(self.expired) > 10_000:
            self.expired.pop(next(iter(self.expired)))

    async def retention_loop(self, *, every_s: float = 3600.0) -> None:
        """Sweep periodically (also after every job), until cancelled."""
        while True:
            await asyncio.sleep(every_s)
            await asyncio.to_thread(self.sweep)

    async def close(self) -> None:
        """Cancel every job still queued or running and wait for them to end (shutdown)."""
        await self.runner.close()

    def _media_path(self, media: pb.MediaRef) -> str:
        which = media.WhichOneof("source")
        if which == "path":
            return str(resolve_media_path(media.path, self.settings.roots))
        if which == "upload_id":
            return str(find_upload(self.data_dir / "uploads", media.upload_id))
        raise BadRequestError("request names no media (set media.path or media.upload_id)")

    def _find_job(self, job_id: str) -> Job:
        """The job ``job_id``; UnknownJobError says why not (unknown, or results expired)."""
        job = self.jobs.get(job_id)
        if job is not None:
            return job
        if job_id in self.expired:
            raise UnknownJobError(
                f"job {job_id!r} finished and its results were removed by the server's "
                f"retention policy ({self.expired[job_id]})"
            )
        raise UnknownJobError(
            f"no job {job_id[:64]!r} on this server (finished jobs are forgotten when the "
            "server restarts)"
        )

    # ------------------------------------------------------------------ allowances

    def _open_stream(self, context) -> str:
        """Count a stream against its client's allowance and the server's. A client is one
        connection (address and port: each panel, each channel) with the token it presents —
        never a whole host, which behind a panel server or NAT is every user."""
        client = _client_key(context)
        s, open_now = self.settings, sum(self._streams.values())
        if open_now >= s.max_streams_total:
            raise OverAllowanceError(
                f"the server has {open_now} streams open (limit {s.max_streams_total}); retry soon"
            )
        if self._streams.get(client, 0) >= s.max_streams_per_client:
            raise OverAllowanceError(
                f"this client already has {self._streams[client]} streams open (limit "
                f"{s.max_streams_per_client}); wait for one to finish"
            )
        self._streams[client] = self._streams.get(client, 0) + 1
        return client

    def _close_stream(self, client: str) -> None:
        self._streams[client] -= 1
        if not self._streams[client]:
            del self._streams[client]

    async def _counted(self, handler, request, context):
        """Run a streaming handler inside the client's allowance; errors become statuses."""
        try:
            client = self._open_stream(context)
        except Exception as exc:  # noqa: BLE001 — every error becomes a status
            await context.abort(*status_for(exc))
            return
        try:
            async for event in handler(request, context):
                yield event
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            await context.abort(*status_for(exc))
        finally:
            self._close_stream(client)

    # -------------------------------------------------------------------- streams

    async def Analyze(self, request, context):  # noqa: N802 (gRPC method names)
        async for event in self._counted(self._analyze, request, context):
            yield event

    async def Score(self, request, context):  # noqa: N802
        async for event in self._counted(self._score, request, context):
            yield event

    async def _analyze(self, request, context):
        from v2m.model.analysis import AnalysisSettings, analyze

        path = self._media_path(request.media)
        self.runner.limits.check_media(path)
        settings = AnalysisSettings(
            encoder=request.encoder or None,
            rate_hz=request.curve_rate_hz or AnalysisSettings.rate_hz,
        )
        stream = WorkerStream(asyncio.get_running_loop())
        result: dict = {}

        def on_event(kind: str, data) -> None:
            if kind == "curve":
                times, values = data
                chunk = pb.CurveChunk(times_s=times.tolist(), values=values.tolist())
                stream.emit(pb.AnalyzeEvent(curve=chunk))
            elif kind == "cut":
                cut = pb.Cut(time_s=data.time_s, confidence=data.confidence)
                stream.emit(pb.AnalyzeEvent(cut=cut))

        def progress(fraction: float, stage: str) -> None:
            stream.emit(pb.AnalyzeEvent(progress=pb.Progress(stage=stage, fraction=fraction)))

        def work() -> None:
            result["analysis"] = analyze(
                path, settings=settings, progress=progress, on_event=on_event
            )

        async for event in stream.run(work):
            yield event
        yield pb.AnalyzeEvent(summary=convert.summary_message(result["analysis"]))

    async def _score(self, request, context):
        job, joined = self.runner.submit(request, self._media_path(request.media))
        job.owners += 1
        try:
            async for event in self.runner.follow(job, joined=joined):
                yield event
        finally:
            job.owners -= 1
            if job.owners == 0:  # nobody waits for it any more (client gone, deadline passed)
                cancel(job)

    async def WatchJob(self, request, context):  # noqa: N802
        try:
            job = self._find_job(request.job_id)
            if job.log_closed and not job.events:
                raise JobDeliveredError(f"job {job.job_id} has finished ({job.state}); use GetJob")
            async for event in self.runner.follow(job):
                yield event
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            await context.abort(*status_for(exc))

    async def UploadMedia(self, request_iterator, context):  # noqa: N802
        store = UploadStore(self.data_dir / "uploads", max_bytes=self.settings.max_upload_bytes)
        try:
            upload = store.begin()
            try:
                async for chunk in request_iterator:
                    upload.add(chunk)
                uid, size, present = upload.finish()
            finally:
                upload.discard()
        except Exception as exc:  # noqa: BLE001
            await context.abort(*status_for(exc))
            return pb.UploadResult()
        return pb.UploadResult(upload_id=uid, bytes=size, already_present=present)

    # ----------------------------------------------------------------------- unary

    async def GetJob(self, request, context):  # noqa: N802
        try:
            return convert.job_message(self._find_job(request.job_id))
        except UnknownJobError as exc:
            await context.abort(*status_for(exc))

    async def CancelJob(self, request, context):  # noqa: N802
        try:
            job = self._find_job(request.job_id)
        except UnknownJobError as exc:
            await context.abort(*status_for(exc))
        cancel(job)
        return convert.job_message(job)

    async def GetServerInfo(self, request, context):  # noqa: N802
        s = self.settings
        info = await asyncio.to_thread(self.runner.executor.info)
        return pb.ServerInfo(
            version=__version__,
            media_roots=[str(r) for r in s.roots],
            max_message_bytes=s.max_message_bytes,
            max_media_duration_s=s.max_media_duration_s,
            max_frame_side_px=s.max_frame_side_px,
            auth_required=bool(s.token),
            executor=info.name,
            nodes=[
                pb.NodeInfo(address=n.address, cpus=n.cpus, gpus=n.gpus, alive=n.alive)
                for n in info.nodes
            ],
            workers=s.workers,
        )

    async def ListBackends(self, request, context):  # noqa: N802
        return pb.ListBackendsResponse(
            backends=[convert.backend_message(entry) for entry in list_backends()]
        )


def _client_key(context) -> str:
    """A client's identity for stream allowances: its connection (peer address and port) and
    a digest of the token it sent."""
    metadata = dict(context.invocation_metadata() or ())
    token = hashlib.sha256(str(metadata.get("authorization", "")).encode()).hexdigest()[:16]
    return f"{context.peer()}|{token}"
