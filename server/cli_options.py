"""The command line's scoring flags: one set for ``v2m score`` and ``v2m timeline score``,
translated into one ``ScoreOptions`` (which validates them), and argparse value types that
refuse NaN and infinity where argparse's ``float`` would accept them."""

from __future__ import annotations

import argparse
import math
import re

from v2m.model.options import Limits, ScoreOptions


def finite_float(text: str) -> float:
    """An argparse type: a finite number (``nan``, ``inf`` and words refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number 1..1024."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1024:
        raise argparse.ArgumentTypeError(f"{text!r} is not 1..1024")
    return value


def backend_option(text: str) -> tuple[str, str]:
    """An argparse type: ``NAME=VALUE``."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name.strip(), value


def add_score_options(p: argparse.ArgumentParser) -> None:
    """Flags for every ``ScoreOptions`` field except the selection (each command has its own:
    seconds for videos, timecode for timelines)."""
    p.add_argument(
        "--prompt",
        help="what the music should be, e.g. 'dark trailer, 96 bpm, D minor, no melody' "
        "(default: described from the video)",
    )
    p.add_argument("--style", help="force a style preset (see `v2m styles`)")
    p.add_argument(
        "--marker",
        type=finite_float,
        action="append",
        metavar="S",
        help="a must-hit moment (s, on the source's clock); repeatable",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed, 0..4294967295 (default: 0)")
    p.add_argument("--bpm", type=finite_float, help="tempo override (40..240)")
    p.add_argument("--key", help="key override, e.g. 'D minor', 'Bb'")
    p.add_argument("--meter", type=int, help="beats per bar override (2..7)")
    p.add_argument("--stems", help="stems to play, e.g. 'drums,bass,harmony'")
    p.add_argument(
        "--backend",
        help="scoring backend (default: composer, or retime with --music)",
    )
    p.add_argument(
        "--checkpoint", metavar="DIR", help="model folder for --backend flow (from `v2m train`)"
    )
    p.add_argument(
        "--music",
        metavar="FILE_OR_FOLDER",
        help="score with your own recording (or the best-fitting one of a folder), retimed "
        "onto the cuts: --backend retime",
    )
    p.add_argument(
        "--backend-option",
        type=backend_option,
        action="append",
        metavar="NAME=VALUE",
        help="a backend setting; repeatable (see `v2m backends`)",
    )
    p.add_argument(
        "--duck-dialogue",
        action="store_true",
        help="lower the music by 10 dB under speech in the video's own sound",
    )
    p.add_argument("--no-preview", action="store_true", help="skip preview.mp4")
    p.add_argument("--no-plot", action="store_true", help="skip curve.png")
    p.add_argument(
        "--track-per-stem",
        action="store_true",
        help="timeline write-back: one audio track per stem instead of the mix",
    )
    p.add_argument(
        "--max-duration",
        type=finite_float,
        default=Limits().max_duration_s,
        metavar="S",
        help="refuse videos (or timeline selections) longer than this (default: %(default)g s)",
    )


def stem_list(text: str | None) -> tuple[str, ...] | None:
    """``"drums, bass"`` → ``("drums", "bass")``; ScoreOptions checks the names."""
    if text is None:
        return None
    return tuple(s.lower() for s in re.split(r"[,\s+]+", text) if s)


_SAME_NAMED = (
    "prompt",
    "style",
    "bpm",
    "key",
    "meter",
    "seed",
    "backend",
    "music",
    "duck_dialogue",
)
"""ScoreOptions fields whose flag keeps the field's name (``--duck-dialogue``...)."""


def options_from_args(args: argparse.Namespace, **selection) -> ScoreOptions:
    """The ScoreOptions the flags ask for; ``selection`` adds ``in_s`` / ``out_s``."""
    backend_options = dict(args.backend_option or ())
    if args.checkpoint:
        backend_options["checkpoint"] = args.checkpoint
    values = {name: getattr(args, name) for name in _SAME_NAMED}
    values["backend"] = args.backend or "composer"
    return ScoreOptions(
        **values,
        stems=stem_list(args.stems),
        markers_s=tuple(args.marker or ()),
        backend_options=backend_options,
        preview=not args.no_preview,
        plot=not args.no_plot,
        track_per_stem=args.track_per_stem,
        **selection,
    )


def limits_from_args(args: argparse.Namespace) -> Limits:
    return Limits(max_duration_s=args.max_duration)
