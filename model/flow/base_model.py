"""The flow model as a fine-tuned Stable Audio Open base (``v2m train --base DIR``).

A base folder is Stable Audio Open in the diffusers layout, read locally, never downloaded:

    BASE/transformer/       StableAudioDiTModel (config.json + weights)
    BASE/vae/               AutoencoderOobleck: audio ↔ latents float[64, l] (44.1 kHz / 2048)
    BASE/text_encoder/      T5 encoder            BASE/tokenizer/   its tokenizer
    BASE/projection_model/  StableAudioProjectionModel: text projection, seconds conditioners

``BaseFlowModel`` is the base's transformer with the zero-initialised curve input
(``CurveStableAudio``), optionally LoRA adapters on its attention projections, conditioned as the
Stable Audio pipeline conditions it (T5 → projection, plus the seconds-start / seconds-end
embeddings as two extra tokens and as the global state). A checkpoint folder holds
``config.json`` (``kind: stable-audio``, the base's path and the fingerprint of its transformer)
and ``model.safetensors`` with only what training changed: the curve input and null embeddings,
and the LoRA adapters or (full fine-tune) the transformer. The base's sampler is not used: the
fine-tuned network is a rectified flow (paper Eq. 6), sampled with the paper's Euler steps.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch import nn

from v2m.model.errors import InvalidInputError, WeightsNotFoundError
from v2m.model.flow.stable_audio import CurveStableAudio, load_transformer

KIND = "stable-audio"
BASE_LAYOUT = (
    "transformer/config.json",
    "vae/config.json",
    "text_encoder/config.json",
    "tokenizer/tokenizer_config.json",
    "projection_model/config.json",
)
"""The files that make a folder a Stable Audio Open base (diffusers layout)."""


def check_base(base_dir: str | Path) -> Path:
    """The base folder, resolved; WeightsNotFoundError names every missing file."""
    base = Path(base_dir).resolve()
    missing = [name for name in BASE_LAYOUT if not (base / name).is_file()]
    if not any((base / "transformer").glob("*.safetensors")) and not any(
        (base / "transformer").glob("*.bin")
    ):
        missing.append("transformer/diffusion_pytorch_model.safetensors")
    if missing:
        raise WeightsNotFoundError(
            f"{str(base)!r} is not a Stable Audio Open base in the diffusers layout: missing "
            f"{', '.join(missing)} (save the pipeline with save_pretrained, or copy the model's "
            "folders there)"
        )
    return base


def base_fingerprint(base: Path) -> str:
    """SHA-256 of the transformer's config: which base a checkpoint extends."""
    return hashlib.sha256((base / "transformer" / "config.json").read_bytes()).hexdigest()[:16]


def transformer_parameters(base_dir: str | Path) -> int:
    """The base transformer's parameter count, read from its weight files' headers."""
    from safetensors import safe_open

    total = 0
    for weights in sorted((Path(base_dir) / "transformer").glob("*.safetensors")):
        with safe_open(str(weights), framework="pt") as f:
            for name in f.keys():  # noqa: SIM118 — safe_open has keys(), not iteration
                shape = f.get_slice(name).get_shape()
                count = 1
                for n in shape:
                    count *= n
                total += count
    return total


def cpu_fine_tune_hours(params: int, *, batch_size: int, window_frames: int, steps: int) -> float:
    """Rough hours to fine-tune ``params`` weights on a CPU: 6 FLOPs per weight per latent
    frame (forward and backward) at about 100 GFLOP/s, what a fast CPU sustains."""
    return 6 * params * batch_size * window_frames * steps / 1e11 / 3600


@dataclass(frozen=True)
class BaseFlowConfig:
    """A fine-tune of a base: what it extends and how it generates.

    Attributes:
        base: the base folder (absolute); base_fingerprint: its transformer's config digest.
        lora_rank: 0 for a full fine-tune, else the rank of the attention adapters.
        lora_alpha: the adapters' scale numerator (``alpha / rank``).
        window_frames: latent frames per training window and per sampled window.
        latent_channels, latent_rate_hz, sample_rate_hz: the base VAE's latent layout.
        cond_dropout: text and curve dropout while training (for guidance).
    """

    base: str
    base_fingerprint: str
    latent_channels: int
    latent_rate_hz: float
    sample_rate_hz: int
    window_frames: int
    lora_rank: int = 0
    lora_alpha: float = 0.0
    cond_dropout: float = 0.1
    codec = "oobleck"

    @classmethod
    def for_base(
        cls, base_dir: str | Path, *, window_s: float | None = None, lora_rank: int = 0
    ) -> BaseFlowConfig:
        """The layout read from the base's configs; ``window_s`` default: the transformer's
        own sample length."""
        base = check_base(base_dir)
        vae = json.loads((base / "vae" / "config.json").read_text())
        transformer = json.loads((base / "transformer" / "config.json").read_text())
        hop = 1
        for ratio in vae["downsampling_ratios"]:
            hop *= ratio
        rate = vae["sampling_rate"] / hop
        window = round(window_s * rate) if window_s is not None else int(transformer["sample_size"])
        if window < 2:
            raise InvalidInputError(f"the training window must hold 2+ latent frames, got {window}")
        if lora_rank < 0:
            raise InvalidInputError(f"LoRA rank must be 0 (full fine-tune) or more: {lora_rank}")
        return cls(
            base=str(base),
            base_fingerprint=base_fingerprint(base),
            latent_channels=int(transformer["in_channels"]),
            latent_rate_hz=rate,
            sample_rate_hz=int(vae["sampling_rate"]),
            window_frames=window,
            lora_rank=lora_rank,
            lora_alpha=float(lora_rank),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"kind": KIND, **asdict(self)}, indent=2))

    @classmethod
    def load(cls, path: str | Path) -> BaseFlowConfig:
        data = json.loads(Path(path).read_text())
        data.pop("kind", None)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"{path}: unknown keys {unknown}")
        return cls(**data)


class StableAudioConditioner(nn.Module):
    """Prompts → the base's conditioning, as its pipeline builds it (frozen):
    float[B, T + 2, D] (projected T5 states zeroed past the prompt, then the seconds-start and
    seconds-end embeddings) and bool[B, T + 2]."""

    def __init__(self, base: Path):
        super().__init__()
        from diffusers.pipelines.stable_audio.modeling_stable_audio import (
            StableAudioProjectionModel,
        )

        from v2m.model.flow.text import T5TextEncoder

        self.t5 = T5TextEncoder(base / "text_encoder", tokenizer_folder=base / "tokenizer")
        self.projection = StableAudioProjectionModel.from_pretrained(
            base / "projection_model", local_files_only=True
        ).eval()
        self.requires_grad_(False)

    @torch.no_grad()
    def forward(self, prompts: list[str], *, seconds: float):
        hidden, mask = self.t5(prompts)
        out = self.projection(text_hidden_states=hidden)
        text = out.text_hidden_states * mask[..., None].to(out.text_hidden_states.dtype)
        b = len(prompts)
        device = text.device
        timing = self.projection(
            start_seconds=torch.zeros(b, device=device),
            end_seconds=torch.full((b,), float(seconds), device=device),
        )
        states = torch.cat(
            [text, timing.seconds_start_hidden_states, timing.seconds_end_hidden_states], dim=1
        )
        full = torch.cat([mask, torch.ones(b, 2, dtype=torch.bool, device=device)], dim=1)
        return states, full


class BaseFlowModel(nn.Module):
    """A base's transformer with the curve input (and adapters), and its conditioner."""

    def __init__(self, config: BaseFlowConfig):
        super().__init__()
        from v2m.model.flow.lora import add_lora

        base = check_base(config.base)
        found = base_fingerprint(base)
        if found != config.base_fingerprint:
            raise InvalidInputError(
                f"the base in {config.base!r} changed since this checkpoint was trained (its "
                f"transformer config digest is {found}, the checkpoint's {config.base_fingerprint})"
            )
        self.config = config
        self.dit = CurveStableAudio(load_transformer(base), timing_tokens=True)
        if config.lora_rank:
            self.dit.transformer.requires_grad_(False)
            add_lora(self.dit.transformer, rank=config.lora_rank, alpha=config.lora_alpha)
        self.conditioner = StableAudioConditioner(base)

    def train(self, mode: bool = True) -> BaseFlowModel:
        super().train(mode)
        self.conditioner.eval()  # frozen: no dropout in T5 while the transformer trains
        return self

    def encode_text(self, prompts: list[str]):
        seconds = self.config.window_frames / self.config.latent_rate_hz
        return self.conditioner(prompts, seconds=seconds)

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        """What training changes (the trainable parameters), to save."""
        return {n: p for n, p in self.named_parameters() if p.requires_grad}

    def load_checkpoint_state(self, state: dict[str, torch.Tensor], *, source: str) -> None:
        expected = {n: p.shape for n, p in self.checkpoint_state().items()}
        reshaped = [n for n in set(state) & set(expected) if state[n].shape != expected[n]]
        if set(state) != set(expected) or reshaped:
            raise InvalidInputError(
                f"{source} does not match this model: {len(set(expected) - set(state))} tensors "
                f"missing, {len(set(state) - set(expected))} unexpected, {len(reshaped)} of "
                "another shape (another LoRA rank or base?)"
            )
        self.load_state_dict(state, strict=False)
