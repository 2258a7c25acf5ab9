"""Typed errors of ``v2m.nle_plugins`` (DESIGN §8): timelines, conform and write-back."""

from __future__ import annotations


class TimelineError(Exception):
    """Root of every error raised while reading, conforming or writing a timeline."""


class UnsupportedFormatError(TimelineError, ValueError):
    """A timeline format no installed OTIO adapter reads or writes (``INVALID_ARGUMENT``)."""


class TimelineReadError(TimelineError, ValueError):
    """The file is not a readable timeline: malformed, hostile or unparseable XML, bad EDL,
    no timeline inside (``INVALID_ARGUMENT``)."""


class SelectionError(TimelineError, ValueError):
    """A selection (in/out, markers) that does not exist or is empty (``INVALID_ARGUMENT``)."""


class MissingMediaError(TimelineError, FileNotFoundError):
    """Source media of the selection cannot be found; ``missing`` lists every file."""

    def __init__(self, message: str, missing: list[str]):
        super().__init__(message)
        self.missing = missing
