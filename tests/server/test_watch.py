"""The watch folder as users run it: a real `v2m watch` process, killed and restarted."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import wait_for
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.server.watch import Journal, WatchFolder, is_input, sidecar_options


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _watch(inbox: Path, out: Path) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("v2m")
    return subprocess.Popen(
        [
            str(exe),
            "watch",
            str(inbox),
            str(out),
            "--stable-s",
            "0.3",
            "--poll-s",
            "0.2",
            "--no-preview",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_mid_job_then_restart_neither_loses_nor_repeats_work(tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    for i in range(4):
        render_clip(
            inbox / f"clip{i}.mp4",
            ClipSpec(duration_s=6, cut_times_s=(2.0, 4.0), width=320, height=180, seed=80 + i),
        )
    (inbox / "clip1.prompt.txt").write_text("dark trailer, 90 bpm")
    (inbox / "broken.mp4").write_bytes(os.urandom(20000))
    before = {p.name: _digest(p) for p in inbox.iterdir()}
    proc = _watch(inbox, out)
    try:
        # Kill it while a job is half written: one result done, the next one in progress.
        assert wait_for(lambda: any(out.glob("clip*")) and any(out.glob(".*.partial-*")), 120)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc = _watch(inbox, out)
        assert wait_for(
            lambda: (
                len(list(out.glob("clip*"))) == 4 and (out / "failed" / "broken.mp4.txt").exists()
            ),
            180,
        ), sorted(p.name for p in out.iterdir())
        time.sleep(1.0)  # nothing more may appear
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    results = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert results == ["clip0", "clip1", "clip2", "clip3", "failed"]  # one each, no clip0-2
    for name in results[:4]:
        assert (out / name / "mix.wav").stat().st_size > 0 and (out / name / "hits.json").exists()
    assert '"prompt": "dark trailer, 90 bpm"' in (out / "clip1" / "hits.json").read_text()
    report = (out / "failed" / "broken.mp4.txt").read_text()
    assert "could not score broken.mp4" in report and "reason:" in report
    assert [p.name for p in (out / "failed").iterdir()] == ["broken.mp4.txt"]
    assert not list(out.rglob("*.partial*"))
    assert {p.name: _digest(p) for p in inbox.iterdir()} == before  # inputs untouched
    states = Journal(out / ".v2m-journal.jsonl").last
    assert sorted(e["state"] for e in states.values()) == ["done"] * 4 + ["failed"]


def test_inputs_sidecars_and_a_second_version_of_a_name(tmp_path):
    assert is_input(Path("a.mp4")) and is_input(Path("cut.otio")) and is_input(Path("e.XML"))
    assert not any(is_input(Path(n)) for n in (".a.mp4", "a.prompt.txt", "a.v2m.toml", "a.wav"))
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    clip = inbox / "shot.mp4"
    render_clip(clip, ClipSpec(duration_s=3, cut_times_s=(1.5,), width=160, height=90, seed=9))
    (inbox / "shot.v2m.toml").write_text('[score]\nstyle = "ambient"\nseed = 4\n')
    assert sidecar_options(clip) == {"style": "ambient", "seed": 4}
    watcher = WatchFolder(inbox, out, stable_s=0.0, preview=False)
    assert watcher.scan_once() == 1 and watcher.scan_once() == 0  # taken once
    os.utime(clip, ns=(time.time_ns(), time.time_ns() - 5 * 10**9))  # a new version, same name
    assert watcher.scan_once() == 1
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "failed",
        "shot",
        "shot-2",
    ]
    (inbox / "bad.v2m.toml").write_text("[score]\ntempo = 3\n")
    render_clip(inbox / "bad.mp4", ClipSpec(duration_s=2, cut_times_s=(1.0,), width=160, height=90))
    watcher.scan_once()
    assert "unknown [score] keys ['tempo']" in (out / "failed" / "bad.mp4.txt").read_text()
