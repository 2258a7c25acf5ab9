"""The ``v2m`` command line: a thin shell around ``v2m.model`` (DESIGN §1).

v2m score VIDEO [--prompt TEXT] [--in S --out S] [--seed N] [--backend composer] -o OUTDIR
v2m curve MEDIA [--encoder NAME] [--rate HZ] [--json FILE] [--plot FILE.png]
v2m timeline cuts|score TIMELINE [--in TC --out TC | --between-markers] ...
v2m demo [--out DIR]
v2m encoders | styles
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

from v2m import __version__
from v2m.server.cli_output import progress_bar, result_lines

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_CODES = """exit codes: 0 done; 1 the work failed (unreadable media, missing weights, a
file that cannot be written, the server refused); 2 bad usage or input (invalid options, a bad
timeline, a limit exceeded); 3 internal error (a bug; V2M_DEBUG=1 shows the traceback);
130 interrupted"""


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
    progress, close = progress_bar(not args.quiet)
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


def _score_remote(args: argparse.Namespace, options) -> int:
    from v2m.server.cli_output import score_on_server

    started = time.perf_counter()
    remote, paths = score_on_server(args, args.video, options, args.out)
    plan = remote.plan
    print(f"prompt ({plan.prompt_source}): {plan.prompt}")
    print(
        f"style {plan.style} in {plan.key}, {plan.bpm_min:.1f}-{plan.bpm_max:.1f} bpm; "
        f"{len(plan.hits)} hits; scored by {args.server} in "
        f"{time.perf_counter() - started:.1f} s; wrote {len(paths)} files to {args.out}"
    )
    return 0


def _score_command(args: argparse.Namespace) -> int:
    from v2m.server.cli_options import limits_from_args, options_from_args
    from v2m.server.score_job import VideoSource, run_score_job

    options = options_from_args(args, in_s=args.in_s, out_s=args.out_s)
    if getattr(args, "server", None):
        return _score_remote(args, options)
    progress, close = progress_bar(not args.quiet)
    started = time.perf_counter()
    try:
        done = run_score_job(
            VideoSource(Path(args.video)),
            options,
            args.out,
            limits=limits_from_args(args),
            progress=progress,
        )
    finally:
        close()
    for line in result_lines(done):
        print(line)
    print(
        f"scored {done.scored.request.duration_s:.2f} s in {time.perf_counter() - started:.1f} s;"
        f" wrote {len(done.artifacts)} files to {args.out}"
    )
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
    argv = ["score", str(clip), "-o", str(out)]
    argv += ["--prompt", args.prompt] if args.prompt else []
    argv += ["-q"] if args.quiet else []
    return _score_command(build_parser().parse_args(argv))


def _add_curve_options(p: argparse.ArgumentParser) -> None:
    from v2m.model import curves as C
    from v2m.server.cli_options import finite_float

    p.add_argument(
        "--rate",
        type=finite_float,
        default=C.DEFAULT_RATE_HZ,
        metavar="HZ",
        help="sample rate of the smoothed curve (default: %(default)s Hz)",
    )
    p.add_argument(
        "--smooth-s",
        type=finite_float,
        default=2.5,
        metavar="S",
        help="Hann smoothing length in seconds (default: %(default)s; paper: 31 "
        "samples at ~12.3 Hz)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    from v2m.server.cli_options import add_score_options, finite_float

    parser = _Parser(
        prog="v2m",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Score video edits: music whose accents land on the cuts and visual events "
        "of a selection, as stems, a mix and MIDI (V2M-Zero event curves).",
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
        type=finite_float,
        metavar="FPS",
        help="encode frames at this rate (default: every frame; cuts always use every frame)",
    )
    p.add_argument("--json", metavar="FILE", help="write times, curves, cuts and settings")
    p.add_argument("--plot", metavar="FILE.png", help="draw curve, peaks and cuts")
    _add_curve_options(p)
    p.set_defaults(run=_curve_command)

    p = sub.add_parser(
        "score",
        help="score a video: mix, stems, MIDI and a hit report whose accents land on its cuts",
        description="Analyse VIDEO, plan hits on its cuts (and markers), solve a tempo map that "
        "puts them on beats, arrange and render the music, and write mix.wav, stems/*.wav, "
        "score.mid, hits.json, curve.png and preview.mp4 into OUTDIR.",
    )
    p.add_argument("video", help="video file")
    p.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="output folder")
    p.add_argument("--in", dest="in_s", type=finite_float, metavar="S", help="selection start (s)")
    p.add_argument(
        "--out-point", dest="out_s", type=finite_float, metavar="S", help="selection end (s)"
    )
    add_score_options(p)
    p.add_argument(
        "--server",
        metavar="HOST:PORT",
        help="score on a v2m server (the video path must be inside its media roots;"
        " no preview.mp4)",
    )
    p.add_argument("--token", help="bearer token for --server")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_score_command)

    p = sub.add_parser(
        "demo",
        help="render a sample clip with known cuts and score it",
        description="Render a 12 s sample clip with four cuts (made here, no downloads) and "
        "run `v2m score` on it.",
    )
    p.add_argument(
        "--out", default="v2m-demo", metavar="DIR", help="output folder (default: %(default)s)"
    )
    p.add_argument("--prompt", help="what the music should be (default: described)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_demo_command)

    from v2m.server.cli_model import add_model_commands
    from v2m.server.cli_serve import add_serve_commands
    from v2m.server.cli_timeline import add_timeline_commands

    add_serve_commands(sub)
    add_timeline_commands(sub)
    add_model_commands(sub)

    return parser


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one ``v2m: error:`` line (exit 2) like every failure."""

    def error(self, message: str):
        print(f"v2m: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _failure(exc: BaseException) -> tuple[int, str]:
    """(exit code, one-line message) for an exception that ended a command."""
    from v2m.model.errors import ModelError, WeightsNotFoundError
    from v2m.nle_plugins.errors import TimelineError
    from v2m.server.errors import ServerError

    if isinstance(exc, WeightsNotFoundError):
        return EXIT_FAILED, f"missing weights: {exc}"
    if isinstance(exc, ModelError | TimelineError):
        return (EXIT_USAGE if isinstance(exc, ValueError) else EXIT_FAILED), str(exc)
    if isinstance(exc, ServerError):
        return EXIT_FAILED, str(exc)
    code = getattr(exc, "code", None)
    if callable(code) and type(exc).__module__.startswith("grpc"):  # grpc.RpcError
        name = getattr(code(), "name", "UNKNOWN")
        usage = name in ("INVALID_ARGUMENT", "PERMISSION_DENIED", "NOT_FOUND")
        return (EXIT_USAGE if usage else EXIT_FAILED), f"server: {name}: {exc.details()}"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return EXIT_FAILED, f"{where}{exc.strerror or exc}"
    return EXIT_INTERNAL, (
        f"internal error ({type(exc).__name__}: {exc}); this is a bug in v2m — "
        "rerun with V2M_DEBUG=1 for the traceback and report it"
    )


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit codes: 0 done; 1 the work failed (unreadable media, missing
    weights, a file that cannot be written, the server's refusal); 2 bad usage or input
    (invalid options, a bad timeline, a limit); 3 an internal error; 130 interrupted."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error (already printed)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("v2m: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of our output went away (| head): nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 — every failure is one line and an exit code
        if os.environ.get("V2M_DEBUG"):
            traceback.print_exc()
        code, message = _failure(exc)
        print(f"v2m: error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
