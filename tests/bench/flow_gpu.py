"""Flow backend on a GPU (issue 6): tiny training speed, and sampling time of a ~1 B model.

    # here: export the toy training set (latents + music curves) made by zero_pair.py's code
    .venv/bin/python tests/bench/flow_gpu.py export DIR/examples.npz
    # on the GPU machine (torch only; no audio libraries needed):
    python3 tests/bench/flow_gpu.py train DIR/examples.npz OUT/ckpt --steps 1500
    python3 tests/bench/flow_gpu.py time-1b
    python3 tests/bench/flow_gpu.py time-base [--steps 96,48,24] [--compile]

``time-1b`` builds the ``1b`` preset (Stable Audio Open's latent layout: 64 channels at
44100/2048 Hz) with random weights in bf16 and times 32 s of music: 96 Euler steps with
guidance on text and curve (three conditions batched per step). Prints seconds per clip and
the real-time factor (seconds of music per second of compute).

``time-base`` does the same for the path `v2m train --base` makes: Stable Audio Open 1.0's own
transformer (``StableAudioDiTModel`` at its published defaults, random weights: no download)
with the curve input (``CurveStableAudio``), bf16 weights, PyTorch's SDPA attention, the three
guidance conditions batched in one forward, optionally ``torch.compile``; for each step count.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch


def export(path: Path, *, files: int = 48) -> None:
    import sys
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # for tests.bench.zero_pair

    from tests.bench.zero_pair import TOY, make_music
    from v2m.model.flow.train import load_examples

    with tempfile.TemporaryDirectory() as tmp:
        make_music(Path(tmp), files=files, seed=0)
        examples = load_examples(tmp, TOY, cache_dir=Path(tmp) / "cache")
    np.savez(
        path,
        latents=np.stack([e.latent for e in examples]),
        curves=np.stack([e.curve for e in examples]),
        captions=np.array([e.caption for e in examples]),
        config=np.array(json.dumps(asdict(TOY))),
    )


def train_on(path: Path, out: Path, *, steps: int, lr: float) -> None:
    from v2m.model.flow.config import FlowConfig
    from v2m.model.flow.train import Example, train

    data = np.load(path)
    examples = [
        Example(lat, cur, str(cap))
        for lat, cur, cap in zip(data["latents"], data["curves"], data["captions"], strict=True)
    ]
    started = time.perf_counter()
    config = FlowConfig(**json.loads(str(data["config"])))  # the toy config of the export
    train(examples, out, config=config, steps=steps, batch_size=16, lr=lr, save_every=steps)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    print(
        f"tiny training: {steps} steps in {seconds:.1f} s ({steps / seconds:.1f} steps/s) on "
        f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'}"
    )


def _sampling_runs(velocity, noise, *, steps: int, runs: int = 3) -> list[float]:
    """Seconds for each of ``runs`` complete samplings (GPU synchronised)."""
    from v2m.model.flow.rectified import euler_sample

    seconds = []
    for _ in range(runs):
        torch.cuda.synchronize()
        started = time.perf_counter()
        euler_sample(velocity, noise, steps=steps)
        torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
    return seconds


def time_1b(*, seconds_of_music: float = 32.0, steps: int = 96) -> None:
    from v2m.model.flow.config import PRESETS
    from v2m.model.flow.dit import CurveDiT
    from v2m.model.flow.rectified import euler_sample, guided_velocity

    config = PRESETS["1b"]
    device = "cuda"
    torch.manual_seed(0)
    model = CurveDiT(config).to(device, torch.bfloat16).eval()
    params = sum(p.numel() for p in model.parameters())
    frames = round(seconds_of_music * config.latent_rate_hz)
    curve = torch.randn(1, frames, device=device, dtype=torch.bfloat16)
    text = torch.randn(1, 64, config.text_dim, device=device, dtype=torch.bfloat16)
    mask = torch.ones(1, 64, dtype=torch.bool, device=device)
    noise = torch.randn(1, config.latent_channels, frames, device=device, dtype=torch.bfloat16)
    velocity = guided_velocity(model, curve, text, mask)
    with torch.no_grad():
        euler_sample(velocity, noise, steps=3)  # warm-up
        runs = _sampling_runs(velocity, noise, steps=steps)
    best = min(runs)
    print(
        f"1b preset: {params / 1e9:.2f} B parameters, {frames} latent frames "
        f"({seconds_of_music:.0f} s), {steps} steps with CFG (3 conditions): "
        f"{best:.2f} s per clip (runs {', '.join(f'{r:.2f}' for r in runs)}), "
        f"real-time factor {seconds_of_music / best:.1f}x on {torch.cuda.get_device_name()}"
    )


def time_base(*, steps_list: list[int], compile_model: bool, seconds_of_music: float = 32.0):
    from diffusers import StableAudioDiTModel

    from v2m.model.flow.rectified import euler_sample, guided_velocity
    from v2m.model.flow.stable_audio import CurveStableAudio

    device = "cuda"
    torch.manual_seed(0)
    model = CurveStableAudio(StableAudioDiTModel(), timing_tokens=True)
    model = model.to(device, torch.bfloat16).eval()
    params = sum(p.numel() for p in model.parameters())
    if compile_model:
        model.transformer = torch.compile(model.transformer, mode="max-autotune-no-cudagraphs")
    rate = 44100 / 2048
    frames = round(seconds_of_music * rate)
    curve = torch.randn(1, frames, device=device, dtype=torch.bfloat16)
    text = torch.randn(1, 130, 768, device=device, dtype=torch.bfloat16)  # 128 T5 + 2 timing
    mask = torch.ones(1, 130, dtype=torch.bool, device=device)
    noise = torch.randn(1, 64, frames, device=device, dtype=torch.bfloat16)
    velocity = guided_velocity(model, curve, text, mask, curve_scale=1.0)
    name = torch.cuda.get_device_name()
    with torch.no_grad():
        euler_sample(velocity, noise, steps=3)  # warm-up (and compilation)
        for steps in steps_list:
            best = min(_sampling_runs(velocity, noise, steps=steps))
            print(
                f"Stable Audio Open transformer + curve input: {params / 1e9:.2f} B parameters, "
                f"{frames} latent frames ({seconds_of_music:.0f} s), {steps} steps, CFG batched, "
                f"bf16{', compiled' if compile_model else ''}: {best:.2f} s per clip, real-time "
                f"factor {seconds_of_music / best:.1f}x on {name}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("export")
    p.add_argument("path")
    p.add_argument("--files", type=int, default=48)
    p = sub.add_parser("train")
    p.add_argument("examples")
    p.add_argument("out")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--lr", type=float, default=1e-3, help="from scratch at toy scale: 1e-3")
    sub.add_parser("time-1b")
    p = sub.add_parser("time-base")
    p.add_argument("--steps", default="96,48,24", help="step counts to time (default 96,48,24)")
    p.add_argument("--compile", action="store_true", help="torch.compile the transformer")
    args = parser.parse_args()
    if args.what == "export":
        export(Path(args.path), files=args.files)
    elif args.what == "train":
        train_on(Path(args.examples), Path(args.out), steps=args.steps, lr=args.lr)
    elif args.what == "time-base":
        steps = [int(n) for n in args.steps.split(",")]
        time_base(steps_list=steps, compile_model=args.compile)
    else:
        time_1b()


if __name__ == "__main__":
    main()
