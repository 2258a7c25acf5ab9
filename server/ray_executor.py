"""The Ray executor: jobs run on replicas spread over a Ray cluster (``v2m serve --ray``).

Ray Core, not Ray Serve: v2m keeps its own front door (gRPC with UploadMedia's client stream,
which Serve's gRPC proxy cannot carry; the WebSocket bridge; auth; job ids; the status table),
and hands each job's work to a *replica* — an async Ray actor holding the resources its backend
declares (one CPU; a GPU for the flow model). A replica is a long-lived worker process: what a
job loads (flow checkpoints, SoundFonts, numba's compiled code) stays loaded for the next job.

- Streaming: the replica's method is a streaming generator; each event the work emits travels
  back as it is produced (the front server follows it with ``async for``).
- Cancel: ``ray.cancel`` on the generator cancels the replica's coroutine, which closes the
  work's stream, so the work stops at its next event — as it does locally.
- Errors: the work's typed errors travel as values and are raised again on the front server
  (same status codes as local); a replica process that dies ends its job with
  ``WorkerLostError`` (UNAVAILABLE; no retry — the client decides) and is restarted by Ray.
- Storage: media roots and the data folder must be the same paths on every node (the shared
  storage of a post house); checked at start-up on each node, with a marker file written by
  the front server proving the data folder is shared rather than merely present.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import socket
import threading
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path

from v2m.model.backends import Resources
from v2m.server.errors import ExecutorSetupError, JobCancelled, WorkerLostError
from v2m.server.executor import ExecutorInfo, NodeInfo, Work
from v2m.server.worker_stream import WorkerStream

log = logging.getLogger("v2m.server")
NAMESPACE = "v2m"
INSTALL_HINT = "install it with: .venv/bin/pip install 'ray==2.60.0' (or pip install 'v2m[ray]')"


def import_ray():
    """The ``ray`` module, or ExecutorSetupError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ExecutorSetupError(
            f"the Ray executor needs Ray, which is not installed; {INSTALL_HINT}"
        ) from exc
    return ray


def connect(address: str):
    """Join the Ray cluster at ``address`` (``auto``: the one started on this machine with
    ``ray start --head``); ExecutorSetupError naming the address when there is none."""
    ray = import_ray()
    _check_reachable(address)
    if not ray.is_initialized():
        try:
            ray.init(
                address=address,
                namespace=NAMESPACE,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ExecutorSetupError(
                f"cannot join the Ray cluster at {address!r} ({exc}); start one with "
                "`ray start --head` on the head node, or give its address as HOST:PORT"
            ) from exc
    return ray


def _check_reachable(address: str) -> None:
    """A ``HOST:PORT`` where nothing answers is refused at once (Ray itself keeps retrying for
    minutes); ``auto`` and ``ray://`` addresses are left to Ray."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ExecutorSetupError(
            f"nothing answers at the Ray address {address!r} ({exc.strerror or exc}); start the "
            "head with `ray start --head --port PORT` and give HEAD:PORT"
        ) from exc


def cluster_nodes(ray) -> tuple[NodeInfo, ...]:
    """Every node Ray knows, with its CPUs and GPUs."""
    return tuple(
        NodeInfo(
            address=n["NodeManagerAddress"],
            cpus=float(n["Resources"].get("CPU", 0.0)),
            gpus=float(n["Resources"].get("GPU", 0.0)),
            alive=bool(n["Alive"]),
        )
        for n in ray.nodes()
    )


@dataclass
class Raised:
    """An error the work raised, carried back to the front server as a value (a Ray task
    error would wrap it and lose its type's status code)."""

    error: BaseException

    @classmethod
    def of(cls, exc: BaseException) -> Raised:
        exc.add_note(f"raised on Ray node {socket.gethostname()}:\n{traceback.format_exc()}")
        try:
            pickle.dumps(exc)
        except Exception:  # noqa: BLE001 — an error that cannot travel becomes one that can
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        return cls(exc)


class Replica:
    """A worker process on a node running one work at a time (``max_concurrency=1``) and
    keeping what works load between them."""

    def __init__(self):
        self.works = 0

    def warm(self) -> int:
        """Import the scoring stack now, not in the first job; the process id."""
        import v2m.model.pipeline  # noqa: F401
        import v2m.server.score_job  # noqa: F401

        return os.getpid()

    def stats(self) -> dict:
        """The process, how many works it ran, and how many flow checkpoints it has read."""
        import sys

        checkpoint = sys.modules.get("v2m.model.flow.checkpoint")
        loads = checkpoint.CHECKPOINTS.loads if checkpoint else 0
        return {"pid": os.getpid(), "works": self.works, "checkpoint_loads": loads}

    async def stream(self, work: Work):
        """Run ``work`` in a thread of this process; yield what it emits (in lists: a burst
        of events travels as one object), then a ``Raised`` if it failed. Cancelling this
        coroutine closes the stream: the work's next emit raises JobCancelled, so it stops and
        cleans up as a local job does."""
        stream = WorkerStream(asyncio.get_running_loop())
        self.works += 1
        try:
            async for batch in stream.run_batches(lambda: work(stream.emit)):
                yield batch
        except Exception as exc:  # noqa: BLE001 — every error goes back as a value
            yield Raised.of(exc)


def _unseen(paths: list[str], marker: str, token: str) -> list[str]:
    """Run on one node: the folders it cannot see, and the marker if it is not the front
    server's (the data folder is not shared)."""
    missing = [p for p in paths if not os.path.isdir(p)]
    try:
        shared = Path(marker).read_text(encoding="utf-8") == token
    except OSError:
        shared = False
    if not shared:
        missing.append(str(Path(marker).parent))
    return missing


class RayExecutor:
    """Jobs on replicas of a Ray cluster: ``replicas`` CPU replicas started at once (they are
    the jobs that run at once); GPU replicas, one per GPU of the cluster, when a job first
    needs one."""

    name = "ray"
    one_job_per_accelerator = False

    def __init__(self, address: str, *, replicas: int, roots: tuple[Path, ...], data_dir: Path):
        self.address = address
        self.ray = connect(address)
        self.check_nodes(roots, data_dir)
        self._lock = threading.RLock()
        self._replicas: dict[Resources, list] = {}
        self._busy: dict[int, int] = {}
        free = self.ray.available_resources().get("CPU", 0.0)
        if free < replicas * Resources().cpus:
            raise ExecutorSetupError(
                f"{replicas} replica(s) need {replicas * Resources().cpus:g} CPUs and the Ray "
                f"cluster at {address} has {free:g} free: lower --workers or add nodes "
                "(`ray start --address HEAD:PORT` on each)"
            )
        cpu = self._start(Resources(), replicas)
        try:
            self.ray.get([r.warm.remote() for r in cpu], timeout=300)
        except self.ray.exceptions.GetTimeoutError as exc:
            raise ExecutorSetupError(
                f"the Ray cluster at {address} did not start {replicas} replica(s) within 300 s"
            ) from exc
        log.info(
            '{"event": "ray executor", "address": "%s", "replicas": %d, "nodes": %d}',
            address,
            replicas,
            len(cluster_nodes(self.ray)),
        )

    # ---------------------------------------------------------------- set-up

    def check_nodes(self, roots: tuple[Path, ...], data_dir: Path) -> None:
        """Every alive node must see the media roots and share the data folder (same paths);
        ExecutorSetupError names each node and what it cannot see."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        data_dir.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        marker = data_dir / f".v2m-node-check-{token[:8]}"
        marker.write_text(token, encoding="utf-8")
        try:
            check = self.ray.remote(num_cpus=0)(_unseen)
            nodes = [n for n in self.ray.nodes() if n["Alive"]]
            refs = [
                check.options(
                    scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
                ).remote([str(r) for r in roots], str(marker), token)
                for n in nodes
            ]
            answers = self.ray.get(refs, timeout=120)
        finally:
            marker.unlink(missing_ok=True)
        problems = [
            f"node {n['NodeManagerAddress']} cannot see {', '.join(missing)}"
            for n, missing in zip(nodes, answers, strict=True)
            if missing
        ]
        if problems:
            raise ExecutorSetupError(
                "; ".join(problems) + ". Every node must mount the media roots and the data "
                f"folder ({data_dir}) at the same paths (shared storage)"
            )

    def _start(self, resources: Resources, count: int) -> list:
        actor = self.ray.remote(Replica).options(
            num_cpus=resources.cpus,
            num_gpus=resources.gpus,
            max_concurrency=1,
            max_restarts=-1,  # a killed replica comes back for the next job
            max_task_retries=0,  # its job is not silently run twice
        )
        started = [actor.remote() for _ in range(count)]
        with self._lock:
            self._replicas.setdefault(resources, []).extend(started)
        return started

    def _replica(self, resources: Resources):
        """The least busy replica of this shape, started when the first job needs it: a GPU
        job gets one replica per GPU of the cluster, or runs on the CPU replicas when the
        cluster has no GPU (as the flow model runs on a CPU-only machine, slowly)."""
        if resources.gpus:
            gpus = sum(n.gpus for n in cluster_nodes(self.ray) if n.alive)
            if gpus < resources.gpus:
                resources = Resources()
        with self._lock:  # two first GPU jobs at once start one set of replicas
            pool = self._replicas.get(resources)
            if not pool:
                count = int(gpus // resources.gpus) if resources.gpus else 1
                pool = self._start(resources, count)
            replica = min(pool, key=lambda r: self._busy.get(id(r), 0))
            self._busy[id(replica)] = self._busy.get(id(replica), 0) + 1
        return replica

    def _release(self, replica) -> None:
        with self._lock:
            self._busy[id(replica)] -= 1

    # ---------------------------------------------------------------- running

    async def stream(self, work: Work, *, resources: Resources, cancel: threading.Event):
        ray = self.ray
        replica = self._replica(resources)
        events = replica.stream.remote(work)
        stopper = asyncio.create_task(_cancel_when_set(ray, cancel, events))
        ended = False
        try:
            async for ref in events:
                batch = await ref
                if isinstance(batch, Raised):
                    raise batch.error
                for event in batch:
                    yield event
            ended = True
        except ray.exceptions.TaskCancelledError:
            raise JobCancelled("the job was cancelled") from None
        except ray.exceptions.RayActorError as exc:
            raise WorkerLostError(_lost(exc)) from None
        finally:
            stopper.cancel()
            if not ended:
                ray.cancel(events)
            self._release(replica)

    def run(self, work: Work, *, resources: Resources) -> None:
        ray = self.ray
        replica = self._replica(resources)
        try:
            for ref in replica.stream.remote(work):
                batch = ray.get(ref)
                if isinstance(batch, Raised):
                    raise batch.error
        except ray.exceptions.RayActorError as exc:
            raise WorkerLostError(_lost(exc)) from None
        finally:
            self._release(replica)

    def replica_stats(self) -> list[dict]:
        """Each replica's process, works run and flow checkpoints read (for tests and ops)."""
        with self._lock:
            replicas = [r for pool in self._replicas.values() for r in pool]
        return self.ray.get([r.stats.remote() for r in replicas], timeout=60)

    def info(self) -> ExecutorInfo:
        return ExecutorInfo(self.name, cluster_nodes(self.ray))

    async def close(self) -> None:
        with self._lock:
            replicas = [r for pool in self._replicas.values() for r in pool]
            self._replicas.clear()
        for replica in replicas:
            self.ray.kill(replica)


async def _cancel_when_set(ray, cancel: threading.Event, events) -> None:
    """Cancel the remote work once the job's cancel event is set."""
    while not cancel.is_set():
        await asyncio.sleep(0.05)
    ray.cancel(events)


def _lost(exc: BaseException) -> str:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"the Ray worker running this job stopped before it finished ({reason[:300]}); "
        "nothing of it was kept — score again"
    )
