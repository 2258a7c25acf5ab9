"""``v2m timeline cuts|score``: editors' timelines from the command line.

v2m timeline cuts EDIT.xml [--in TC --out TC | --between-markers [A B]] [--json FILE]
v2m timeline score EDIT.otio [selection] [--prompt TEXT] [--server HOST:PORT] -o OUTDIR
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _between(args: argparse.Namespace) -> tuple[str, str] | None:
    from v2m.nle_plugins.errors import SelectionError

    if args.between_markers is None:
        return None
    names = args.between_markers
    if len(names) not in (0, 2):
        raise SelectionError(f"--between-markers takes no names or two, got {names}")
    return tuple(names) if names else ("", "")


def _selection(args: argparse.Namespace):
    from v2m.nle_plugins.timeline import load_timeline, selection

    tl = load_timeline(args.timeline, name=args.name)
    start, end = selection(
        tl, in_point=args.in_point, out_point=args.out_point, between_markers=_between(args)
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


def _source(args: argparse.Namespace):
    from v2m.nle_plugins.errors import SelectionError
    from v2m.server.score_job import TimelineSource

    between = None
    if args.between_markers is not None:
        names = args.between_markers
        if len(names) not in (0, 2):
            raise SelectionError(f"--between-markers takes no names or two, got {names}")
        between = tuple(names) if names else ("", "")
    return TimelineSource(
        Path(args.timeline),
        name=args.name,
        in_point=args.in_point,
        out_point=args.out_point,
        between_markers=between,
        search_paths=tuple(Path(p) for p in args.search_path or ()),
    )


def _score_command(args: argparse.Namespace) -> int:
    from v2m.server.cli_options import limits_from_args, options_from_args
    from v2m.server.cli_output import progress_bar, result_lines
    from v2m.server.score_job import run_score_job

    options = options_from_args(args)
    if args.server:
        return _score_remote(args, options)
    progress, close = progress_bar(not args.quiet)
    started = time.perf_counter()
    try:
        done = run_score_job(
            _source(args),
            options,
            args.out,
            limits=limits_from_args(args),
            timeline_out=args.timeline_out,
            progress=progress,
        )
    finally:
        close()
    for line in result_lines(done):
        print(line)
    for note in done.notes:
        print(f"note: {note}")
    tracks = len(done.scored.result.stems) if options.track_per_stem else 1
    _print_scored(
        done.timeline,
        done.selection_s,
        done.scored.result.hit_report,
        path=done.artifacts["timeline"],
        tracks=tracks,
        elapsed_s=time.perf_counter() - started,
    )
    return 0


def _print_scored(tl, selection_s, hits, *, path, tracks: int, elapsed_s: float) -> None:
    start, end = selection_s
    worst = max((abs(h.error_frames) for h in hits), default=0.0)
    print(
        f"scored {tl.timecode(start)} .. {tl.timecode(end)} ({end - start:.2f} s) in "
        f"{elapsed_s:.1f} s: {len(hits)} hits, worst error {worst:.2f} frames; timeline with "
        f"{tracks} new audio track(s): {path}"
    )


def _score_remote(args: argparse.Namespace, options) -> int:
    """Score on a server (timeline and media inside its roots), write the score back here."""
    import dataclasses

    from v2m.nle_plugins.writeback import write_back
    from v2m.server.cli_output import score_on_server

    tl, start, end = _selection(args)
    options = dataclasses.replace(options, in_s=start, out_s=end)
    out = Path(args.out)
    started = time.perf_counter()
    remote, paths = score_on_server(args, tl.path, options, out)
    path, note = write_back(
        tl,
        in_s=start,
        duration_s=remote.result.duration_s,
        artifacts=paths,
        hits=remote.hits,
        out=args.timeline_out or out,
        track_per_stem=options.track_per_stem,
    )
    if note:
        print(f"note: {note}")
    _print_scored(
        tl,
        (start, end),
        remote.hits,
        path=path,
        tracks=len(remote.stems) - 1 if options.track_per_stem else 1,
        elapsed_s=time.perf_counter() - started,
    )
    return 0


def _source(args: argparse.Namespace):
    from v2m.server.score_job import TimelineSource

    return TimelineSource(
        Path(args.timeline),
        name=args.name,
        in_point=args.in_point,
        out_point=args.out_point,
        between_markers=_between(args),
        search_paths=tuple(Path(p) for p in args.search_path or ()),
    )


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
    from v2m.server.cli_options import add_score_options

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
    add_score_options(s)
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
        "--server",
        metavar="HOST:PORT",
        help="score on a v2m server (the timeline and its media inside its roots)",
    )
    s.add_argument("--token", help="bearer token for --server")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(run=_score_command)
