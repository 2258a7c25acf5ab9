"""Write-back round trips on real exports: the original plus our track and markers, nothing else."""

import copy
import json
from types import SimpleNamespace

import opentimelineio as otio
import pytest

from tests.helpers import shared_media_path
from v2m.nle_plugins.timeline import load_timeline, markers
from v2m.nle_plugins.writeback import add_score, save_scored, save_timeline

VOLATILE = {"CreationTime", "LastModified", "MobID"}  # stamped anew by the AAF writer


def _hits(times_s):
    return [
        SimpleNamespace(kind="cut", time_s=t, achieved_s=t, error_ms=0.0, error_frames=0.0)
        for t in times_s
    ]


def _plain(timeline: otio.schema.Timeline) -> dict:
    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in VOLATILE}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(json.loads(otio.adapters.otio_json.write_to_string(timeline)))


@pytest.mark.shared_media
@pytest.mark.parametrize(
    "name",
    ["premiere_example.xml", "resolve_effects.otio", "simple.aaf", "premiere_generators.xml"],
)
def test_write_back_adds_our_track_and_markers_and_changes_nothing_else(name, tmp_path):
    tl = load_timeline(shared_media_path(f"timelines/{name}"))
    start_s, duration_s = 2.0, 6.0
    hit_times = [0.5, 1.25, 4.0]
    scored = add_score(
        tl,
        start_s=start_s,
        duration_s=duration_s,
        audio={"mix": tmp_path / "mix.wav"},
        hits=_hits(hit_times),
    )
    path, note = save_scored(scored, tl, tmp_path)
    assert path.suffix == tl.path[tl.path.rindex(".") :] and not note
    back = load_timeline(path)
    ours = [t for t in back.timeline.tracks if any(c.name == "v2m mix" for c in t.find_clips())]
    assert len(ours) == 1
    clip = ours[0].find_clips()[0]
    placed = clip.range_in_parent()
    assert back.frame(placed.start_time.to_seconds()) == tl.frame(start_s)
    assert back.frame(placed.duration.to_seconds()) == tl.frame(start_s + duration_s) - tl.frame(
        start_s
    )
    assert clip.media_reference.target_url == (tmp_path / "mix.wav").resolve().as_uri()
    marker_frames = [
        back.frame((placed.start_time + m.marked_range.start_time).to_seconds())
        for m in clip.markers
    ]
    assert marker_frames == [tl.frame(start_s) + round(t * tl.rate_hz) for t in hit_times]
    assert all(m.name == "v2m cut +0.0f" for m in clip.markers)
    assert markers(back) == markers(load_timeline(path))  # ours are never editor markers
    # Everything else equals what the adapter's own round trip gives.
    plain_path = tmp_path / f"plain{path.suffix}"
    save_timeline(tl.timeline, plain_path, adapter=tl.adapter)
    plain = load_timeline(plain_path).timeline
    without = copy.deepcopy(back.timeline)
    del without.tracks[list(back.timeline.tracks).index(ours[0])]
    assert _plain(without) == _plain(plain)


@pytest.mark.shared_media
def test_formats_that_cannot_take_the_track_fall_back_to_otio(tmp_path):
    edl = load_timeline(shared_media_path("timelines/avid_example.edl"))
    scored = add_score(edl, start_s=0.5, duration_s=2.0, audio={"mix": tmp_path / "m.wav"})
    path, note = save_scored(scored, edl, tmp_path)
    assert path.name == "avid_example.v2m.otio" and "cannot hold an audio track" in note
    dftc = load_timeline(shared_media_path("timelines/2997fps-DFTC.aaf"))  # 23.976 media in 29.97
    scored = add_score(
        dftc, start_s=1.0, duration_s=10.0, audio={"mix": tmp_path / "m.wav"}, hits=_hits([2.0])
    )
    path, note = save_scored(scored, dftc, tmp_path)
    assert path.suffix == ".otio" and "AAF writer failed" in note
    back = load_timeline(path)
    clip = next(c for c in back.timeline.find_clips() if c.name == "v2m mix")
    at = (clip.range_in_parent().start_time + clip.markers[0].marked_range.start_time).to_seconds()
    assert back.timecode(at) == "05:00:03;00"  # 29.97 drop-frame: 1 s + 2 s after 05:00:00;00
