"""Rectified flow (paper Eq. 6): the training loss and the guided Euler sampler.

``x_t = t·ε + (1 − t)·x0`` runs from data (t = 0) to noise (t = 1); the network predicts the
velocity ``ε − x0``. Sampling integrates ``dx = −v dt`` from t = 1 to t = 0.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

VelocityFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``v(x_t, t)``: float[B, d, l], float[B] → float[B, d, l]."""


def interpolate(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``x_t = t·ε + (1 − t)·x0`` with ``t``: float[B] broadcast over (d, l)."""
    t = t.view(-1, *([1] * (x0.dim() - 1))).to(x0.dtype)
    return t * noise + (1 - t) * x0


def flow_loss(v_pred: torch.Tensor, x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Mean squared error to the rectified-flow target ``ε − x0``."""
    return F.mse_loss(v_pred.float(), (noise - x0).float())


def training_loss(
    model,
    x0: torch.Tensor,
    curve: torch.Tensor,
    text: torch.Tensor,
    text_mask: torch.Tensor,
    *,
    cond_dropout: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One batch of Eq. 6 with independent text and curve dropout (for guidance)."""
    b = x0.shape[0]
    device = x0.device
    t = torch.rand(b, device=device, generator=generator)
    noise = torch.randn(x0.shape, device=device, generator=generator, dtype=x0.dtype)
    drop_text = torch.rand(b, device=device, generator=generator) < cond_dropout
    drop_curve = torch.rand(b, device=device, generator=generator) < cond_dropout
    v = model(
        interpolate(x0, noise, t),
        t,
        curve,
        text,
        text_mask,
        drop_text=drop_text,
        drop_curve=drop_curve,
    )
    return flow_loss(v, x0, noise)


def euler_sample(velocity: VelocityFn, noise: torch.Tensor, *, steps: int = 96) -> torch.Tensor:
    """Integrate from ``noise`` at t = 1 to t = 0 in ``steps`` equal Euler steps."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    x = noise
    ts = torch.linspace(1.0, 0.0, steps + 1, device=noise.device)
    for t_now, t_next in zip(ts[:-1], ts[1:], strict=True):
        t = t_now.expand(x.shape[0])
        x = x - (t_now - t_next) * velocity(x, t)
    return x


def guided_velocity(
    model,
    curve: torch.Tensor,
    text: torch.Tensor,
    text_mask: torch.Tensor,
    *,
    text_scale: float = 3.0,
    curve_scale: float = 3.0,
) -> VelocityFn:
    """Classifier-free guidance on text and curve, one batched forward of three conditions:
    ``v = v(∅,∅) + s_text·(v(text,∅) − v(∅,∅)) + s_curve·(v(text,e) − v(text,∅))``.
    Scales of 1 and 1 give the plain conditional velocity."""
    b = curve.shape[0]
    no = torch.zeros(b, dtype=torch.bool, device=curve.device)
    yes = torch.ones_like(no)
    drop_text = torch.cat([yes, no, no])
    drop_curve = torch.cat([yes, yes, no])

    def velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        v = model(
            x.repeat(3, 1, 1),
            t.repeat(3),
            curve.repeat(3, 1),
            text.repeat(3, 1, 1),
            text_mask.repeat(3, 1),
            drop_text=drop_text,
            drop_curve=drop_curve,
        )
        v_none, v_text, v_both = v.chunk(3)
        return v_none + text_scale * (v_text - v_none) + curve_scale * (v_both - v_text)

    return velocity
