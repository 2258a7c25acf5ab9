"""Every way a command can fail is one ``v2m: error:`` line, a documented exit code, and
nothing half-written left behind."""

import subprocess
import sys

import opentimelineio as otio
import pytest

from tests.helpers import shared_media_path, two_clip_timeline
from v2m.model.sample_clip import ClipSpec
from v2m.server.cli import EXIT_CODES, EXIT_FAILED, EXIT_USAGE, main

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def _assert_one_line(err: str, message: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("v2m: error: "), err
    assert message in lines[0], err
    assert "Traceback" not in err


def _nothing_left(folder) -> None:
    out = folder / "out"
    assert not out.exists(), sorted(out.rglob("*"))
    assert not [p for p in folder.iterdir() if ".partial" in p.name]


@pytest.mark.parametrize(
    "extra,code,message",
    [
        (["--bpm", "nan"], EXIT_USAGE, "'nan' is not a finite number"),
        (["--bpm", "inf"], EXIT_USAGE, "'inf' is not a finite number"),
        (["--in=-inf"], EXIT_USAGE, "not a finite number"),
        (["--marker", "NaN"], EXIT_USAGE, "not a finite number"),
        (["--marker", "-1"], EXIT_USAGE, "marker time (s) must be 0..172800, got -1.0"),
        (["--seed", "-1"], EXIT_USAGE, "seed must be 0..4.29497e+09, got -1"),
        (["--seed", "4294967296"], EXIT_USAGE, "seed must be 0..4.29497e+09"),
        (["--seed", "x"], EXIT_USAGE, "invalid int value: 'x'"),
        (["--meter", "99"], EXIT_USAGE, "meter (beats per bar) must be 2..7, got 99"),
        (["--stems", "drums,drums"], EXIT_USAGE, "['drums'] are named more than once"),
        (["--stems", ",,"], EXIT_USAGE, "unknown stem"),
        (["--key", "H minor"], EXIT_USAGE, "cannot read key 'H minor'"),
        (["--prompt", "x" * 3000], EXIT_USAGE, "prompt must be at most 2000 characters"),
        (["--in", "5", "--out-point", "4"], EXIT_USAGE, "must come after the in point"),
        (["--in", "100"], EXIT_USAGE, "must last at least 0.5 s"),
        (["--max-duration", "1"], EXIT_USAGE, "at most 1 s of video are analysed"),
        (["--backend-option", "steps=3"], EXIT_USAGE, "backend 'composer' has no option 'steps'"),
        (["--backend", "flow"], EXIT_FAILED, "missing weights"),
    ],
)
def test_score_refusals_are_one_line_and_leave_nothing(
    make_clip, tmp_path, capsys, monkeypatch, extra, code, message
):
    monkeypatch.delenv("V2M_FLOW_CHECKPOINT", raising=False)
    clip = make_clip(ClipSpec(duration_s=2, cut_times_s=(1.0,)))
    assert main(["score", str(clip), "-o", str(tmp_path / "out"), "-q", *extra]) == code
    _assert_one_line(capsys.readouterr().err, message)
    _nothing_left(tmp_path)


def test_output_paths_that_cannot_be_written(make_clip, tmp_path, capsys):
    clip = make_clip(ClipSpec(duration_s=2, cut_times_s=(1.0,)))
    a_file = tmp_path / "taken.wav"
    a_file.write_text("mine")
    assert main(["score", str(clip), "-o", str(a_file), "-q"]) == EXIT_USAGE
    _assert_one_line(capsys.readouterr().err, "exists and is not a folder")
    assert a_file.read_text() == "mine"
    assert main(["score", str(clip), "-o", str(a_file / "sub"), "-q"]) == EXIT_USAGE
    _assert_one_line(capsys.readouterr().err, "cannot write the output folder")
    assert main(["curve", str(clip), "--json", str(a_file / "c.json"), "-q"]) == EXIT_FAILED
    _assert_one_line(capsys.readouterr().err, "Not a directory")


def test_a_result_is_added_to_an_existing_folder_all_at_once(make_clip, tmp_path):
    clip = make_clip(ClipSpec(duration_s=3, cut_times_s=(1.5,)))
    out = tmp_path / "out"
    out.mkdir()
    (out / "stems").mkdir()
    (out / "stems" / "old.wav").write_text("from an earlier run")
    (out / "notes.txt").write_text("the editor's")
    assert main(["score", str(clip), "-o", str(out), "-q", "--no-preview"]) == 0
    assert (out / "notes.txt").read_text() == "the editor's"
    assert not (out / "stems" / "old.wav").exists()  # stems/ is replaced as a whole
    assert (out / "mix.wav").stat().st_size > 0 and (out / "stems" / "drums.wav").exists()
    assert not [p for p in tmp_path.rglob("*") if ".partial" in p.name]


@pytest.mark.parametrize(
    "kind,extra,code,message",
    [
        ("deep", [], EXIT_USAGE, "levels"),
        ("rate NaN", [], EXIT_USAGE, "frame rate nan; v2m accepts 1..1000 fps"),
        ("rate 1e12", [], EXIT_USAGE, "frame rate 1000000000000.0"),
        ("ten hours", [], EXIT_USAGE, "is 36000.0 s long; at most 1200 s are scored at once"),
        ("ok", ["--in", "nan"], EXIT_USAGE, "neither seconds"),
        ("ok", ["--seed", "-5"], EXIT_USAGE, "seed must be"),
        ("ok", ["--stems", "kazoo"], EXIT_USAGE, "unknown stem"),
        ("ok", ["--marker", "inf"], EXIT_USAGE, "not a finite number"),
        ("ok", [], EXIT_FAILED, "source file(s) of the selection not found"),
    ],
)
def test_timeline_score_refusals(tmp_path, capsys, kind, extra, code, message):
    if kind == "deep":
        path = tmp_path / "edit.otio"
        path.write_text("[" * 100_000)
    elif kind.startswith("rate"):
        path = two_clip_timeline(tmp_path / "edit.otio", rate=kind.split()[1])
    elif kind == "ten hours":
        path = two_clip_timeline(tmp_path / "edit.otio", seconds=5 * 3600)
    else:
        path = two_clip_timeline(tmp_path / "edit.otio", url="/nowhere/x.mov")
    argv = ["timeline", "score", str(path), "-o", str(tmp_path / "out"), "-q", *extra]
    assert main(argv) == code
    _assert_one_line(capsys.readouterr().err, message)
    _nothing_left(tmp_path)


def test_usage_errors_are_one_line_too(capsys):
    assert main(["score"]) == EXIT_USAGE
    _assert_one_line(capsys.readouterr().err, "the following arguments are required")
    assert main(["nonsense"]) == EXIT_USAGE
    _assert_one_line(capsys.readouterr().err, "invalid choice: 'nonsense'")


def test_exit_codes_are_documented_in_the_help():
    result = subprocess.run(
        [sys.executable, "-m", "v2m.server.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert "exit codes: 0 done; 1 the work failed" in result.stdout
    assert EXIT_CODES.split()[0] == "exit"


@pytest.mark.shared_media
def test_variable_frame_rate_video_gets_its_preview(tmp_path, capsys):
    """goldeneye-vfr-drop3.mp4 (VFR, dropped frames) once failed writing preview.mp4 and left
    a partial folder."""
    import av

    video = shared_media_path("video/goldeneye-vfr-drop3.mp4")
    out = tmp_path / "out"
    assert main(["score", str(video), "-o", str(out), "-q"]) == 0
    with av.open(str(out / "preview.mp4")) as preview:
        stream = preview.streams.video[0]
        times = [float(f.pts * f.time_base) for f in preview.decode(stream)]
    assert len(times) > 100 and all(b > a for a, b in zip(times, times[1:], strict=False))
    assert times[-1] == pytest.approx(10.0, abs=0.5)
