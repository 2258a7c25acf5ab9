"""Seeded, time-bounded fuzzing of the timeline and media readers in a child process: random
and mutated files of every format get a typed error or are read — never a crash (which would
end the child with a signal) and never an exception type of someone else's."""

import json
import subprocess
import sys

from tests.helpers import REPO, SHARED_MEDIA


def test_mutated_timelines_and_media_never_crash_the_readers(tmp_path):
    argv = [sys.executable, "-m", "tests.fuzz_readers", str(tmp_path), "--seed", "20261203"]
    argv += ["--budget-s", "40"]
    if (SHARED_MEDIA / "timelines").is_dir():
        argv += ["--shared", str(SHARED_MEDIA / "timelines")]
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    last_case = next((x["case"] for x in reversed(lines) if "from" in x), None)
    assert result.returncode >= 0, (
        f"the reader crashed (signal {-result.returncode}) on {last_case}"
    )
    unexpected = [x for x in lines if "unexpected" in x]
    assert not unexpected, unexpected[:5]
    assert result.returncode == 0, result.stderr[-2000:]
    summary = lines[-1]
    assert summary["cases"] > 500, summary
    outcomes = summary["outcomes"]
    assert outcomes.get("ok", 0) > 0 and outcomes.get("TimelineReadError", 0) > 0
