"""Benchmark: full analysis throughput against decode-only, same frames, same size.

    .venv/bin/python tests/bench/bench_analysis.py [--seconds 20] [--repeats 3]

Renders a 1080p and a 720p clip with cuts (H.264, 30 fps), then times, alternately:

* decode-only: ``iter_video_frames`` — threaded decode + scaling to the analysis size;
* full analysis: ``analyze`` — the same decode feeding the ``pixels`` encoder, PySceneDetect's
  AdaptiveDetector and the event curve.

It prints frames/s for both and their ratio (target: full ≥ 0.8 × decode-only on 2 cores).
The best of ``--repeats`` runs of each is used: these machines are noisy.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from v2m.model.analysis import analyze
from v2m.model.media import iter_video_frames, probe
from v2m.model.sample_clip import ClipSpec, render_clip


def _decode_only(path: Path) -> int:
    info = probe(path)
    return sum(1 for _ in iter_video_frames(path, info=info))


def _full(path: Path) -> int:
    a = analyze(path)
    assert a.cuts, "the bench clip has cuts; finding none means the analysis is broken"
    return len(a.feature_times_s)


def _best_fps(fn, path: Path, repeats: int) -> float:
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        frames = fn(path)
        best = max(best, frames / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="clip length (default 20)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (default 3)")
    args = parser.parse_args()
    cuts = tuple(t for t in (2.5, 5.0, 8.2, 10.0, 13.3, 16.0, 18.5) if t < args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'clip':>10}  {'decode-only fps':>15}  {'full analysis fps':>17}  {'ratio':>6}")
        for name, (w, h) in {"1080p30": (1920, 1080), "720p30": (1280, 720)}.items():
            path = Path(tmp) / f"{name}.mp4"
            render_clip(
                path, ClipSpec(duration_s=args.seconds, cut_times_s=cuts, width=w, height=h, seed=7)
            )
            _full(path)  # warm caches (imports, first-call costs) outside the timing
            decode = full = 0.0
            for _ in range(args.repeats):  # alternate, so drift hits both alike
                decode = max(decode, _best_fps(_decode_only, path, 1))
                full = max(full, _best_fps(_full, path, 1))
            print(f"{name:>10}  {decode:15.1f}  {full:17.1f}  {full / decode:6.2f}")


if __name__ == "__main__":
    main()
