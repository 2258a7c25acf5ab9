"""Typed errors of ``v2m.model`` (DESIGN §8).

Every error the model raises derives from :class:`ModelError`; the kinds below say *what* went
wrong, so the CLI, the server's status table and the watch folder can react without parsing
messages. Messages name the bad value and, where there is a choice, the valid ones.
"""

from __future__ import annotations


class ModelError(Exception):
    """Root of every error raised by ``v2m.model``."""


class InvalidInputError(ModelError, ValueError):
    """An argument is out of range or of the wrong shape (``INVALID_ARGUMENT``)."""


class UnknownNameError(InvalidInputError, KeyError):
    """A registry lookup (encoder, backend, ...) named something that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class LimitExceededError(InvalidInputError):
    """A request asks for more work than the operator's limits allow: media too long, frames
    too large, a queue or upload too big (``RESOURCE_EXHAUSTED``)."""


class MediaError(ModelError):
    """Media could not be read."""


class MediaNotFoundError(MediaError, FileNotFoundError):
    """The media path does not exist (``NOT_FOUND``)."""


class CorruptMediaError(MediaError, InvalidInputError):
    """The file is not valid media, is truncated, or decodes to nothing (``INVALID_ARGUMENT``)."""


class UnsupportedMediaError(MediaError, InvalidInputError):
    """Valid media we cannot use: unknown codec, too large a frame, ... (``INVALID_ARGUMENT``)."""


class NoStreamError(MediaError, InvalidInputError):
    """The file has no stream of the kind asked for, e.g. video from an audio file."""


class WeightsNotFoundError(ModelError):
    """A weight-backed component's local checkpoint is missing (``FAILED_PRECONDITION``)."""
