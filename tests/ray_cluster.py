"""A real local Ray cluster for tests and benchmarks: one head node on 127.0.0.1.

``ray start --head --block`` runs in its own process group (stopped with it: GCS, raylet and
the worker processes), with its own temporary folder and free ports, a small CPU count and a
small object store, so it neither needs nor disturbs anything else on the machine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalRayCluster:
    """``with LocalRayCluster(folder, cpus=2) as address:`` a head node at ``address``."""

    def __init__(self, folder: Path, *, cpus: int = 2):
        self.folder, self.cpus = Path(folder), cpus
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> str:
        ray = Path(sys.executable).with_name("ray")
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "head.log", "wb")  # noqa: SIM115 — kept open by the child
        command = [
            str(ray), "start", "--head", "--block",
            "--node-ip-address", "127.0.0.1",
            "--port", str(self.port),
            "--num-cpus", str(self.cpus),
            "--num-gpus", "0",
            "--object-store-memory", str(256 * 1024**2),
            "--include-dashboard", "false",
            "--disable-usage-stats",
            "--ray-client-server-port", str(free_port()),
            "--dashboard-agent-listen-port", str(free_port()),
            "--temp-dir", str(self.folder / "tmp"),
        ]  # fmt: skip
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        self.proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()
        for _ in range(600):  # the GCS answering; ray.init waits for the raylet itself
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray start failed: {(self.folder / 'head.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self.address
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("the Ray head did not start within 60 s")

    def __exit__(self, *exc) -> None:
        if self.proc is None:
            return
        _signal_group(self.proc.pid, signal.SIGTERM)  # ray start --block stops its processes
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(self.proc.pid, signal.SIGKILL)  # and whatever outlived it
        self.proc.wait(timeout=10)
        self.proc = None


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
