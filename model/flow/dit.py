"""The velocity network: a DiT over audio latents with the event curve as an extra channel.

Input ``[x_t, e] ∈ R^{(d+1)×l}`` (paper Eq. 5): the curve is concatenated as one more channel and
only the input projection sees it. Timestep by adaptive layer norm; text by cross-attention to
the text encoder's hidden states. Learned null text and null curve stand in for dropped
conditions (classifier-free guidance).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

from v2m.model.flow.config import FlowConfig


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of ``t`` in [0, 1]: float[B] → float[B, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    angles = 1000.0 * t.float()[:, None] * freqs[None]
    return torch.cat([angles.cos(), angles.sin()], dim=-1)


class Block(nn.Module):
    """Self-attention, cross-attention to text, MLP; each modulated by the timestep (adaLN)."""

    def __init__(self, hidden: int, heads: int, text_dim: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)
        self.norm2 = nn.LayerNorm(hidden)
        self.q = nn.Linear(hidden, hidden)
        self.kv = nn.Linear(text_dim, 2 * hidden)
        self.cross_proj = nn.Linear(hidden, hidden)
        self.norm3 = nn.LayerNorm(hidden, elementwise_affine=False)
        self.mlp = nn.Sequential(
            nn.Linear(hidden, 4 * hidden),
            nn.GELU(approximate="tanh"),
            nn.Linear(4 * hidden, hidden),
        )
        self.ada = nn.Linear(hidden, 6 * hidden)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.view(b, n, self.heads, c // self.heads).transpose(1, 2)

    def _merge(self, x: torch.Tensor) -> torch.Tensor:
        b, h, n, c = x.shape
        return x.transpose(1, 2).reshape(b, n, h * c)

    def forward(self, x, t_emb, text, text_mask):
        """x: float[B, l, hidden]; t_emb: float[B, hidden]; text: float[B, T, text_dim];
        text_mask: bool[B, T] (True = real token)."""
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(t_emb)[:, None].chunk(6, dim=-1)
        h = self.norm1(x) * (1 + scale1) + shift1
        q, k, v = (self._heads(z) for z in self.qkv(h).chunk(3, dim=-1))
        x = x + gate1 * self.proj(self._merge(F.scaled_dot_product_attention(q, k, v)))
        q = self._heads(self.q(self.norm2(x)))
        k, v = (self._heads(z) for z in self.kv(text).chunk(2, dim=-1))
        mask = text_mask[:, None, None, :]
        x = x + self.cross_proj(
            self._merge(F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
        )
        h = self.norm3(x) * (1 + scale2) + shift2
        return x + gate2 * self.mlp(h)


class CurveDiT(nn.Module):
    """``v(x_t, t | text, e)``: float[B, d, l] → float[B, d, l]."""

    def __init__(self, config: FlowConfig):
        super().__init__()
        self.config = config
        c = config
        self.input_proj = nn.Linear(c.latent_channels + 1, c.hidden)  # [x_t, e]: d + 1 channels
        self.pos = nn.Parameter(torch.zeros(1, c.window_frames, c.hidden))
        nn.init.normal_(self.pos, std=0.02)
        self.t_mlp = nn.Sequential(
            nn.Linear(256, c.hidden), nn.SiLU(), nn.Linear(c.hidden, c.hidden)
        )
        self.blocks = nn.ModuleList(Block(c.hidden, c.heads, c.text_dim) for _ in range(c.depth))
        self.norm_out = nn.LayerNorm(c.hidden, elementwise_affine=False)
        self.ada_out = nn.Linear(c.hidden, 2 * c.hidden)
        self.output_proj = nn.Linear(c.hidden, c.latent_channels)
        nn.init.zeros_(self.ada_out.weight)
        nn.init.zeros_(self.ada_out.bias)
        self.null_text = nn.Parameter(torch.zeros(1, 1, c.text_dim))
        self.null_curve = nn.Parameter(torch.zeros(1))
        self.gradient_checkpointing = False

    def forward(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        curve: torch.Tensor,
        text: torch.Tensor,
        text_mask: torch.Tensor,
        *,
        drop_text: torch.Tensor | None = None,
        drop_curve: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x_t: float[B, d, l]; t: float[B]; curve: float[B, l]; text: float[B, T, text_dim];
        text_mask: bool[B, T]; drop_text / drop_curve: bool[B], True puts the learned null
        condition in place of that sample's text / curve. Returns the velocity float[B, d, l]."""
        b, _, length = x_t.shape
        if length > self.config.window_frames:
            raise ValueError(f"{length} latent frames > window {self.config.window_frames}")
        if drop_curve is not None:
            curve = torch.where(drop_curve[:, None], self.null_curve.to(curve.dtype), curve)
        if drop_text is not None:
            null = self.null_text.expand(b, text.shape[1], -1).to(text.dtype)
            text = torch.where(drop_text[:, None, None], null, text)
            text_mask = text_mask | drop_text[:, None]
        h = torch.cat([x_t, curve[:, None, :].to(x_t.dtype)], dim=1).transpose(1, 2)
        h = self.input_proj(h) + self.pos[:, :length]
        t_emb = self.t_mlp(timestep_embedding(t, 256).to(h.dtype))
        for block in self.blocks:
            if self.gradient_checkpointing and self.training:
                h = checkpoint(block, h, t_emb, text, text_mask, use_reentrant=False)
            else:
                h = block(h, t_emb, text, text_mask)
        shift, scale = self.ada_out(t_emb)[:, None].chunk(2, dim=-1)
        h = self.norm_out(h) * (1 + scale) + shift
        return self.output_proj(h).transpose(1, 2)
