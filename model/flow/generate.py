"""Music of any length from a flow model: the curve sliced per training window, each window
sampled with guidance, overlapping windows crossfaded in latent space.

Limit: windows only share their overlap (a quarter window), so long music is a chain of
window-long phrases joined by crossfades, not one continuous composition.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from v2m.model.flow.rectified import euler_sample, guided_velocity


def curve_at_latent_rate(
    values: np.ndarray, rate_hz: float, start_s: float, *, latent_rate_hz: float, frames: int
) -> np.ndarray:
    """An event curve (float[n] at ``rate_hz`` from ``start_s``) on the latent grid:
    float[frames], linearly interpolated, held at the ends."""
    times = start_s + np.arange(len(values)) / rate_hz
    grid = np.arange(frames) / latent_rate_hz
    return np.interp(grid, times, values).astype(np.float32)


def window_starts(frames: int, window: int) -> list[int]:
    """Starts of overlapping windows (overlap ``window // 4``) covering ``frames``."""
    if frames <= window:
        return [0]
    hop = window - window // 4
    n = math.ceil((frames - window) / hop) + 1
    return [min(i * hop, frames - window) for i in range(n)]


@torch.no_grad()
def sample_latents(
    model,
    curve: np.ndarray,
    prompt: str,
    *,
    seed: int = 0,
    steps: int = 96,
    text_scale: float = 3.0,
    curve_scale: float = 3.0,
    use_curve: bool = True,
    progress=None,
) -> np.ndarray:
    """float[d, len(curve)] latents following ``curve`` (float[l] on the latent grid).
    ``use_curve=False`` gives the text-only model (null curve), for comparisons."""
    c = model.config
    device = next(model.parameters()).device
    frames = len(curve)
    text, mask = model.encode_text([prompt])
    out = np.zeros((c.latent_channels, frames), np.float32)
    weight = np.zeros(frames, np.float32)
    starts = window_starts(frames, c.window_frames)
    for i, start in enumerate(starts):
        length = min(c.window_frames, frames)
        piece = torch.as_tensor(curve[start : start + length], device=device)[None]
        generator = torch.Generator(device="cpu").manual_seed(seed * 1000 + i)
        noise = torch.randn((1, c.latent_channels, length), generator=generator).to(device)
        velocity = guided_velocity(  # curve_scale 0: the text-only model
            model.dit,
            piece,
            text,
            mask,
            text_scale=text_scale,
            curve_scale=curve_scale if use_curve else 0.0,
        )
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
            latent = euler_sample(velocity, noise, steps=steps)[0].float().cpu().numpy()
        ramp = np.ones(length, np.float32)
        fade = c.window_frames // 4
        if i > 0:
            ramp[:fade] = np.linspace(0, 1, fade, dtype=np.float32)
        if i < len(starts) - 1:
            ramp[-fade:] = np.minimum(ramp[-fade:], np.linspace(1, 0, fade, dtype=np.float32))
        out[:, start : start + length] += latent * ramp
        weight[start : start + length] += ramp
        if progress is not None:
            progress((i + 1) / len(starts), f"sampling window {i + 1}/{len(starts)}")
    return out / np.maximum(weight, 1e-6)
