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


def _premiere_plugin_command(args: argparse.Namespace) -> int:
    from v2m.nle_plugins.premiere.package import build_plugin

    manifest = build_plugin(args.out, server=args.server)
    print(f"wrote {manifest.parent}; in the UXP Developer Tool: Add Plugin -> {manifest} -> Load")
    return 0


def _serve_command(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from v2m.server.app import serve
    from v2m.server.settings import load_settings

    settings = load_settings(
        toml_path=args.config,
        host=args.host,
        port=args.port,
        http_port=args.http_port,
        data_dir=args.data_dir,
        media_roots=tuple(args.media_root) if args.media_root else None,
        token=args.token,
        token_file=args.token_file,
        insecure=args.insecure or None,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.token:
        print(
            "v2m: warning: --token is visible to every user of this machine in the process "
            "list; prefer V2M_TOKEN or --token-file",
            file=sys.stderr,
        )
    if settings.plain_text_beyond_loopback:
        print(
            f"v2m: WARNING: serving {settings.host} WITHOUT TLS (--insecure): the token and "
            "all media travel in plain text; anyone on the network can read and reuse them",
            file=sys.stderr,
        )
    watcher = None
    if args.watch:
        import threading

        from v2m.server.watch import WatchFolder

        watcher = WatchFolder(args.watch[0], args.watch[1], polling=args.polling)
        threading.Thread(target=watcher.run, name="v2m-watch", daemon=True).start()
        print(f"v2m watching {watcher.in_dir} -> {watcher.out_dir}")
    print(
        f"v2m serving on {settings.host}:{settings.port} "
        f"(media roots: {', '.join(str(r) for r in settings.roots)}); Ctrl-C stops"
    )
    if settings.http_port > 0:
        scheme = "https" if settings.tls_cert else "http"
        print(f"panel: {scheme}://{settings.host}:{settings.http_port}/ (open it in a browser)")
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass
    finally:
        if watcher is not None:
            watcher.stop()
    return 0


def _watch_command(args: argparse.Namespace) -> int:
    import logging

    from v2m.server.watch import WatchFolder

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    watcher = WatchFolder(
        args.input,
        args.output,
        stable_s=args.stable_s,
        poll_s=args.poll_s,
        polling=args.polling,
        preview=not args.no_preview,
        on_done=lambda name, state: print(f"{state}: {name}", flush=True),
    )
    if args.once:
        watcher.scan_once()
        return 0
    print(f"v2m watching {watcher.in_dir} -> {watcher.out_dir}; Ctrl-C stops", flush=True)
    try:
        watcher.run()
    except KeyboardInterrupt:
        watcher.stop()
    return 0


def _train_command(args: argparse.Namespace) -> int:
    from v2m.model.flow.config import PRESETS
    from v2m.model.flow.train import check_training_options, load_examples, train

    check_training_options(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, warmup_steps=args.warmup_steps
    )
    progress, close = progress_bar(not args.quiet)
    try:
        config = PRESETS[args.config]
        examples = load_examples(
            args.data, config, cache_dir=Path(args.out) / "cache", progress=progress
        )
        train(
            examples,
            args.out,
            config=config,
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            device=args.device,
            gradient_checkpointing=args.gradient_checkpointing,
            save_every=args.save_every,
            warmup_steps=args.warmup_steps,
            cosine_decay=args.cosine_decay,
            progress=progress,
        )
    finally:
        close()
    print(f"trained {args.steps} steps on {len(examples)} files; checkpoint in {args.out}")
    return 0


def _styles_command(args: argparse.Namespace) -> int:
    from v2m.model.styles import PRESETS

    for s in PRESETS.values():
        lo, hi = s.bpm_range
        print(f"{s.name:11s} {lo:.0f}-{hi:.0f} bpm  {s.tonic} {s.mode:5s}  {s.description}")
    return 0


def _encoders_command(args: argparse.Namespace) -> int:
    from v2m.model.encoders import list_encoders

    for e in list_encoders():
        weights = "needs --weights DIR" if e.needs_weights else "built in"
        print(f"{e.name:10s} {e.modality:6s} {weights:18s} {e.summary}")
    return 0


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

    p = sub.add_parser(
        "serve",
        help="run the gRPC scoring server",
        description="Serve v2m.v1.ScoringService (with health and reflection). "
        "Settings also come from V2M_* variables and a TOML file ([server]).",
    )
    p.add_argument("--host", help="bind address (default 127.0.0.1; others need --token)")
    p.add_argument("--port", type=int, help="port (default 50051; 0 picks a free one)")
    p.add_argument(
        "--http-port",
        type=int,
        help="browser panel and WebSocket bridge (default: --port + 1; 0 picks a free one; -1 off)",
    )
    p.add_argument("--data-dir", help="where artifacts are stored")
    p.add_argument(
        "--media-root",
        action="append",
        metavar="DIR",
        help="folder clients may read media from; repeatable (default: cwd)",
    )
    p.add_argument(
        "--token",
        help="bearer token clients must send (visible in the process list; prefer "
        "V2M_TOKEN or --token-file)",
    )
    p.add_argument("--token-file", metavar="FILE", help="read the bearer token from FILE")
    p.add_argument(
        "--insecure",
        action="store_true",
        help="allow binding beyond loopback without TLS (token and media in plain text)",
    )
    p.add_argument("--tls-cert", help="TLS certificate (PEM)")
    p.add_argument("--tls-key", help="TLS private key (PEM)")
    p.add_argument("--config", help="TOML settings file")
    p.add_argument(
        "--watch", nargs=2, metavar=("IN", "OUT"), help="also run a watch folder (v2m watch)"
    )
    p.add_argument("--polling", action="store_true", help="watch by polling (network shares)")
    p.set_defaults(run=_serve_command)

    p = sub.add_parser(
        "watch",
        help="score every video or timeline that lands in a folder",
        description="Score each new video or timeline in IN once it has stopped changing, into "
        "OUT/NAME/ (atomically). Sidecars: NAME.prompt.txt, NAME.v2m.toml ([score] prompt, "
        "style, seed, bpm, key, meter, stems, in, out). Failures: OUT/failed/NAME.txt. A "
        "journal in OUT makes restarts neither lose nor repeat work.",
    )
    p.add_argument("input", help="folder to watch (never modified)")
    p.add_argument("output", help="folder for results")
    p.add_argument(
        "--stable-s",
        type=finite_float,
        default=2.0,
        help="seconds a file must stay unchanged before it is taken (default 2)",
    )
    p.add_argument(
        "--poll-s", type=finite_float, default=1.0, help="full rescan period (default 1 s)"
    )
    p.add_argument("--polling", action="store_true", help="polling observer (network shares)")
    p.add_argument("--no-preview", action="store_true", help="skip preview.mp4 for videos")
    p.add_argument("--once", action="store_true", help="handle what is there now, then exit")
    p.set_defaults(run=_watch_command)

    from v2m.server.cli_timeline import add_timeline_commands

    add_timeline_commands(sub)

    p = sub.add_parser(
        "train",
        help="train the flow backend on a folder of music (captions in NAME.txt)",
        description="Fine-tune the V2M-Zero flow model on music only: each file's latents and "
        "music event curve are cached, then the rectified-flow loss is minimised with 10%% "
        "condition dropout. Re-running with the same -o resumes.",
    )
    p.add_argument("data", help="folder of audio files (.wav .flac .mp3 ...), NAME.txt captions")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="checkpoint folder")
    p.add_argument("--config", default="tiny", choices=["tiny", "small"], help="model size")
    p.add_argument("--steps", type=int, default=1000, help="total optimizer steps")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument(
        "--lr", type=finite_float, default=1e-4, help="AdamW learning rate (default 1e-4)"
    )
    p.add_argument(
        "--warmup-steps", type=int, default=0, help="linear warmup to --lr over this many steps"
    )
    p.add_argument(
        "--cosine-decay", action="store_true", help="anneal the learning rate to lr/10 by --steps"
    )
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--save-every", type=int, default=500, help="checkpoint period (steps)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_train_command)

    p = sub.add_parser(
        "premiere-plugin",
        help="write the Premiere Pro UXP panel plugin to a folder",
        description="Lay out the UXP plugin (manifest, panel, Premiere adapter). Load it with "
        "Adobe's UXP Developer Tool: Add Plugin -> OUT/manifest.json -> Load.",
    )
    p.add_argument("out", help="folder to write (replaced when it holds an earlier build)")
    p.add_argument(
        "--server",
        default="ws://127.0.0.1:50052",
        help="the v2m server's panel address, ws://HOST:PORT (default ws://127.0.0.1:50052)",
    )
    p.set_defaults(run=_premiere_plugin_command)

    p = sub.add_parser("styles", help="list the style presets")
    p.set_defaults(run=_styles_command)

    p = sub.add_parser("encoders", help="list the feature encoders")
    p.set_defaults(run=_encoders_command)
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

    if isinstance(exc, WeightsNotFoundError):
        return EXIT_FAILED, f"missing weights: {exc}"
    if isinstance(exc, ModelError | TimelineError):
        return (EXIT_USAGE if isinstance(exc, ValueError) else EXIT_FAILED), str(exc)
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
