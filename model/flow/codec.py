"""Audio ↔ latents. ``mel``: a log-mel spectrogram (built in, no weights; decoded by
Griffin-Lim — toy quality). ``oobleck``: Stable Audio Open's VAE, from a local base folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from v2m.model.errors import WeightsNotFoundError
from v2m.model.flow.config import FlowConfig

_LOG_MEAN, _LOG_STD = -6.0, 3.0  # rough log-mel statistics: latents near zero mean, unit std


class MelCodec:
    """``encode``: float[n] mono at ``sample_rate_hz`` → float[d, l]; ``decode`` the reverse."""

    def __init__(self, config: FlowConfig):
        self.sr = config.sample_rate_hz
        self.n_mels = config.latent_channels
        self.hop = round(config.sample_rate_hz / config.latent_rate_hz)
        self.n_fft = 4 * self.hop

    def encode(self, audio: np.ndarray) -> np.ndarray:
        import librosa

        mel = librosa.feature.melspectrogram(
            y=np.asarray(audio, np.float32),
            sr=self.sr,
            n_fft=self.n_fft,
            hop_length=self.hop,
            n_mels=self.n_mels,
            center=True,
        )
        return ((np.log(mel + 1e-5) - _LOG_MEAN) / _LOG_STD).astype(np.float32)

    def decode(self, latent: np.ndarray, *, n_iter: int = 32) -> np.ndarray:
        """Mel power → linear magnitude by the filterbank's pseudo-inverse (clipped at 0),
        then Griffin-Lim. (librosa's NNLS inversion runs scipy's L-BFGS-B, which has crashed
        the process beside torch here; the pseudo-inverse is deterministic and fast.)"""
        import librosa

        mel = np.exp(np.asarray(latent, np.float64) * _LOG_STD + _LOG_MEAN)
        basis = librosa.filters.mel(sr=self.sr, n_fft=self.n_fft, n_mels=self.n_mels)
        power = np.maximum(np.linalg.pinv(basis) @ mel, 0.0)
        audio = librosa.griffinlim(
            np.sqrt(power), n_iter=n_iter, hop_length=self.hop, n_fft=self.n_fft, center=True
        )
        return audio.astype(np.float32)


class OobleckCodec:
    """Stable Audio Open's ``AutoencoderOobleck`` (diffusers) from ``BASE/vae``."""

    def __init__(self, base_dir: str | Path, *, device: str = "cpu"):
        from diffusers import AutoencoderOobleck

        from v2m.model.flow.stable_audio import quiet_model_loaders

        quiet_model_loaders()

        folder = Path(base_dir) / "vae"
        if not (folder / "config.json").is_file():
            raise WeightsNotFoundError(
                f"no Oobleck VAE in {str(folder)!r}: put Stable Audio Open's vae/ folder there"
            )
        self.vae = AutoencoderOobleck.from_pretrained(folder, local_files_only=True).to(device)
        self.vae.eval()
        self.sr = self.vae.config.sampling_rate

    @torch.no_grad()
    def encode(self, audio: np.ndarray) -> np.ndarray:
        """float[2, n] (or [n]) → float[64, l]."""
        x = torch.as_tensor(np.atleast_2d(audio), dtype=torch.float32)
        if x.shape[0] == 1:
            x = x.repeat(2, 1)
        x = x[None].to(self.vae.device)
        return self.vae.encode(x).latent_dist.mode()[0].cpu().numpy()

    @torch.no_grad()
    def decode(self, latent: np.ndarray) -> np.ndarray:
        z = torch.as_tensor(latent, dtype=torch.float32)[None].to(self.vae.device)
        return self.vae.decode(z).sample[0].cpu().numpy()
