"""Scene Cut Hit on cut lists nobody chose: random edits, every style, and why cuts are missed.

    .venv/bin/python tests/bench/sch_stress.py [--clips 6] [--seed 0] [--regime editorial]

Each clip is a random selection length (8–20 s) with random cut times: ``editorial`` shots last
1–4 s (typical cutting), ``frantic`` 0.35–3 s (cuts often closer than a beat). The composer
scores the hit plan directly (no video: the curve is a slow random wave) in every style;
librosa's ``beat_track`` on the mix gives SCH (±0.1 s). Each miss is put in one class: the cut
sat on a half-beat (closer to its neighbour than the style's tempo range allows a whole beat),
before the first or after the last tracked beat (the tracker trimmed the edge), or elsewhere
(the tracker's own tempo or phase drifted from the music's).
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from v2m.model.backends.composer import ComposerBackend
from v2m.model.metrics import scene_cut_hit
from v2m.model.options import ScoreOptions
from v2m.model.styles import PRESETS
from v2m.model.types import EventCurve, Hit, ScoreRequest

REGIMES = {"editorial": (1.0, 4.0), "frantic": (0.35, 3.0)}
TOLERANCE_S = 0.1


def random_clip(rng: np.random.Generator, shot_s: tuple[float, float]):
    """(duration_s, cut times, curve) of one random edit."""
    duration = float(rng.uniform(8, 20))
    cuts, t = [], float(rng.uniform(0.2, shot_s[1]))
    while t < duration - 0.2:
        cuts.append(t)
        t += float(rng.uniform(*shot_s))
    times = np.arange(0, duration, 0.04)
    wave = 0.5 + 0.5 * np.sin(times * rng.uniform(0.2, 1.0))
    return duration, cuts, EventCurve(wave.astype(np.float32), 25.0, 0.0, "random")


def miss_class(placed, beats: np.ndarray) -> str:
    if len(beats) and np.min(np.abs(beats - placed.time_s)) <= TOLERANCE_S:
        return "hit"
    if not placed.on_beat:
        return "half-beat"
    if not len(beats) or placed.time_s < beats[0]:
        return "before the first tracked beat"
    if placed.time_s > beats[-1]:
        return "after the last tracked beat"
    return "tracker tempo or phase"


def main() -> None:
    import librosa

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--regime", choices=tuple(REGIMES), default="editorial")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    backend = ComposerBackend()
    per_style: dict[str, list[float]] = {s: [] for s in PRESETS}
    classes: Counter = Counter()
    for _ in range(args.clips):
        duration, cuts, curve = random_clip(rng, REGIMES[args.regime])
        hits = tuple(Hit(t, 0.8, "cut") for t in cuts)
        for style in PRESETS:
            request = ScoreRequest(
                duration_s=duration,
                curve=curve,
                hits=hits,
                frame_rate_hz=25.0,
                options=ScoreOptions(seed=0, style=style),
                prompt=style,
            )
            result = backend.generate(request)
            _tempo, beats = librosa.beat.beat_track(
                y=result.mix.mean(axis=0), sr=result.sample_rate, units="time"
            )
            per_style[style].append(scene_cut_hit(cuts, beats))
            classes.update(miss_class(p, beats) for p in result.hit_report if p.kind == "cut")
    print(f"{args.regime} cuts, {args.clips} clips, seed {args.seed}: SCH per style")
    for style, values in per_style.items():
        print(f"  {style:10s} {np.mean(values):.2f}")
    total = sum(classes.values())
    print(f"all: SCH {classes['hit'] / total:.3f} over {total} cuts")
    for name, count in classes.most_common():
        if name != "hit":
            print(f"  missed, {name}: {count}")


if __name__ == "__main__":
    main()
