"""``ScoreOptions``: every setting a user may give a scoring job, checked in one place.

Every door (CLI, gRPC, WebSocket bridge, watch-folder sidecars, editor plugins) translates its
own input into a ``ScoreOptions``; construction validates every field, so a value one door
refuses is refused by all of them, with the same message naming the value and the valid range.
``Limits`` are the operator's bounds on the work one job may cause (media length, frame size).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from v2m.model.errors import InvalidInputError, LimitExceededError, UnknownNameError

MAX_PROMPT_CHARS = 2000
MAX_MARKERS = 1000
MAX_TIME_S = 48 * 3600.0
"""Largest time accepted for an in/out point or a marker."""
MAX_SEED = 2**32 - 1
MAX_OPTION_CHARS = 4096


def _kind(name: str, value, *, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "a whole number" if integer else "a number"
        raise InvalidInputError(f"{name} must be {kind}, got {value!r}")


def _number(name: str, value, *, low: float, high: float, integer: bool = False) -> None:
    _kind(name, value, integer=integer)
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidInputError(f"{name} must be {low:g}..{high:g}, got {value!r}")


def _text(name: str, value, *, limit: int) -> None:
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be text, got {value!r}")
    if len(value) > limit or "\x00" in value:
        raise InvalidInputError(
            f"{name} must be at most {limit} characters without NUL bytes "
            f"(got {len(value)} characters)"
        )


@dataclass(frozen=True, kw_only=True)
class ScoreOptions:
    """What the music should be and what to write. ``None`` leaves a choice to v2m.

    Attributes:
        prompt: what the music should be; ``None`` describes the video from its measurements.
        style: a preset name (``v2m styles``); ``None`` chooses from the prompt.
        bpm, key, meter, stems: overrides (``None``: from the prompt or the style).
        seed: 0 .. 2**32 - 1, the only source of randomness.
        markers_s: must-hit moments, seconds on the source's clock (media or timeline time).
        in_s, out_s: the selection, seconds on the source's clock (``None``: start / end).
        backend: a registered backend (``composer``, ``flow``, ``retime``...);
            ``backend_options`` its named settings (``checkpoint`` for ``flow``).
        music: the editor's own recording, or a folder of them (a library), retimed onto the
            cuts — implies the ``retime`` backend. On a server: a path inside its media roots,
            or ``upload:ID`` for an uploaded file.
        duck_dialogue: lower the music under speech in the video's own sound.
        preview, plot: also write ``preview.mp4`` / ``curve.png``.
        track_per_stem: timeline write-back puts one audio track per stem, not the mix.
    """

    prompt: str | None = None
    style: str | None = None
    bpm: float | None = None
    key: str | None = None
    meter: int | None = None
    stems: tuple[str, ...] | None = None
    seed: int = 0
    markers_s: tuple[float, ...] = ()
    in_s: float | None = None
    out_s: float | None = None
    backend: str = "composer"
    backend_options: Mapping[str, str] = field(default_factory=dict)
    music: str | None = None
    duck_dialogue: bool = False
    preview: bool = True
    plot: bool = True
    track_per_stem: bool = False

    def __post_init__(self) -> None:
        from v2m.model.styles import PRESETS, STEMS, parse_key, validate_bpm

        if self.prompt is not None:
            _text("prompt", self.prompt, limit=MAX_PROMPT_CHARS)
        if self.style is not None and self.style not in PRESETS:
            raise UnknownNameError(
                f"unknown style {self.style!r}; choose one of: {', '.join(sorted(PRESETS))}"
            )
        if self.bpm is not None:
            _kind("bpm", self.bpm)
            validate_bpm(self.bpm)  # names the playable range; NaN and infinity fail it too
        if self.key is not None:
            _text("key", self.key, limit=32)
            parse_key(self.key)
        if self.meter is not None:
            _number("meter (beats per bar)", self.meter, low=2, high=7, integer=True)
        if self.stems is not None:
            self._check_stems(STEMS)
        _number("seed", self.seed, low=0, high=MAX_SEED, integer=True)
        self._check_times()
        self._check_music()
        self._check_backend()
        for flag in ("duck_dialogue", "preview", "plot", "track_per_stem"):
            value = getattr(self, flag)
            if not isinstance(value, bool):
                raise InvalidInputError(f"{flag} must be true or false, got {value!r}")

    def _check_stems(self, known: tuple[str, ...]) -> None:
        stems = self.stems
        if isinstance(stems, str) or not all(isinstance(s, str) for s in stems):
            raise InvalidInputError(f"stems must be a list of names from {known}, got {stems!r}")
        object.__setattr__(self, "stems", tuple(stems))
        unknown = sorted({s for s in stems if s not in known})
        if unknown or not stems:
            raise InvalidInputError(
                f"unknown stem(s) {unknown or list(stems)}; choose from {', '.join(known)}"
            )
        if len(set(stems)) != len(stems):
            repeated = sorted({s for s in stems if stems.count(s) > 1})
            raise InvalidInputError(f"stems {repeated} are named more than once; name each once")

    def _check_times(self) -> None:
        for name in ("in_s", "out_s"):
            if getattr(self, name) is not None:
                _number(name, getattr(self, name), low=0, high=MAX_TIME_S)
        if self.in_s is not None and self.out_s is not None and self.out_s <= self.in_s:
            raise InvalidInputError(
                f"out point {self.out_s:g} s must come after the in point {self.in_s:g} s"
            )
        markers = self.markers_s
        if isinstance(markers, str | bytes) or not hasattr(markers, "__len__"):
            raise InvalidInputError(f"markers_s must be a list of seconds, got {markers!r}")
        if len(markers) > MAX_MARKERS:
            raise InvalidInputError(
                f"{len(markers)} markers given; at most {MAX_MARKERS} are accepted"
            )
        for t in markers:
            _number("marker time (s)", t, low=0, high=MAX_TIME_S)
        object.__setattr__(self, "markers_s", tuple(float(t) for t in markers))

    def _check_music(self) -> None:
        if self.music is None:
            return
        _text("music", self.music, limit=MAX_OPTION_CHARS)
        if not self.music.strip():
            raise InvalidInputError("music must name a recording or a folder, got an empty text")
        if self.backend == "composer":  # the default: music means the retime backend
            object.__setattr__(self, "backend", "retime")
        if self.backend != "retime":
            raise InvalidInputError(
                f"music is scored by the retime backend, but backend {self.backend!r} was asked "
                "for; leave the backend unset or choose retime"
            )
        given = (
            self.backend_options.get("music") if isinstance(self.backend_options, Mapping) else None
        )
        if given is not None and given != self.music:
            raise InvalidInputError(
                f"music is given twice, as {self.music!r} and as backend option {given!r}"
            )

    def backend_settings(self) -> dict[str, str]:
        """The backend's constructor options: ``backend_options`` with ``music`` added."""
        return {**self.backend_options, **({"music": self.music} if self.music else {})}

    def _check_backend(self) -> None:
        from v2m.model.backends import backend_entry

        _text("backend", self.backend, limit=64)
        entry = backend_entry(self.backend)
        options = self.backend_options
        if not isinstance(options, Mapping):
            raise InvalidInputError(f"backend_options must be a table, got {options!r}")
        for name, value in options.items():
            if name not in entry.options:
                valid = ", ".join(entry.options) or "none"
                raise InvalidInputError(
                    f"backend {self.backend!r} has no option {name!r}; its options: {valid}"
                )
            _text(f"backend option {name}", value, limit=MAX_OPTION_CHARS)
        object.__setattr__(self, "backend_options", dict(options))

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True, kw_only=True)
class Limits:
    """The most work one job may cause; checked before anything is decoded.

    Attributes:
        max_duration_s: longest video file analysed, or timeline selection conformed.
        max_frame_side_px: widest or tallest frame decoded.
    """

    max_duration_s: float = 20 * 60.0
    max_frame_side_px: int = 8192

    def __post_init__(self) -> None:
        _number("max_duration_s", self.max_duration_s, low=1, high=MAX_TIME_S)
        _number("max_frame_side_px", self.max_frame_side_px, low=16, high=65536, integer=True)

    def check_media(self, path, *, length: bool = True) -> None:
        """Probe ``path`` and refuse it (LimitExceededError, naming the value and the limit)
        when its frames are larger than ``max_frame_side_px`` or, with ``length``, when it is
        longer than ``max_duration_s`` (all of a video file is decoded)."""
        from pathlib import Path

        from v2m.model.media import probe

        info, name = probe(path), Path(path).name
        if length and info.duration_s > self.max_duration_s:
            raise LimitExceededError(
                f"{name!r} is {info.duration_s:.1f} s long; at most {self.max_duration_s:.0f} s "
                "of video are analysed (trim the file, or raise the limit: --max-duration on the "
                "CLI, max_media_duration_s on a server)"
            )
        video = info.video
        if video and max(video.display_width, video.display_height) > self.max_frame_side_px:
            raise LimitExceededError(
                f"{name!r}: frame size {video.display_width}x{video.display_height} exceeds the "
                f"limit of {self.max_frame_side_px} pixels per side"
            )
