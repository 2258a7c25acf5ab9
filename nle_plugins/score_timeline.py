"""Score a timeline selection: conform → analysis with exact edit points → ``score()``.

The one place the CLI, the server and the watch folder turn a timeline into music, so a
timeline scores the same whichever door it came through. Times in the result are seconds from
the selection's in point; the timeline's own markers inside the selection are must-hit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from v2m.model.pipeline import ScoreJob, score
from v2m.nle_plugins.conform import analyze_selection
from v2m.nle_plugins.timeline import ADAPTERS, LoadedTimeline, markers

ProgressFn = Callable[[float, str], None]


def is_timeline(path: str | os.PathLike) -> bool:
    """True for files scored as timelines (by suffix: .otio, .xml, .fcpxml, .edl, .aaf, ...)."""
    return Path(path).suffix.lower() in ADAPTERS


def score_selection(
    tl: LoadedTimeline,
    *,
    start_s: float,
    end_s: float,
    search_paths: Sequence[str | os.PathLike] = (),
    media_check: Callable[[Path], object] | None = None,
    progress: ProgressFn | None = None,
    on_request=None,
    **options,
) -> ScoreJob:
    """Score ``start_s`` .. ``end_s`` of ``tl``; ``options`` as for ``v2m.model.pipeline.score``
    (prompt, style, seed, bpm, key, meter, stems, backend). ``media_check`` is called with each
    source file before decoding (the server refuses files outside its media roots)."""
    progress = progress or (lambda fraction, stage: None)
    analysis = analyze_selection(
        tl,
        start_s=start_s,
        end_s=end_s,
        search_paths=search_paths,
        media_check=media_check,
        progress=lambda f, s: progress(0.5 * f, s),
    )
    editor_marks = [m.time_s - start_s for m in markers(tl, start_s=start_s, end_s=end_s)]
    extra = list(options.pop("markers_s", None) or ())
    return score(
        tl.path,
        analysis=analysis,
        markers_s=sorted(editor_marks + extra),
        follow_motion=False,
        duck_dialogue=False,
        progress=progress,  # score() reports generation as 0.5 .. 1
        on_request=on_request,
        **options,
    )
