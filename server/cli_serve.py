"""``v2m serve``, ``v2m watch``, ``v2m premiere-plugin`` and ``v2m blender-addon``: the server,
the watch folder and the editor plugins from the command line."""

from __future__ import annotations

import argparse
import sys

from v2m.server.cli_options import finite_float, positive_int


def _premiere_plugin_command(args: argparse.Namespace) -> int:
    from v2m.nle_plugins.premiere.package import build_plugin

    manifest = build_plugin(args.out, server=args.server)
    print(f"wrote {manifest.parent}; in the UXP Developer Tool: Add Plugin -> {manifest} -> Load")
    return 0


def _blender_addon_command(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    addon = Path(__file__).resolve().parent.parent / "nle_plugins" / "blender" / "v2m_score.py"
    shutil.copyfile(addon, out / addon.name)
    print(
        f"wrote {out / addon.name}; in Blender: Edit > Preferences > Add-ons > Install... > "
        f"{out / addon.name}, then enable 'Sequencer: v2m Score Selection' (sidebar tab v2m)"
    )
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
        ray=args.ray,
        workers=args.workers,
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

        watcher = WatchFolder(
            args.watch[0],
            args.watch[1],
            polling=args.polling,
            executor=_watch_executor(settings.ray, args.watch[0], args.watch[1], jobs=1),
        )
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


def _watch_executor(ray_address: str, in_dir: str, out_dir: str, *, jobs: int):
    """The executor a watcher hands its jobs to: this process, or ``jobs`` replicas on the Ray
    cluster (every node must see the watch folder and share the output folder)."""
    from pathlib import Path

    from v2m.server.job_runner import make_executor

    roots = (Path(in_dir).resolve(),)
    data_dir = Path(out_dir).resolve()
    return make_executor(ray_address, replicas=jobs, roots=roots, data_dir=data_dir)


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
        lease_s=args.lease_s,
        executor=_watch_executor(args.ray or "", args.input, args.output, jobs=args.jobs),
        jobs=args.jobs,
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


def add_serve_commands(sub) -> None:
    """Register ``serve``, ``watch`` and ``premiere-plugin`` on the main parser."""
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
    p.add_argument(
        "--workers",
        type=positive_int,
        help="Score jobs run at once (default 2; with --ray: replicas on the cluster, about "
        "its CPU count)",
    )
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run jobs on a Ray cluster: auto (started here by `ray start --head`) or HOST:PORT "
        "(needs Ray: pip install 'v2m[ray]'); media roots and --data-dir must be the same "
        "paths on every node",
    )
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
    p.add_argument(
        "--lease-s",
        type=finite_float,
        default=30.0,
        help="seconds after which another watcher on the same folder takes over the input of "
        "a watcher that stopped touching its claim (died); default 30",
    )
    p.add_argument("--jobs", type=positive_int, default=1, help="inputs scored at once (default 1)")
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="hand the jobs to a Ray cluster (auto or HOST:PORT); IN and OUT must be the same "
        "paths on every node",
    )
    p.add_argument("--no-preview", action="store_true", help="skip preview.mp4 for videos")
    p.add_argument("--once", action="store_true", help="handle what is there now, then exit")
    p.set_defaults(run=_watch_command)

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
    p = sub.add_parser(
        "blender-addon",
        help="write the Blender Video Sequence Editor add-on to a folder",
        description="Write v2m_score.py, a single-file Blender add-on (3.0 or newer; standard "
        "library only) that scores the sequencer's selection on a v2m server. Install it with "
        "Edit > Preferences > Add-ons > Install...",
    )
    p.add_argument("out", help="folder to write v2m_score.py into")
    p.set_defaults(run=_blender_addon_command)
