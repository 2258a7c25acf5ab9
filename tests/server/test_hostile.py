"""Hostile input at the server's doors (gRPC and the WebSocket bridge of a real server on
127.0.0.1): every request gets a typed status naming the bad value and the limit, the server
stays healthy and serves a normal request afterwards, and nothing partial is left behind."""

import asyncio
import json
import math
import os
import time

import aiohttp
import grpc
import opentimelineio as otio
import pytest

from tests.helpers import (
    healthy,
    local_server,
    serving,
    two_clip_timeline,
    wait_for,
    write_video,
)
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.server.settings import ServerSettings
from v2m.v1 import scoring_pb2 as pb
from v2m.v1 import scoring_pb2_grpc as pb_grpc

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
BAD = grpc.StatusCode.INVALID_ARGUMENT
FULL = grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("media")
    render_clip(root / "clip.mp4", ClipSpec(duration_s=4, cut_times_s=(2.0,), seed=91))
    (root / "deep.otio").write_text("[" * 100_000)  # segfaulted OTIO's reader
    two_clip_timeline(root / "nan-rate.otio", rate="NaN", url="clip.mp4")
    two_clip_timeline(root / "huge-rate.otio", rate="1e12", url="clip.mp4")
    two_clip_timeline(root / "ten-hours.otio", seconds=5 * 3600, url="clip.mp4")
    frames = ([[[40 + 100 * (i // 12)] * 3] * 8000] * 16 for i in range(36))  # 8000x16: very wide
    import numpy as np

    write_video(root / "wide.mp4", (np.asarray(f, np.uint8) for f in frames), 12)
    return root


@pytest.fixture(scope="module")
def server(media_root, tmp_path_factory):
    yield from serving(media_root, tmp_path_factory, max_message_bytes=256 * 1024)


def _refused(client, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        list(client.Score(request, timeout=120))
    assert "Traceback" not in err.value.details()
    return err.value


def _still_serves(server, client, channel) -> None:
    assert healthy(channel)
    events = list(client.Score(pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4")), timeout=120))
    assert events[-1].WhichOneof("event") == "result"
    assert not list((server.data_dir / "jobs").glob(".*partial*"))


def _upload(client, path) -> str:
    data = path.read_bytes()
    return client.UploadMedia(
        iter([pb.UploadChunk(filename=path.name, total_bytes=len(data), data=data)]), timeout=30
    ).upload_id


@pytest.mark.parametrize(
    "name,code,message",
    [
        ("deep.otio", BAD, "nests 100000 levels deep; v2m reads timelines nested at most 256"),
        ("nan-rate.otio", BAD, "frame rate nan; v2m accepts 1..1000 fps"),
        ("huge-rate.otio", BAD, "frame rate 1000000000000.0; v2m accepts 1..1000 fps"),
        ("ten-hours.otio", FULL, "is 36000.0 s long; at most 1200 s are scored at once"),
    ],
)
def test_hostile_timelines_by_path_and_by_upload(server, stub, media_root, name, code, message):
    client, channel = stub
    by_path = _refused(client, pb.ScoreRequest(media=pb.MediaRef(path=name)))
    assert (by_path.code(), message in by_path.details()) == (code, True), by_path.details()
    upload_id = _upload(client, media_root / name)
    by_upload = _refused(client, pb.ScoreRequest(media=pb.MediaRef(upload_id=upload_id)))
    assert (by_upload.code(), message in by_upload.details()) == (code, True)
    _still_serves(server, client, channel)


NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"seed": -1}, "seed must be 0..4.29497e+09, got -1"),
        ({"seed": 2**40}, "seed must be 0..4.29497e+09"),
        ({"bpm": NAN}, "playable range"),
        ({"bpm": INF}, "playable range"),
        ({"in_s": NAN}, "in_s must be 0..172800, got nan"),
        ({"out_s": INF}, "out_s must be 0..172800, got inf"),
        ({"in_s": 3.0, "out_s": 1.0}, "must come after the in point"),
        ({"markers_s": [1.0, NAN]}, "marker time (s) must be 0..172800, got nan"),
        ({"markers_s": [-INF]}, "marker time (s) must be 0..172800, got -inf"),
        ({"markers_s": [1.0] * 5000}, "5000 markers given; at most 1000"),
        ({"meter": -3}, "meter (beats per bar) must be 2..7, got -3"),
        ({"stems": ["drums", "kazoo"]}, "unknown stem(s) ['kazoo']"),
        ({"stems": ["drums"] * 20000}, "['drums'] are named more than once"),
        ({"prompt": "x" * 5000}, "prompt must be at most 2000 characters"),
        ({"key": "Q dorian"}, "cannot read key"),
        ({"style": "polka"}, "unknown style 'polka'"),
        ({"audio_format": "mp3"}, "audio_format must be pcm_s16le or f32le"),
    ],
)
def test_absurd_parameters_are_refused_by_the_one_validation(server, stub, fields, message):
    client, channel = stub
    jobs_before = set(server.running.service.jobs.jobs)
    err = _refused(client, pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4"), **fields))
    assert err.code() == BAD and message in err.details(), err.details()
    assert set(server.running.service.jobs.jobs) == jobs_before  # refused before any job ran
    _still_serves(server, client, channel)


def test_a_very_wide_video_scores(stub):
    client, _ = stub
    events = list(client.Score(pb.ScoreRequest(media=pb.MediaRef(path="wide.mp4")), timeout=120))
    assert events[-1].WhichOneof("event") == "result"


# ----------------------------------------------------------------------------- the bridge


async def _frames(port, sends, *, expect, headers=None):
    """Send raw frames (text or bytes) on one socket; collect frames back: ``expect`` of them,
    or (a set of call ids) until each of those calls has its status."""
    got = []
    waiting = set(expect) if isinstance(expect, set) else None
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(
            f"http://127.0.0.1:{port}/v1/ws", headers=headers, max_msg_size=0
        ) as ws:
            for item in sends:
                await (ws.send_bytes(item) if isinstance(item, bytes) else ws.send_str(item))
            while waiting if waiting is not None else len(got) < expect:
                msg = await asyncio.wait_for(ws.receive(), 120)
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                got.append(json.loads(msg.data))
                if waiting is not None and "status" in got[-1]:
                    waiting.discard(got[-1].get("id"))
            assert not ws.closed
    return got


def _info_frame(call_id):
    return json.dumps({"id": call_id, "method": "GetServerInfo", "message": {}})


@pytest.mark.parametrize(
    "frame,reply",
    [
        (b"\x00\x01binary", {"error": "binary frames are not supported"}),
        ("[" * 50_000, {"error": "at most 10000 JSON values"}),
        ("[" * 5_000 + "]" * 5_000, {"error": "nested too deeply"}),
        ('{"a":' * 3000 + "1" + "}" * 3000, {"error": "nested too deeply"}),
        ("[1," * 20_000 + "1" + "]" * 20_000, {"error": "at most 10000 JSON values"}),
        ("not json", {"error": "the frame is not JSON"}),
        ("[1, 2]", {"error": "must be a JSON object, got list"}),
        ('{"id": true, "method": "GetServerInfo"}', {"error": "integer id, got True"}),
        ('{"id": 1.5}', {"error": "integer id, got 1.5"}),
        ('{"id": 1e300}', {"error": "integer id"}),
        ('{"id": -4}', {"error": "id must be 0..2**53"}),
        ('{"id": 5, "method": 7}', {"status": "INVALID_ARGUMENT", "has": "'method' must be str"}),
        ('{"id": 5, "method": "Score", "metadata": "x"}', {"status": "INVALID_ARGUMENT"}),
        ('{"id": 5, "method": "Score", "metadata": {"a": 1}}', {"status": "INVALID_ARGUMENT"}),
        ('{"id": 5, "method": "Score", "message": [1]}', {"status": "INVALID_ARGUMENT"}),
        ('{"id": 5, "method": "Score", "cancel": "yes"}', {"status": "INVALID_ARGUMENT"}),
        ('{"id": 5, "method": "Score", "colour": 1}', {"status": "INVALID_ARGUMENT"}),
        (
            '{"id": 5, "method": "Score", "message": {"seed": "lots"}}',
            {"status": "INVALID_ARGUMENT", "has": "bad ScoreRequest"},
        ),
        (
            '{"id": 5, "method": "Score", "message": {"seed": 1e400}}',
            {"status": "INVALID_ARGUMENT", "has": "bad ScoreRequest"},
        ),
        (
            '{"id": 5, "method": "Score", "message": {"media": {"path": "clip.mp4"}, "seed": -2}}',
            {"status": "INVALID_ARGUMENT", "has": "seed must be 0.."},
        ),
    ],
)
def test_malformed_frames_get_an_answer_and_the_socket_keeps_serving(server, frame, reply):
    port = server.running.http_port
    got = asyncio.run(_frames(port, [frame, _info_frame(9)], expect=3))
    answers = [g for g in got if g.get("id") != 9]
    if "error" in reply:
        assert reply["error"] in answers[0]["error"]
    else:
        status = answers[-1]["status"]
        assert status["code"] == reply["status"], status
        assert reply.get("has", "") in status["message"]
    ours = [g for g in got if g.get("id") == 9]
    assert ours[-1]["status"]["code"] == "OK"  # the same socket serves the next call


def test_the_bridge_refuses_what_grpc_refuses_by_size(server, stub):
    """A request larger than the gRPC message limit (256 KiB here) is refused over both doors
    with RESOURCE_EXHAUSTED, before it is run."""
    client, channel = stub
    markers = [1.0] * 40_000  # 320 KB as a proto, ~200 KB as JSON text
    request = pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4"), markers_s=markers)
    err = _refused(client, request)
    assert err.code() == FULL
    frame = json.dumps(
        {
            "id": 1,
            "method": "Score",
            "message": {"media": {"path": "clip.mp4"}, "markersS": markers},
        }
    )
    # 40 000 values: beyond the frame's value cap; a smaller, wider message hits the byte limit
    got = asyncio.run(_frames(server.running.http_port, [frame], expect=1))
    assert "at most 10000 JSON values" in got[0]["error"]
    prompt = "x" * 300_000
    frame = json.dumps(
        {"id": 2, "method": "Score", "message": {"media": {"path": "clip.mp4"}, "prompt": prompt}}
    )
    got = asyncio.run(_frames(server.running.http_port, [frame], expect=1))
    assert got[0]["status"]["code"] == "RESOURCE_EXHAUSTED"
    assert "exceeds this server's limit of 262144 bytes" in got[0]["status"]["message"]
    assert healthy(channel)


def _upgrade(port, origin, host=None):
    headers = {"Origin": origin}
    if host:
        headers["Host"] = host

    async def go():
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(
                    f"http://127.0.0.1:{port}/v1/ws", headers=headers
                ) as ws:
                    await ws.send_str(_info_frame(1))
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status

    return asyncio.run(go())


def test_dns_rebinding_pages_cannot_drive_a_loopback_server(server):
    port = server.running.http_port
    # A page on a rebinding domain: its Host header matches its Origin.
    assert _upgrade(port, f"http://evil.example:{port}", host=f"evil.example:{port}") == 403
    assert _upgrade(port, "http://evil.example", host="evil.example") == 403
    assert _upgrade(port, f"http://localhost:{port + 1}") == 403  # another local port
    assert _upgrade(port, "null") == 403
    for own in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        assert _upgrade(port, own) == 101


# ------------------------------------------------------------------------- allowances


def test_stream_allowance_is_per_connection(media_root, tmp_path):
    srv = local_server(media_root, tmp_path / "d", max_streams_per_client=1)
    try:
        address = f"127.0.0.1:{srv.port}"
        request = pb.AnalyzeRequest(media=pb.MediaRef(path="clip.mp4"))
        own = [("grpc.use_local_subchannel_pool", 1)]  # two panels: two connections
        with (
            grpc.insecure_channel(address, options=own) as a,
            grpc.insecure_channel(address, options=own) as b,
        ):
            first = pb_grpc.ScoringServiceStub(a).Analyze(request, timeout=60)
            next(first)  # panel A holds one stream
            second = pb_grpc.ScoringServiceStub(b).Analyze(request, timeout=60)
            assert next(second)  # panel B (same host, another connection) is not blocked
            with pytest.raises(grpc.RpcError) as err:
                list(pb_grpc.ScoringServiceStub(a).Analyze(request, timeout=60))
            assert err.value.code() == FULL and "limit 1" in err.value.details()
            first.cancel()
            second.cancel()
    finally:
        srv.stop()


def test_plain_text_tokens_beyond_loopback_need_insecure(tmp_path):
    from v2m.model.errors import InvalidInputError
    from v2m.server.cli import main

    with pytest.raises(InvalidInputError, match="without TLS .* --insecure"):
        ServerSettings(host="0.0.0.0", port=0, token="t")
    assert ServerSettings(host="0.0.0.0", port=0, token="t", insecure=True).insecure
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    settings = ServerSettings(port=0, token_file=str(token_file))
    assert settings.token == "from-a-file"
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(InvalidInputError, match="token file .* is empty"):
        ServerSettings(port=0, token_file=str(tmp_path / "empty"))
    code = main(["serve", "--host", "0.0.0.0", "--port", "0", "--token-file", str(token_file)])
    assert code == 2


# -------------------------------------------------------------------------- retention


def _age(path, days):
    when = time.time() - days * 86400
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (when, when))


def test_retention_and_start_up_cleanup(media_root, tmp_path):
    data = tmp_path / "data"
    jobs, uploads = data / "jobs", data / "uploads"
    jobs.mkdir(parents=True)
    uploads.mkdir()
    old_job = jobs / ("a" * 32)
    old_job.mkdir()
    (old_job / "mix.wav").write_bytes(b"x" * 1000)
    _age(old_job, 10)
    recent_job = jobs / ("b" * 32)
    recent_job.mkdir()
    (recent_job / "mix.wav").write_bytes(b"x" * 1000)
    old_upload = uploads / ("c" * 64 + ".mp4")
    old_upload.write_bytes(b"y" * 1000)
    _age(old_upload, 10)
    partial_job = jobs / f".{'d' * 32}.partial-1234abcd"
    partial_job.mkdir()
    (uploads / ".e.partial-upload").write_bytes(b"z")
    (uploads / ".f.part").write_bytes(b"z")  # an earlier version's partial upload
    srv = local_server(
        media_root, data, retention_max_age_s=7 * 86400, retention_max_bytes=10_000_000
    )
    try:
        assert sorted(p.name for p in jobs.iterdir()) == ["b" * 32]
        assert list(uploads.iterdir()) == []
        with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
            client = pb_grpc.ScoringServiceStub(channel)
            events = list(
                client.Score(pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4")), timeout=120)
            )
            job_id = events[0].accepted.job_id
            assert client.GetJob(pb.GetJobRequest(job_id=job_id), timeout=5).state == "done"
            _age(jobs / job_id, 8)
            asyncio.run_coroutine_threadsafe(
                asyncio.to_thread(srv.running.service.sweep), srv.loop
            ).result(30)
            assert not (jobs / job_id).exists()
            with pytest.raises(grpc.RpcError) as err:
                client.GetJob(pb.GetJobRequest(job_id=job_id), timeout=5)
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
            assert "removed by the server's retention policy (older than 604800 s)" in (
                err.value.details()
            )
            assert healthy(channel)
    finally:
        srv.stop()


def test_retention_by_total_size_keeps_the_newest(tmp_path):
    from v2m.server.retention import sweep

    for i, days in enumerate((3, 2, 1)):
        job = tmp_path / "jobs" / f"job{i}"
        job.mkdir(parents=True)
        (job / "mix.wav").write_bytes(b"x" * 4000)
        _age(job, days)
    removed = sweep(tmp_path, max_age_s=0, max_bytes=9000)
    assert [r.path.name for r in removed] == ["job0"]
    assert "over the 9000-byte store limit" in removed[0].reason
    assert sorted(p.name for p in (tmp_path / "jobs").iterdir()) == ["job1", "job2"]


# ----------------------------------------------------------------------- watch folder


def test_a_failure_report_is_withdrawn_when_the_file_later_scores(tmp_path):
    """A copy that paused longer than the stability window fails as a truncated file; once
    the copy completes, the file scores and its failure report goes away."""
    from v2m.server.watch import WatchFolder

    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    full = tmp_path / "full.mp4"
    render_clip(full, ClipSpec(duration_s=4, cut_times_s=(2.0,), seed=93))
    data = full.read_bytes()
    target = inbox / "clip.mp4"
    target.write_bytes(data[: len(data) // 3])
    _age(target, 1)
    watcher = WatchFolder(inbox, out, stable_s=0.1, poll_s=0.1, preview=False)
    watcher.scan_once()
    report = out / "failed" / "clip.mp4.txt"
    assert report.exists() and not (out / "clip").exists()
    target.write_bytes(data)  # the writer resumes and finishes
    _age(target, 1)
    assert wait_for(lambda: watcher.scan_once() or (out / "clip").exists(), 60)
    assert (out / "clip" / "mix.wav").exists()
    assert not report.exists()


@pytest.mark.parametrize(
    "message_fields,code,message",
    [
        ({"media": {"path": "deep.otio"}}, "INVALID_ARGUMENT", "nests 100000 levels deep"),
        ({"media": {"path": "nan-rate.otio"}}, "INVALID_ARGUMENT", "frame rate nan"),
        ({"media": {"path": "ten-hours.otio"}}, "RESOURCE_EXHAUSTED", "at most 1200 s"),
        ({"media": {"path": "clip.mp4"}, "bpm": "NaN"}, "INVALID_ARGUMENT", "playable range"),
        ({"media": {"path": "clip.mp4"}, "inS": "Infinity"}, "INVALID_ARGUMENT", "got inf"),
        ({"media": {"path": "clip.mp4"}, "stems": ["fx", "kazoo"]}, "INVALID_ARGUMENT", "kazoo"),
    ],
)
def test_the_bridge_gives_the_same_answers(server, message_fields, code, message):
    frame = json.dumps({"id": 3, "method": "Score", "message": message_fields})
    got = asyncio.run(_frames(server.running.http_port, [frame, _info_frame(9)], expect={3, 9}))
    status = [g for g in got if g.get("id") == 3 and "status" in g][0]["status"]
    assert status["code"] == code and message in status["message"], status
    assert [g for g in got if g.get("id") == 9][-1]["status"]["code"] == "OK"


def test_hostile_files_and_sidecars_in_the_watch_folder(tmp_path, media_root):
    from v2m.server.watch import WatchFolder

    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "deep.otio").write_bytes((media_root / "deep.otio").read_bytes())
    sidecars = {
        "nan": "[score]\nbpm = nan\n",
        "negative": "[score]\nseed = -1\n",
        "unknown": "[score]\nvolume = 11\n",
        "stems": '[score]\nstems = ["drums", "drums"]\n',
        "broken": "[score\n",
    }
    for name, text in sidecars.items():
        (inbox / f"{name}.mp4").write_bytes((media_root / "clip.mp4").read_bytes())
        (inbox / f"{name}.v2m.toml").write_text(text)
    for p in inbox.iterdir():
        _age(p, 1)
    WatchFolder(inbox, out, preview=False).scan_once()
    reasons = {p.name: p.read_text() for p in (out / "failed").iterdir()}
    assert "nests 100000 levels deep" in reasons["deep.otio.txt"]
    assert "playable range" in reasons["nan.mp4.txt"]
    assert "seed must be 0.." in reasons["negative.mp4.txt"]
    assert "unknown [score] keys ['volume']" in reasons["unknown.mp4.txt"]
    assert "named more than once" in reasons["stems.mp4.txt"]
    assert "not valid TOML" in reasons["broken.mp4.txt"]
    assert all("Traceback" not in text for text in reasons.values())
    assert not [
        p for p in out.iterdir() if p.name not in ("failed", ".v2m-journal.jsonl", ".v2m-claims")
    ]
