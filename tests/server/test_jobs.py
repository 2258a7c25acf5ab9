"""The job manager on its own: admission, sharing by key, worker and accelerator slots."""

import asyncio

import pytest

from v2m.server.errors import QueueFullError
from v2m.server.jobs import JobManager


def test_admit_joins_active_jobs_with_the_same_key_and_bounds_the_queue():
    manager = JobManager(workers=1, max_queue=1)
    a, joined_a = manager.admit("k1")
    b, joined_b = manager.admit("k1")
    assert b is a and joined_b and not joined_a
    c, _ = manager.admit("k2")
    with pytest.raises(QueueFullError, match="retry in about"):
        manager.admit("k3")
    manager.finished(a, "done")
    d, joined_d = manager.admit("k1")  # a finished job is not joined: a new one starts
    assert d is not a and not joined_d and c.state == "queued"
    manager.finished(c, "done")
    manager.finished(d, "done")
    e, _ = manager.admit("")
    f, joined_f = manager.admit("")  # no key: never shared
    assert f is not e and not joined_f


def _run_jobs(manager, devices, hold_s=0.05):
    """Run one job per device name at once; return the peak concurrency seen per device."""
    running: dict[str, int] = {}
    peak: dict[str, int] = {}

    async def one(device):
        job, _ = manager.admit()
        async with manager.slot(job, device=device):
            running[device] = running.get(device, 0) + 1
            peak[device] = max(peak.get(device, 0), running[device])
            peak["all"] = max(peak.get("all", 0), sum(running.values()))
            await asyncio.sleep(hold_s)
            running[device] -= 1
        manager.finished(job, "done")

    async def main():
        await asyncio.gather(*(one(d) for d in devices))

    asyncio.run(main())
    return peak


def test_accelerator_jobs_run_one_at_a_time_while_cpu_jobs_use_the_other_workers():
    peak = _run_jobs(JobManager(workers=3, max_queue=10), ["cuda", "cuda", "cuda", "cpu", "cpu"])
    assert peak["cuda"] == 1
    assert peak["cpu"] == 2 and peak["all"] == 3


def test_workers_bound_concurrency():
    peak = _run_jobs(JobManager(workers=2, max_queue=10), ["cpu"] * 6)
    assert peak["cpu"] == 2
