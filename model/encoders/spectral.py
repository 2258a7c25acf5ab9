"""``spectral`` — the built-in music encoder (no weights, librosa).

Per hop (512 samples at 22.05 kHz, ~43 Hz): the log-mel spectrum (64 bands) with each band's
clip mean removed, so a frame's vector describes how its spectrum departs from the clip's
average, plus the 12-bin chroma. ``1 - cos`` between consecutive hops is high at onsets, chord
changes and section changes, low through sustained sound.

The analysis window is *causal-shaped*: a 3 ms rise at its newest end and an exponential
memory (23 ms) into the past. With a symmetric window a transient changes the features twice,
when it enters the window and again when it leaves it ~93 ms later, and either may win; with
this window the entry is sharp and the exit fades out, so each onset makes one peak. A hop is
stamped at its window's newest end, where an onset first shows (within ~10 ms on clicks).
"""

from __future__ import annotations

import librosa
import numpy as np

from v2m.model.encoders.base import MusicEncoder
from v2m.model.media import AudioSignal

_HOP = 512
_N_FFT = 2048
_N_MELS = 64
_ATTACK = 64
_MEMORY = 512
_CHROMA_WEIGHT = 0.5
_TOP_DB = 80.0


def causal_window(
    n_fft: int = _N_FFT, *, attack: int = _ATTACK, memory: int = _MEMORY
) -> np.ndarray:
    """float64[n_fft]: exponential memory into the past, a raised-sine fade at the newest end."""
    w = np.exp(-(n_fft - 1 - np.arange(n_fft)) / memory)
    ramp = np.sin(0.5 * np.pi * (np.arange(attack) + 0.5) / attack) ** 2
    w[-attack:] *= ramp[::-1]
    return w


class SpectralEncoder(MusicEncoder):
    """Built-in: centred log-mel and chroma per ~23 ms hop; no weights."""

    name = "spectral"
    sample_rate_hz = 22050

    def encode(self, audio: AudioSignal) -> tuple[np.ndarray, np.ndarray]:
        y = audio.mono
        sr = audio.sample_rate_hz
        stft = librosa.stft(y, n_fft=_N_FFT, hop_length=_HOP, window=causal_window())
        power = np.abs(stft) ** 2
        mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=_N_MELS)
        log_mel = librosa.power_to_db(mel, ref=np.max, top_db=_TOP_DB)  # [mels, frames]
        centred = log_mel - log_mel.mean(axis=1, keepdims=True)
        centred /= max(float(np.sqrt(np.mean(centred**2))), 1e-6)
        chroma = librosa.feature.chroma_stft(S=power, sr=sr, hop_length=_HOP, tuning=0.0)
        features = np.concatenate(
            [centred / np.sqrt(_N_MELS), _CHROMA_WEIGHT * chroma / np.sqrt(12)]
        )
        newest = _N_FFT / 2 - _ATTACK / 2  # frames are centred; the window peaks here
        times = audio.start_s + (np.arange(features.shape[1]) * _HOP + newest) / sr
        return features.T.astype(np.float32), times
