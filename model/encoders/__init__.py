"""Encoders registry: ``create_encoder(name)``; built-ins are registered on import."""

from v2m.model.encoders import motion, neural, pixels, spectral  # noqa: F401  (registration)
from v2m.model.encoders.base import (
    Encoder,
    EncoderEntry,
    MusicEncoder,
    VideoEncoder,
    create_encoder,
    encoder_entry,
    list_encoders,
    register_encoder,
    resolve_weights_dir,
)

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
