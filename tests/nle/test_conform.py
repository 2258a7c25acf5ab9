"""Conform: a timeline of synthetic sources with known cuts, against a render of the edit."""

import numpy as np
import pytest

from tests.nle.conftest import CUTS_INSIDE_S, EDIT_POINTS_S, FPS
from v2m.model.analysis import analyze
from v2m.nle_plugins.conform import analyze_selection, plan_conform
from v2m.nle_plugins.errors import MissingMediaError
from v2m.nle_plugins.timeline import load_timeline


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
