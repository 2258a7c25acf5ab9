"""A pretrained Stable Audio Open base (diffusers layout) with the event-curve input added.

``BASE/transformer`` (``StableAudioDiTModel``), ``BASE/vae`` (``AutoencoderOobleck``) and
``BASE/text_encoder`` + ``BASE/tokenizer`` (T5) are read from a local folder, never downloaded.
The curve enters through ``curve_proj``, a zero-initialised 1×1 convolution from the one curve
channel into the latent channels — the input projection grown by one channel — so the loaded
model's output is unchanged until fine-tuning moves it. Same call signature as ``CurveDiT``, so
training and sampling code serve both.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from v2m.model.errors import WeightsNotFoundError


def quiet_model_loaders() -> None:
    """No progress bars or advice (``pip install accelerate``) from diffusers and transformers
    while they read local weights: the job's own progress is what the editor sees."""
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def load_transformer(base_dir: str | Path):
    """``StableAudioDiTModel`` from ``BASE/transformer`` (WeightsNotFoundError names what)."""
    from diffusers import StableAudioDiTModel

    quiet_model_loaders()

    folder = Path(base_dir) / "transformer"
    if not (folder / "config.json").is_file():
        raise WeightsNotFoundError(
            f"no Stable Audio transformer in {str(folder)!r}: put the base model's "
            "transformer/ folder (config.json + weights, diffusers layout) there"
        )
    return StableAudioDiTModel.from_pretrained(folder, local_files_only=True)


class CurveStableAudio(nn.Module):
    """``v(x_t, t | text, e)`` with a Stable Audio DiT: float[B, 64, l] → float[B, 64, l]."""

    def __init__(self, transformer, *, timing_tokens: bool = False):
        """``timing_tokens``: the text's last two tokens are the base's seconds-start and
        seconds-end embeddings (``StableAudioConditioner``), which are also its global state;
        dropping the text for guidance keeps the global state, as the base's pipeline does."""
        super().__init__()
        self.transformer = transformer
        self.timing_tokens = timing_tokens
        cfg = transformer.config
        self.curve_proj = nn.Conv1d(1, cfg.in_channels, kernel_size=1)
        nn.init.zeros_(self.curve_proj.weight)
        nn.init.zeros_(self.curve_proj.bias)
        self.null_text = nn.Parameter(torch.zeros(1, 1, cfg.cross_attention_input_dim))
        self.null_curve = nn.Parameter(torch.zeros(1))
        self.rotary_dim = cfg.attention_head_dim // 2

    @classmethod
    def from_base(cls, base_dir: str | Path) -> CurveStableAudio:
        return cls(load_transformer(base_dir))

    @property
    def gradient_checkpointing(self) -> bool:
        return bool(self.transformer.gradient_checkpointing)

    @gradient_checkpointing.setter
    def gradient_checkpointing(self, on: bool) -> None:
        if on:
            self.transformer.enable_gradient_checkpointing()
        else:
            self.transformer.disable_gradient_checkpointing()

    def base_velocity(self, x_t, t, text, text_mask, global_states=None):
        """The unmodified base model's output (for checks): same inputs, no curve."""
        from diffusers.models.embeddings import get_1d_rotary_pos_embed

        cfg = self.transformer.config
        b = x_t.shape[0]
        if global_states is None:
            global_states = torch.zeros(
                b, 1, cfg.global_states_input_dim, dtype=x_t.dtype, device=x_t.device
            )
        rotary = get_1d_rotary_pos_embed(
            self.rotary_dim,
            x_t.shape[2] + global_states.shape[1],
            use_real=True,
            repeat_interleave_real=False,
        )
        return self.transformer(
            x_t,
            timestep=t,
            encoder_hidden_states=text,
            global_hidden_states=global_states,
            rotary_embedding=rotary,
            encoder_attention_mask=text_mask,
        ).sample

    def forward(
        self, x_t, t, curve, text, text_mask, *, drop_text=None, drop_curve=None, global_states=None
    ):
        """As ``CurveDiT.forward``; ``global_states`` float[B, 1, global_states_input_dim]
        (Stable Audio's timing embedding; zeros when not given)."""
        b = x_t.shape[0]
        if global_states is None and self.timing_tokens:  # [B, 1, 2D], as the pipeline makes it
            global_states = torch.cat([text[:, -2:-1], text[:, -1:]], dim=2)
        if drop_curve is not None:
            curve = torch.where(drop_curve[:, None], self.null_curve.to(curve.dtype), curve)
        if drop_text is not None:
            null = self.null_text.expand(b, text.shape[1], -1).to(text.dtype)
            text = torch.where(drop_text[:, None, None], null, text)
            text_mask = text_mask | drop_text[:, None]
        x = x_t + self.curve_proj(curve[:, None, :].to(x_t.dtype))
        return self.base_velocity(x, t, text, text_mask, global_states)
