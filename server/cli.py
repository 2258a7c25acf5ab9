"""The ``v2m`` command line: a thin shell around ``v2m.model`` (DESIGN §1).

v2m curve MEDIA [--encoder NAME] [--rate HZ] [--json FILE] [--plot FILE.png]
v2m demo [--out DIR]
v2m encoders
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from v2m import __version__

EXIT_USAGE = 2
EXIT_FAILED = 1


def _progress_bar(enabled: bool):
    """A (callback, close) pair drawing a tqdm bar on stderr when enabled and on a terminal."""
    if not enabled:
        return (lambda fraction, stage: None), (lambda: None)
    from tqdm import tqdm

    bar = tqdm(
        total=1000,
        unit="‰",
        leave=False,
        disable=None,
        file=sys.stderr,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
    )

    def update(fraction: float, stage: str) -> None:
        bar.set_description_str(stage, refresh=False)
        bar.update(max(0, int(fraction * 1000) - bar.n))

    return update, bar.close


def _curve_command(args: argparse.Namespace) -> int:
    from v2m.model import curves as C
    from v2m.model.analysis import AnalysisSettings, analyze
    from v2m.model.report import analysis_to_dict, summary_lines

    kernel = (
        args.kernel
        if args.kernel is not None
        else C.kernel_size_for(args.smooth_s, rate_hz=args.rate)
    )
    settings = AnalysisSettings(
        encoder=args.encoder,
        weights_dir=args.weights,
        rate_hz=args.rate,
        kernel_size=kernel,
        analysis_fps=args.analysis_fps,
    )
    progress, close = _progress_bar(not args.quiet)
    started = time.perf_counter()
    try:
        analysis = analyze(args.media, settings=settings, progress=progress)
    finally:
        close()
    elapsed = time.perf_counter() - started
    for line in summary_lines(analysis, elapsed_s=elapsed):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(analysis_to_dict(analysis), indent=1) + "\n")
        print(f"wrote {args.json}")
    if args.plot:
        from v2m.model.plots import plot_analysis

        plot_analysis(analysis, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _demo_command(args: argparse.Namespace) -> int:
    from v2m.model.sample_clip import ClipSpec, render_clip

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clip = out / "demo.mp4"
    spec = render_clip(clip, ClipSpec())
    planted = ", ".join(f"{t:g}" for t in spec.cut_frame_times_s())
    print(
        f"rendered {clip}: {spec.duration_s:g} s, {spec.width}x{spec.height} "
        f"@ {float(spec.fps):g} fps, cuts planted at {planted} s"
    )
    ns = argparse.Namespace(
        media=str(clip),
        encoder=None,
        weights=None,
        rate=args.rate,
        kernel=None,
        smooth_s=args.smooth_s,
        analysis_fps=None,
        json=str(out / "curve.json"),
        plot=str(out / "curve.png"),
        quiet=args.quiet,
    )
    return _curve_command(ns)


def _encoders_command(args: argparse.Namespace) -> int:
    from v2m.model.encoders import list_encoders

    for e in list_encoders():
        weights = "needs --weights DIR" if e.needs_weights else "built in"
        print(f"{e.name:10s} {e.modality:6s} {weights:18s} {e.summary}")
    return 0


def _add_curve_options(p: argparse.ArgumentParser) -> None:
    from v2m.model import curves as C

    p.add_argument(
        "--rate",
        type=float,
        default=C.DEFAULT_RATE_HZ,
        metavar="HZ",
        help="sample rate of the smoothed curve (default: %(default)s Hz)",
    )
    p.add_argument(
        "--smooth-s",
        type=float,
        default=2.5,
        metavar="S",
        help="Hann smoothing length in seconds (default: %(default)s; paper: 31 "
        "samples at ~12.3 Hz)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="v2m",
        description="Score video edits: music whose accents land on the cuts. "
        "This release analyses media into V2M-Zero event curves and cuts.",
    )
    parser.add_argument("--version", action="version", version=f"v2m {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "curve",
        help="event curve, peaks and cuts of a video or audio file",
        description="Decode MEDIA once, detect its cuts and compute its event "
        "curve (1 - cos of consecutive features, standardized, "
        "resampled, Hann-smoothed).",
    )
    p.add_argument("media", help="video or audio file")
    p.add_argument(
        "--encoder",
        metavar="NAME",
        help="feature encoder (default: pixels for video, spectral for audio); see `v2m encoders`",
    )
    p.add_argument(
        "--weights",
        metavar="DIR",
        help="local checkpoint directory for dinov2 / mert (never downloaded)",
    )
    p.add_argument(
        "--kernel", type=int, metavar="N", help="Hann kernel in samples (odd); overrides --smooth-s"
    )
    p.add_argument(
        "--analysis-fps",
        type=float,
        metavar="FPS",
        help="encode frames at this rate (default: every frame; cuts always use every frame)",
    )
    p.add_argument("--json", metavar="FILE", help="write times, curves, cuts and settings")
    p.add_argument("--plot", metavar="FILE.png", help="draw curve, peaks and cuts")
    _add_curve_options(p)
    p.set_defaults(run=_curve_command)

    p = sub.add_parser(
        "demo",
        help="render a sample clip with known cuts and analyse it",
        description="Render a 12 s sample clip with four cuts (made here, no "
        "downloads) and run `v2m curve` on it.",
    )
    p.add_argument(
        "--out", default="v2m-demo", metavar="DIR", help="output folder (default: %(default)s)"
    )
    _add_curve_options(p)
    p.set_defaults(run=_demo_command)

    p = sub.add_parser("encoders", help="list the feature encoders")
    p.set_defaults(run=_encoders_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    from v2m.model.errors import ModelError, WeightsNotFoundError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except WeightsNotFoundError as exc:
        print(f"v2m: missing weights: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ModelError as exc:
        print(f"v2m: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ValueError) else EXIT_FAILED
    except KeyboardInterrupt:
        print("v2m: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
