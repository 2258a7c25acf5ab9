"""Weight-backed encoders loaded from a local directory with transformers (no downloads).

* ``dinov2`` (video): ``Dinov2Model``; one vector per frame, the mean of the patch tokens of
  the last layer (the paper's spatially pooled DINOv2 features).
* ``mert`` (music): a HuBERT-style model (``HubertModel``, or MERT's own class when the
  directory ships its code and ``trust_remote_code=True``); one vector per ~20 ms frame, the
  last hidden layer.

Both run on CUDA in bfloat16 when a GPU is present, else on the CPU in float32. torch and
transformers are imported only when one of these is created.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from v2m.model.encoders.base import MusicEncoder, VideoEncoder
from v2m.model.errors import WeightsNotFoundError
from v2m.model.media import AudioSignal

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _device_and_dtype(device: str | None):
    import torch

    name = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if name.startswith("cuda") else torch.float32
    return torch.device(name), dtype


def _preprocessor_config(weights_dir: str) -> dict:
    path = os.path.join(weights_dir, "preprocessor_config.json")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _load(model_cls, weights_dir: str, *, name: str, **kwargs):
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress bar is the one the user sees
    try:
        return model_cls.from_pretrained(weights_dir, local_files_only=True, **kwargs)
    except (OSError, ValueError) as exc:
        raise WeightsNotFoundError(
            f"encoder {name!r}: cannot load a checkpoint from {weights_dir!r}: {exc}"
        ) from exc


class Dinov2Encoder(VideoEncoder):
    """DINOv2 (transformers Dinov2Model) from a local directory; mean-pooled patch tokens."""

    name = "dinov2"
    needs_weights = True

    def __init__(self, *, weights_dir: str, device: str | None = None, batch_size: int = 16):
        from transformers import Dinov2Model

        self.device, self.dtype = _device_and_dtype(device)
        self.model = _load(Dinov2Model, weights_dir, name=self.name).to(self.device, self.dtype)
        self.model.eval()
        cfg = self.model.config
        pre = _preprocessor_config(weights_dir)
        crop = pre.get("crop_size") or {}
        side = crop.get("height") if isinstance(crop, dict) else crop
        side = int(side or min(224, cfg.image_size))
        self.side = max(cfg.patch_size, side // cfg.patch_size * cfg.patch_size)
        self.mean = tuple(pre.get("image_mean", _IMAGENET_MEAN))
        self.std = tuple(pre.get("image_std", _IMAGENET_STD))
        self.batch_size = batch_size

    def encode(self, frames: np.ndarray, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch
        import torch.nn.functional as F

        mean = torch.tensor(self.mean, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=self.device).view(1, 3, 1, 1)
        out = []
        with torch.inference_mode():
            for i in range(0, len(frames), self.batch_size):
                x = torch.from_numpy(np.ascontiguousarray(frames[i : i + self.batch_size]))
                x = x.to(self.device).permute(0, 3, 1, 2).float() / 255.0
                x = F.interpolate(x, size=(self.side, self.side), mode="bilinear", antialias=True)
                x = ((x - mean) / std).to(self.dtype)
                tokens = self.model(pixel_values=x).last_hidden_state  # [b, 1 + patches, d]
                out.append(tokens[:, 1:].mean(dim=1).float().cpu().numpy())
        return np.concatenate(out).astype(np.float32), np.asarray(times_s, np.float64)


class MertEncoder(MusicEncoder):
    """MERT / HuBERT-style model from a local directory; last hidden layer per ~20 ms frame."""

    name = "mert"
    needs_weights = True

    def __init__(
        self,
        *,
        weights_dir: str,
        device: str | None = None,
        window_s: float = 30.0,
        trust_remote_code: bool = False,
    ):
        from transformers import AutoModel

        self.device, self.dtype = _device_and_dtype(device)
        self.model = _load(
            AutoModel, weights_dir, name=self.name, trust_remote_code=trust_remote_code
        ).to(self.device, self.dtype)
        self.model.eval()
        cfg = self.model.config
        pre = _preprocessor_config(weights_dir)
        self.sample_rate_hz = int(pre.get("sampling_rate", getattr(cfg, "sampling_rate", 16000)))
        self.normalize = bool(pre.get("do_normalize", True))
        strides, kernels = list(cfg.conv_stride), list(cfg.conv_kernel)
        self.hop = math.prod(strides)
        receptive, jump = 1, 1
        for k, s in zip(kernels, strides, strict=True):
            receptive += (k - 1) * jump
            jump *= s
        self.receptive = receptive
        self.window = max(
            self.receptive, int(window_s * self.sample_rate_hz) // self.hop * self.hop
        )

    def encode(self, audio: AudioSignal) -> tuple[np.ndarray, np.ndarray]:
        import torch

        y = audio.mono.astype(np.float32)
        if audio.sample_rate_hz != self.sample_rate_hz:
            import librosa

            y = librosa.resample(y, orig_sr=audio.sample_rate_hz, target_sr=self.sample_rate_hz)
        feats = []
        with torch.inference_mode():
            for start in range(0, max(1, len(y) - self.receptive + 1), self.window):
                chunk = y[start : start + self.window + self.receptive - self.hop]
                if len(chunk) < self.receptive:
                    break
                if self.normalize:
                    chunk = (chunk - chunk.mean()) / np.sqrt(chunk.var() + 1e-7)
                x = torch.from_numpy(chunk)[None].to(self.device, self.dtype)
                hidden = self.model(input_values=x).last_hidden_state[0]
                feats.append(hidden[: self.window // self.hop].float().cpu().numpy())
        if not feats:
            return np.zeros((0, self.model.config.hidden_size), np.float32), np.zeros(0)
        f = np.concatenate(feats)
        times = audio.start_s + (np.arange(len(f)) * self.hop + (self.receptive - 1) / 2) / (
            self.sample_rate_hz
        )
        return f.astype(np.float32), times
