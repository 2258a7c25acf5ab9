"""Conform: a timeline of synthetic sources with known cuts, against a render of the edit."""

import numpy as np
import opentimelineio as otio
import pytest

from tests.helpers import write_video
from v2m.model.analysis import analyze
from v2m.model.media import iter_video_frames
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.nle_plugins.conform import analyze_selection, plan_conform
from v2m.nle_plugins.errors import MissingMediaError
from v2m.nle_plugins.timeline import load_timeline

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
FPS = 30
# (source, source in s, length s); None: a gap (black)
EDIT = [("a", 1.0, 3.0), ("b", 0.5, 3.5), (None, 0.0, 1.0), ("a", 5.0, 2.0)]
EDIT_POINTS_S = [3.0, 6.5, 7.5]  # where the picture changes between clips
CUTS_INSIDE_S = [2.0, 4.5, 8.5]  # cuts inside the sources: a at 3.0, b at 2.0, a at 6.0


@pytest.fixture(scope="module")
def edit(tmp_path_factory):
    root = tmp_path_factory.mktemp("conform")
    sources = root / "sources"
    sources.mkdir()
    specs = {
        "a": ClipSpec(duration_s=8, cut_times_s=(3.0, 6.0), width=320, height=180, seed=71),
        "b": ClipSpec(duration_s=6, cut_times_s=(2.0,), width=320, height=180, seed=72),
    }
    for name, spec in specs.items():
        render_clip(sources / f"{name}.mp4", spec)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for name, start, length in EDIT:
        rng = TR(RT(round(start * FPS), FPS), RT(round(length * FPS), FPS))
        if name is None:
            track.append(otio.schema.Gap(source_range=rng))
        else:
            ref = otio.schema.ExternalReference(target_url=f"sources/{name}.mp4")  # relative
            track.append(otio.schema.Clip(name=name, media_reference=ref, source_range=rng))
    timeline = otio.schema.Timeline(name="edit")
    timeline.tracks.append(track)
    otio.adapters.write_to_file(timeline, str(root / "edit.otio"))
    # The same edit rendered frame by frame from the sources, as an NLE would export it.
    rendered = []
    for name, start, length in EDIT:
        if name is None:
            rendered += [np.zeros((180, 320, 3), np.uint8)] * round(length * FPS)
            continue
        frames = iter_video_frames(sources / f"{name}.mp4", max_side=320)
        keep = [f.rgb for f in frames if start - 1e-6 <= f.time_s < start + length - 1e-6]
        rendered += keep
    write_video(root / "rendered.mp4", rendered, FPS)
    return root


def test_conformed_selection_has_the_edit_points_and_the_rendered_curve(edit):
    tl = load_timeline(edit / "edit.otio")
    conformed = analyze_selection(tl, start_s=0.0, end_s=tl.duration_s)
    rendered = analyze(edit / "rendered.mp4")
    cut_times = sorted(c.time_s for c in conformed.cuts)
    assert cut_times == pytest.approx(sorted(EDIT_POINTS_S + CUTS_INSIDE_S), abs=0.5 / FPS)
    assert [c.time_s for c in rendered.cuts] == pytest.approx(cut_times, abs=1.5 / FPS)
    a, b = conformed.curves.smoothed.values, rendered.curves.smoothed.values
    n = min(len(a), len(b))
    r = np.corrcoef(a[:n], b[:n])[0, 1]
    assert r >= 0.95, r
    assert conformed.duration_s == pytest.approx(9.5)


def test_selection_clock_starts_at_the_in_point(edit):
    tl = load_timeline(edit / "edit.otio")
    part = analyze_selection(tl, start_s=2.5, end_s=8.0)
    assert [round(c.time_s, 3) for c in part.cuts] == [0.5, 2.0, 4.0, 5.0]
    assert part.duration_s == pytest.approx(5.5)


def test_moved_media_is_found_through_search_paths_and_missing_media_is_listed(edit, tmp_path):
    moved = tmp_path / "elsewhere" / "deep"
    moved.mkdir(parents=True)
    (moved / "a.mp4").write_bytes((edit / "sources" / "a.mp4").read_bytes())
    copy = tmp_path / "edit.otio"
    copy.write_text((edit / "edit.otio").read_text())
    tl = load_timeline(copy)
    with pytest.raises(MissingMediaError) as err:
        plan_conform(tl, start_s=0, end_s=tl.duration_s)
    assert err.value.missing == ["sources/a.mp4", "sources/b.mp4"]
    assert "2 source file(s)" in str(err.value)
    with pytest.raises(MissingMediaError) as err:
        plan_conform(tl, start_s=0, end_s=tl.duration_s, search_paths=[tmp_path / "elsewhere"])
    assert err.value.missing == ["sources/b.mp4"]
    conform = plan_conform(tl, start_s=0, end_s=2.0, search_paths=[tmp_path / "elsewhere"])
    assert list(conform.media.values()) == [moved / "a.mp4"]
