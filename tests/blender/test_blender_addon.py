"""Blender's Video Sequence Editor presses "Score selection" for real: ``blender -b`` builds a
sequence from generated clips with known cuts (two channels, trims, one clip inside a meta
strip, a muted strip over all), runs the add-on against a real ``v2m serve`` on 127.0.0.1, and
the sound strip and hit markers land where the cuts are, within one frame, at 24, 25 and 29.97
fps. Skips without Blender (Debian's ``blender``; ``scripts/setup.sh --dev`` installs it)."""

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from tests.panel.conftest import ServeProcess
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.server.cli import main

pytestmark = pytest.mark.skipif(
    shutil.which("blender") is None, reason="Blender is not installed: apt-get install blender"
)
SCRIPT = Path(__file__).with_name("blender_score.py")
BLENDER = ("blender", "-b", "--factory-startup", "--python-exit-code", "1")
"""Headless, without the user's preferences; a failing script fails the run."""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("blender-media")
    srv = ServeProcess(tmp_path_factory.mktemp("blender-serve"), root)
    srv.root = root
    yield srv
    srv.stop()


def run_blender(server, tmp_path, *, fps, fps_base, clips, selection, scene_end) -> dict:
    """Press Score selection in a headless Blender on this sequence; what it placed."""
    addon = tmp_path / "addon"
    assert main(["blender-addon", str(addon)]) == 0
    spec = tmp_path / "spec.json"
    out = tmp_path / "placed.json"
    ws = server.url.replace("http://", "ws://").rstrip("/") + "/v1/ws"
    spec.write_text(
        json.dumps(
            {
                "addon_dir": str(addon),
                "fps": fps,
                "fps_base": fps_base,
                "clips": clips,
                "selection": selection,
                "scene_end": scene_end,
                "server": ws,
                "out": str(out),
            }
        )
    )
    command = [*BLENDER, "--python", str(SCRIPT), "--", str(spec)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    placed = json.loads(out.read_text())
    assert placed["result"] == ["FINISHED"], run.stdout[-2000:]
    return placed


@pytest.mark.parametrize(("fps", "fps_base"), [(24, 1.0), (25, 1.0), (30, 1.001)])
def test_score_selection_in_blender_places_the_mix_and_a_marker_per_cut(
    server, tmp_path, fps, fps_base
):
    rate = Fraction(fps) / Fraction(fps_base).limit_denominator(1000)
    folder = server.root / f"fps{fps}"
    folder.mkdir()
    a, b, cover = folder / "a.mp4", folder / "b.mp4", folder / "cover.mp4"
    render_clip(
        a, ClipSpec(duration_s=8, cut_times_s=(3.0,), width=160, height=90, fps=rate, seed=1)
    )
    render_clip(
        b, ClipSpec(duration_s=6, cut_times_s=(2.0,), width=160, height=90, fps=rate, seed=2)
    )
    render_clip(
        cover, ClipSpec(duration_s=9, cut_times_s=(), width=160, height=90, fps=rate, seed=3)
    )
    f = float(rate)
    frames = lambda s: round(s * f)  # noqa: E731
    clips = [  # A shows source 1-5 s from 0 s (its cut at 3 s → 2 s); B, in a meta strip on
        # channel 2, from 4 s
        {
            "name": "A",
            "path": str(a),
            "channel": 1,
            "first": 1,
            "source_first": frames(1.0),
            "frames": frames(4.0),
        },
        {
            "meta": True,
            "name": "B",
            "path": str(b),
            "channel": 2,
            "first": 1 + frames(4.0),
            "source_first": frames(0.5),
            "frames": frames(3.0),
        },
        {
            "name": "muted",
            "path": str(cover),
            "channel": 3,
            "first": 1,
            "source_first": 0,
            "frames": frames(8.0),
            "mute": True,
        },
    ]
    cuts_s = [2.0, 4.0, 5.5]  # A's own cut, A→B, B's own cut (source 2 s)
    selection = (1 + frames(0.5), frames(7.0))
    placed = run_blender(
        server,
        tmp_path,
        fps=fps,
        fps_base=fps_base,
        clips=clips,
        selection=selection,
        scene_end=frames(8.0),
    )
    (sound,) = placed["sounds"]
    assert sound["frame_start"] == selection[0] and sound["channel"] == 4
    assert Path(sound["path"]).is_file()
    marker_frames = [frame for frame, name in placed["markers"] if name.startswith("v2m cut")]
    for cut in cuts_s:
        expected = 1 + cut * f
        assert min(abs(m - expected) for m in marker_frames) <= 1, (cut, marker_frames)
    assert len(marker_frames) == len(cuts_s)  # the muted strip hides nothing
    start_s, rate_hz, *curve = placed["curve"]  # kept for the timeline's curve drawing
    assert placed["draw_handlers"] == 1 and rate_hz > 0
    assert len(curve) >= rate_hz * 6 and max(curve) > min(curve)


def test_a_speed_control_strip_is_read_at_the_speed_it_plays(server, tmp_path):
    """A clip (cut at source 4 s) shown from source 1 s through a Speed Control strip at 1.5×:
    the cut is seen at 2 s, not where the strip underneath would put it (3 s)."""
    folder = server.root / "speed"
    folder.mkdir()
    clip = folder / "c.mp4"
    render_clip(clip, ClipSpec(duration_s=10, cut_times_s=(4.0,), width=160, height=90, fps=25))
    clips = [
        {
            "name": "C",
            "path": str(clip),
            "channel": 1,
            "first": 1,
            "source_first": 25,
            "frames": 100,
            "speed": 1.5,
        }
    ]
    placed = run_blender(
        server, tmp_path, fps=25, fps_base=1.0, clips=clips, selection=(6, 95), scene_end=100
    )
    cuts = [frame for frame, name in placed["markers"] if name.startswith("v2m cut")]
    assert len(cuts) == 1 and abs(cuts[0] - (1 + 2.0 * 25)) <= 1, placed["markers"]
