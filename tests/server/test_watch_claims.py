"""Several watchers on one folder (as on several machines sharing it): each input is scored
exactly once, and an input held by a watcher that died is taken over, not lost."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import wait_for
from v2m.model.errors import InvalidInputError
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.server.claims import Claims


def _watcher(inbox: Path, out: Path, log: Path, *extra: str) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("v2m")
    args = [str(exe), "watch", str(inbox), str(out), "--stable-s", "0.3", "--poll-s", "0.2"]
    return subprocess.Popen(
        [*args, "--no-preview", *extra], stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def test_two_watchers_on_one_folder_score_each_file_exactly_once(tmp_path):
    two_watchers_score_each_file_once(tmp_path)


def two_watchers_score_each_file_once(tmp_path: Path, *extra: str) -> None:
    """Two ``v2m watch`` processes (with ``extra`` arguments) on one folder of five clips:
    five results, each reported done exactly once, every claim done."""
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    names = [f"clip{i}" for i in range(5)]
    for i, name in enumerate(names):
        spec = ClipSpec(duration_s=3, cut_times_s=(1.5,), width=160, height=90, seed=90 + i)
        render_clip(inbox / f"{name}.mp4", spec)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [_watcher(inbox, out, log, *extra) for log in logs]
    try:

        def done_lines() -> list[str]:
            said = "".join(log.read_text() for log in logs if log.exists())
            return sorted(line for line in said.splitlines() if line.startswith("done: "))

        assert wait_for(lambda: len(done_lines()) >= len(names), 240)  # results recorded
        time.sleep(1.5)  # nothing more may appear
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
    assert sorted(p.name for p in out.glob("clip*")) == names  # no clip0-2: none twice
    assert done_lines() == [f"done: {n}.mp4" for n in names]
    claims = [json.loads(p.read_text()) for p in (out / ".v2m-claims").glob("*.json")]
    assert sorted(c["state"] for c in claims) == ["done"] * len(names)


def test_a_watcher_killed_mid_job_is_taken_over_by_the_other(tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    spec = ClipSpec(duration_s=20, cut_times_s=(5.0, 10.0, 15.0), width=320, height=180, seed=7)
    render_clip(inbox / "long.mp4", spec)
    first = _watcher(inbox, out, tmp_path / "a.log")
    second = None
    try:
        assert wait_for(lambda: any((out / ".v2m-claims").glob("*.json")), 60)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        second = _watcher(inbox, out, tmp_path / "b.log")
        said = tmp_path / "b.log"  # printed once the result is in place and recorded
        assert wait_for(lambda: "done: long.mp4" in said.read_text(), 240)
        assert (out / "long" / "mix.wav").exists()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "failed",
        "long",
    ]
    assert not list(out.glob(".*.partial-*"))  # the dead watcher's half-written try is gone


def test_a_claim_from_another_machine_is_taken_only_after_its_lease(tmp_path):
    mine = Claims(tmp_path, lease_s=5)
    theirs = Claims(tmp_path, lease_s=5)
    theirs.owner = "render-node-7:4242:abc123"  # another machine: its process cannot be asked
    assert theirs.take("clip|1|2", output="x") and not mine.take("clip|1|2", output="x")
    claim = next((tmp_path / ".v2m-claims").glob("*.json"))
    past = time.time() - 6
    os.utime(claim, (past, past))  # no heartbeat for a whole lease: that watcher is gone
    assert mine.take("clip|1|2", output="x") and mine.state("clip|1|2")["owner"] == mine.owner
    mine.finish("clip|1|2", "done", output="x")
    os.utime(claim, (past, past))
    assert not theirs.take("clip|1|2", output="x")  # finished work is never taken again
    with pytest.raises(InvalidInputError, match="lease"):
        Claims(tmp_path, lease_s=0.1)
