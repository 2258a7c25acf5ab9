"""``v2m train``: fine-tune (or train) the flow model on music only (paper §3.3).

A data folder holds audio files with optional caption sidecars (``NAME.txt``). Each file is
encoded once to latents and to its *music* event curve (the ``spectral`` encoder, same recipe
as the video curve) and cached beside the checkpoint. Training draws random windows, applies
Eq. 6 with 10 % text and 10 % curve dropout, AdamW at 1e-4, bf16 autocast on a GPU, optional
gradient checkpointing, and saves a resumable checkpoint every ``save_every`` steps.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from v2m.model.errors import InvalidInputError
from v2m.model.flow.checkpoint import FlowModel, load_checkpoint, save_checkpoint
from v2m.model.flow.config import FlowConfig
from v2m.model.flow.rectified import training_loss

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aiff", ".aif")


@dataclass(frozen=True)
class Example:
    """One training file: latents float[d, l], its music curve float[l], its caption."""

    latent: np.ndarray
    curve: np.ndarray
    caption: str


def music_curve(path: Path, *, latent_rate_hz: float, frames: int) -> np.ndarray:
    """The music event curve of an audio file on the latent grid: float[frames]."""
    from v2m.model.analysis import AnalysisSettings, analyze
    from v2m.model.flow.generate import curve_at_latent_rate

    curves = analyze(path, settings=AnalysisSettings(encoder="spectral")).curves.smoothed
    return curve_at_latent_rate(
        curves.values,
        curves.rate_hz,
        curves.start_s,
        latent_rate_hz=latent_rate_hz,
        frames=frames,
    )


def load_examples(
    folder: str | Path,
    config,
    *,
    cache_dir: str | Path,
    require_captions: bool = False,
    device: str = "cpu",
    progress=None,
) -> list[Example]:
    """Encode every audio file of ``folder`` once — latents with the config's codec (the
    built-in mel, or a base's Oobleck VAE in stereo) and the music curve on the latent grid —
    cached by path, size, mtime and config. ``require_captions``: refuse files without a
    ``NAME.txt`` caption (a text-to-music base would unlearn its prompts), naming them."""
    from v2m.model.media import decode_audio

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise InvalidInputError(
            f"no audio files in {str(folder)!r} (looked for {', '.join(AUDIO_SUFFIXES)})"
        )
    uncaptioned = [p.name for p in files if not _caption(p)]
    if require_captions and uncaptioned:
        shown = ", ".join(uncaptioned[:5]) + (" ..." if len(uncaptioned) > 5 else "")
        raise InvalidInputError(
            f"{len(uncaptioned)} of {len(files)} files in {str(folder)!r} have no caption "
            f"({shown}): write what each sounds like in NAME.txt beside it (genre, "
            "instruments, mood) — fine-tuning a text-to-music base without captions teaches "
            "it to ignore prompts"
        )
    codec = _codec(config, device=device)
    stereo = config.codec == "oobleck"
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    examples = []
    for i, path in enumerate(files):
        stat = path.stat()
        key = hashlib.sha1(
            f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{config}".encode()
        ).hexdigest()[:16]
        cached = cache / f"{key}.npz"
        if cached.is_file():
            data = np.load(cached)
            latent, curve = data["latent"], data["curve"]
        else:
            audio = decode_audio(
                path, sample_rate_hz=config.sample_rate_hz, channels=2 if stereo else 1
            ).samples
            latent = codec.encode(audio if stereo else audio[0])
            curve = music_curve(path, latent_rate_hz=config.latent_rate_hz, frames=latent.shape[1])
            np.savez(cached, latent=latent, curve=curve)
        examples.append(Example(latent, curve, _caption(path)))
        if progress is not None:
            progress((i + 1) / len(files), "encoding music")
    return examples


def _caption(path: Path) -> str:
    caption_file = path.with_suffix(".txt")
    return caption_file.read_text().strip() if caption_file.is_file() else ""


def _codec(config, *, device: str):
    from v2m.model.flow.codec import MelCodec, OobleckCodec

    if config.codec == "oobleck":
        return OobleckCodec(config.base, device=device)
    return MelCodec(config)


def _batch(examples: list[Example], size: int, window: int, rng: np.random.Generator):
    """Random windows: latents float[B, d, window], curves float[B, window], captions."""
    latents, curves, captions = [], [], []
    for j in rng.integers(0, len(examples), size):
        ex = examples[j]
        n = ex.latent.shape[1]
        start = int(rng.integers(0, max(1, n - window + 1)))
        lat = ex.latent[:, start : start + window]
        cur = ex.curve[start : start + window]
        pad = window - lat.shape[1]
        if pad > 0:  # short files: repeat their last frame (silence-like) to a full window
            lat = np.pad(lat, ((0, 0), (0, pad)), mode="edge")
            cur = np.pad(cur, (0, pad), mode="edge")
        latents.append(lat)
        curves.append(cur)
        captions.append(ex.caption)
    return torch.as_tensor(np.stack(latents)), torch.as_tensor(np.stack(curves)), captions


def learning_rate_at(
    step: int, *, steps: int, peak: float, warmup_steps: int = 0, cosine_decay: bool = False
) -> float:
    """The learning rate for 0-based ``step`` of ``steps``: linear warmup to ``peak``, then
    constant or cosine-annealed to ``peak / 10``."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    if not cosine_decay:
        return peak
    progress = min(1.0, (step - warmup_steps) / max(1, steps - warmup_steps))
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def check_training_options(*, steps: int, batch_size: int, lr: float, warmup_steps: int) -> None:
    """Refuse absurd values before any encoding or training starts."""
    if steps < 1 or batch_size < 1:
        raise InvalidInputError(
            f"steps ({steps}) and batch size ({batch_size}) must both be at least 1"
        )
    if not 0.0 < lr <= 1.0:
        raise InvalidInputError(f"learning rate {lr} is outside (0, 1]")
    if not 0 <= warmup_steps <= steps:
        raise InvalidInputError(f"warmup steps {warmup_steps} must lie in [0, steps={steps}]")


def train(
    examples: list[Example],
    out_dir: str | Path,
    *,
    config: FlowConfig | None = None,
    build: Callable[[], torch.nn.Module] | None = None,
    steps: int = 1000,
    batch_size: int = 16,
    lr: float = 1e-4,
    device: str | None = None,
    gradient_checkpointing: bool = False,
    save_every: int = 500,
    seed: int = 0,
    warmup_steps: int = 0,
    cosine_decay: bool = False,
    progress: Callable[[float, str], None] | None = None,
) -> FlowModel:
    """Train for ``steps`` (continuing from ``out_dir``'s checkpoint when it has one).

    ``build`` makes a new model (default: a ``FlowModel`` of ``config``; a ``BaseFlowModel``
    fine-tunes a base); only its trainable parameters are optimised. ``lr`` is the peak
    learning rate: reached linearly over ``warmup_steps``, then held, or with ``cosine_decay``
    annealed to a tenth of it at ``steps``."""
    check_training_options(steps=steps, batch_size=batch_size, lr=lr, warmup_steps=warmup_steps)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(out_dir)
    state = None
    if (out / "train_state.pt").is_file():
        model = load_checkpoint(out, device=device)
        state = torch.load(out / "train_state.pt", map_location=device, weights_only=False)
    else:
        torch.manual_seed(seed)
        model = (build() if build else FlowModel(config or FlowConfig())).to(device)
    model.train()
    model.dit.gradient_checkpointing = gradient_checkpointing
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
    step = 0
    rng = np.random.default_rng(seed)
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        step = state["step"]
        rng.bit_generator.state = state["rng"]
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda"))
    started, first_step = time.perf_counter(), step
    while step < steps:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(
                step, steps=steps, peak=lr, warmup_steps=warmup_steps, cosine_decay=cosine_decay
            )
        x0, curve, captions = _batch(examples, batch_size, model.config.window_frames, rng)
        x0, curve = x0.to(device), curve.to(device)
        with autocast:
            text, mask = model.encode_text(captions)
            loss = training_loss(
                model.dit, x0, curve, text, mask, cond_dropout=model.config.cond_dropout
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        step += 1
        if progress is not None and (step % 10 == 0 or step == steps):
            rate = (step - first_step) / max(time.perf_counter() - started, 1e-9)
            progress(step / steps, f"step {step}/{steps} loss {loss.item():.4f} ({rate:.1f}/s)")
        if step % save_every == 0 or step == steps:
            save_checkpoint(
                model,
                out,
                train_state={
                    "optimizer": optimizer.state_dict(),
                    "step": step,
                    "rng": rng.bit_generator.state,
                },
            )
    return model.eval()
