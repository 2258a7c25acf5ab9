"""Sizes of a flow model, saved as JSON beside its weights."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from v2m.model.errors import InvalidInputError


@dataclass(frozen=True)
class FlowConfig:
    """A curve-conditioned DiT and what it generates.

    Attributes:
        latent_channels: ``d``, channels of the audio latent ``x ∈ R^{d×l}``.
        latent_rate_hz: latent frames per second (``l`` = seconds × rate).
        window_frames: the training window ``l``; longer music is made window by window.
        hidden: transformer width; depth: blocks; heads: attention heads.
        text_dim: width of the text encoder's hidden states (cross-attention input).
        codec: ``"mel"`` (built-in log-mel, no weights) or ``"oobleck"`` (Stable Audio's VAE).
        text_encoder: ``"bytes"`` (a small learned byte embedding) or ``"t5"`` (from a base).
        sample_rate_hz: audio rate of the codec.
        cond_dropout: probability of dropping text and curve (each) while training (CFG).
    """

    latent_channels: int = 32
    latent_rate_hz: float = 31.25
    window_frames: int = 256
    hidden: int = 128
    depth: int = 4
    heads: int = 4
    text_dim: int = 64
    codec: str = "mel"
    text_encoder: str = "bytes"
    sample_rate_hz: int = 16000
    cond_dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.hidden % self.heads:
            raise InvalidInputError(
                f"hidden {self.hidden} must be a multiple of heads {self.heads}"
            )
        if self.codec not in ("mel", "oobleck"):
            raise InvalidInputError(f"codec must be 'mel' or 'oobleck', got {self.codec!r}")
        if self.text_encoder not in ("bytes", "t5"):
            raise InvalidInputError(
                f"text_encoder must be 'bytes' or 't5', got {self.text_encoder!r}"
            )
        if not 0 <= self.cond_dropout < 1:
            raise InvalidInputError(f"cond_dropout must be in [0, 1), got {self.cond_dropout}")
        for name in ("latent_channels", "window_frames", "hidden", "depth", "heads", "text_dim"):
            if getattr(self, name) < 1:
                raise InvalidInputError(f"{name} must be >= 1, got {getattr(self, name)}")

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> FlowConfig:
        data = json.loads(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"{path}: unknown flow config keys {unknown}")
        return cls(**data)


PRESETS = {
    "tiny": FlowConfig(),
    "small": FlowConfig(hidden=384, depth=8, heads=6, text_dim=128, window_frames=512),
    # About 1 B parameters at Stable Audio Open's latent layout (64 channels, 44.1 kHz / 2048).
    "1b": FlowConfig(
        latent_channels=64,
        latent_rate_hz=44100 / 2048,
        window_frames=1024,
        hidden=1536,
        depth=20,
        heads=24,
        text_dim=768,
        codec="oobleck",
        text_encoder="t5",
        sample_rate_hz=44100,
    ),
}
"""Named sizes for ``v2m train --config``."""
