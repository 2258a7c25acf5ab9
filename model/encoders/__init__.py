"""Feature encoders, looked up by name like PySceneDetect's detectors (DESIGN §4):

>>> enc = create_encoder("pixels")
>>> feats, times = enc.encode(frames_uint8_nhw3, times_s)

Built-ins are imported when first asked for (``spectral`` pulls in librosa, ``dinov2`` and
``mert`` transformers); weight-backed ones load only from a local folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from v2m.model.encoders.base import (
    Encoder,
    Modality,
    MusicEncoder,
    VideoEncoder,
    resolve_weights_dir,
)
from v2m.model.errors import InvalidInputError
from v2m.model.registry import Registry, summary


@dataclass(frozen=True)
class EncoderEntry:
    name: str
    modality: Modality
    needs_weights: bool
    summary: str
    factory: Callable[..., Encoder]


def _entry(cls: type[Encoder]) -> EncoderEntry:
    return EncoderEntry(cls.name, cls.modality, cls.needs_weights, summary(cls), cls)


REGISTRY: Registry[EncoderEntry] = Registry(
    "encoder",
    {
        "pixels": "v2m.model.encoders.pixels:PixelsEncoder",
        "motion": "v2m.model.encoders.motion:MotionEncoder",
        "dinov2": "v2m.model.encoders.neural:Dinov2Encoder",
        "spectral": "v2m.model.encoders.spectral:SpectralEncoder",
        "mert": "v2m.model.encoders.neural:MertEncoder",
    },
    _entry,
    label=lambda e: f"{e.name} ({e.modality})",
)
register_encoder = REGISTRY.register
encoder_entry = REGISTRY.get


def list_encoders(modality: Modality | None = None) -> list[EncoderEntry]:
    """Registered encoders, optionally of one modality, sorted by name."""
    return [e for e in REGISTRY.entries() if modality is None or e.modality == modality]


def create_encoder(name: str, **options) -> Encoder:
    """A new encoder instance. Weight-backed encoders take ``weights_dir=...``."""
    entry = encoder_entry(name)
    if options.get("weights_dir") is not None and not entry.needs_weights:
        raise InvalidInputError(f"encoder {name!r} is built in and takes no weights directory")
    if entry.needs_weights:
        options["weights_dir"] = resolve_weights_dir(name, options.get("weights_dir"))
    else:
        options.pop("weights_dir", None)
    return entry.factory(**options)


__all__ = [
    "Encoder",
    "EncoderEntry",
    "MusicEncoder",
    "VideoEncoder",
    "create_encoder",
    "encoder_entry",
    "list_encoders",
    "register_encoder",
    "resolve_weights_dir",
]
