"""The one scoring job every door runs: a source, ``ScoreOptions`` and an output folder.

``run_score_job`` resolves the selection once (a timeline's in/out timecode, markers or the
options' seconds), checks the operator's ``Limits`` before anything is decoded, conforms a
timeline's picture from its sources, scores, writes every artifact into a hidden partial folder
and renames it into place — so a result folder is complete or absent — and, for a timeline,
writes the timeline back with the score on new audio track(s). Progress is reported as it goes
and a set ``cancel`` event stops the job at its next progress report.

The CLI (``v2m score``, ``v2m timeline score``), the gRPC service, the WebSocket bridge and the
watch folder only translate their own input into a source and options and call this.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from v2m.model.errors import LimitExceededError
from v2m.model.folders import commit_folder, partial_folder
from v2m.model.options import Limits, ScoreOptions
from v2m.model.pipeline import ScoreJob
from v2m.nle_plugins.errors import SelectionError
from v2m.nle_plugins.timeline import LoadedTimeline, is_timeline
from v2m.server.errors import JobCancelled

ProgressFn = Callable[[float, str], None]
MediaCheck = Callable[[Path], object]


@dataclass(frozen=True)
class VideoSource:
    """A video file; the selection is ``ScoreOptions.in_s`` / ``out_s`` in media time."""

    path: Path


@dataclass(frozen=True)
class TimelineSource:
    """A timeline file (.otio .xml .fcpxml .edl .aaf ...) and how to select in it.

    Attributes:
        name: which timeline of a file holding several (default: the first).
        in_point, out_point: record timecode (``01:00:10:00``) or seconds as text; used
            instead of ``ScoreOptions.in_s`` / ``out_s`` (giving both is an error).
        between_markers: select between two markers (``("", "")``: the first two).
        search_paths: where moved or relative source media may be found.
    """

    path: Path
    name: str | None = None
    in_point: str | None = None
    out_point: str | None = None
    between_markers: tuple[str, str] | None = None
    search_paths: tuple[Path, ...] = ()


Source = VideoSource | TimelineSource


def source_for(path: str | os.PathLike, **timeline) -> Source:
    """A TimelineSource for timeline suffixes (``timeline`` its fields), else a VideoSource."""
    path = Path(path)
    if is_timeline(path):
        return TimelineSource(path, **timeline)
    return VideoSource(path)


@dataclass(frozen=True)
class JobResult:
    """A finished job.

    Attributes:
        scored: the analysis, request and music.
        out_dir: the result folder.
        artifacts: name → file (``mix``, ``stem:NAME``, ``midi``, ``hits``, ``plot``,
            ``preview``, ``timeline``).
        selection_s: (in, out) on the source's clock (media or timeline seconds).
        timeline: the loaded timeline, for timeline sources.
        notes: what the write-back had to work around (format saved instead, ...).
    """

    scored: ScoreJob
    out_dir: Path
    artifacts: dict[str, Path]
    selection_s: tuple[float, float]
    timeline: LoadedTimeline | None = None
    notes: tuple[str, ...] = ()


def run_score_job(
    source: Source,
    options: ScoreOptions,
    out_dir: str | os.PathLike,
    *,
    limits: Limits | None = None,
    media_check: MediaCheck | None = None,
    timeline_out: str | os.PathLike | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    on_request: Callable | None = None,
    on_music: Callable[[ScoreJob], None] | None = None,
) -> JobResult:
    """Score ``source`` with ``options`` into ``out_dir`` (created or added to, atomically).

    Args:
        limits: refused before decoding: video longer or selection longer than
            ``max_duration_s``, frames larger than ``max_frame_side_px`` (LimitExceededError).
        media_check: called with every file the job finds to read — a timeline's sources —
            (the server refuses files outside its media roots); raises to refuse. The
            source itself is the door's to check.
        timeline_out: where to save the scored timeline (its suffix picks the format; default
            ``out_dir/NAME.v2m.SUFFIX``).
        on_request: called with the backend's request (curve, planned hits) before any music.
        on_music: called with the finished music before the artifacts are written.
    """
    limits = limits or Limits()
    report = _reporter(progress, cancel)
    final = Path(out_dir)
    partial = partial_folder(final)
    try:
        if isinstance(source, TimelineSource):
            scored, tl, selection = _score_timeline(
                source, options, limits, media_check, report, on_request
            )
        else:
            scored, tl, selection = _score_video(source, options, limits, report, on_request)
        if on_music is not None:
            on_music(scored)
        report(1.0, "writing artifacts")
        from v2m.model.outputs import write_outputs

        written = write_outputs(
            scored, partial, preview=options.preview and tl is None, plot=options.plot
        )
        artifacts = {k: final / Path(v).relative_to(partial) for k, v in written.items()}
        notes: tuple[str, ...] = ()
        if tl is not None:
            from v2m.nle_plugins.writeback import write_back

            path, note = write_back(
                tl,
                in_s=selection[0],
                duration_s=scored.request.duration_s,
                artifacts=artifacts,  # the final paths: the timeline points at them
                hits=scored.result.hit_report,
                out=timeline_out or partial,
                track_per_stem=options.track_per_stem,
            )
            notes = (note,) if note else ()
            inside = path.parent == partial
            artifacts["timeline"] = final / path.name if inside else path
        report(1.0, "writing artifacts")  # the last chance to cancel before the folder appears
        commit_folder(partial, final)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return JobResult(scored, final, artifacts, selection, tl, notes)


def _reporter(progress: ProgressFn | None, cancel: threading.Event | None) -> ProgressFn:
    def report(fraction: float, stage: str) -> None:
        if cancel is not None and cancel.is_set():
            raise JobCancelled("the job was cancelled")
        if progress is not None:
            progress(fraction, stage)

    return report


def _score_video(source: VideoSource, options, limits, report, on_request):
    from v2m.model.pipeline import score

    limits.check_media(source.path)
    scored = score(source.path, options, progress=report, on_request=on_request)
    return scored, None, (scored.in_s, scored.out_s)


def _selection(source: TimelineSource, options: ScoreOptions, tl: LoadedTimeline):
    from v2m.nle_plugins.timeline import selection

    by_text = source.in_point or source.out_point or source.between_markers is not None
    if by_text and (options.in_s is not None or options.out_s is not None):
        raise SelectionError(
            "give the selection once: as timecode / markers, or as in_s / out_s seconds"
        )
    in_point = source.in_point or (None if options.in_s is None else repr(options.in_s))
    out_point = source.out_point or (None if options.out_s is None else repr(options.out_s))
    return selection(
        tl, in_point=in_point, out_point=out_point, between_markers=source.between_markers
    )


def _score_timeline(source: TimelineSource, options, limits, media_check, report, on_request):
    from v2m.model.pipeline import score
    from v2m.nle_plugins.conform import analyze_selection
    from v2m.nle_plugins.timeline import load_timeline, markers

    tl = load_timeline(source.path, name=source.name)
    start, end = _selection(source, options, tl)
    if end - start > limits.max_duration_s:
        raise LimitExceededError(
            f"the selection {tl.timecode(start)} .. {tl.timecode(end)} is {end - start:.1f} s "
            f"long; at most {limits.max_duration_s:.0f} s are scored at once (select less, or "
            "raise the limit: --max-duration on the CLI, max_media_duration_s on a server)"
        )

    def check(path: Path) -> None:
        if media_check is not None:
            media_check(path)
        limits.check_media(path, length=False)  # a selection of a long source is fine

    analysis = analyze_selection(
        tl,
        start_s=start,
        end_s=end,
        search_paths=source.search_paths,
        media_check=check,
        progress=lambda f, s: report(0.5 * f, s),
    )
    editor = [m.time_s - start for m in markers(tl, start_s=start, end_s=end)]
    extra = [t - start for t in options.markers_s if start <= t <= end]
    inner = dataclasses.replace(
        options,
        in_s=None,
        out_s=None,
        markers_s=tuple(sorted(editor + extra)),
        duck_dialogue=False,  # a conformed picture has no sound of its own
    )
    scored = score(
        tl.path,
        inner,
        analysis=analysis,
        follow_motion=False,
        progress=report,
        on_request=on_request,
    )
    return scored, tl, (start, end)
