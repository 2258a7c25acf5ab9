"""The Ray executor on a real local Ray cluster (head on 127.0.0.1, 6 logical CPUs): the front
door is unchanged and the work runs on replicas — same bytes as local, cancel reaching the
remote work, a killed worker ending its job with a clear status while the server goes on,
models loaded once per replica, shared storage checked at start, watchers handing work over."""

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import grpc
import pytest

from tests.helpers import local_server, serving, wait_for
from tests.ray_cluster import LocalRayCluster
from tests.server.test_watch_claims import two_watchers_score_each_file_once
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.server.errors import ExecutorSetupError
from v2m.v1 import scoring_pb2 as pb
from v2m.v1 import scoring_pb2_grpc as pb_grpc

ray = pytest.importorskip(
    "ray", reason="Ray is not installed (bash scripts/setup.sh --dev installs the [ray] extra)"
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with LocalRayCluster(tmp_path_factory.mktemp("ray"), cpus=6) as address:
        yield address
        ray.shutdown()  # this test process joined it as the servers' driver


@pytest.fixture(scope="module")
def media(tmp_path_factory, flow_checkpoint):
    root = tmp_path_factory.mktemp("media")
    spec = ClipSpec(duration_s=6, cut_times_s=(1.5, 3.0, 4.5), width=160, height=90, seed=4)
    render_clip(root / "clip.mp4", spec)
    cuts = tuple(float(t) for t in range(4, 90, 4))
    render_clip(root / "long.mp4", ClipSpec(90, width=320, height=180, cut_times_s=cuts, seed=3))
    shutil.copytree(flow_checkpoint, root / "ckpt", ignore=shutil.ignore_patterns("cache"))
    return root


@pytest.fixture(scope="module")
def server(cluster, media, tmp_path_factory):
    """A front server whose one CPU replica runs on the cluster (``--ray``, 1 worker)."""
    yield from serving(media, tmp_path_factory, ray=cluster, workers=1)


def _events(port: int, request: pb.ScoreRequest) -> list:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return list(pb_grpc.ScoringServiceStub(channel).Score(request, timeout=300))


def _mix_and_plan(events: list) -> tuple[bytes, bytes]:
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[0] == "accepted" and kinds[-1] == "result"
    assert {"progress", "curve", "planned", "plan", "stem"} <= set(kinds)
    stems = [e.stem for e in events if e.WhichOneof("event") == "stem"]
    mix = b"".join(chunk.data for chunk in stems if chunk.name == "mix")
    plan = next(e.plan for e in events if e.WhichOneof("event") == "plan")
    return mix, plan.SerializeToString(deterministic=True)


def test_a_job_on_the_cluster_streams_the_same_mix_and_hits_as_local(server, media, tmp_path):
    request = pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4"), seed=3)
    remote = _events(server.port, request)
    local = local_server(media, tmp_path / "local-data")
    try:
        here = _events(local.port, request)
    finally:
        local.stop()
    mix, plan = _mix_and_plan(remote)
    assert len(mix) > 6 * 44100 * 2  # six seconds of 16-bit audio at least
    assert (mix, plan) == _mix_and_plan(here)
    result = remote[-1].result
    artifacts = {a.name: Path(a.path) for a in result.artifacts}
    assert artifacts["mix"].is_file()  # written by the replica where the front server serves it
    assert artifacts["mix"].is_relative_to(server.data_dir.resolve())


def test_a_failing_job_on_the_cluster_answers_the_status_it_answers_locally(
    server, media, tmp_path
):
    (media / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    request = pb.ScoreRequest(media=pb.MediaRef(path="corrupt.mp4"))
    local = local_server(media, tmp_path / "local-data")
    answers = []
    try:
        for port in (server.port, local.port):
            with pytest.raises(grpc.RpcError) as err:
                _events(port, request)
            answers.append((err.value.code(), err.value.details()))
    finally:
        local.stop()
    assert answers[0] == answers[1]  # the replica's typed error, not a wrapped Ray error
    assert answers[0][0] == grpc.StatusCode.INVALID_ARGUMENT and "corrupt.mp4" in answers[0][1]


def test_server_info_shows_the_executor_and_its_nodes(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        info = pb_grpc.ScoringServiceStub(channel).GetServerInfo(pb.GetServerInfoRequest())
    assert info.executor == "ray" and info.workers == 1
    assert [(n.cpus, n.gpus, n.alive) for n in info.nodes] == [(6.0, 0.0, True)]


def _cpu_s(pid: int) -> float:
    """CPU seconds a process has used (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_in(pid: int, window_s: float = 1.0) -> float:
    before = _cpu_s(pid)
    time.sleep(window_s)
    return _cpu_s(pid) - before


def _start_long_job(port: int):
    """A Score stream of the 90 s clip, read until its first progress event; (stream, id)."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stream = pb_grpc.ScoringServiceStub(channel).Score(
        pb.ScoreRequest(media=pb.MediaRef(path="long.mp4"), seed=1), timeout=300
    )
    job_id = next(stream).accepted.job_id
    assert next(stream).WhichOneof("event") == "progress"  # the replica is at work
    return channel, stream, job_id


def test_cancel_reaches_the_work_on_the_replica(server):
    executor = server.running.service.runner.executor
    (replica,) = executor.replica_stats()
    channel, stream, job_id = _start_long_job(server.port)
    try:
        assert _cpu_in(replica["pid"]) > 0.2  # the replica's process is computing
        pb_grpc.ScoringServiceStub(channel).CancelJob(pb.GetJobRequest(job_id=job_id))
        with pytest.raises(grpc.RpcError) as err:
            list(stream)
        assert err.value.code() == grpc.StatusCode.CANCELLED
    finally:
        channel.close()
    # the work itself stopped (at its next event), not only the stream: the process goes idle
    assert wait_for(lambda: _cpu_in(replica["pid"], 0.5) < 0.1, 60)
    jobs = server.data_dir / "jobs"
    assert not (jobs / job_id).exists() and not list(jobs.glob(f".{job_id}*"))


def test_a_killed_worker_ends_its_job_clearly_and_the_server_goes_on(server):
    executor = server.running.service.runner.executor
    (replica,) = executor.replica_stats()
    channel, stream, job_id = _start_long_job(server.port)
    try:
        os.kill(replica["pid"], signal.SIGKILL)
        with pytest.raises(grpc.RpcError) as err:
            list(stream)
        stub = pb_grpc.ScoringServiceStub(channel)
        job = stub.GetJob(pb.GetJobRequest(job_id=job_id))
    finally:
        channel.close()
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "Ray worker running this job stopped" in err.value.details()
    assert "score again" in err.value.details()
    assert job.state == "failed"
    assert not list((server.data_dir / "jobs").glob(f".{job_id}*"))  # nothing half-written
    events = _events(server.port, pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4")))
    assert events[-1].WhichOneof("event") == "result"  # Ray restarted the replica
    (restarted,) = executor.replica_stats()
    assert restarted["pid"] != replica["pid"]


def test_a_replica_loads_the_flow_checkpoint_once_for_many_jobs(server):
    executor = server.running.service.runner.executor
    for seed in (1, 2):
        request = pb.ScoreRequest(
            media=pb.MediaRef(path="clip.mp4"),
            backend="flow",
            backend_options={"checkpoint": "ckpt"},
            seed=seed,
        )
        assert _events(server.port, request)[-1].WhichOneof("event") == "result"
    # no GPU in this cluster: the flow jobs ran on the CPU replica, which read the weights once
    (replica,) = executor.replica_stats()
    assert replica["checkpoint_loads"] == 1


def test_jobs_on_the_cluster_run_side_by_side(cluster, media, tmp_path):
    """Two replicas: two jobs at once, on two worker processes."""
    srv = local_server(media, tmp_path / "d", ray=cluster, workers=2)
    try:
        results: list = []
        threads = [
            threading.Thread(
                target=lambda s=seed: results.append(
                    _events(srv.port, pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4"), seed=s))
                )
            )
            for seed in (5, 6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        stats = srv.running.service.runner.executor.replica_stats()
    finally:
        srv.stop()
    assert [r[-1].WhichOneof("event") for r in results] == ["result", "result"]
    assert sorted(s["works"] for s in stats) == [1, 1]
    assert len({s["pid"] for s in stats}) == 2


def test_more_replicas_than_the_cluster_has_cpus_is_refused_at_start(cluster, tmp_path):
    from v2m.server.ray_executor import RayExecutor

    with pytest.raises(ExecutorSetupError) as err:
        RayExecutor(cluster, replicas=64, roots=(tmp_path,), data_dir=tmp_path / "data")
    assert "64 replica(s) need 64 CPUs" in str(err.value) and "lower --workers" in str(err.value)


def test_an_address_where_no_cluster_answers_is_refused_at_once(tmp_path):
    from tests.ray_cluster import free_port
    from v2m.server.ray_executor import connect

    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(ExecutorSetupError) as err:
        connect(address)
    assert f"nothing answers at the Ray address '{address}'" in str(err.value)


def test_a_node_that_cannot_see_the_storage_is_named_at_start(cluster, tmp_path):
    from v2m.server.ray_executor import RayExecutor

    missing = tmp_path / "not-mounted-here"
    with pytest.raises(ExecutorSetupError) as err:
        RayExecutor(cluster, replicas=1, roots=(missing,), data_dir=tmp_path / "data")
    assert "cannot see" in str(err.value) and str(missing) in str(err.value)
    assert "same paths" in str(err.value)


def test_two_watchers_hand_the_files_to_the_cluster_exactly_once(cluster, tmp_path):
    two_watchers_score_each_file_once(tmp_path, "--ray", cluster, "--jobs", "2")
