"""Timeline files nobody should trust: nesting that overflows parsers, absurd numbers, bundles
that inflate, and real exports of shapes the adapters lose (FCPXML media-rep, 8-bit EDLs)."""

import json
import zipfile

import opentimelineio as otio
import pytest

from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.nle_plugins import screen
from v2m.nle_plugins.conform import plan_conform
from v2m.nle_plugins.errors import TimelineReadError
from v2m.nle_plugins.timeline import edit_points, load_timeline, markers

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def _timeline(rate=24.0, *, marker_at=None, speed=None, clips=3) -> otio.schema.Timeline:
    timeline = otio.schema.Timeline(name="t")
    track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for i in range(clips):
        clip = otio.schema.Clip(
            name=f"c{i}",
            media_reference=otio.schema.ExternalReference(target_url="/media/x.mov"),
            source_range=TR(RT(0, 24), RT(48, 24)),
        )
        track.append(clip)
    if speed is not None:
        track[1].effects.append(otio.schema.LinearTimeWarp(time_scalar=speed))
    if marker_at is not None:
        track.markers.append(otio.schema.Marker(name="m", marked_range=TR(RT(marker_at, 24))))
    text = otio.adapters.write_to_string(timeline, "otio_json")
    return text.replace('"rate": 24.0', f'"rate": {rate}', 1 if rate != 24.0 else 0)


def _nested_stacks(levels: int) -> str:
    inner = '{"OTIO_SCHEMA": "Gap.1"}'
    for _ in range(levels):
        inner = '{"OTIO_SCHEMA": "Stack.1", "children": [' + inner + "]}"
    return (
        '{"OTIO_SCHEMA": "Timeline.1", "tracks": {"OTIO_SCHEMA": "Stack.1", "children": ['
        '{"OTIO_SCHEMA": "Track.1", "kind": "Video", "children": [' + inner + "]}]}}"
    )


@pytest.mark.parametrize(
    "name,content",
    [
        ("stacks.otio", _nested_stacks(20000)),  # 780 KB: segfaulted OTIO's reader
        ("brackets.otio", "[" * 100_000),
        ("strings.otio", '{"a": "' + "[" * 5000 + '", "b": ' + "[" * 300 + "]" * 300 + "}"),
        ("deep.xml", "<xmeml>" + "<a>" * 5000 + "</a>" * 5000 + "</xmeml>"),
        ("deep.fcpxml", "<fcpxml>" + "<a>" * 300 + "</a>" * 300 + "</fcpxml>"),
        ("deep.kdenlive", "<mlt>" + "<a>" * 300 + "</a>" * 300 + "</mlt>"),
    ],
)
def test_nesting_beyond_the_limit_is_refused_before_parsing(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(TimelineReadError, match=f"{screen.MAX_NESTING} levels"):
        load_timeline(path)


def test_malformed_json_is_refused_before_otio_reads_it(tmp_path):
    """An unbalanced brace (found by the fuzzer) segfaulted OTIO's reader."""
    text = _timeline()
    cut = text.index('"value": 0.0\n')
    path = tmp_path / "unbalanced.otio"
    path.write_text(text[:cut] + text[cut:].replace("}", "", 1))
    with pytest.raises(TimelineReadError, match="is not valid JSON"):
        load_timeline(path)
    repeated = text.replace('"name": "c1",', '"name": "c1", "effects": [], "name": "again",', 1)
    path.write_text(repeated)  # a repeated key (found by the fuzzer) crashed OTIO's reader too
    assert [c.name for c in load_timeline(path).timeline.find_clips()] == ["c0", "again", "c2"]
    path.write_text('{"OTIO_SCHEMA": "Nothing.1"}')
    with pytest.raises(TimelineReadError, match="holds no timeline"):
        load_timeline(path)


@pytest.mark.parametrize(
    "schema,message",
    [
        ("Clip.-1", "names the object type 'Clip.-1'"),  # crashed OTIO's schema upgrader
        ("UnknownSchema.1", "names the object type 'UnknownSchema.1'"),  # aborted OTIO
        ("HookScript.1", "names the object type 'HookScript.1'"),
        ("Clip.x", "names the object type 'Clip.x'"),
    ],
)
def test_object_types_otio_cannot_take_are_refused(tmp_path, schema, message):
    path = tmp_path / "schema.otio"
    path.write_text(_timeline().replace('"Clip.2"', f'"{schema}"', 1))
    with pytest.raises(TimelineReadError, match=message.replace(".", r"\.")):
        load_timeline(path)


def test_a_clip_without_length_is_refused(tmp_path):
    doc = json.loads(_timeline())
    clip = doc["tracks"]["children"][0]["children"][1]
    clip["source_range"], clip["media_references"] = None, {}
    path = tmp_path / "lengthless.otio"
    path.write_text(json.dumps(doc))
    with pytest.raises(TimelineReadError, match="has no length"):
        load_timeline(path)


def test_json_depth_ignores_brackets_inside_strings():
    assert screen.json_depth(b'{"a": "[[[[{{", "b": [1, [2]], "c": "\\"]]"}') == 3
    assert screen.json_depth(json.dumps({"x": [[[[]]]]}).encode()) == 5


def test_nesting_within_the_limit_reads(tmp_path):
    path = tmp_path / "ok.otio"
    path.write_text(_nested_stacks(40))
    assert load_timeline(path).timeline.name == ""


@pytest.mark.parametrize(
    "rate,message",
    [
        ("0", "frame rate 0.0"),
        ("NaN", "frame rate nan"),
        ("Infinity", "frame rate inf"),
        ("-Infinity", "frame rate -inf"),
        ("1e12", "frame rate 1000000000000.0"),
        ("-24", "frame rate -24.0"),
        ("1e-300", "frame rate 1e-300"),
    ],
)
def test_absurd_rates_are_refused_with_the_value_and_the_range(tmp_path, rate, message):
    path = tmp_path / "rate.otio"
    path.write_text(_timeline(rate))
    with pytest.raises(TimelineReadError, match=rf"{message}.*1\.\.1000 fps"):
        load_timeline(path)


@pytest.mark.parametrize("at", ["NaN", "Infinity", "1e15"])
def test_markers_at_absurd_times_are_refused_not_dropped(tmp_path, at):
    path = tmp_path / "marker.otio"
    path.write_text(_timeline(marker_at=0).replace('"value": 0.0', f'"value": {at}', 1))
    text = path.read_text()
    assert at in text
    with pytest.raises(TimelineReadError, match="finite and within 48 hours"):
        load_timeline(path)


@pytest.mark.parametrize("speed", ["NaN", "Infinity", "1e9"])
def test_absurd_speeds_are_refused(tmp_path, speed):
    path = tmp_path / "speed.otio"
    path.write_text(_timeline(speed=1.0).replace('"time_scalar": 1.0', f'"time_scalar": {speed}'))
    with pytest.raises(TimelineReadError, match="speed .* -100..100"):
        load_timeline(path)


def test_too_many_items_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(screen, "MAX_ITEMS", 50)
    path = tmp_path / "many.otio"
    path.write_text(_timeline(clips=60))
    with pytest.raises(TimelineReadError, match="more than 50 items"):
        load_timeline(path)


def test_an_otioz_whose_content_inflates_past_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(screen, "MAX_TIMELINE_BYTES", 10_000)
    bundle = tmp_path / "bomb.otioz"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("content.otio", _timeline() + " " * 20_000)
    assert bundle.stat().st_size < 10_000
    with pytest.raises(TimelineReadError, match="inflates to .* the limit is"):
        load_timeline(bundle)
    deep = tmp_path / "deep.otioz"
    with zipfile.ZipFile(deep, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("content.otio", "[" * 5000)
    with pytest.raises(TimelineReadError, match="levels"):
        load_timeline(deep)
    for name, data in (("not.otioz", b"PK\x03\x04 broken"), ("empty.otioz", None)):
        path = tmp_path / name
        if data is None:
            with zipfile.ZipFile(path, "w") as z:
                z.writestr("other.txt", "x")
        else:
            path.write_bytes(data)
        with pytest.raises(TimelineReadError, match="otioz|content.otio"):
            load_timeline(path)


def test_a_good_otioz_still_reads(tmp_path):
    bundle = tmp_path / "good.otioz"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("content.otio", _timeline())
    tl = load_timeline(bundle)
    assert [p.time_s for p in edit_points(tl)] == pytest.approx([2.0, 4.0])


FCPXML_1_10 = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE fcpxml>
<fcpxml version="1.10">
  <resources>
    <format id="r1" name="FFVideoFormat1080p30" frameDuration="1/30s" width="1920" height="1080"/>
    <asset id="r2" name="src" start="0s" duration="6s" hasVideo="1" format="r1">
      <media-rep kind="original-media" sig="AB12" src="{url}">
        <bookmark>opaque</bookmark>
      </media-rep>
    </asset>
  </resources>
  <library>
    <event name="e">
      <project name="p">
        <sequence format="r1" duration="4s" tcStart="0s">
          <spine>
            <asset-clip ref="r2" offset="0s" name="one" start="0s" duration="2s" format="r1"/>
            <asset-clip ref="r2" offset="2s" name="two" start="4s" duration="2s" format="r1">
              <marker start="5s" duration="1/30s" value="hit me"/>
            </asset-clip>
          </spine>
        </sequence>
      </project>
    </event>
  </library>
</fcpxml>
"""


def test_fcpxml_assets_named_by_media_rep_conform(tmp_path):
    """Final Cut Pro 10.6+ (FCPXML 1.9+) names files in <media-rep>, not the asset's src."""
    media = tmp_path / "media"
    media.mkdir()
    render_clip(media / "src.mp4", ClipSpec(duration_s=6, cut_times_s=(3.0,), seed=5))
    path = tmp_path / "export.fcpxml"
    path.write_text(FCPXML_1_10.format(url=(media / "src.mp4").as_uri()))
    tl = load_timeline(path)
    conform = plan_conform(tl, start_s=0, end_s=4)
    assert set(conform.media.values()) == {(media / "src.mp4").resolve()}
    assert [p.time_s for p in edit_points(tl)] == pytest.approx([2.0])
    assert [m.time_s for m in markers(tl)] == pytest.approx([3.0])


EDL_CP1252 = (
    "TITLE: Séquence café\r\n"
    "FCM: NON-DROP FRAME\r\n\r\n"
    "001  AX       V     C        00:00:00:00 00:00:02:00 01:00:00:00 01:00:02:00\r\n"
    "* FROM CLIP NAME: prélude – été.mov\r\n\r\n"
    "002  AX       V     C        00:00:05:00 00:00:07:00 01:00:02:00 01:00:04:00\r\n"
    "* FROM CLIP NAME: finale ‘é’.mov\r\n"
)


def test_an_edl_in_windows_1252_reads_with_a_note(tmp_path):
    path = tmp_path / "avid.edl"
    path.write_bytes(EDL_CP1252.encode("cp1252") + b"* stray \x81 byte\r\n")
    tl = load_timeline(path)
    names = [c.name for c in tl.timeline.find_clips()]
    assert names == ["prélude – été.mov", "finale ‘é’.mov"]
    assert any("Windows-1252" in note for note in tl.notes)
    assert [p.time_s for p in edit_points(tl)] == pytest.approx([2.0])
    utf8 = tmp_path / "utf8.edl"
    utf8.write_bytes(b"\xef\xbb\xbf" + EDL_CP1252.encode("utf-8"))
    assert [c.name for c in load_timeline(utf8).timeline.find_clips()] == names
