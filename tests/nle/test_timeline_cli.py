"""`v2m timeline cuts|score` on the synthetic edit, locally and through a real server."""

import json

import numpy as np
import soundfile

from tests.helpers import ServerThread
from v2m.nle_plugins.timeline import load_timeline
from v2m.server.cli import main
from v2m.server.settings import ServerSettings


def test_cuts_lists_edit_points_in_timecode(edit, tmp_path, capsys):
    report = tmp_path / "cuts.json"
    assert main(["timeline", "cuts", str(edit / "edit.otio"), "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "00:00:03:00  cut" in printed and "(black)" in printed
    data = json.loads(report.read_text())
    assert [p["timecode"] for p in data["edit_points"]] == [
        "00:00:03:00",
        "00:00:06:15",
        "00:00:07:15",
    ]
    assert main(["timeline", "cuts", str(edit / "edit.otio"), "--between-markers"]) == 2
    assert "needs two markers" in capsys.readouterr().err


def _scored(out):
    tl = load_timeline(next(out.glob("*.v2m.otio")))
    clip = next(c for c in tl.timeline.find_clips() if c.name == "v2m mix")
    return tl, clip


def test_score_writes_music_and_the_timeline_locally_and_through_a_server(edit, tmp_path):
    args = ["timeline", "score", str(edit / "edit.otio"), "--in", "00:00:02:15", "--out", "8"]
    local = tmp_path / "local"
    assert main([*args, "-o", str(local), "-q", "--seed", "3"]) == 0
    tl, clip = _scored(local)
    assert tl.frame(clip.range_in_parent().start_time.to_seconds()) == 75  # the in point
    assert clip.duration().to_seconds() == 5.5
    cut_marks = [m for m in clip.markers if m.metadata["v2m"]["kind"] == "cut"]
    at = sorted(round(m.marked_range.start_time.to_seconds(), 3) for m in cut_marks)
    assert at == [0.5, 2.0, 4.0, 5.0]  # edit points and the cut inside clip b, from the in point
    assert all(abs(m.metadata["v2m"]["error_frames"]) <= 1 for m in cut_marks)
    mix, rate = soundfile.read(local / "mix.wav")
    assert rate == 48000 and abs(len(mix) / rate - 5.5) < 0.05
    server = ServerThread(
        ServerSettings(port=0, media_roots=(str(edit),), data_dir=str(tmp_path / "d"))
    )
    try:
        remote = tmp_path / "remote"
        address = f"127.0.0.1:{server.port}"
        assert main([*args, "-o", str(remote), "-q", "--seed", "3", "--server", address]) == 0
    finally:
        server.stop()
    served, _ = soundfile.read(remote / "mix.wav")
    np.testing.assert_array_equal(served, mix)
    tl2, clip2 = _scored(remote)
    assert [m.name for m in clip2.markers] == [m.name for m in clip.markers]
    # Another format on request, one track per stem.
    xml = tmp_path / "as_premiere.xml"
    assert (
        main(
            [*args, "-o", str(tmp_path / "x"), "-q", "--timeline-out", str(xml), "--track-per-stem"]
        )
        == 0
    )
    stems = load_timeline(xml).timeline.find_clips()
    assert len([c for c in stems if c.name.startswith("v2m ")]) >= 3


def test_score_a_timeline_selection_with_your_own_music(edit, tmp_path, monkeypatch):
    """`v2m timeline score --music`: the editor's recording retimed onto the selection's cuts
    and written back on the timeline at the in point, as for the other engines."""
    from tests.helpers import write_audio
    from tests.model.test_retime import RATE, drum_loop

    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    track = write_audio(tmp_path / "ours.flac", drum_loop(118, 20.0), RATE)
    out = tmp_path / "out"
    args = ["timeline", "score", str(edit / "edit.otio"), "--in", "00:00:02:15", "--out", "8"]
    assert main([*args, "-o", str(out), "-q", "--music", str(track)]) == 0
    tl, clip = _scored(out)
    assert tl.frame(clip.range_in_parent().start_time.to_seconds()) == 75  # the in point
    hits = json.loads((out / "hits.json").read_text())
    assert hits["result"]["backend"] == "retime" and hits["result"]["music"] == str(track)
    cuts = [h for h in hits["hits"] if h["kind"] == "cut"]
    assert cuts and all(abs(h["error_frames"]) <= 1 for h in cuts)
