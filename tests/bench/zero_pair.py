"""Zero-pair transfer at toy scale (issue 6, paper §3): train on music curves only, then follow
a *video* curve.

    .venv/bin/python tests/bench/zero_pair.py [--steps 1200] [--files 48] [--seed 0] [--device cpu]

1. Makes synthetic "music": percussive events (noise bursts and pitched plucks) whose density
   and loudness swell around a few random moments, 16 s each, with captions (WAV files).
2. ``v2m train``'s code path: latents (log-mel) and *music* event curves (spectral encoder),
   then the tiny DiT with Eq. 6 and 10 % condition dropout — no video anywhere.
3. Renders a synthetic video with known cuts, takes its *video* event curve (pixels encoder) and
   generates music for it three ways: with that curve, with the curve block-shuffled (same
   values, wrong times), and with no curve (null curve: the text-only model).
4. Decodes each, computes the generated music's event curve with the same music encoder, and
   prints its Pearson r with the conditioning video curve. Target: r ≥ 0.5 with the true curve,
   ≤ 0.1 shuffled.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from v2m.model.analysis import AnalysisSettings, analyze
from v2m.model.flow.config import FlowConfig
from v2m.model.flow.generate import curve_at_latent_rate, sample_latents
from v2m.model.flow.train import load_examples, train
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.model.wav import write_wav

SECONDS = 16.0
CUTS_S = (2.0, 2.4, 2.8, 3.2, 9.0, 9.4, 9.8, 14.0)
"""Bursts of cuts and calm stretches: a curve with structure that survives the smoothing."""
FLOOR = 0.02
"""Event intensity between swells: calm stretches are nearly silent, so eventfulness shows in
both the density and the loudness of the hits."""
TOY = FlowConfig(latent_channels=16, latent_rate_hz=15.625, window_frames=128)
"""The tiny DiT on a coarser log-mel (16 bands, 64 ms hops, 8 s windows): a few CPU minutes."""


def make_music(
    folder: Path, *, files: int, seed: int, floor: float = FLOOR, sr: int = 16000
) -> None:
    """``files`` WAVs of percussive events (noise bursts and plucks) whose density and loudness
    swell around a few random moments — music with an event structure of its own — and their
    captions."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * sr)
    t = np.arange(int(0.25 * sr)) / sr
    grid = np.arange(0, SECONDS, 0.01)
    for i in range(files):
        swells = rng.uniform(0.5, SECONDS - 0.5, rng.integers(2, 6))
        intensity = floor + sum(np.exp(-0.5 * ((grid - c) / 0.6) ** 2) for c in swells)
        audio = rng.normal(0, 0.002, n)
        for k in np.flatnonzero(rng.random(len(grid)) < 0.06 * intensity):
            i0 = int(grid[k] * sr)
            amp = min(1.0, intensity[k]) * rng.uniform(0.6, 1.0)
            pitch = rng.choice([110, 165, 220, 330, 440])
            hit = (
                amp
                * np.exp(-t / 0.05)
                * (0.6 * rng.normal(0, 1, len(t)) + np.sin(2 * np.pi * pitch * t))
            )
            audio[i0 : i0 + len(t)] += hit[: n - i0]
        audio = (0.5 * audio / np.abs(audio).max()).astype(np.float32)
        write_wav(folder / f"music{i:03d}.wav", np.stack([audio, audio]), sr)
        (folder / f"music{i:03d}.txt").write_text("percussive hits")


def event_curve_of(path: Path, encoder: str) -> np.ndarray:
    return analyze(path, settings=AnalysisSettings(encoder=encoder)).curves.smoothed.values


def block_shuffled(values: np.ndarray, *, block: int, seed: int) -> np.ndarray:
    blocks = [values[i : i + block] for i in range(0, len(values), block)]
    order = np.random.default_rng(seed).permutation(len(blocks))
    return np.concatenate([blocks[j] for j in order])


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def run(
    work: Path,
    *,
    steps: int,
    files: int,
    device: str | None,
    lr: float,
    seed: int = 0,
    samples: int = 3,
    warmup_steps: int = 0,
    cosine_decay: bool = False,
) -> dict:
    """Make the music, train on it (music curves only), evaluate on a video curve."""
    music = work / "music"
    music.mkdir(parents=True, exist_ok=True)
    make_music(music, files=files, seed=seed)
    config = TOY
    started = time.perf_counter()
    examples = load_examples(music, config, cache_dir=work / "ckpt" / "cache")
    model = train(
        examples,
        work / "ckpt",
        config=config,
        steps=steps,
        batch_size=16,
        lr=lr,
        device=device,
        save_every=steps,
        seed=seed,
        warmup_steps=warmup_steps,
        cosine_decay=cosine_decay,
        progress=lambda _f, msg: (
            print(msg, file=sys.stderr, flush=True) if msg.split("/")[0].endswith("00") else None
        ),
    )
    out = evaluate(model.cpu(), work, seed=seed, samples=samples)
    device_used = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return {
        **out,
        "train_s": round(time.perf_counter() - started, 1),
        "steps": steps,
        "files": files,
        "device": device_used,
    }


def evaluate(
    model, work: Path, *, seed: int = 0, samples: int = 3, curve_scale: float = 1.0
) -> dict:
    """r between a synthetic video's curve and the curve of music generated for it: with the
    true curve, the block-shuffled curve and no curve (means over ``samples`` seeds)."""
    from v2m.model.flow.codec import MelCodec

    config = model.config
    video = work / "video.mp4"
    render_clip(
        video,
        ClipSpec(duration_s=SECONDS, cut_times_s=CUTS_S, width=320, height=180, seed=seed + 7),
    )
    curve = analyze(video).curves.smoothed
    frames = round(SECONDS * config.latent_rate_hz)
    on_grid = curve_at_latent_rate(
        curve.values,
        curve.rate_hz,
        curve.start_s,
        latent_rate_hz=config.latent_rate_hz,
        frames=frames,
    )
    shuffled = block_shuffled(on_grid, block=25, seed=seed + 1)
    codec = MelCodec(config)
    results = {}
    for name, cond, use in (
        ("true", on_grid, True),
        ("shuffled", shuffled, True),
        ("none", on_grid, False),
    ):
        rs = []
        for s in range(samples):
            latents = sample_latents(
                model,
                cond,
                "percussive hits",
                seed=s,
                steps=48,
                use_curve=use,
                text_scale=1.0,
                curve_scale=curve_scale,
            )
            audio = codec.decode(latents)
            path = work / f"gen_{name}_{s}.wav"
            write_wav(path, np.stack([audio, audio]), config.sample_rate_hz)
            rs.append(pearson(curve.values, event_curve_of(path, "spectral")))
        results[name] = round(float(np.mean(rs)), 3)
    # what "shuffled" would score if the model followed it perfectly: its r with the true curve
    return {"r": results, "r_shuffled_curve_vs_true": round(pearson(on_grid, shuffled), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--files", type=int, default=48)
    parser.add_argument("--device")
    parser.add_argument(
        "--lr", type=float, default=1e-3, help="1e-3: from scratch (v2m train's 1e-4 fine-tunes)"
    )
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--checkpoint", help="evaluate this checkpoint instead of training")
    parser.add_argument(
        "--curve-scale",
        type=float,
        default=1.0,
        help="guidance on the curve (1: plain conditional; >1 over-drives loudness at toy scale)",
    )
    parser.add_argument(
        "--warmup-steps", type=int, default=0, help="linear lr warmup (default 0: constant)"
    )
    parser.add_argument("--cosine-decay", action="store_true", help="anneal lr to a tenth")
    parser.add_argument("--samples", type=int, default=3, help="generations per condition")
    parser.add_argument("--seed", type=int, default=0, help="data, training and video seed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.checkpoint:
            from v2m.model.flow.checkpoint import load_checkpoint

            out = evaluate(
                load_checkpoint(args.checkpoint),
                Path(tmp),
                samples=args.samples,
                curve_scale=args.curve_scale,
            )
            print(f"checkpoint {args.checkpoint}")
        else:
            out = run(
                Path(tmp),
                steps=args.steps,
                files=args.files,
                device=args.device,
                lr=args.lr,
                seed=args.seed,
                samples=args.samples,
                warmup_steps=args.warmup_steps,
                cosine_decay=args.cosine_decay,
            )
            print(
                f"trained {out['steps']} steps on {out['files']} files in {out['train_s']} s "
                f"({out['device']})"
            )
    print(
        "r(video curve, generated music curve): "
        + ", ".join(f"{k} {v:+.3f}" for k, v in out["r"].items())
        + f" (the shuffled curve's own r with the true one: {out['r_shuffled_curve_vs_true']:+.3f})"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
