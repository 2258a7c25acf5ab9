"""The ``v2m.v1.ScoringService`` implementation (grpc.aio).

Each RPC runs the blocking model code in a worker thread and streams its events through an
asyncio queue, so the event loop keeps serving other clients, health checks included. A client
that cancels (or whose deadline passes) stops receiving at once; a failing request is answered
with the status from :mod:`v2m.server.errors` and never takes the server down.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import numpy as np

from v2m import __version__
from v2m.model.backends import create_backend, list_backends
from v2m.model.errors import InvalidInputError
from v2m.server.errors import LimitExceededError, status_for
from v2m.server.jobs import Job, JobManager
from v2m.server.paths import resolve_media_path
from v2m.server.settings import ServerSettings
from v2m.server.uploads import UploadStore, find_upload
from v2m.v1 import scoring_pb2 as pb
from v2m.v1 import scoring_pb2_grpc as pb_grpc

STEM_CHUNK_FRAMES = 16384
_END = object()


class JobCancelled(Exception):
    """Raised in a worker thread at its next event once its job is cancelled."""


class _Stream:
    """Thread → event loop bridge: ``emit`` from the worker, ``async for`` in the handler."""

    def __init__(self, loop: asyncio.AbstractEventLoop, cancelled: threading.Event | None = None):
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=256)
        self.cancelled = cancelled or threading.Event()

    def emit(self, item) -> None:
        if self.cancelled.is_set():
            raise JobCancelled("the job was cancelled")
        asyncio.run_coroutine_threadsafe(self.queue.put(item), self.loop).result()

    async def run(self, work: Callable[[], None]) -> AsyncIterator:
        closed = threading.Event()

        def target() -> None:
            try:
                work()
                self.emit(_END)
            except BaseException as exc:  # handed to the handler, answered as a status
                if not closed.is_set():
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
            # The handler is done (finished, failed, client gone, deadline): the worker stops
            # at its next event.
            closed.set()
            self.cancelled.set()
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
    _check_limits(settings, str(path))
    return str(path)


def _check_limits(settings: ServerSettings, path: str) -> None:
    """Refuse media longer or larger than the server's limits before any decoding."""
    from v2m.model.media import probe

    info = probe(path)
    if info.duration_s > settings.max_media_duration_s:
        raise LimitExceededError(
            f"media is {info.duration_s:.1f} s long; this server accepts at most "
            f"{settings.max_media_duration_s:.0f} s (select a range with in_s/out_s)"
        )
    v = info.video
    if v and max(v.width, v.height) > settings.max_frame_side_px:
        raise LimitExceededError(
            f"frame size {v.width}x{v.height} exceeds this server's limit of "
            f"{settings.max_frame_side_px} pixels per side"
        )


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
    interleaved = np.ascontiguousarray(audio.T)
    if fmt == "f32le":
        return interleaved.astype("<f4").tobytes()
    return (np.clip(interleaved, -1, 1) * 32767).round().astype("<i2").tobytes()


class ScoringService(pb_grpc.ScoringServiceServicer):
    def __init__(self, settings: ServerSettings):
        self.settings = settings
        self._streams: dict[str, int] = {}
        self.jobs = JobManager(workers=settings.workers, max_queue=settings.max_queue)
        self.data_dir = Path(settings.data_dir).resolve()
        (self.data_dir / "jobs").mkdir(parents=True, exist_ok=True)

    def _open_stream(self, context) -> str:
        """Count a stream against its client's limit (LimitExceededError when over)."""
        peer = context.peer().rsplit(":", 1)[0]  # the client's address, any port
        if self._streams.get(peer, 0) >= self.settings.max_streams_per_client:
            raise LimitExceededError(
                f"this client already has {self._streams[peer]} streams open (limit "
                f"{self.settings.max_streams_per_client}); wait for one to finish"
            )
        self._streams[peer] = self._streams.get(peer, 0) + 1
        return peer

    def _close_stream(self, peer: str) -> None:
        self._streams[peer] -= 1
        if not self._streams[peer]:
            del self._streams[peer]

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
            peer = self._open_stream(context)
        except Exception as exc:  # noqa: BLE001
            await self._fail(context, exc)
            return
        try:
            async for event in handler(request, context):
                yield event
        finally:
            self._close_stream(peer)

    async def _analyze(self, request, context):
        from v2m.model.analysis import AnalysisSettings, analyze

        try:
            path = _media_path(self.settings, request.media)
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
        from v2m.model.outputs import write_outputs
        from v2m.model.pipeline import score

        try:
            path = _media_path(self.settings, request.media)
            fmt = request.audio_format or "pcm_s16le"
            if fmt not in ("pcm_s16le", "f32le"):
                raise InvalidInputError(f"audio_format must be pcm_s16le or f32le, got {fmt!r}")
            backend = request.backend or "composer"
            create_backend(backend)  # unknown names fail before any work
            job = self.jobs.admit()
        except Exception as exc:  # noqa: BLE001
            await self._fail(context, exc)
            return
        yield _publish(job, pb.ScoreEvent(accepted=pb.JobAccepted(job_id=job.job_id)))
        stream = _Stream(asyncio.get_running_loop(), cancelled=job.cancel)
        result: dict = {}

        def progress(fraction: float, stage: str) -> None:
            job.stage, job.fraction = stage, fraction
            stream.emit(pb.ScoreEvent(progress=pb.Progress(stage=stage, fraction=fraction)))

        def work() -> None:
            scored = score(
                path,
                prompt=request.prompt or None,
                style=request.style or None,
                in_s=request.in_s or None,
                out_s=request.out_s or None,
                seed=request.seed,
                backend=backend,
                markers_s=list(request.markers_s),
                bpm=request.bpm or None,
                key=request.key or None,
                meter=request.meter or None,
                stems=tuple(request.stems) or None,
                duck_dialogue=request.duck_dialogue,
                progress=progress,
            )
            progress(1.0, "writing artifacts")
            final = self.data_dir / "jobs" / job.job_id
            partial = final.with_name(f".{job.job_id}.partial")
            paths = write_outputs(scored, partial, preview=False, plot=request.want_plot)
            if job.cancel.is_set():  # last chance to stop before the folder appears
                raise JobCancelled("the job was cancelled")
            partial.rename(final)  # the whole folder appears at once
            result["job"] = scored
            result["artifacts"] = {
                k: str(final / Path(v).relative_to(partial)) for k, v in paths.items()
            }

        try:
            async with self.jobs.slot(job):
                async for event in stream.run(work):
                    yield _publish(job, event)
            scored = result["job"]
            job.artifacts = result["artifacts"]
            yield _publish(job, pb.ScoreEvent(curve=_uniform(scored.request.curve)))
            plan = _plan(scored)
            yield _publish(job, pb.ScoreEvent(plan=plan))
            r = scored.result
            for name, audio in [*r.stems.items(), ("mix", r.mix)]:
                n = audio.shape[1]
                for start in range(0, n, STEM_CHUNK_FRAMES):
                    piece = audio[:, start : start + STEM_CHUNK_FRAMES]
                    yield _publish(
                        job,
                        pb.ScoreEvent(
                            stem=pb.StemChunk(
                                name=name,
                                sample_rate_hz=r.sample_rate,
                                channels=audio.shape[0],
                                offset_frames=start,
                                format=fmt,
                                data=_pcm(piece, fmt),
                                last=start + STEM_CHUNK_FRAMES >= n,
                            )
                        ),
                    )
            loud = r.metadata["loudness"]
            self.jobs.finished(job, "done")
            yield _publish(
                job,
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
            await context.abort(grpc.StatusCode.CANCELLED, f"job {job.job_id} was cancelled")
        except Exception as exc:  # noqa: BLE001
            code, message = status_for(exc)
            self.jobs.finished(job, "failed", message)
            await context.abort(code, message)
        finally:
            if job.state in ("queued", "running"):  # the client went away or the deadline hit
                job.cancel.set()
                self.jobs.finished(job, "cancelled")
            _remove_partial(self.data_dir, job.job_id)
            job.close_log()

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

    async def WatchJob(self, request, context):  # noqa: N802
        job = self.jobs.get(request.job_id)
        if job is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no job {request.job_id!r}")
        if job.log_closed and not job.events:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"job {job.job_id} has finished ({job.state}); use GetJob",
            )
        job.watchers += 1
        try:
            seen = 0
            while True:
                changed = job.changed
                while seen < len(job.events):
                    seen += 1
                    yield job.events[seen - 1]
                if job.log_closed:
                    break
                await changed.wait()
        finally:
            job.watchers -= 1
            job.release_log()
        if job.state == "cancelled":
            await context.abort(grpc.StatusCode.CANCELLED, f"job {job.job_id} was cancelled")
        if job.state == "failed":
            await context.abort(grpc.StatusCode.ABORTED, f"job {job.job_id} failed: {job.error}")

    async def GetJob(self, request, context):  # noqa: N802
        job = self.jobs.get(request.job_id)
        if job is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no job {request.job_id!r}")
        return _job(job)

    async def CancelJob(self, request, context):  # noqa: N802
        job = self.jobs.get(request.job_id)
        if job is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no job {request.job_id!r}")
        job.cancel.set()
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


def _publish(job: Job, event):
    """Record an event in the job's log (for WatchJob) and hand it on."""
    job.events.append(event)
    job.notify()
    return event


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


def _remove_partial(data_dir: Path, job_id: str) -> None:
    """A cancelled or failed job leaves nothing behind."""
    partial = data_dir / "jobs" / f".{job_id}.partial"
    if partial.exists():
        shutil.rmtree(partial, ignore_errors=True)


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
    )
