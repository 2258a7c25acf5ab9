"""A real gRPC server on 127.0.0.1 port 0, called through the generated stubs."""

import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.helpers import ServerThread, healthy, serving, wait_for
from v2m.model.options import ScoreOptions
from v2m.model.pipeline import score
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.server.settings import ServerSettings
from v2m.v1 import scoring_pb2 as pb
from v2m.v1 import scoring_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("media")
    render_clip(root / "clip.mp4", ClipSpec(duration_s=6, cut_times_s=(2.0, 4.0), seed=61))
    (root / "notes.mp4").write_text("not a video")
    outside = tmp_path_factory.mktemp("outside")
    render_clip(outside / "secret.mp4", ClipSpec(duration_s=2, cut_times_s=(1.0,)))
    (root / "link.mp4").symlink_to(outside / "secret.mp4")
    return root


@pytest.fixture(scope="module")
def server(media_root, tmp_path_factory):
    yield from serving(media_root, tmp_path_factory)


def test_analyze_streams_progress_curve_and_cuts_before_the_summary(stub):
    client, channel = stub
    events = list(
        client.Analyze(pb.AnalyzeRequest(media=pb.MediaRef(path="clip.mp4")), timeout=120)
    )
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[-1] == "summary" and kinds.count("summary") == 1
    assert "curve" in kinds and "progress" in kinds
    first_cut = kinds.index("cut")
    assert first_cut < len(kinds) - 1  # cuts stream while decoding, not at the end
    streamed = [e.cut.time_s for e in events if e.WhichOneof("event") == "cut"]
    summary = events[-1].summary
    assert streamed == pytest.approx([2.0, 4.0]) == [c.time_s for c in summary.cuts]
    n_chunk_values = sum(len(e.curve.values) for e in events if e.WhichOneof("event") == "curve")
    assert n_chunk_values == len(summary.raw.values) == 179
    assert summary.media.frame_rate_hz == 30.0 and summary.encoder == "pixels"


def test_score_streams_in_order_and_equals_local_scoring(stub, media_root):
    client, _ = stub
    events = list(
        client.Score(
            pb.ScoreRequest(
                media=pb.MediaRef(path="clip.mp4"), seed=5, prompt="rock", audio_format="f32le"
            ),
            timeout=300,
        )
    )
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[0] == "accepted" and kinds[-1] == "result"
    assert all(kinds.count(k) == 1 for k in ("accepted", "curve", "planned", "plan", "result"))
    first = {k: kinds.index(k) for k in set(kinds)}
    assert first["curve"] < first["planned"] < first["plan"] < first["stem"]
    stages = [(i, e.progress.stage) for i, e in enumerate(events) if kinds[i] == "progress"]
    rendering = next(i for i, stage in stages if stage.startswith("rendering"))
    assert first["planned"] < rendering  # previews come before any music is made
    planned = events[first["planned"]].planned
    assert [h.planned_s for h in planned.hits if h.kind == "cut"] == pytest.approx([2.0, 4.0])
    mix = b"".join(
        e.stem.data for e in events if e.WhichOneof("event") == "stem" and e.stem.name == "mix"
    )
    served = np.frombuffer(mix, "<f4").reshape(-1, 2).T
    local = score(media_root / "clip.mp4", ScoreOptions(seed=5, prompt="rock")).result
    np.testing.assert_array_equal(served, local.mix)
    result = events[-1].result
    assert [h.achieved_s for h in result.plan.hits if h.kind == "cut"] == pytest.approx([2.0, 4.0])
    assert result.loudness.integrated_lufs == pytest.approx(-16, abs=1)
    assert result.midi[:4] == b"MThd"


@pytest.mark.parametrize(
    "path,code,message",
    [
        ("missing.mp4", grpc.StatusCode.NOT_FOUND, "not found"),
        ("../outside/secret.mp4", grpc.StatusCode.PERMISSION_DENIED, "outside"),
        ("/etc/passwd", grpc.StatusCode.PERMISSION_DENIED, "outside"),
        ("link.mp4", grpc.StatusCode.PERMISSION_DENIED, "outside"),
        ("notes.mp4", grpc.StatusCode.INVALID_ARGUMENT, "cannot read"),
    ],
)
def test_bad_media_gets_the_right_status_and_the_server_keeps_serving(stub, path, code, message):
    client, channel = stub
    with pytest.raises(grpc.RpcError) as err:
        list(client.Analyze(pb.AnalyzeRequest(media=pb.MediaRef(path=path)), timeout=60))
    assert err.value.code() == code, err.value.details()
    assert message in err.value.details() and "Traceback" not in err.value.details()
    assert healthy(channel)


def test_unknown_backend_and_bad_parameters(stub):
    client, channel = stub
    for request, message in [
        (pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4"), backend="magic"), "unknown backend"),
        (pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4"), bpm=900), "playable range"),
    ]:
        with pytest.raises(grpc.RpcError) as err:
            list(client.Score(request, timeout=120))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in err.value.details()
    assert healthy(channel)


def test_deadline_exceeded(stub):
    client, channel = stub
    with pytest.raises(grpc.RpcError) as err:
        list(client.Score(pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4")), timeout=0.2))
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert healthy(channel)


def test_server_info_backends_and_reflection(stub, media_root):
    client, channel = stub
    info = client.GetServerInfo(pb.GetServerInfoRequest(), timeout=5)
    assert str(media_root.resolve()) in info.media_roots and not info.auth_required
    backends = client.ListBackends(pb.ListBackendsRequest(), timeout=10).backends
    assert [(b.name, b.available) for b in backends] == [
        ("composer", True),
        ("flow", False),
        ("retime", False),  # no music given
    ]
    assert "--checkpoint DIR" in backends[1].reason  # says what to put where
    with pytest.raises(grpc.RpcError) as err:
        list(
            client.Score(
                pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4"), backend="flow"), timeout=60
            )
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no flow checkpoint" in err.value.details()
    refl = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = refl.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
    )
    names = {s.name for r in replies for s in r.list_services_response.service}
    assert "v2m.v1.ScoringService" in names and "grpc.health.v1.Health" in names


def test_token_is_required_beyond_loopback_and_checked(media_root, tmp_path):
    from v2m.model.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="token"):
        ServerSettings(host="0.0.0.0", port=0)
    srv = ServerThread(
        ServerSettings(
            port=0, media_roots=(str(media_root),), token="s3cret", data_dir=str(tmp_path / "d")
        )
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
            client = pb_grpc.ScoringServiceStub(channel)
            with pytest.raises(grpc.RpcError) as err:
                client.GetServerInfo(
                    pb.GetServerInfoRequest(),
                    timeout=5,
                    metadata=[("authorization", "Bearer wrong")],
                )
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            ok = client.GetServerInfo(
                pb.GetServerInfoRequest(), timeout=5, metadata=[("authorization", "Bearer s3cret")]
            )
            assert ok.auth_required
            assert healthy(channel)  # health stays open for load balancers
    finally:
        srv.stop()


def test_generated_code_is_current():
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        ["bash", "scripts/gen_protos.sh", "--check"],
        cwd=repo,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def busy_server(media_root, tmp_path_factory):
    render_clip(
        media_root / "long.mp4",
        ClipSpec(duration_s=90, width=320, height=180, cut_times_s=tuple(range(5, 90, 7)), seed=62),
    )
    data = tmp_path_factory.mktemp("data")
    srv = ServerThread(
        ServerSettings(
            port=0, media_roots=(str(media_root),), workers=1, max_queue=0, data_dir=str(data)
        )
    )
    srv.data_dir = data
    yield srv
    srv.stop()


def _start_scoring(client, path="long.mp4", seed=1):
    """Start a Score stream in a thread; returns (events, errors, thread)."""
    call = client.Score(pb.ScoreRequest(media=pb.MediaRef(path=path), seed=seed), timeout=300)
    events, errors = [], []

    def pump():
        try:
            for e in call:
                events.append((time.monotonic(), e))
        except grpc.RpcError as exc:
            errors.append((time.monotonic(), exc))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return events, errors, thread


def test_cancel_mid_render_frees_the_worker_and_leaves_nothing(busy_server):
    with grpc.insecure_channel(f"127.0.0.1:{busy_server.port}") as channel:
        client = pb_grpc.ScoringServiceStub(channel)
        events, errors, thread = _start_scoring(client)
        assert wait_for(
            lambda: any(
                e.WhichOneof("event") == "progress" and e.progress.stage.startswith("rendering")
                for _t, e in events
            )
        )
        job_id = events[0][1].accepted.job_id
        asked = time.monotonic()
        client.CancelJob(pb.CancelJobRequest(job_id=job_id), timeout=5)
        thread.join(timeout=10)
        assert errors and errors[0][1].code() == grpc.StatusCode.CANCELLED
        assert errors[0][0] - asked < 1.0
        assert client.GetJob(pb.GetJobRequest(job_id=job_id), timeout=5).state == "cancelled"
        assert list((busy_server.data_dir / "jobs").iterdir()) == []  # no partial artifact
        # The worker is free again: a new job is accepted and runs to the end.
        done = list(client.Score(pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4")), timeout=300))
        result = done[-1].result
        assert done[-1].WhichOneof("event") == "result"
        names = {a.name for a in result.artifacts}
        assert {"mix", "midi", "hits"} <= names
        assert all(Path(a.path).is_file() for a in result.artifacts)
        job = client.GetJob(pb.GetJobRequest(job_id=result.job_id), timeout=5)
        assert job.state == "done" and len(job.artifacts) == len(result.artifacts)


def test_identical_requests_share_one_job_until_the_last_client_leaves(busy_server):
    with (
        grpc.insecure_channel(f"127.0.0.1:{busy_server.port}") as first_channel,
        grpc.insecure_channel(f"127.0.0.1:{busy_server.port}") as second_channel,
    ):
        first = pb_grpc.ScoringServiceStub(first_channel)
        second = pb_grpc.ScoringServiceStub(second_channel)
        request = pb.ScoreRequest(media=pb.MediaRef(path="long.mp4"), seed=3)
        call = first.Score(request, timeout=300)
        accepted = next(call).accepted
        # The only worker is busy and the queue holds nothing more (max_queue=0): the same
        # request can only be answered by joining the running job.
        events, errors, thread = _start_scoring(second, path="long.mp4", seed=3)
        assert wait_for(lambda: len(events) >= 2)
        assert events[0][1].accepted.job_id == accepted.job_id
        assert events[0][1].accepted.joined and not accepted.joined
        call.cancel()  # the first client leaves; the second still waits for the result
        time.sleep(0.3)
        job = second.GetJob(pb.GetJobRequest(job_id=accepted.job_id), timeout=5)
        assert job.state == "running"
        second.CancelJob(pb.CancelJobRequest(job_id=accepted.job_id), timeout=5)
        thread.join(timeout=10)
        assert errors and errors[0][1].code() == grpc.StatusCode.CANCELLED


def test_shutdown_cancels_running_jobs_and_leaves_nothing(busy_server, media_root, tmp_path):
    srv = ServerThread(
        ServerSettings(port=0, media_roots=(str(media_root),), data_dir=str(tmp_path))
    )
    with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
        client = pb_grpc.ScoringServiceStub(channel)
        events, errors, thread = _start_scoring(client)  # long.mp4, made by busy_server
        assert wait_for(lambda: len(events) >= 3)
        job_id = events[0][1].accepted.job_id
        asked = time.monotonic()
        srv.stop(grace_s=0.2)
        stopped_in = time.monotonic() - asked
        thread.join(timeout=10)
    assert errors and errors[0][1].code() in (
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.UNAVAILABLE,
    )
    assert srv.running.service.jobs.get(job_id).state == "cancelled"
    assert stopped_in < 5 and not thread.is_alive()
    assert list((tmp_path / "jobs").iterdir()) == []


def test_queue_full_is_resource_exhausted_with_a_retry_hint(busy_server):
    with grpc.insecure_channel(f"127.0.0.1:{busy_server.port}") as channel:
        client = pb_grpc.ScoringServiceStub(channel)
        events, errors, thread = _start_scoring(client)
        assert wait_for(lambda: bool(events))
        with pytest.raises(grpc.RpcError) as err:
            list(client.Score(pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4")), timeout=30))
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "retry in" in err.value.details()
        client.CancelJob(pb.CancelJobRequest(job_id=events[0][1].accepted.job_id), timeout=5)
        thread.join(timeout=10)
        assert healthy(channel)
        with pytest.raises(grpc.RpcError) as err:
            client.GetJob(pb.GetJobRequest(job_id="nope"), timeout=5)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_cli_score_through_the_server_equals_local_scoring(server, media_root, tmp_path):
    import json

    from v2m.server.cli import main

    clip = str(media_root / "clip.mp4")
    common = ["--seed", "9", "--prompt", "lofi", "--no-preview", "-q"]
    assert main(["score", clip, "-o", str(tmp_path / "local"), *common]) == 0
    assert (
        main(
            [
                "score",
                clip,
                "-o",
                str(tmp_path / "remote"),
                *common,
                "--server",
                f"127.0.0.1:{server.port}",
            ]
        )
        == 0
    )
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert (local / "mix.wav").read_bytes() == (remote / "mix.wav").read_bytes()
    for stem in (local / "stems").iterdir():
        assert stem.read_bytes() == (remote / "stems" / stem.name).read_bytes()
    assert (local / "score.mid").read_bytes() == (remote / "score.mid").read_bytes()
    hits_local = json.loads((local / "hits.json").read_text())["hits"]
    hits_remote = json.loads((remote / "hits.json").read_text())["hits"]
    assert hits_local == hits_remote
    assert (remote / "curve.png").stat().st_size > 0


def test_upload_then_analyze_by_upload_id(server, media_root, tmp_path):
    import hashlib

    from v2m.nle_plugins.client import ScoringClient

    clip = tmp_path / "away.mp4"  # not under the media roots: only reachable by upload
    render_clip(clip, ClipSpec(duration_s=3, cut_times_s=(1.5,), seed=63))
    with ScoringClient(f"127.0.0.1:{server.port}") as client:
        uid = client.upload(clip, chunk_bytes=16 * 1024)
        assert uid == hashlib.sha256(clip.read_bytes()).hexdigest()
        assert client.upload(clip) == uid  # content-addressed: again is free
        events = list(
            client.stub.Analyze(pb.AnalyzeRequest(media=pb.MediaRef(upload_id=uid)), timeout=60)
        )
        assert [c.time_s for c in events[-1].summary.cuts] == pytest.approx([1.5])
        with pytest.raises(grpc.RpcError) as err:
            list(
                client.stub.Analyze(
                    pb.AnalyzeRequest(media=pb.MediaRef(upload_id="0" * 64)), timeout=10
                )
            )
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_bad_uploads_are_refused(media_root, tmp_path):
    srv = ServerThread(
        ServerSettings(
            port=0,
            media_roots=(str(media_root),),
            max_upload_bytes=64 * 1024,
            data_dir=str(tmp_path),
        )
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
            client = pb_grpc.ScoringServiceStub(channel)
            big = [
                pb.UploadChunk(filename="x.mp4", data=b"\0" * 40_000),
                pb.UploadChunk(data=b"\0" * 40_000),
            ]
            with pytest.raises(grpc.RpcError) as err:
                client.UploadMedia(iter(big), timeout=10)
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            wrong = [pb.UploadChunk(filename="x.mp4", sha256="ab" * 32, data=b"hello")]
            with pytest.raises(grpc.RpcError) as err:
                client.UploadMedia(iter(wrong), timeout=10)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "does not match" in err.value.details()
            assert healthy(channel)
        assert not [p for p in (tmp_path / "uploads").iterdir()]  # no temporary leftovers
    finally:
        srv.stop()


def test_media_and_stream_limits(media_root, tmp_path):
    srv = ServerThread(
        ServerSettings(
            port=0,
            media_roots=(str(media_root),),
            max_media_duration_s=3.0,
            max_streams_per_client=1,
            data_dir=str(tmp_path),
        )
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
            client = pb_grpc.ScoringServiceStub(channel)
            with pytest.raises(grpc.RpcError) as err:  # clip.mp4 is 6 s long
                list(
                    client.Analyze(
                        pb.AnalyzeRequest(media=pb.MediaRef(path="clip.mp4")), timeout=30
                    )
                )
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "at most 3 s" in err.value.details()
            render_clip(media_root / "short.mp4", ClipSpec(duration_s=2, cut_times_s=(1.0,)))
            first = client.Analyze(
                pb.AnalyzeRequest(media=pb.MediaRef(path="short.mp4")), timeout=30
            )
            next(first)  # the first stream is open
            with pytest.raises(grpc.RpcError) as err:
                list(
                    client.Analyze(
                        pb.AnalyzeRequest(media=pb.MediaRef(path="short.mp4")), timeout=30
                    )
                )
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "streams open" in err.value.details()
            list(first)  # finishing it frees the allowance
            assert (
                list(
                    client.Analyze(
                        pb.AnalyzeRequest(media=pb.MediaRef(path="short.mp4")), timeout=30
                    )
                )[-1].WhichOneof("event")
                == "summary"
            )
    finally:
        srv.stop()


def test_client_cancel_stops_the_job(busy_server):
    with grpc.insecure_channel(f"127.0.0.1:{busy_server.port}") as channel:
        client = pb_grpc.ScoringServiceStub(channel)
        call = client.Score(pb.ScoreRequest(media=pb.MediaRef(path="long.mp4")), timeout=300)
        job_id = next(call).accepted.job_id
        next(call)  # running
        call.cancel()
        assert wait_for(
            lambda: client.GetJob(pb.GetJobRequest(job_id=job_id), timeout=5).state == "cancelled",
            timeout_s=5,
        )
        assert list((busy_server.data_dir / "jobs").glob(".*.partial*")) == []


def test_settings_from_toml_environment_and_flags(tmp_path):
    from v2m.model.errors import InvalidInputError
    from v2m.server.settings import load_settings

    toml = tmp_path / "v2m.toml"
    toml.write_text('[server]\nport = 6000\nworkers = 3\nmedia_roots = ["/srv/a", "/srv/b"]\n')
    s = load_settings(toml_path=str(toml), env={"V2M_WORKERS": "4"}, port=7000)
    assert (s.port, s.workers, s.media_roots) == (7000, 4, ("/srv/a", "/srv/b"))
    with pytest.raises(InvalidInputError, match="V2M_PORT"):
        load_settings(env={"V2M_PORT": "many"})
    with pytest.raises(InvalidInputError, match="unknown server setting"):
        load_settings(env={}, colour="blue")


def test_tls_with_a_token_off_loopback_settings(media_root, tmp_path):
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed; it makes the test's self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    srv = ServerThread(
        ServerSettings(
            host="localhost",
            port=0,
            media_roots=(str(media_root),),
            token="t0ken",
            tls_cert=str(cert),
            tls_key=str(key),
        )
    )
    try:
        from v2m.nle_plugins.client import ScoringClient

        with ScoringClient(
            f"localhost:{srv.port}", token="t0ken", root_cert=cert.read_bytes()
        ) as client:
            assert client.server_info().auth_required
        with grpc.insecure_channel(f"localhost:{srv.port}") as plain:  # no TLS: refused
            with pytest.raises(grpc.RpcError):
                pb_grpc.ScoringServiceStub(plain).GetServerInfo(
                    pb.GetServerInfoRequest(), timeout=3
                )
    finally:
        srv.stop()


def test_a_second_client_can_watch_a_running_job(server):
    with (
        grpc.insecure_channel(f"127.0.0.1:{server.port}") as owner_channel,
        grpc.insecure_channel(f"127.0.0.1:{server.port}") as watcher_channel,
    ):
        owner = pb_grpc.ScoringServiceStub(owner_channel)
        watcher = pb_grpc.ScoringServiceStub(watcher_channel)
        call = owner.Score(pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4"), seed=2), timeout=120)
        first = next(call)
        job_id = first.accepted.job_id
        owned = [first]
        pump = threading.Thread(target=lambda: owned.extend(call), daemon=True)
        pump.start()  # the owner keeps reading, as a real client does
        watched = list(watcher.WatchJob(pb.GetJobRequest(job_id=job_id), timeout=120))
        pump.join(timeout=60)
        assert watched[0].accepted.job_id == job_id  # replayed from the start
        assert [e.WhichOneof("event") for e in watched] == [e.WhichOneof("event") for e in owned]

        def mix(events):
            return b"".join(
                e.stem.data
                for e in events
                if e.WhichOneof("event") == "stem" and e.stem.name == "mix"
            )

        assert mix(watched) == mix(owned) and watched[-1].result.job_id == job_id
        with pytest.raises(grpc.RpcError) as err:  # finished and delivered: use GetJob
            list(watcher.WatchJob(pb.GetJobRequest(job_id=job_id), timeout=10))
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_score_with_the_editors_music_by_path_or_upload(server, media_root, tmp_path):
    """ScoreRequest.music: a recording inside the media roots, or an uploaded one
    (``upload:ID``); one outside the roots is refused and the server keeps serving."""
    import json

    from tests.helpers import write_audio
    from tests.model.test_retime import RATE, drum_loop
    from v2m.nle_plugins.client import ScoringClient

    write_audio(media_root / "ours.flac", drum_loop(118, 20.0), RATE)
    away = write_audio(tmp_path / "theirs.flac", drum_loop(124, 20.0, seed=4), RATE)
    with ScoringClient(f"127.0.0.1:{server.port}") as client:
        uid = client.upload(away)
        for music, name in (("ours.flac", "ours.flac"), (f"upload:{uid}", uid)):
            request = pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4"), music=music)
            events = list(client.stub.Score(request, timeout=240))
            result = events[-1].result
            metadata = json.loads(result.metadata_json)
            assert metadata["backend"] == "retime" and name in metadata["music"]
            assert all(abs(h.error_frames) <= 1 for h in result.plan.hits if h.kind == "cut")
        with pytest.raises(grpc.RpcError) as err:
            list(
                client.stub.Score(
                    pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4"), music=str(away)), timeout=30
                )
            )
        assert (
            err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            and "media roots" in err.value.details()
        )
        assert healthy(client.channel)
