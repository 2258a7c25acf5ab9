"""The one encoder interface (DESIGN §4); the registry is :mod:`v2m.model.encoders`.

An encoder turns frames or audio into one feature vector per time step; the event curve is
computed from those vectors.

Video encoders receive frames in presentation order, in batches, and may keep state between
batches (``motion`` remembers the previous frame): create one instance per stream. Music
encoders receive a whole :class:`~v2m.model.media.AudioSignal`.
"""

from __future__ import annotations

import os
from typing import ClassVar, Literal

import numpy as np

from v2m.model.errors import WeightsNotFoundError
from v2m.model.media import AudioSignal

Modality = Literal["video", "music"]


class Encoder:
    """Base class. Subclasses set ``name`` and ``modality`` and implement ``encode``."""

    name: ClassVar[str]
    modality: ClassVar[Modality]
    needs_weights: ClassVar[bool] = False


class VideoEncoder(Encoder):
    modality = "video"

    def encode(self, frames: np.ndarray, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features of consecutive frames.

        Args:
            frames: uint8[n, h, w, 3] RGB, upright, in presentation order.
            times_s: float64[n] presentation times.

        Returns:
            (features float32[n, d], times_s float64[n]).
        """
        raise NotImplementedError


class MusicEncoder(Encoder):
    modality = "music"
    sample_rate_hz: int = 22050
    """Rate the encoder wants its audio decoded at."""

    def encode(self, audio: AudioSignal) -> tuple[np.ndarray, np.ndarray]:
        """Features of audio hops: (float32[n, d], times_s float64[n] — hop centre times)."""
        raise NotImplementedError


def resolve_weights_dir(name: str, weights_dir: str | os.PathLike | None) -> str:
    """The local checkpoint directory: the argument, else ``$V2M_<NAME>_DIR``.

    Nothing is ever downloaded: a missing directory is a :class:`WeightsNotFoundError` that
    says what to put where.
    """
    env = f"V2M_{name.upper()}_DIR"
    path = weights_dir or os.environ.get(env)
    if not path:
        raise WeightsNotFoundError(
            f"encoder {name!r} needs a local checkpoint directory: pass --weights DIR or set "
            f"{env}; the directory must hold config.json and the model weights "
            "(as written by transformers' save_pretrained). v2m never downloads weights."
        )
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise WeightsNotFoundError(
            f"encoder {name!r}: {str(path)!r} has no config.json; point it at a directory "
            "written by transformers' save_pretrained"
        )
    return str(path)
