"""Timelines: loading every shared export, the edit as seen, edit points, markers, selections."""

import xml.etree.ElementTree as ET
from fractions import Fraction

import opentimelineio as otio
import pytest

from tests.helpers import SHARED_MEDIA, shared_media_path
from v2m.nle_plugins.errors import SelectionError, TimelineReadError, UnsupportedFormatError
from v2m.nle_plugins.fcpxml_exact import fcpxml_seconds
from v2m.nle_plugins.timeline import (
    edit_points,
    load_timeline,
    markers,
    selection,
    visible_segments,
)

TIMELINES = sorted(p.name for p in (SHARED_MEDIA / "timelines").glob("*") if p.suffix != ".md") or [
    "(none)"
]
RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def _clip(name, start, duration, rate, url=None):
    ref = otio.schema.ExternalReference(target_url=url or f"/media/{name}.mov")
    return otio.schema.Clip(
        name=name, media_reference=ref, source_range=TR(RT(start, rate), RT(duration, rate))
    )


def _gap(duration, rate):
    return otio.schema.Gap(source_range=TR(RT(0, rate), RT(duration, rate)))


def _save(timeline, tmp_path, name="edit.otio"):
    path = tmp_path / name
    otio.adapters.write_to_file(timeline, str(path))
    return path


def test_the_edit_as_seen_on_a_built_timeline(tmp_path):
    """Known ground truth: an upper clip hides a lower cut, a transition's midpoint is its cut,
    a through edit is no cut, a nested sequence's cuts count, 23.976 timecode is exact."""
    rate = 24000 / 1001
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    v1.append(_clip("a", 0, 48, rate))
    v1.append(_clip("b", 100, 48, rate))  # cut at 48, hidden by V2 (40..60)
    v1.append(otio.schema.Transition(in_offset=RT(6, rate), out_offset=RT(10, rate)))
    v1.append(_clip("c", 0, 48, rate))  # transition around 96: midpoint 96 + (10 - 6) / 2 = 98
    v1.append(_clip("c2", 48, 24, rate, url="/media/c.mov"))  # through edit of c at 144
    nested = otio.schema.Stack(name="nest", source_range=TR(RT(12, rate), RT(36, rate)))
    inner = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    inner.extend([_clip("n1", 0, 24, rate), _clip("n2", 0, 24, rate)])  # inner cut at 24
    nested.append(inner)
    v1.append(nested)  # at 168..204, its cut at 168 + (24 - 12) = 180
    v2 = otio.schema.Track(name="V2", kind=otio.schema.TrackKind.Video)
    v2.extend([_gap(40, rate), _clip("title", 0, 20, rate)])
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    audio.extend([_clip("music", 0, 30, rate), _clip("music2", 0, 30, rate)])  # not picture
    timeline = otio.schema.Timeline(name="built", global_start_time=RT(86400, rate))
    timeline.tracks.extend([v1, v2, audio])
    tl = load_timeline(_save(timeline, tmp_path))
    assert tl.rate == Fraction(24000, 1001)
    points = edit_points(tl)
    assert [(p.frame, p.kind, p.outgoing, p.incoming) for p in points] == [
        (40, "cut", "a", "title"),
        (60, "cut", "title", "b"),
        (98, "transition", "b", "c"),
        (168, "cut", "c", "n1"),
        (180, "cut", "n1", "n2"),
    ]
    assert tl.timecode(points[2].time_s) == "01:00:04:02"  # 86400 + 98 frames at 23.976 NDF
    segments = visible_segments(tl, start_s=tl.seconds(150), end_s=tl.seconds(200))
    assert [(s.start_frame, s.name) for s in segments] == [(150, "c2"), (168, "n1"), (180, "n2")]
    assert segments[1].source_start_s == pytest.approx(12 / rate)  # the nest's in point


def test_markers_and_selections(tmp_path):
    rate = 30000 / 1001
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    clip = _clip("a", 100, 300, rate)
    clip.markers.append(
        otio.schema.Marker(name="clip mark", marked_range=TR(RT(130, rate), RT(0, rate)))
    )
    v1.append(clip)
    timeline = otio.schema.Timeline(name="m", global_start_time=RT(107892, rate))  # 01:00:00;00 DF
    timeline.tracks.append(v1)
    for name, frame in (("in", 60), ("out", 240), ("v2m hit (+0 frames)", 90)):
        timeline.tracks.markers.append(
            otio.schema.Marker(name=name, marked_range=TR(RT(frame, rate), RT(0, rate)))
        )
    tl = load_timeline(_save(timeline, tmp_path))
    found = markers(tl)
    assert [(m.frame, m.name, m.owner) for m in found] == [
        (30, "clip mark", "clip a"),  # source frame 130 of a clip that starts at source 100
        (60, "in", "timeline"),
        (240, "out", "timeline"),
    ]  # the v2m marker is ours, not the editor's
    assert selection(tl, between_markers=("in", "out")) == pytest.approx((60 / rate, 240 / rate))
    assert selection(tl, in_point="01:00:02;00", out_point="7.5") == pytest.approx((2.002, 7.5))
    assert selection(tl) == pytest.approx((0, 300 / rate))
    for bad in ({"in_point": "9", "out_point": "3"}, {"in_point": "1:2"}, {"out_point": "99"}):
        with pytest.raises(SelectionError):
            selection(tl, **bad)
    with pytest.raises(SelectionError, match="no marker named 'x'"):
        selection(tl, between_markers=("x", "out"))


@pytest.mark.parametrize(
    "name,content,error,message",
    [
        ("cut.mov.txt", b"x", UnsupportedFormatError, "not supported"),
        ("empty.otio", b"", TimelineReadError, "0 bytes"),
        ("broken.xml", b"<xmeml><sequence>", TimelineReadError, "not well-formed XML"),
        ("broken.otio", b"{not json", TimelineReadError, "not valid JSON"),
        (
            "bomb.xml",
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><x>&b;</x>',
            TimelineReadError,
            "entities",
        ),
        ("garbage.aaf", b"\x00" * 4096, TimelineReadError, "could not be read"),
        ("bad.edl", b"TITLE: x\n001  AX V C 00:00:00:00\n", TimelineReadError, "could not be read"),
    ],
)
def test_bad_timelines_get_typed_errors(tmp_path, name, content, error, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error, match=message):
        load_timeline(path)


@pytest.mark.shared_media
@pytest.mark.parametrize("name", TIMELINES)
def test_every_shared_timeline_loads_and_its_cuts_are_clip_boundaries(name):
    tl = load_timeline(shared_media_path(f"timelines/{name}"))
    boundaries = set()
    transitions = set()
    for track in tl.timeline.find_children(descended_from_type=otio.schema.Track):
        if track.kind != otio.schema.TrackKind.Video:
            continue
        for child in track:
            rng = track.range_of_child(child)
            start_s = track.transformed_time(rng.start_time, tl.timeline.tracks).to_seconds()
            if track.source_range and track.source_range.start_time.value < 0:
                start_s -= tl.seconds(tl.start_frame)  # EDL: the record start, not a shift
            if isinstance(child, otio.schema.Transition):
                transitions.add(tl.frame(start_s + rng.duration.to_seconds() / 2))
            else:
                boundaries |= {tl.frame(start_s), tl.frame(start_s + rng.duration.to_seconds())}
    points = edit_points(tl)
    assert points or tl.duration_s > 0
    for p in points:
        assert p.frame in boundaries or p.frame in transitions, (p, tl.timecode(p.time_s))
    times = [p.time_s for p in points]
    assert times == sorted(times) and all(0 < t < tl.duration_s for t in times)


def _spine_cuts(path):
    """Exact spine clip offsets and the project's rate, read straight from the FCPXML; a
    boundary where the next clip continues the same asset's source (a through edit, as
    scene-detection tools write) is no cut."""
    root = ET.parse(path).getroot()
    sequence = root.find(".//project/sequence")
    fmt = root.find(f".//resources/format[@id='{sequence.get('format')}']")
    num, den = fmt.get("frameDuration").removesuffix("s").split("/")
    rate = Fraction(int(den), int(num))
    kinds = ("asset-clip", "clip", "ref-clip", "video", "sync-clip", "mc-clip")
    spine = [e for e in sequence.find("spine") if e.tag in kinds]
    offsets = set()
    for prev, e in zip(spine, spine[1:], strict=False):
        continues = e.get("ref") is not None and e.get("ref") == prev.get("ref")
        continues = continues and fcpxml_seconds(e.get("start")) == fcpxml_seconds(
            prev.get("start")
        ) + fcpxml_seconds(prev.get("duration"))
        if not continues:
            offsets.add(fcpxml_seconds(e.get("offset")))
    return rate, fcpxml_seconds(sequence.get("duration")), sorted(offsets)


@pytest.mark.shared_media
@pytest.mark.parametrize(
    "name,rate",
    [
        ("dawfilekit_29.97.fcpxml", Fraction(30000, 1001)),
        ("dawfilekit_24.fcpxml", Fraction(24)),
        ("fcpscene_60fps-rubric-clips.fcpxml", Fraction(60)),
    ],
)
def test_fcpxml_cuts_at_true_times_with_rates_from_frame_duration(name, rate):
    path = shared_media_path(f"timelines/{name}")
    file_rate, duration_s, spine_offsets = _spine_cuts(path)
    tl = load_timeline(path)
    assert tl.rate == file_rate == rate  # not the adapter's rounded 29 / 29
    assert tl.duration_frames == round(duration_s * rate)
    ours = {p.frame for p in edit_points(tl)}
    covered = {  # spine cuts under connected clips (lanes above the spine) are not seen
        s.start_frame for s in visible_segments(tl)
    }
    expected = {round(t * rate) for t in spine_offsets}
    assert expected & covered <= ours
    assert len(expected & ours) >= 0.6 * len(expected)
    if not expected:  # one source played straight through (its cuts are found in conform)
        assert not ours


@pytest.mark.shared_media
def test_premiere_xml_whose_sequence_duration_disagrees_keeps_clip_positions():
    tl = load_timeline(shared_media_path("timelines/premiere_example.xml"))
    assert tl.duration_s == pytest.approx(1271 / 30)  # the tracks, not <duration>636</duration>
    assert [tl.timecode(p.time_s) for p in edit_points(tl)][:3] == [
        "00:00:00:13",
        "00:00:00:15",
        "00:00:31:26",
    ]
    assert [m.name for m in markers(tl)][:3] == ["My MArker 1", "", "dsf"]


@pytest.mark.shared_media
def test_drop_frame_aaf_timecode_and_tolerant_edl():
    tl = load_timeline(shared_media_path("timelines/2997fps-DFTC.aaf"))
    assert tl.rate == Fraction(30000, 1001) and tl.timecode(0) == "05:00:00;00"
    assert tl.parse_time("05:01:00;02") == pytest.approx(60.06)
    edl = load_timeline(shared_media_path("timelines/ToD_R4_LOCK3.1_030618_Video.edl"))
    assert "ignore_timecode_mismatch" in edl.notes[0] and len(edit_points(edl)) > 300


@pytest.mark.parametrize(
    "rate,start_tc,cut_tc",
    [
        (24000 / 1001, "00:59:59:00", "01:00:41:16"),
        (30000 / 1001, "00:59:59;00", "01:00:41;20"),
        (60000 / 1001, "00:59:59;00", "01:00:41;40"),
    ],
)
def test_ntsc_rates_are_exact_end_to_end(tmp_path, rate, start_tc, cut_tc):
    """A cut 42 s of frames in, an hour of timecode in: frames, timecode and a write-back
    marker agree exactly (drop-frame at 29.97 and 59.94)."""
    from types import SimpleNamespace

    from v2m.nle_plugins.writeback import add_score, save_scored

    nominal = round(rate)
    start = otio.opentime.from_timecode(start_tc, rate)
    cut_frame = otio.opentime.from_timecode(cut_tc, rate).to_frames() - start.to_frames()
    track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    track.extend([_clip("a", 0, cut_frame, rate), _clip("b", 0, 10 * nominal, rate)])
    timeline = otio.schema.Timeline(global_start_time=start)
    timeline.tracks.append(track)
    tl = load_timeline(_save(timeline, tmp_path))
    assert tl.rate == exact(rate) and tl.timecode(0) == start_tc
    (point,) = edit_points(tl)
    assert point.frame == cut_frame and tl.timecode(point.time_s) == cut_tc
    assert tl.parse_time(cut_tc) == pytest.approx(point.time_s, abs=1e-9)
    hit = SimpleNamespace(
        kind="cut", time_s=point.time_s, achieved_s=point.time_s, error_ms=0.0, error_frames=0.0
    )
    scored = add_score(
        tl, start_s=0.0, duration_s=tl.duration_s, audio={"mix": tmp_path / "m.wav"}, hits=[hit]
    )
    path, _ = save_scored(scored, tl, tmp_path / "out")
    back = load_timeline(path)
    clip = next(c for c in back.timeline.find_clips() if c.name == "v2m mix")
    assert back.timecode(clip.markers[0].marked_range.start_time.to_seconds()) == cut_tc


def exact(rate: float) -> Fraction:
    return Fraction(round(rate * 1001 / 1000) * 1000, 1001)
