"""``spectral`` — the built-in music encoder (no weights, librosa).

Per hop (512 samples at 22.05 kHz, ~43 Hz): the log-mel spectrum (64 bands) with each band's
clip mean removed, so a frame's vector describes how its spectrum departs from the clip's
average, plus the 12-bin chroma scaled to unit peak. ``1 - cos`` between consecutive hops is
high at onsets, chord changes and section changes, low through sustained sound.
"""

from __future__ import annotations

import librosa
import numpy as np

from v2m.model.encoders.base import MusicEncoder, register_encoder
from v2m.model.media import AudioSignal

_HOP = 512
_N_FFT = 2048
_N_MELS = 64
_CHROMA_WEIGHT = 0.5
_DB_FLOOR = -80.0


@register_encoder
class SpectralEncoder(MusicEncoder):
    """Built-in: centred log-mel and chroma per ~23 ms hop; no weights."""

    name = "spectral"
    sample_rate_hz = 22050

    def encode(self, audio: AudioSignal) -> tuple[np.ndarray, np.ndarray]:
        y = audio.mono
        sr = audio.sample_rate_hz
        power = np.abs(librosa.stft(y, n_fft=_N_FFT, hop_length=_HOP)) ** 2
        mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=_N_MELS)
        log_mel = librosa.power_to_db(mel, ref=np.max, top_db=-_DB_FLOOR)  # [mels, frames]
        centred = log_mel - log_mel.mean(axis=1, keepdims=True)
        centred /= max(float(np.sqrt(np.mean(centred**2))), 1e-6)
        chroma = librosa.feature.chroma_stft(S=power, sr=sr, hop_length=_HOP)  # [12, frames]
        features = np.concatenate([centred / np.sqrt(_N_MELS), _CHROMA_WEIGHT * chroma / np.sqrt(12)])
        times = audio.start_s + librosa.frames_to_time(
            np.arange(features.shape[1]), sr=sr, hop_length=_HOP
        )
        return features.T.astype(np.float32), times
