"""Measure Scene Cut Hit (paper Algorithm 1) of the composer on the shared videos.

    .venv/bin/python tests/bench/sch_report.py [--styles all] [--seeds 0,1]

For each video in ../shared/media with hard cuts: score it (default: the prompt described from
the video, or each style), detect cuts with ``scenedetect.detect(video, AdaptiveDetector())``,
track beats with ``librosa.beat.beat_track`` on the mix, and print SCH and the median per-cut
error (frames) from the hit report. Reference: the paper's model 0.61; unrelated music ~0.33.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from v2m.model.analysis import analyze
from v2m.model.metrics import librosa_beat_times, pyscenedetect_cut_times, scene_cut_hit
from v2m.model.options import ScoreOptions
from v2m.model.pipeline import score
from v2m.model.styles import PRESETS
from v2m.model.tempo import median_error_frames
from v2m.model.wav import write_wav

SHARED = Path(__file__).resolve().parents[3] / "shared" / "media" / "video"
VIDEOS = (
    "pyscenedetect_testvideo.mp4",
    "big_buck_bunny_0_30.webm",
    "goldeneye-vfr-drop3.mp4",
    "issue-134-rotate.mp4",
    "fcpscene_60fps.mp4",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--styles",
        default="",
        help="'all' or comma-separated presets (default: the prompt described from each video)",
    )
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    args = parser.parse_args()
    styles = (
        list(PRESETS)
        if args.styles == "all"
        else (args.styles.split(",") if args.styles else [None])
    )
    seeds = [int(s) for s in args.seeds.split(",")]
    all_sch = []
    with tempfile.TemporaryDirectory() as tmp:
        mix = Path(tmp) / "mix.wav"
        for name in VIDEOS:
            video = SHARED / name
            if not video.exists():
                print(f"{name}: missing ({video}); skipped")
                continue
            cuts = pyscenedetect_cut_times(video)
            analysis = analyze(video)
            cells = []
            for style in styles:
                for seed in seeds:
                    job = score(video, ScoreOptions(seed=seed, style=style), analysis=analysis)
                    write_wav(mix, job.result.mix, job.result.sample_rate)
                    sch = scene_cut_hit(cuts, librosa_beat_times(mix))
                    all_sch.append(sch)
                    err = median_error_frames(job.result.hit_report)
                    cells.append(
                        f"{job.result.metadata['style']}/{seed}: SCH {sch:.2f} err {err:.2f} fr"
                    )
            print(f"{name:30s} {len(cuts)} cuts | " + " | ".join(cells))
    print(f"mean SCH {np.mean(all_sch):.3f} over {len(all_sch)} scores; min {np.min(all_sch):.2f}")


if __name__ == "__main__":
    main()
