"""Low-rank adapters (LoRA, Hu et al. 2021) on a network's linear layers.

``add_lora(module, rank=r)`` replaces each matching ``nn.Linear`` by ``LoRALinear``: the frozen
layer plus ``B·A`` (``A`` float[r, in], ``B`` float[out, r], scaled by ``alpha / r``). ``B``
starts at zero, so the adapted network computes exactly what the original did until training
moves it. Only the adapters (and whatever else the caller leaves trainable) are saved: a few
MB beside a base of gigabytes.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ATTENTION_PROJECTIONS = ("to_q", "to_k", "to_v", "to_out.0")
"""The attention projections of a diffusers transformer (self- and cross-attention)."""


class LoRALinear(nn.Module):
    """``y = W x + (alpha / r) · B A x`` with ``W`` (the wrapped layer) frozen."""

    def __init__(self, base: nn.Linear, *, rank: int, alpha: float):
        super().__init__()
        self.base = base
        self.base.requires_grad_(False)
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = (x.to(self.lora_a.dtype) @ self.lora_a.T) @ self.lora_b.T
        return self.base(x) + (self.scale * low).to(x.dtype)


def add_lora(
    module: nn.Module,
    *,
    rank: int,
    alpha: float | None = None,
    targets: tuple[str, ...] = ATTENTION_PROJECTIONS,
) -> int:
    """Wrap every ``nn.Linear`` whose name ends with one of ``targets``; returns how many.

    Raises ValueError when ``rank`` is not positive or nothing matched (the names are wrong
    for this network)."""
    if rank < 1:
        raise ValueError(f"LoRA rank must be >= 1, got {rank}")
    alpha = float(rank if alpha is None else alpha)
    found = [
        (name, layer)
        for name, layer in module.named_modules()
        if isinstance(layer, nn.Linear) and name.endswith(targets)
    ]
    if not found:
        raise ValueError(f"no linear layers named {', '.join(targets)} to adapt")
    for name, layer in found:
        parent_name, _, child = name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        setattr(parent, child, LoRALinear(layer, rank=rank, alpha=alpha))
    return len(found)
