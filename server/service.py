"""The ``v2m.v1.ScoringService`` implementation (grpc.aio).

Each RPC runs the blocking model code in a worker thread and streams its events through an
asyncio queue, so the event loop keeps serving other clients, health checks included. A client
that cancels (or whose deadline passes) stops receiving at once; a failing request is answered
with the status from :mod:`v2m.server.errors` and never takes the server down.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator, Callable

import numpy as np

from v2m import __version__
from v2m.model.backends import create_backend, list_backends
from v2m.model.errors import InvalidInputError
from v2m.server.errors import status_for
from v2m.server.paths import resolve_media_path
from v2m.server.settings import ServerSettings
from v2m.v1 import scoring_pb2 as pb
from v2m.v1 import scoring_pb2_grpc as pb_grpc

STEM_CHUNK_FRAMES = 16384
_END = object()


class _Stream:
    """Thread → event loop bridge: ``emit`` from the worker, ``async for`` in the handler."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=256)
        self.cancelled = threading.Event()

    def emit(self, item) -> None:
        if self.cancelled.is_set():
            raise asyncio.CancelledError("the client went away")
        asyncio.run_coroutine_threadsafe(self.queue.put(item), self.loop).result()

    async def run(self, work: Callable[[], None]) -> AsyncIterator:
        def target() -> None:
            try:
                work()
                self.emit(_END)
            except BaseException as exc:  # handed to the handler, answered as a status
                if not self.cancelled.is_set():
                    asyncio.run_coroutine_threadsafe(self.queue.put(exc), self.loop).result()

        task = self.loop.run_in_executor(None, target)
        try:
            while True:
                item = await self.queue.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            # A client that left (or a deadline) stops the worker at its next event.
            self.cancelled.set()
            while not self.queue.empty():  # unblock a worker waiting on a full queue
                self.queue.get_nowait()
            self.task = task


def _media_path(settings: ServerSettings, media: pb.MediaRef) -> str:
    which = media.WhichOneof("source")
    if which == "path":
        return str(resolve_media_path(media.path, settings.roots))
    if which == "upload_id":
        raise InvalidInputError("uploads are not supported by this server version yet")
    raise InvalidInputError("request names no media (set media.path)")


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

    async def _fail(self, context, error: BaseException) -> None:
        code, message = status_for(error)
        await context.abort(code, message)

    async def Analyze(self, request, context):  # noqa: N802 (gRPC method names)
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

    async def Score(self, request, context):  # noqa: N802
        from v2m.model.pipeline import score

        try:
            path = _media_path(self.settings, request.media)
            fmt = request.audio_format or "pcm_s16le"
            if fmt not in ("pcm_s16le", "f32le"):
                raise InvalidInputError(f"audio_format must be pcm_s16le or f32le, got {fmt!r}")
            backend = request.backend or "composer"
            create_backend(backend)  # unknown names fail before any work
        except Exception as exc:  # noqa: BLE001
            await self._fail(context, exc)
            return
        job_id = uuid.uuid4().hex
        yield pb.ScoreEvent(accepted=pb.JobAccepted(job_id=job_id))
        stream = _Stream(asyncio.get_running_loop())
        result: dict = {}

        def progress(fraction: float, stage: str) -> None:
            stream.emit(pb.ScoreEvent(progress=pb.Progress(stage=stage, fraction=fraction)))

        def work() -> None:
            result["job"] = score(
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

        try:
            async for event in stream.run(work):
                yield event
            job = result["job"]
            yield pb.ScoreEvent(curve=_uniform(job.request.curve))
            plan = _plan(job)
            yield pb.ScoreEvent(plan=plan)
            r = job.result
            for name, audio in [*r.stems.items(), ("mix", r.mix)]:
                n = audio.shape[1]
                for start in range(0, n, STEM_CHUNK_FRAMES):
                    piece = audio[:, start : start + STEM_CHUNK_FRAMES]
                    yield pb.ScoreEvent(
                        stem=pb.StemChunk(
                            name=name,
                            sample_rate_hz=r.sample_rate,
                            channels=audio.shape[0],
                            offset_frames=start,
                            format=fmt,
                            data=_pcm(piece, fmt),
                            last=start + STEM_CHUNK_FRAMES >= n,
                        )
                    )
            loud = r.metadata["loudness"]
            yield pb.ScoreEvent(
                result=pb.ScoreResult(
                    job_id=job_id,
                    plan=plan,
                    midi=r.midi or b"",
                    duration_s=job.request.duration_s,
                    loudness=pb.Loudness(
                        integrated_lufs=loud["integrated_lufs"],
                        true_peak_dbtp=loud["true_peak_dbtp"],
                        target_lufs=loud["target_lufs"],
                    ),
                    metadata_json=json.dumps(r.metadata, default=float),
                )
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            await self._fail(context, exc)

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
