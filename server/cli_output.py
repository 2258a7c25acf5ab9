"""What the command line shows: a progress bar on stderr and the summary of a finished job."""

from __future__ import annotations

import sys


def progress_bar(enabled: bool):
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


def result_lines(done) -> list[str]:
    """What a finished job made: prompt, style, tempo, loudness and where each hit landed."""
    from v2m.model.timecode import format_timecode

    job = done.scored
    r = job.result
    meta = r.metadata
    tempo = meta["tempo"]
    what = "music as recorded" if "music" in meta else f"style {meta['style']} in {meta['key']}"
    lines = [
        f"prompt ({job.prompt_source}): {job.request.prompt}",
        f"{what}, {tempo['bpm_min']:.1f}-{tempo['bpm_max']:.1f} "
        f"bpm{' (constant)' if tempo['constant'] else ' (follows the hits)'}, "
        f"{meta['loudness']['integrated_lufs']:.1f} LUFS, peak "
        f"{meta['loudness']['true_peak_dbtp']:.1f} dBTP; rendered with "
        f"{meta.get('renderer', meta.get('backend', '?'))}",
        *(f"  {stem:8s} {played}" for stem, played in meta.get("instruments", {}).items()),
        *(retime_lines(meta) if "music" in meta else []),
        f"hits ({len(r.hit_report)}):",
    ]
    fps = job.request.frame_rate_hz
    in_s = done.selection_s[0]
    for p in r.hit_report:
        where = "downbeat" if p.on_downbeat else "beat" if p.on_beat else "off-beat"
        bar = int(p.beat // r.tempo_map.meter) + 1
        stamp = done.timeline.timecode(in_s + p.time_s) if done.timeline else None
        lines.append(
            f"  {stamp or format_timecode(p.time_s + in_s, fps)}  {p.kind:7s} bar {bar:3d} "
            f"{where:8s}  error {p.error_ms:+6.1f} ms  {p.error_frames:+.2f} frames"
        )
    return lines


def retime_lines(meta: dict) -> list[str]:
    """The retime backend's choices: the track and start, stretch, bar edits, the ending, the
    other tracks that fit, and the files it could not read."""
    from pathlib import Path

    edits = meta["bar_edits"]
    stems = f" ({len(meta['music_stems'])} stems)" if meta.get("music_stems") else ""
    lines = [
        f"music: {Path(meta['music']).name}{stems} from {meta['offset_s']:.2f} s; largest "
        f"stretch {100 * meta['largest_stretch']:.1f} % (bound {100 * meta['max_stretch']:.0f} %)"
        f"; {len(edits)} bar edit{'s' * (len(edits) != 1)}; ending: {meta['ending']['kind']} "
        f"from {meta['ending']['from_s']:.2f} s",
        *(
            f"  bar edit at {e['target_s']:.2f} s: {e['kind']} {e['bars']} bar"
            f"{'s' * (e['bars'] != 1)} ({e['from_source_s']:.2f} s -> {e['to_source_s']:.2f} s)"
            for e in edits
        ),
    ]
    if meta.get("pulse", "steady") != "steady":
        lines.append(f"  pulse: {meta['pulse']}")
    for alt in meta["alternatives"]:
        if alt["music"] != meta["music"]:
            lines.append(
                f"  also fits: {Path(alt['music']).name} from {alt['offset_s']:.2f} s "
                f"({alt['cuts_hit']} cuts, stretch {100 * alt['largest_stretch']:.1f} %)"
            )
    lines += [f"  could not read {u['path']}: {u['error']}" for u in meta["unreadable"]]
    return lines


def score_on_server(args, path, options, out):
    """Score ``path`` (inside the server's roots) on ``args.server`` with ``options``, showing
    progress; write what came back into ``out``. Returns (RemoteScore, {name: path})."""
    from pathlib import Path

    from v2m.nle_plugins.client import ScoringClient

    progress, close = progress_bar(not args.quiet)
    try:
        with ScoringClient(args.server, token=args.token) as client:
            remote = client.score(str(Path(path).resolve()), options, progress=progress)
        return remote, remote.write(out)
    finally:
        close()
