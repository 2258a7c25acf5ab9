"""The retime backend: indexing speed, fit + render speed, and timing on the shared media.

    .venv/bin/python tests/bench/bench_retime.py

1. Indexing: ``analyze_music`` without the cache on every track in ``../shared/media/music``
   — seconds of analysis per minute of music.
2. Speed: a 60 s selection with a cut every 2–3 s, retimed from a 90 s recording made here
   (a drum loop at 118 bpm): match + fit + stretch + master, as a real-time factor (target
   ≥ 10× on 2 cores).
3. Timing: every shared video with hard cuts × every shared track long enough for it: SCH
   (Algorithm 1, librosa beats on the output), the largest distance from a cut to the
   output's strongest onset near it (frames), the largest stretch, and how many cuts the
   backend itself reports (measured on its output) as more than a frame off.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_sound import onset_errors_frames  # noqa: E402
from sch_report import VIDEOS  # noqa: E402

from v2m.model.analysis import analyze  # noqa: E402
from v2m.model.backends.retime import RetimeBackend  # noqa: E402
from v2m.model.hits import plan_hits  # noqa: E402
from v2m.model.media import probe  # noqa: E402
from v2m.model.metrics import librosa_beat_times, pyscenedetect_cut_times, scene_cut_hit  # noqa: E402
from v2m.model.options import ScoreOptions  # noqa: E402
from v2m.model.retime.music import analyze_music  # noqa: E402
from v2m.model.types import EventCurve, Hit, ScoreRequest  # noqa: E402
from v2m.model.wav import write_wav  # noqa: E402

SHARED = Path(__file__).resolve().parents[3] / "shared" / "media"


def synthetic_track(path: Path, *, bpm: float = 118.0, duration_s: float = 90.0) -> Path:
    rate = 48000
    rng = np.random.default_rng(0)
    t = np.arange(int(duration_s * rate)) / rate
    y = 0.05 * np.sin(2 * np.pi * 110 * t) + 0.03 * np.sin(2 * np.pi * 330 * t)
    hit = int(0.15 * rate)
    env = np.exp(-np.arange(hit) / (0.03 * rate))
    for k, start in enumerate(np.arange(0.05, duration_s - 0.2, 60 / bpm)):
        i = int(start * rate)
        y[i : i + hit] += (0.9 if k % 4 == 0 else 0.45) * env * rng.standard_normal(hit)
    write_wav(path, np.stack([y, y]).astype(np.float32) * 0.5, rate)
    return path


def indexing() -> None:
    tracks = sorted(p for p in (SHARED / "music").glob("*") if p.suffix in (".ogg", ".flac"))
    total_s = total_music_s = 0.0
    for track in tracks:
        started = time.perf_counter()
        music = analyze_music(track, use_cache=False)
        total_s += time.perf_counter() - started
        total_music_s += music.duration_s
    print(
        f"indexing: {len(tracks)} tracks, {total_music_s / 60:.1f} min of music in "
        f"{total_s:.1f} s = {total_s / (total_music_s / 60):.1f} s per minute of music"
    )


def speed(tmp: Path) -> None:
    track = synthetic_track(tmp / "loop.wav")
    analyze_music(track)  # indexed once, as a library would be
    rng = np.random.default_rng(1)
    cuts = np.cumsum(rng.uniform(2.0, 3.0, size=30))
    cuts = cuts[cuts < 59.0]
    times = np.arange(0, 60, 0.1)
    request = ScoreRequest(
        duration_s=60.0,
        curve=EventCurve(np.ones(len(times), np.float32), 10.0, 0.0, "flat"),
        hits=tuple(Hit(float(c), 0.9, "cut") for c in cuts),
        frame_rate_hz=25.0,
        options=ScoreOptions(backend="retime"),
        prompt="",
    )
    backend = RetimeBackend(music=str(track))
    started = time.perf_counter()
    result = backend.generate(request)
    took = time.perf_counter() - started
    hit = sum(abs(p.error_frames) <= 1 for p in result.hit_report)
    print(
        f"fit + render: 60 s selection, {len(cuts)} cuts ({hit} hit) in {took:.2f} s = "
        f"{60 / took:.1f}x real time (target >= 10x); largest stretch "
        f"{result.metadata['largest_stretch']:.3f}"
    )


def timing(tmp: Path) -> None:
    tracks = sorted(p for p in (SHARED / "music").glob("*") if p.suffix in (".ogg", ".flac"))
    for name in VIDEOS:
        video = SHARED / "video" / name
        if not video.exists():
            continue
        analysis = analyze(video)
        cuts = pyscenedetect_cut_times(video)
        fps = analysis.frame_rate_hz or 25.0
        request = ScoreRequest(
            duration_s=analysis.duration_s,
            curve=analysis.curves.smoothed,
            hits=tuple(plan_hits(analysis)),
            frame_rate_hz=fps,
            options=ScoreOptions(backend="retime"),
            prompt="",
        )
        for track in tracks:
            if probe(track).duration_s < analysis.duration_s * 1.1:
                continue
            started = time.perf_counter()
            result = RetimeBackend(music=str(track)).generate(request)
            took = time.perf_counter() - started
            mix = tmp / "mix.wav"
            write_wav(mix, result.mix, result.sample_rate)
            sch = scene_cut_hit(cuts, librosa_beat_times(mix))
            reported = [abs(p.error_frames) for p in result.hit_report if p.kind == "cut"]
            onset = max(onset_errors_frames(mix, cuts, fps), default=0.0)
            missed = sum(e > 1 for e in reported)
            print(
                f"{name:28s} {track.name[:34]:34s} SCH {sch:.2f}  onset {onset:.2f} fr  "
                f"stretch {result.metadata['largest_stretch']:.3f}  reported beyond a frame "
                f"{missed} (largest {max(reported, default=0):.2f}); {result.metadata['takes']} "
                f"take(s), {len(result.metadata['bar_edits'])} bar edit(s), {took:.1f} s"
            )


def main() -> None:
    indexing()
    with tempfile.TemporaryDirectory() as tmp:
        speed(Path(tmp))
        timing(Path(tmp))


if __name__ == "__main__":
    main()
