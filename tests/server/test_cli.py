"""The ``v2m`` command line, in-process and through the installed console script."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import shared_media_path
from v2m.model.sample_clip import ClipSpec
from v2m.server.cli import main


def test_curve_writes_json_and_plot(make_clip, tmp_path, capsys):
    clip = make_clip(ClipSpec(duration_s=6, cut_times_s=(2.0, 4.0), seed=31))
    out_json, out_png = tmp_path / "c.json", tmp_path / "c.png"
    assert main(["curve", str(clip), "--json", str(out_json), "--plot", str(out_png), "-q"]) == 0
    text = capsys.readouterr().out
    assert "cuts (2):" in text and "00:00:02:00" in text and "00:00:04:00" in text
    data = json.loads(out_json.read_text())
    assert data["schema"] == "v2m.curve/1"
    assert [c["time_s"] for c in data["cuts"]] == [2.0, 4.0]
    assert [c["frame"] for c in data["cuts"]] == [60, 120]
    assert data["settings"]["encoder"] == "pixels" and data["settings"]["kernel_size"] == 31
    assert len(data["raw"]["times_s"]) == len(data["raw"]["values"]) == 179
    assert len(data["smoothed"]["values"]) == 75  # 6 s at 12.5 Hz
    assert data["media"]["video"]["frame_rate_hz"] == 30.0
    png = out_png.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_curve_on_music_with_options(tmp_path, capsys):
    music = shared_media_path("music/loop_amen_full.flac")
    out = tmp_path / "m.json"
    assert (
        main(["curve", str(music), "--rate", "25", "--kernel", "5", "--json", str(out), "-q"]) == 0
    )
    data = json.loads(out.read_text())
    assert data["settings"]["modality"] == "music" and data["settings"]["rate_hz"] == 25
    assert data["cuts"] == [] and data["media"]["video"] is None


@pytest.mark.parametrize(
    "argv,code,message",
    [
        (["curve", "missing.mp4"], 1, "not found"),
        (["curve", "{clip}", "--encoder", "nope"], 2, "unknown encoder 'nope'"),
        (["curve", "{clip}", "--kernel", "4"], 2, "odd"),
        (["curve", "{clip}", "--encoder", "dinov2"], 1, "needs a local checkpoint"),
    ],
)
def test_curve_errors_are_one_clear_line(make_clip, capsys, monkeypatch, argv, code, message):
    monkeypatch.delenv("V2M_DINOV2_DIR", raising=False)
    clip = make_clip(ClipSpec(duration_s=2, cut_times_s=(1.0,)))
    assert main([a.format(clip=clip) for a in argv]) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.startswith("v2m:")


def test_demo_renders_and_scores_the_sample_clip(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "-q"]) == 0
    report = json.loads((out / "hits.json").read_text())
    cuts = [h for h in report["hits"] if h["kind"] == "cut"]
    assert [h["planned_s"] for h in cuts] == [2.5, 5.0, 8.2, 10.0]
    assert all(abs(h["error_frames"]) < 1e-6 for h in cuts)
    for name in ("demo.mp4", "mix.wav", "score.mid", "curve.png", "preview.mp4"):
        assert (out / name).stat().st_size > 0, name
    text = capsys.readouterr().out
    assert "prompt (described)" in text and "downbeat" in text


def test_score_with_overrides_and_markers(make_clip, tmp_path, capsys):
    clip = make_clip(ClipSpec(duration_s=6, cut_times_s=(2.0, 4.0), seed=31))
    out = tmp_path / "s"
    argv = [
        "score",
        str(clip),
        "-o",
        str(out),
        "--prompt",
        "rock",
        "--bpm",
        "120",
        "--key",
        "E minor",
        "--stems",
        "drums,bass",
        "--marker",
        "3.0",
        "--seed",
        "4",
        "--no-preview",
        "-q",
    ]
    assert main(argv) == 0
    report = json.loads((out / "hits.json").read_text())
    assert report["result"]["style"] == "rock" and report["result"]["key"] == "E minor"
    assert report["result"]["stems"] == ["drums", "bass"]
    kinds = {h["kind"] for h in report["hits"]}
    assert {"cut", "marker"} <= kinds
    assert not (out / "preview.mp4").exists()
    assert sorted(p.name for p in (out / "stems").iterdir()) == ["bass.wav", "drums.wav"]


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--bpm", "900"], "playable range"),
        (["--stems", "drums,kazoo"], "unknown stem"),
        (["--style", "polka"], "unknown style"),
        (["--backend", "magic"], "unknown backend"),
    ],
)
def test_score_errors(make_clip, tmp_path, capsys, extra, message):
    clip = make_clip(ClipSpec(duration_s=2, cut_times_s=(1.0,)))
    assert main(["score", str(clip), "-o", str(tmp_path / "x"), "-q", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_console_script_is_installed():
    beside = Path(sys.executable).with_name("v2m")
    exe = str(beside) if beside.exists() else shutil.which("v2m")
    assert exe, "the v2m console script is not installed"
    result = subprocess.run([exe, "encoders"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "pixels" in result.stdout and "spectral" in result.stdout


def test_doctor_lists_what_this_installation_can_do(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for area in ("renderer:", "encoders:", "backends:", "media:", "prompts:"):
        assert area in out
    assert "SoundFont chain" in out and "composer" in out and "libx264" in out
    assert "fix: v2m train" in out or "ok  flow" in out
