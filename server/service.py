"""The ``v2m.v1.ScoringService`` implementation (grpc.aio).

Each RPC runs the blocking model code in a worker thread and streams its events through an
asyncio queue, so the event loop keeps serving other clients, health checks included. A client
that cancels (or whose deadline passes) stops receiving at once; a failing request is answered
with the status from :mod:`v2m.server.errors` and never takes the server down.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np

from v2m import __version__
from v2m.model.backends import create_backend, list_backends
from v2m.model.errors import InvalidInputError
from v2m.model.options import Limits
from v2m.server.convert import options_from_request
from v2m.server.errors import LimitExceededError, status_for
from v2m.server.jobs import ACTIVE, Job, JobManager
from v2m.server.paths import resolve_media_path
from v2m.server.retention import clean_partial_work, sweep
from v2m.server.score_job import JobCancelled
from v2m.server.settings import ServerSettings
from v2m.server.uploads import UploadStore, find_upload
from v2m.v1 import scoring_pb2 as pb
from v2m.v1 import scoring_pb2_grpc as pb_grpc

log = logging.getLogger("v2m.server")
STEM_CHUNK_FRAMES = 65536
"""Most sample frames per StemChunk (1.4 s at 48 kHz; 512 KiB of stereo float32); fewer when
the server's message limit is smaller."""
_END = object()


@dataclass(frozen=True)
class _Music:
    """The worker's finished ``ScoreJob``, handed to the loop to stream while it writes files."""

    scored: object


class _Stream:
    """Thread → event loop bridge: ``emit`` from the worker, ``async for`` in the handler.

    The worker stops (JobCancelled at its next ``emit``) once ``cancelled`` is set or the
    reading side is done: finished, failed, client gone, deadline passed.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, cancelled: threading.Event | None = None):
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=256)
        self.cancelled = cancelled or threading.Event()
        self.closed = threading.Event()

    def emit(self, item) -> None:
        if self.cancelled.is_set() or self.closed.is_set():
            raise JobCancelled("the job was cancelled")
        asyncio.run_coroutine_threadsafe(self.queue.put(item), self.loop).result()

    async def run(self, work: Callable[[], None]) -> AsyncIterator:
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
                item = await self.queue.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.closed.set()
            while not self.queue.empty():  # unblock a worker waiting on a full queue
                self.queue.get_nowait()

    def _deliver(self, item) -> None:
        while self.queue.full():  # an error outranks events nobody will read
            self.queue.get_nowait()
        self.queue.put_nowait(item)


def _media_path(settings: ServerSettings, media: pb.MediaRef) -> str:
    which = media.WhichOneof("source")
    if which == "path":
        path = resolve_media_path(media.path, settings.roots)
    elif which == "upload_id":
        path = find_upload(Path(settings.data_dir).resolve() / "uploads", media.upload_id)
    else:
        raise InvalidInputError("request names no media (set media.path or media.upload_id)")
    return str(path)


def _summary(analysis) -> pb.AnalysisSummary:
    m = analysis.media
    v = m.video
    c = analysis.curves
    return pb.AnalysisSummary(
        media=pb.MediaSummary(
            duration_s=m.duration_s,
            frame_rate_hz=v.frame_rate_hz if v else 0.0,
            width=v.display_width if v else 0,
            height=v.display_height if v else 0,
            has_audio=m.has_audio,
            variable_frame_rate=v.is_variable_rate if v else False,
            rotation_deg=v.rotation_deg if v else 0,
        ),
        encoder=analysis.encoder,
        cuts=[pb.Cut(time_s=x.time_s, confidence=x.confidence) for x in analysis.cuts],
        raw=pb.CurveChunk(times_s=c.raw_times_s.tolist(), values=c.raw.tolist()),
        smoothed=_uniform(c.smoothed),
        peaks_s=analysis.peaks_s.tolist(),
    )


def _uniform(curve) -> pb.UniformCurve:
    return pb.UniformCurve(
        start_s=curve.start_s,
        rate_hz=curve.rate_hz,
        values=curve.values.tolist(),
        source=curve.source,
    )


def _pcm(audio: np.ndarray, fmt: str) -> bytes:
    """float[channels, n] → interleaved little-endian PCM bytes in ``fmt``."""
    interleaved = audio.T.astype("<f4")  # a C-ordered copy, (n, channels)
    if fmt == "f32le":
        return interleaved.tobytes()
    np.clip(interleaved, -1, 1, out=interleaved)
    interleaved *= 32767
    return np.rint(interleaved, out=interleaved).astype("<i2").tobytes()


class ScoringService(pb_grpc.ScoringServiceServicer):
    def __init__(self, settings: ServerSettings):
        self.settings = settings
        self._streams: dict[str, int] = {}
        self.jobs = JobManager(workers=settings.workers, max_queue=settings.max_queue)
        self.limits = Limits(
            max_duration_s=settings.max_media_duration_s,
            max_frame_side_px=settings.max_frame_side_px,
        )
        self.data_dir = Path(settings.data_dir).resolve()
        (self.data_dir / "jobs").mkdir(parents=True, exist_ok=True)
        self._tasks: set[asyncio.Task] = set()
        self.expired: dict[str, str] = {}
        """Job id → why its results are gone (retention), for GetJob's NOT_FOUND."""
        for path in clean_partial_work(self.data_dir):
            log.info('{"event": "removed partial work", "path": "%s"}', path)
        self.sweep()

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
        for job in list(self.jobs.jobs.values()):
            if job.state in ACTIVE:
                _cancel(job)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=30)

    def _open_stream(self, context) -> str:
        """Count a stream against its client's allowance and the server's (LimitExceededError
        when over). A client is one connection (address and port: each panel, each channel)
        with the token it presents — never a whole host, which behind a panel server or NAT is
        every user."""
        client = _client_key(context)
        s, open_now = self.settings, sum(self._streams.values())
        if open_now >= s.max_streams_total:
            raise LimitExceededError(
                f"the server has {open_now} streams open (limit {s.max_streams_total}); retry soon"
            )
        if self._streams.get(client, 0) >= s.max_streams_per_client:
            raise LimitExceededError(
                f"this client already has {self._streams[client]} streams open (limit "
                f"{s.max_streams_per_client}); wait for one to finish"
            )
        self._streams[client] = self._streams.get(client, 0) + 1
        return client

    def _close_stream(self, client: str) -> None:
        self._streams[client] -= 1
        if not self._streams[client]:
            del self._streams[client]

    async def _fail(self, context, error: BaseException) -> None:
        code, message = status_for(error)
        await context.abort(code, message)

    async def Analyze(self, request, context):  # noqa: N802 (gRPC method names)
        async for event in self._counted(self._analyze, request, context):
            yield event

    async def Score(self, request, context):  # noqa: N802
        async for event in self._counted(self._score, request, context):
            yield event

    async def _counted(self, handler, request, context):
        """Run a streaming handler inside the client's stream allowance."""
        try:
            client = self._open_stream(context)
        except Exception as exc:  # noqa: BLE001
            await self._fail(context, exc)
            return
        try:
            async for event in handler(request, context):
                yield event
        finally:
            self._close_stream(client)

    async def _analyze(self, request, context):
        from v2m.model.analysis import AnalysisSettings, analyze

        try:
            path = _media_path(self.settings, request.media)
            self.limits.check_media(path)
            settings = AnalysisSettings(
                encoder=request.encoder or None,
                rate_hz=request.curve_rate_hz or AnalysisSettings.rate_hz,
            )
        except Exception as exc:  # noqa: BLE001 — every error becomes a status
            await self._fail(context, exc)
            return
        stream = _Stream(asyncio.get_running_loop())
        result: dict = {}

        def on_event(kind: str, data) -> None:
            if kind == "curve":
                times, values = data
                stream.emit(
                    pb.AnalyzeEvent(
                        curve=pb.CurveChunk(times_s=times.tolist(), values=values.tolist())
                    )
                )
            elif kind == "cut":
                stream.emit(
                    pb.AnalyzeEvent(cut=pb.Cut(time_s=data.time_s, confidence=data.confidence))
                )

        def progress(fraction: float, stage: str) -> None:
            stream.emit(pb.AnalyzeEvent(progress=pb.Progress(stage=stage, fraction=fraction)))

        def work() -> None:
            result["analysis"] = analyze(
                path, settings=settings, progress=progress, on_event=on_event
            )

        try:
            async for event in stream.run(work):
                yield event
            yield pb.AnalyzeEvent(summary=_summary(result["analysis"]))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            await self._fail(context, exc)

    async def _score(self, request, context):
        try:
            path = _media_path(self.settings, request.media)
            fmt = request.audio_format or "pcm_s16le"
            if fmt not in ("pcm_s16le", "f32le"):
                raise InvalidInputError(f"audio_format must be pcm_s16le or f32le, got {fmt!r}")
            options = options_from_request(request)
            device = create_backend(options.backend, **options.backend_options).device
            key = _request_key(request, path, backend=options.backend, fmt=fmt)
            job, joined = self.jobs.admit(key)
        except Exception as exc:  # noqa: BLE001
            await self._fail(context, exc)
            return
        if not joined:
            job.uses = (Path(path), self.data_dir / "jobs" / job.job_id)
            job.task = asyncio.create_task(self._run_job(job, options, path, fmt, device))
            self._tasks.add(job.task)
            job.task.add_done_callback(self._tasks.discard)
        job.owners += 1
        try:
            async for event in self._follow(job, context, joined=joined):
                yield event
        finally:
            job.owners -= 1
            if job.owners == 0:  # nobody waits for it any more (client gone, deadline passed)
                _cancel(job)

    async def _run_job(self, job: Job, options, path: str, fmt: str, device: str):
        """Compute one Score job, publishing its events to the job's log (clients follow it)."""
        from v2m.server.score_job import run_score_job, source_for

        job.publish(pb.ScoreEvent(accepted=pb.JobAccepted(job_id=job.job_id)))
        stream = _Stream(asyncio.get_running_loop(), cancelled=job.cancel)
        result: dict = {}
        roots = self.settings.roots

        def progress(fraction: float, stage: str) -> None:
            job.stage, job.fraction = stage, fraction
            stream.emit(pb.ScoreEvent(progress=pb.Progress(stage=stage, fraction=fraction)))

        def on_request(req) -> None:
            stream.emit(pb.ScoreEvent(curve=_uniform(req.curve)))
            stream.emit(pb.ScoreEvent(planned=_planned(req)))

        def work() -> None:
            result["done"] = run_score_job(
                source_for(path, search_paths=roots),
                options,
                self.data_dir / "jobs" / job.job_id,
                limits=self.limits,
                media_check=lambda p: resolve_media_path(str(p), roots),
                progress=progress,
                cancel=job.cancel,
                on_request=on_request,
                on_music=lambda scored: stream.emit(_Music(scored)),  # sent while files write
            )

        try:
            async with self.jobs.slot(job, device=device):
                async for event in stream.run(work):
                    if isinstance(event, _Music):
                        await _publish_music(
                            job, event.scored, fmt, max_bytes=self.settings.max_message_bytes
                        )
                    else:
                        job.publish(event)
            done = result["done"]
            scored = done.scored
            job.artifacts = {k: str(v) for k, v in done.artifacts.items()}
            plan = _plan(scored)
            r = scored.result
            loud = r.metadata["loudness"]
            self.jobs.finished(job, "done")
            job.publish(
                pb.ScoreEvent(
                    result=pb.ScoreResult(
                        job_id=job.job_id,
                        plan=plan,
                        midi=r.midi or b"",
                        duration_s=scored.request.duration_s,
                        loudness=pb.Loudness(
                            integrated_lufs=loud["integrated_lufs"],
                            true_peak_dbtp=loud["true_peak_dbtp"],
                            target_lufs=loud["target_lufs"],
                        ),
                        metadata_json=json.dumps(r.metadata, default=float),
                        artifacts=_artifacts(job.artifacts),
                        files=_inline_files(job.artifacts),
                    )
                ),
            )
        except JobCancelled:
            self.jobs.finished(job, "cancelled")
        except Exception as exc:  # noqa: BLE001 — a failing job never takes the server down
            job.failure = status_for(exc)
            self.jobs.finished(job, "failed", job.failure[1])
        finally:
            if job.state in ACTIVE:  # cancelled while queued, or the server is shutting down
                self.jobs.finished(job, "cancelled")
            job.close_log()
            await asyncio.to_thread(self.sweep)

    async def _follow(self, job: Job, context, *, joined: bool = False):
        """Replay a job's log from the start, then follow it live; end as the job ended."""
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
            await context.abort(grpc.StatusCode.CANCELLED, f"job {job.job_id} was cancelled")
        if job.state == "failed":
            await context.abort(*job.failure)

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
            await self._fail(context, exc)
            return pb.UploadResult()
        return pb.UploadResult(upload_id=uid, bytes=size, already_present=present)

    async def _find_job(self, context, job_id: str) -> Job:
        """The job ``job_id``, or NOT_FOUND saying why (unknown, or its results expired)."""
        job = self.jobs.get(job_id)
        if job is not None:
            return job
        if job_id in self.expired:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"job {job_id!r} finished and its results were removed by the server's "
                f"retention policy ({self.expired[job_id]})",
            )
        await context.abort(
            grpc.StatusCode.NOT_FOUND,
            f"no job {job_id[:64]!r} on this server (finished jobs are forgotten when the "
            "server restarts)",
        )

    async def WatchJob(self, request, context):  # noqa: N802
        job = await self._find_job(context, request.job_id)
        if job.log_closed and not job.events:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"job {job.job_id} has finished ({job.state}); use GetJob",
            )
        async for event in self._follow(job, context):
            yield event

    async def GetJob(self, request, context):  # noqa: N802
        return _job(await self._find_job(context, request.job_id))

    async def CancelJob(self, request, context):  # noqa: N802
        job = await self._find_job(context, request.job_id)
        _cancel(job)
        return _job(job)

    async def GetServerInfo(self, request, context):  # noqa: N802
        s = self.settings
        return pb.ServerInfo(
            version=__version__,
            media_roots=[str(r) for r in s.roots],
            max_message_bytes=s.max_message_bytes,
            max_media_duration_s=s.max_media_duration_s,
            max_frame_side_px=s.max_frame_side_px,
            auth_required=bool(s.token),
        )

    async def ListBackends(self, request, context):  # noqa: N802
        infos = []
        for entry in list_backends():
            try:
                backend = entry.factory()
                ok, why = backend.availability()
                device = backend.device
            except Exception as exc:  # noqa: BLE001 — report, never fail the listing
                ok, why, device = False, str(exc), "cpu"
            infos.append(
                pb.BackendInfo(
                    name=entry.name, summary=entry.summary, device=device, available=ok, reason=why
                )
            )
        return pb.ListBackendsResponse(backends=infos)


def _client_key(context) -> str:
    """A client's identity for stream allowances: its connection (peer address and port) and
    a digest of the token it sent."""
    metadata = dict(context.invocation_metadata() or ())
    token = hashlib.sha256(str(metadata.get("authorization", "")).encode()).hexdigest()[:16]
    return f"{context.peer()}|{token}"


def _cancel(job: Job) -> None:
    """Stop a job: a running one at its worker's next event, a queued one at once."""
    job.cancel.set()
    if job.state == "queued" and job.task is not None:
        job.task.cancel()


def _request_key(request, path: str, *, backend: str, fmt: str) -> str:
    """What a Score request computes: the media file's identity and every parameter."""
    keyed = pb.ScoreRequest()
    keyed.CopyFrom(request)
    keyed.ClearField("media")
    keyed.backend, keyed.audio_format = backend, fmt
    stat = os.stat(path)
    digest = hashlib.sha256(keyed.SerializeToString(deterministic=True))
    digest.update(f"\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


async def _publish_music(job: Job, scored, fmt: str, *, max_bytes: int) -> None:
    """The placed hits, then every stem and the mix in chunks."""
    job.publish(pb.ScoreEvent(plan=_plan(scored)))
    r = scored.result
    for name, audio in [*r.stems.items(), ("mix", r.mix)]:
        for chunk in _stem_chunks(name, audio, r.sample_rate, fmt, max_bytes=max_bytes):
            job.publish(pb.ScoreEvent(stem=chunk))
        await asyncio.sleep(0)  # let the followers send while the next stem encodes


def _stem_chunks(name: str, audio: np.ndarray, sample_rate: int, fmt: str, *, max_bytes: int):
    """``audio`` (channels, frames) as StemChunk messages of at most STEM_CHUNK_FRAMES frames,
    each message within ``max_bytes``."""
    channels, n = audio.shape
    data = memoryview(_pcm(audio, fmt))  # converted once, then sliced without copies
    frame_bytes = channels * (4 if fmt == "f32le" else 2)
    step = max(1, min(STEM_CHUNK_FRAMES, (max_bytes - 1024) // frame_bytes))
    for start in range(0, n, step):
        yield pb.StemChunk(
            name=name,
            sample_rate_hz=sample_rate,
            channels=channels,
            offset_frames=start,
            format=fmt,
            data=bytes(data[start * frame_bytes : (start + step) * frame_bytes]),
            last=start + step >= n,
        )


def _artifacts(paths: dict) -> list[pb.Artifact]:
    return [pb.Artifact(name=k, path=v) for k, v in sorted(paths.items())]


def _job(job: Job) -> pb.Job:
    return pb.Job(
        job_id=job.job_id,
        state=job.state,
        progress=pb.Progress(stage=job.stage, fraction=job.fraction),
        error=job.error,
        artifacts=_artifacts(job.artifacts),
    )


def _inline_files(paths: dict) -> list[pb.FileBlob]:
    """The small artifacts (hit report, plot) as bytes, for clients on other machines."""
    return [
        pb.FileBlob(name=Path(paths[k]).name, data=Path(paths[k]).read_bytes())
        for k in ("hits", "plot")
        if k in paths
    ]


def _planned(request) -> pb.HitPlan:
    """The hits a backend is asked for (``v2m.model.types.ScoreRequest``), before any music."""
    return pb.HitPlan(
        hits=[
            pb.HitPlacement(kind=h.kind, planned_s=h.time_s, strength=h.strength)
            for h in request.hits
        ],
        prompt=request.prompt,
        frame_rate_hz=request.frame_rate_hz,
        duration_s=request.duration_s,
    )


def _plan(job) -> pb.HitPlan:
    r = job.result
    meta = r.metadata
    beats = [float(t) for t in r.tempo_map.beat_times_s if 0 <= t <= job.request.duration_s]
    return pb.HitPlan(
        hits=[
            pb.HitPlacement(
                kind=p.kind,
                planned_s=p.time_s,
                achieved_s=p.achieved_s,
                error_ms=p.error_ms,
                error_frames=p.error_frames,
                beat=p.beat,
                on_downbeat=p.on_downbeat,
                strength=p.strength,
            )
            for p in r.hit_report
        ],
        beats_s=beats,
        meter=r.tempo_map.meter,
        bpm_min=meta["tempo"]["bpm_min"],
        bpm_max=meta["tempo"]["bpm_max"],
        style=meta["style"],
        key=meta["key"],
        prompt=job.request.prompt,
        prompt_source=job.prompt_source,
        frame_rate_hz=job.request.frame_rate_hz,
        duration_s=job.request.duration_s,
    )
