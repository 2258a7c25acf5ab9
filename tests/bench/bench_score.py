"""Benchmark: composer speed — seconds of music rendered per second of wall time.

    .venv/bin/python tests/bench/bench_score.py [--seconds 60] [--repeats 3]

Renders a 720p clip with a cut every few seconds, then scores it end to end (analysis, hit
planning and tempo, arranging, rendering, mastering) and prints the real-time factor
(target: ≥ 20× for the composer on 2 cores) and the share of each stage. The best of
``--repeats`` runs is reported; the analysis is the same code ``v2m curve`` runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from v2m.model.analysis import analyze
from v2m.model.options import ScoreOptions
from v2m.model.pipeline import score
from v2m.model.sample_clip import ClipSpec, render_clip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="clip length (default 60)")
    parser.add_argument("--repeats", type=int, default=3, help="runs (default 3)")
    args = parser.parse_args()
    cuts = tuple(float(t) for t in np.arange(2.7, args.seconds - 1, 4.3))
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "bench.mp4"
        render_clip(
            clip,
            ClipSpec(duration_s=args.seconds, cut_times_s=cuts, width=1280, height=720, seed=3),
        )
        score(clip, ScoreOptions(seed=0), follow_motion=False)  # warm-up: imports, numba, caches
        best = None
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            analysis = analyze(clip)
            t1 = time.perf_counter()
            job = score(clip, ScoreOptions(seed=0), analysis=analysis, follow_motion=False)
            t2 = time.perf_counter()
            stages = {"analysis": t1 - t0, **job.result.metadata["timings_s"]}
            stages["other"] = max(0.0, (t2 - t0) - sum(stages.values()))
            total = t2 - t0
            if best is None or total < best[0]:
                best = (total, stages)
        total, stages = best
        print(f"scored {args.seconds:.0f} s of 720p video with {len(cuts)} cuts")
        print(f"  end to end: {total:.2f} s wall = {args.seconds / total:.1f}x real time")
        compose = total - stages["analysis"]
        print(
            f"  composer alone (plan + arrange + render + master): {compose:.2f} s "
            f"= {args.seconds / compose:.1f}x real time (target >= 20x)"
        )
        for name, seconds in stages.items():
            print(f"    {name:10s} {seconds:6.2f} s  {100 * seconds / total:5.1f} %")


if __name__ == "__main__":
    main()
