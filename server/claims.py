"""Claims: which watcher scores which input, kept in the output folder itself.

Several watchers (on several machines) may watch one shared folder. Before scoring an input a
watcher creates its claim file with ``O_CREAT | O_EXCL`` — atomic on local disks and on NFS
v3+/SMB shares — so exactly one of them gets it. While it works it touches the claim every
third of the lease; a claim untouched for a whole lease belongs to a watcher that died, and the
first watcher to rename it away (a rename succeeds once) takes the input over — at once when
the owner ran on the same machine and its process is gone. A finished
claim records ``done`` or ``failed`` and is never taken again, so nothing is scored twice and
nothing a dead watcher held is lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

CLAIMS_DIR = ".v2m-claims"
DEFAULT_LEASE_S = 30.0


def _alive(claim: dict) -> bool:
    """False only when the claim's owner ran on this machine and its process is gone (a
    watcher restarted after a crash takes its inputs back at once, not after the lease)."""
    host, _, rest = str(claim.get("owner", "")).partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


class Claims:
    """The claims in ``OUT/.v2m-claims`` as seen by one watcher (its ``owner`` id)."""

    def __init__(self, out_dir: str | os.PathLike, *, lease_s: float = DEFAULT_LEASE_S):
        if not 1.0 <= lease_s <= 3600.0:
            from v2m.model.errors import InvalidInputError

            raise InvalidInputError(f"the claim lease must be 1..3600 s, got {lease_s:g}")
        self.folder = Path(out_dir) / CLAIMS_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lease_s = lease_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def _path(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def state(self, key: str) -> dict | None:
        """The claim on ``key`` (``owner``, ``state``: working, done or failed, ``output``)."""
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def take(self, key: str, *, output: str) -> bool:
        """Claim ``key`` for this watcher: True when it is ours to score now."""
        path = self._path(key)
        record = {"owner": self.owner, "key": key, "state": "working", "output": output}
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._take_over(path):
                    return False
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(record, f)
            return True
        return False

    def _take_over(self, path: Path) -> bool:
        """Remove a stale working claim (its watcher died); True when this watcher did."""
        try:
            claim = json.loads(path.read_text(encoding="utf-8"))
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return True  # gone meanwhile: try to create it again
        except (OSError, ValueError):
            return False  # being written by its owner right now
        if claim.get("state") != "working" or (age < self.lease_s and _alive(claim)):
            return False
        stale = path.with_name(f"{path.name}.stale-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(path, stale)  # only one watcher's rename finds it
        except FileNotFoundError:
            return False
        stale.unlink(missing_ok=True)
        return True

    def finish(self, key: str, state: str, **extra) -> None:
        """Record the end of this watcher's work on ``key`` (done or failed), atomically."""
        path = self._path(key)
        partial = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.partial")
        partial.write_text(
            json.dumps({"owner": self.owner, "key": key, "state": state, **extra}), encoding="utf-8"
        )
        os.replace(partial, path)

    def live_outputs(self) -> set[str]:
        """Outputs of working claims touched within the lease (other watchers' jobs)."""
        live = set()
        now = time.time()
        for path in self.folder.glob("*.json"):
            try:
                claim = json.loads(path.read_text(encoding="utf-8"))
                fresh = now - path.stat().st_mtime < self.lease_s
            except (OSError, ValueError):
                continue
            if claim.get("state") == "working" and fresh:
                live.add(claim.get("output", ""))
        return live

    def heartbeat(self, key: str) -> threading.Event:
        """Touch the claim on ``key`` every third of the lease until the returned event is set."""
        stop = threading.Event()
        path = self._path(key)

        def beat() -> None:
            while not stop.wait(self.lease_s / 3):
                try:
                    os.utime(path)
                except OSError:
                    return

        threading.Thread(target=beat, name="v2m-claim", daemon=True).start()
        return stop
