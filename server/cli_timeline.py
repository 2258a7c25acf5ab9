"""``v2m timeline cuts|score``: editors' timelines from the command line.

v2m timeline cuts EDIT.xml [--in TC --out TC | --between-markers [A B]] [--json FILE]
v2m timeline score EDIT.otio [selection] [--prompt TEXT] [--server HOST:PORT] -o OUTDIR
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _selection(args: argparse.Namespace):
    from v2m.nle_plugins.errors import SelectionError
    from v2m.nle_plugins.timeline import load_timeline, selection

    tl = load_timeline(args.timeline, name=args.name)
    between = None
    if args.between_markers is not None:
        names = args.between_markers
        if len(names) not in (0, 2):
            raise SelectionError(f"--between-markers takes no names or two, got {names}")
        between = tuple(names) if names else ("", "")
    start, end = selection(
        tl, in_point=args.in_point, out_point=args.out_point, between_markers=between
    )
    return tl, start, end


def _cuts_command(args: argparse.Namespace) -> int:
    from v2m.nle_plugins.timeline import edit_points, markers

    tl, start, end = _selection(args)
    points = edit_points(tl, start_s=start, end_s=end)
    marks = markers(tl, start_s=start, end_s=end)
    print(
        f"{Path(tl.path).name}: {tl.timeline.name or '(unnamed)'}, {tl.rate_hz:.3f} fps "
        f"({tl.rate.numerator}/{tl.rate.denominator}), {tl.timecode(0)} .. "
        f"{tl.timecode(tl.duration_s)}; selection {tl.timecode(start)} .. {tl.timecode(end)}"
    )
    for note in tl.notes:
        print(f"  note: {note}")
    print(f"edit points ({len(points)}):")
    for p in points:
        print(
            f"  {tl.timecode(p.time_s)}  {p.kind:10s} {p.outgoing or '(black)'} -> "
            f"{p.incoming or '(black)'}"
        )
    print(f"markers ({len(marks)}):")
    for m in marks:
        print(f"  {tl.timecode(m.time_s)}  {m.name or '(no name)'}  [{m.owner}]")
    if args.json:
        report = {
            "timeline": tl.path,
            "frame_rate": [tl.rate.numerator, tl.rate.denominator],
            "start_timecode": tl.timecode(0),
            "selection_s": [start, end],
            "edit_points": [
                {
                    "time_s": p.time_s,
                    "frame": p.frame,
                    "timecode": tl.timecode(p.time_s),
                    "kind": p.kind,
                    "outgoing": p.outgoing,
                    "incoming": p.incoming,
                }
                for p in points
            ],
            "markers": [
                {
                    "time_s": m.time_s,
                    "frame": m.frame,
                    "timecode": tl.timecode(m.time_s),
                    "name": m.name,
                    "owner": m.owner,
                }
                for m in marks
            ],
            "notes": tl.notes,
        }
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


def _score_command(args: argparse.Namespace) -> int:
    from v2m.server.cli import _progress_bar

    tl, start, end = _selection(args)
    progress, close = _progress_bar(not args.quiet)
    started = time.perf_counter()
    out = Path(args.out)
    try:
        if args.server:
            audio, hits, duration_s = _score_remote(args, tl, start, end, progress, out)
        else:
            audio, hits, duration_s = _score_local(args, tl, start, end, progress, out)
    finally:
        close()
    from v2m.nle_plugins.writeback import add_score, save_scored

    if args.track_per_stem:
        audio = {k: v for k, v in audio.items() if k != "mix"}
    else:
        audio = {"mix": audio["mix"]}
    scored = add_score(tl, start_s=start, duration_s=duration_s, audio=audio, hits=hits)
    path, note = save_scored(scored, tl, args.timeline_out or out)
    if note:
        print(f"note: {note}")
    worst = max((abs(h.error_frames) for h in hits), default=0.0)
    print(
        f"scored {tl.timecode(start)} .. {tl.timecode(end)} ({duration_s:.2f} s) in "
        f"{time.perf_counter() - started:.1f} s: {len(hits)} hits, worst error {worst:.2f} "
        f"frames; timeline with {len(audio)} new audio track(s): {path}"
    )
    return 0


def _score_local(args, tl, start, end, progress, out: Path):
    from v2m.model.outputs import write_outputs
    from v2m.nle_plugins.score_timeline import score_selection

    job = score_selection(
        tl,
        start_s=start,
        end_s=end,
        search_paths=args.search_path or (),
        progress=progress,
        prompt=args.prompt,
        style=args.style,
        seed=args.seed,
    )
    paths = write_outputs(job, out, preview=False)
    audio = _audio_files(paths)
    return audio, list(job.result.hit_report), job.request.duration_s


def _score_remote(args, tl, start, end, progress, out: Path):
    from types import SimpleNamespace

    from v2m.nle_plugins.client import ScoringClient

    with ScoringClient(args.server, token=args.token) as client:
        remote = client.score(
            str(Path(tl.path).resolve()),
            progress=progress,
            prompt=args.prompt,
            style=args.style,
            seed=args.seed,
            in_s=start,
            out_s=end,
            want_plot=True,
        )
    paths = remote.write(out)
    audio = _audio_files(paths)
    hits = [
        SimpleNamespace(
            kind=h.kind,
            time_s=h.planned_s,
            achieved_s=h.achieved_s,
            error_ms=h.error_ms,
            error_frames=h.error_frames,
        )
        for h in remote.plan.hits
    ]
    return audio, hits, remote.result.duration_s


def _audio_files(paths: dict) -> dict:
    """``{"mix": path, "drums": path, ...}`` from an artifact table (``mix``, ``stem:NAME``)."""
    return {
        k.removeprefix("stem:"): v for k, v in paths.items() if k == "mix" or k.startswith("stem:")
    }


def _add_selection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("timeline", help="timeline file (.otio .otioz .xml .fcpxml .edl .aaf .kdenlive)")
    p.add_argument("--name", help="which timeline of a file holding several (default: first)")
    p.add_argument("--in", dest="in_point", metavar="TC", help="selection start: timecode or s")
    p.add_argument("--out", dest="out_point", metavar="TC", help="selection end: timecode or s")
    p.add_argument(
        "--between-markers",
        nargs="*",
        metavar="NAME",
        help="select between two markers: the first two, or the two named",
    )


def add_timeline_commands(sub) -> None:
    """Register ``v2m timeline ...`` on the main parser's subcommands."""
    p = sub.add_parser("timeline", help="editors' timelines: list cuts, score a selection")
    tsub = p.add_subparsers(dest="timeline_command", required=True, metavar="COMMAND")
    c = tsub.add_parser(
        "cuts",
        help="list the edit points and markers of a timeline (the edit as seen)",
        description="Read a timeline and list, in record timecode, every change of picture "
        "(top-most enabled video track; transitions at their midpoint) and every editor "
        "marker inside the selection.",
    )
    _add_selection_options(c)
    c.add_argument("--json", metavar="FILE", help="also write the list as JSON")
    c.set_defaults(run=_cuts_command)
    s = tsub.add_parser(
        "score",
        help="score a timeline selection and write the music back into the timeline",
        description="Conform the selection from its source media, score it so the music hits "
        "its edit points and markers, write mix.wav, stems, score.mid and hits.json into "
        "OUTDIR, and save the timeline with the score as new audio track(s) at the in point "
        "and a marker at every hit (NAME.v2m.SUFFIX, in the input's format).",
    )
    _add_selection_options(s)
    s.add_argument(
        "-o", "--output", dest="out", required=True, metavar="OUTDIR", help="output folder"
    )
    s.add_argument("--prompt", help="what the music should be (default: described)")
    s.add_argument("--style", help="force a style preset (see `v2m styles`)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    s.add_argument(
        "--search-path",
        action="append",
        metavar="DIR",
        help="where to look for moved or relative source media; repeatable",
    )
    s.add_argument(
        "--timeline-out",
        metavar="FILE",
        help="where to save the updated timeline; its suffix picks the format (.otio .xml "
        ".fcpxml .aaf ...; default OUTDIR/NAME.v2m.SUFFIX in the input's format)",
    )
    s.add_argument(
        "--track-per-stem", action="store_true", help="one audio track per stem instead of the mix"
    )
    s.add_argument(
        "--server",
        metavar="HOST:PORT",
        help="score on a v2m server (the timeline and its media inside its roots)",
    )
    s.add_argument("--token", help="bearer token for --server")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(run=_score_command)
