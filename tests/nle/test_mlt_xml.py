"""Shotcut's MLT XML read as a timeline (v2m's own reader): the edit as seen, and bad files."""

import pytest

from tests.nle.conftest import EDIT, EDIT_POINTS_S, FPS
from v2m.nle_plugins.errors import TimelineReadError
from v2m.nle_plugins.timeline import edit_points, load_timeline


def shotcut_project(edit) -> str:
    """The synthetic edit as Shotcut saves it (clock times, chains, a background track)."""
    chains, entries = [], []
    for i, (name, start, length) in enumerate(EDIT):
        if name is None:
            entries.append(f'<blank length="{round(length * FPS)}"/>')
            continue
        chains.append(
            f'<chain id="chain{i}"><property name="resource">sources/{name}.mp4</property>'
            '<property name="mlt_service">avformat-novalidate</property></chain>'
        )
        first, last = round(start * FPS), round((start + length) * FPS) - 1
        clock = [f"00:00:{f / FPS:06.3f}" for f in (first, last)]
        entries.append(f'<entry producer="chain{i}" in="{clock[0]}" out="{clock[1]}"/>')
    return f"""<?xml version="1.0" standalone="no"?>
<mlt LC_NUMERIC="C" version="7.12.0" title="Shotcut" producer="main_bin">
  <profile frame_rate_num="{FPS}" frame_rate_den="1" width="320" height="180"/>
  <producer id="black"><property name="mlt_service">color</property></producer>
  <playlist id="background"><entry producer="black" in="0" out="299"/></playlist>
  {"".join(chains)}
  <playlist id="playlist0"><property name="shotcut:video">1</property>
    <property name="shotcut:name">V1</property>{"".join(entries)}</playlist>
  <tractor id="tractor0"><track producer="background"/><track producer="playlist0"/></tractor>
</mlt>"""


def test_a_shotcut_project_reads_as_the_edit_seen(edit):
    path = edit / "edit.mlt"
    path.write_text(shotcut_project(edit))
    tl = load_timeline(path)
    assert tl.adapter == "v2m_mlt" and tl.rate_hz == FPS
    assert [round(p.time_s, 3) for p in edit_points(tl)] == EDIT_POINTS_S
    (track,) = tl.timeline.tracks
    assert track.name == "V1" and [c.name for c in track.find_clips()] == [
        "a.mp4",
        "b.mp4",
        "a.mp4",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<mlt><playlist id='p'/></mlt>", "not an MLT project with a timeline"),
        ("<fcpxml><tractor/></fcpxml>", "not an MLT project"),
        (
            "<mlt><profile frame_rate_num='0' frame_rate_den='1'/><tractor/></mlt>",
            "frame rate 0 is not 1..1000",
        ),
        (
            "<mlt><producer id='c'><property name='resource'>x.mp4</property></producer>"
            "<playlist id='p'><entry producer='c' in='soon' out='10'/></playlist>"
            "<tractor><track producer='p'/></tractor></mlt>",
            "MLT time 'soon'",
        ),
        ('<!DOCTYPE m [<!ENTITY a "aaaa">]><mlt><tractor/></mlt>', "declares XML entities"),
        ("<mlt><tractor>", "not well-formed|could not be read"),
    ],
)
def test_bad_mlt_files_are_refused_naming_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.mlt"
    path.write_text(text)
    with pytest.raises(TimelineReadError, match=message):
        load_timeline(path)
