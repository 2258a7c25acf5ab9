"""Conversions between the service contract (``v2m.v1`` messages) and the domain types.

Proto3 has no "unset" for scalars: 0 and empty mean "not given" in a ``ScoreRequest`` (as
``scoring.proto`` documents) and become ``None`` in ``ScoreOptions`` — which then validates
every value, exactly as for the command line and the watch folder. Which request field carries
which option is the client's ``REQUEST_FIELDS``: one table for both sides (a test holds it
complete).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from v2m.model.options import ScoreOptions
from v2m.nle_plugins.client import REQUEST_FIELDS
from v2m.v1 import scoring_pb2 as pb

_UNSET_WHEN_EMPTY = ("prompt", "style", "bpm", "key", "meter", "stems", "in_s", "out_s", "music")
STEM_CHUNK_FRAMES = 65536
"""Most sample frames per StemChunk (1.4 s at 48 kHz; 512 KiB of stereo float32); fewer when
the server's message limit is smaller."""
AUDIO_FORMATS = ("pcm_s16le", "f32le")


def options_from_request(request: pb.ScoreRequest) -> ScoreOptions:
    """The ScoreOptions a ScoreRequest asks for (InvalidInputError names a bad field)."""
    values = {}
    for option, name in REQUEST_FIELDS.items():
        value = getattr(request, name)
        if name in ("stems", "markers_s"):
            value = tuple(value)
        elif name == "backend_options":
            value = dict(value)
        values[option] = (value or None) if option in _UNSET_WHEN_EMPTY else value
    values["backend"] = values["backend"] or "composer"
    return ScoreOptions(**values)


# ------------------------------------------------------------------------------ analysis


def curve_message(curve) -> pb.UniformCurve:
    """An ``EventCurve`` as a UniformCurve."""
    return pb.UniformCurve(
        start_s=curve.start_s,
        rate_hz=curve.rate_hz,
        values=curve.values.tolist(),
        source=curve.source,
    )


def summary_message(analysis) -> pb.AnalysisSummary:
    """An ``Analysis`` as an AnalysisSummary."""
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
        smoothed=curve_message(c.smoothed),
        peaks_s=analysis.peaks_s.tolist(),
    )


# -------------------------------------------------------------------------------- scoring


def planned_message(request) -> pb.HitPlan:
    """The hits a backend is asked for (a ``ScoreRequest``), before any music."""
    return pb.HitPlan(
        hits=[
            pb.HitPlacement(kind=h.kind, planned_s=h.time_s, strength=h.strength)
            for h in request.hits
        ],
        prompt=request.prompt,
        frame_rate_hz=request.frame_rate_hz,
        duration_s=request.duration_s,
    )


def plan_message(scored) -> pb.HitPlan:
    """Where a ``ScoreJob``'s hits landed, its beats, tempo, style and key."""
    r = scored.result
    meta = r.metadata
    beats = [float(t) for t in r.tempo_map.beat_times_s if 0 <= t <= scored.request.duration_s]
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
        prompt=scored.request.prompt,
        prompt_source=scored.prompt_source,
        frame_rate_hz=scored.request.frame_rate_hz,
        duration_s=scored.request.duration_s,
    )


def result_message(job_id: str, scored, artifacts: dict[str, str]) -> pb.ScoreResult:
    """The last event of a Score stream."""
    r = scored.result
    loud = r.metadata["loudness"]
    return pb.ScoreResult(
        job_id=job_id,
        plan=plan_message(scored),
        midi=r.midi or b"",
        duration_s=scored.request.duration_s,
        loudness=pb.Loudness(
            integrated_lufs=loud["integrated_lufs"],
            true_peak_dbtp=loud["true_peak_dbtp"],
            target_lufs=loud["target_lufs"],
        ),
        metadata_json=json.dumps(r.metadata, default=float),
        artifacts=artifact_messages(artifacts),
        files=inline_files(artifacts),
    )


def pcm(audio: np.ndarray, fmt: str) -> bytes:
    """float[channels, n] → interleaved little-endian PCM bytes in ``fmt``."""
    interleaved = audio.T.astype("<f4")  # a C-ordered copy, (n, channels)
    if fmt == "f32le":
        return interleaved.tobytes()
    np.clip(interleaved, -1, 1, out=interleaved)
    interleaved *= 32767
    return np.rint(interleaved, out=interleaved).astype("<i2").tobytes()


def stem_chunks(name: str, audio: np.ndarray, sample_rate: int, fmt: str, *, max_bytes: int):
    """``audio`` (channels, frames) as StemChunk messages of at most STEM_CHUNK_FRAMES frames,
    each message within ``max_bytes``."""
    channels, n = audio.shape
    data = memoryview(pcm(audio, fmt))  # converted once, then sliced without copies
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


def artifact_messages(paths: dict[str, str]) -> list[pb.Artifact]:
    return [pb.Artifact(name=k, path=v) for k, v in sorted(paths.items())]


def inline_files(paths: dict[str, str]) -> list[pb.FileBlob]:
    """The small artifacts (hit report, plot) as bytes, for clients on other machines."""
    return [
        pb.FileBlob(name=Path(paths[k]).name, data=Path(paths[k]).read_bytes())
        for k in ("hits", "plot")
        if k in paths
    ]


def job_message(job) -> pb.Job:
    """A ``v2m.server.jobs.Job`` as the Job message."""
    return pb.Job(
        job_id=job.job_id,
        state=job.state,
        progress=pb.Progress(stage=job.stage, fraction=job.fraction),
        error=job.error,
        artifacts=artifact_messages(job.artifacts),
    )


def backend_message(entry) -> pb.BackendInfo:
    """A backend's entry as BackendInfo: can it run here, on what, and its settings."""
    try:
        backend = entry.factory()
        ok, why = backend.availability()
        device = backend.device
    except Exception as exc:  # noqa: BLE001 — report, never fail the listing
        ok, why, device = False, str(exc), "cpu"
    return pb.BackendInfo(
        name=entry.name,
        summary=entry.summary,
        device=device,
        available=ok,
        reason=why,
        options=entry.options,
    )
