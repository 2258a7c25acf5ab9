"""``score()``: analysis → hit plan → backend → result; every door (CLI, server, watch folder,
editor plugins) calls this, so a result is the same whichever way it was asked for.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from v2m.model.analysis import Analysis, analyze
from v2m.model.backends import create_backend
from v2m.model.describe import describe_video
from v2m.model.ducking import dialogue_duck
from v2m.model.errors import InvalidInputError, NoStreamError, WeightsNotFoundError
from v2m.model.hits import plan_hits
from v2m.model.media import AudioSignal, decode_audio
from v2m.model.options import ScoreOptions
from v2m.model.rhythm import MotionTempo, find_motion_tempo
from v2m.model.types import EventCurve, ScoreRequest, ScoreResult

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class ScoreJob:
    """Everything ``score`` produced: the analysis, the request sent and the result."""

    analysis: Analysis
    request: ScoreRequest
    result: ScoreResult
    prompt_source: str
    """``user`` or ``described`` (made from the video's own measurements)."""
    in_s: float
    out_s: float
    motion: MotionTempo | None


def _slice_curve(curve: EventCurve, in_s: float, out_s: float) -> EventCurve:
    times = curve.times_s
    keep = (times >= in_s - 0.5 / curve.rate_hz) & (times < out_s)
    values = curve.values[keep] if keep.any() else np.zeros(1, np.float32)
    start = float(times[keep][0]) - in_s if keep.any() else 0.0
    return EventCurve(values, curve.rate_hz, start, curve.source)


def score(
    video_path: str | os.PathLike,
    options: ScoreOptions | None = None,
    *,
    follow_motion: bool | None = None,
    analysis: Analysis | None = None,
    progress: ProgressFn | None = None,
    on_request: Callable[[ScoreRequest], None] | None = None,
) -> ScoreJob:
    """Score a video (or the ``options.in_s`` .. ``options.out_s`` selection of it).

    Args:
        options: what to make (prompt, style, overrides, seed, markers, selection, backend,
            ducking); validated when it was built. ``None``: the defaults.
        follow_motion: take tempo and phase from periodic motion (dance); ``None`` decides from
            the video (periodic motion and few cuts).
        analysis: reuse an analysis of ``video_path`` (a conformed timeline's, for instance).
        on_request: called with the backend's request (curve, planned hits, prompt) as soon as
            it is known, before any music is made: for previews.
    """
    o = options or ScoreOptions()
    progress = progress or (lambda fraction, stage: None)
    engine = create_backend(o.backend, **o.backend_settings())
    available, why = engine.availability()
    if not available:
        raise WeightsNotFoundError(f"backend {o.backend!r} is unavailable: {why}")
    if analysis is None:
        analysis = analyze(video_path, progress=lambda f, s: progress(0.5 * f, s))
    if analysis.media.video is None:
        raise NoStreamError(f"{str(video_path)!r} has no video stream to score")
    start = 0.0 if o.in_s is None else o.in_s
    end = analysis.duration_s if o.out_s is None else min(o.out_s, analysis.duration_s)
    if end - start < 0.5:
        raise InvalidInputError(
            f"selection {start:.3f}..{end:.3f} s must last at least 0.5 s "
            f"(the media is {analysis.duration_s:.3f} s long)"
        )
    hits = plan_hits(analysis, markers_s=o.markers_s, start_s=start, end_s=end)
    cuts_inside = sum(1 for h in hits if h.kind == "cut")
    motion = None
    if follow_motion or (follow_motion is None and cuts_inside <= 1):
        found = find_motion_tempo(video_path, start_s=start, end_s=end)
        motion = found if found.periodic else None
    text, source = (
        (o.prompt, "user") if o.prompt else (describe_video(analysis, start, end), "described")
    )
    request = ScoreRequest(
        duration_s=end - start,
        curve=_slice_curve(analysis.curves.smoothed, start, end),
        hits=tuple(hits),
        frame_rate_hz=analysis.frame_rate_hz or 25.0,
        options=o,
        prompt=text,
        bpm=o.bpm if o.bpm is not None else (motion.bpm if motion else None),
        tempo_hint=(motion.beat_s, motion.phase_s) if motion else None,
    )
    if on_request is not None:
        on_request(request)
    result = engine.generate(request, progress=lambda f, s: progress(0.5 + 0.5 * f, s))
    if o.duck_dialogue:
        result = _duck(result, analysis, start)
    return ScoreJob(analysis, request, result, source, start, end, motion)


def _duck(result: ScoreResult, analysis: Analysis, start_s: float) -> ScoreResult:
    """The result with music, stems and mix, lowered under the video's dialogue."""
    if not analysis.media.has_audio:
        return result
    sr = result.sample_rate
    audio = decode_audio(analysis.media.path, sample_rate_hz=16000, info=analysis.media)
    i0 = int(start_s * 16000)
    clip = AudioSignal(audio.samples[:, i0:], 16000)
    duck = dialogue_duck(clip, n_samples=result.mix.shape[1], sample_rate_hz=sr)
    stems = {k: (v * duck.gain[None, :]).astype(np.float32) for k, v in result.stems.items()}
    metadata = {
        **result.metadata,
        "dialogue_ducking": {
            "depth_db": -10.0,
            "regions_s": [[round(a, 3), round(b, 3)] for a, b in duck.regions_s],
        },
    }
    return replace(
        result,
        stems=stems,
        mix=(result.mix * duck.gain[None, :]).astype(np.float32),
        metadata=metadata,
    )
