"""Measure Scene Cut Hit (paper Algorithm 1) of the composer on the shared videos.

    .venv/bin/python tests/bench/sch_report.py [--styles all] [--seeds 0,1]

For each video in ../shared/media with hard cuts: score it (default: the prompt described from
the video, or each style), detect cuts with ``scenedetect.detect(video, AdaptiveDetector())``,
and on the mix as written: SCH with ``librosa.beat.beat_track``'s beats and (when
``.venv-bench`` is built: ``bash scripts/setup_bench.sh``) with madmom's RNN beat tracker's, and
the largest distance (video frames) from a cut to the strongest onset near it. Reference: the
paper's model 0.61; unrelated music ~0.33.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_sound import listen, onset_errors_frames  # noqa: E402

from v2m.model.analysis import analyze
from v2m.model.metrics import librosa_beat_times, pyscenedetect_cut_times, scene_cut_hit
from v2m.model.options import ScoreOptions
from v2m.model.pipeline import score
from v2m.model.styles import PRESETS
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
    scores = []  # (video, label, mix, cuts, fps, librosa SCH)
    with tempfile.TemporaryDirectory() as tmp:
        for name in VIDEOS:
            video = SHARED / name
            if not video.exists():
                print(f"{name}: missing ({video}); skipped")
                continue
            cuts = pyscenedetect_cut_times(video)
            analysis = analyze(video)
            fps = analysis.frame_rate_hz or 25.0
            for style in styles:
                for seed in seeds:
                    job = score(video, ScoreOptions(seed=seed, style=style), analysis=analysis)
                    label = f"{job.result.metadata['style']}/{seed}"
                    mix = Path(tmp) / f"{Path(name).stem}-{label.replace('/', '-')}.wav"
                    write_wav(mix, job.result.mix, job.result.sample_rate)
                    sch = scene_cut_hit(cuts, librosa_beat_times(mix))
                    scores.append((name, label, mix, cuts, fps, sch))
        heard = listen([s[2] for s in scores], beats_only=True)
        rows: dict[str, list[str]] = {}
        librosa_sch, madmom_sch, worst_onset = [], [], []
        for name, label, mix, cuts, fps, sch in scores:
            onset = max(onset_errors_frames(mix, cuts, fps), default=0.0)
            beats = heard.get(str(mix), {}).get("madmom_beats_s")
            mm = scene_cut_hit(cuts, beats) if beats is not None else None
            librosa_sch.append(sch)
            worst_onset.append(onset)
            cell = f"{label}: SCH {sch:.2f}"
            if mm is not None:
                madmom_sch.append(mm)
                cell += f" mm {mm:.2f}"
            rows.setdefault(f"{name:30s} {len(cuts)} cuts", []).append(
                f"{cell} onset {onset:.2f} fr"
            )
    for head, cells in rows.items():
        print(head + " | " + " | ".join(cells))
    print(
        f"librosa SCH mean {np.mean(librosa_sch):.3f}, min {np.min(librosa_sch):.2f} over "
        f"{len(librosa_sch)} scores; largest onset error {np.max(worst_onset):.2f} frames"
    )
    if madmom_sch:
        print(f"madmom SCH mean {np.mean(madmom_sch):.3f}, min {np.min(madmom_sch):.2f}")


if __name__ == "__main__":
    main()
