"""The WebSocket bridge (the panel's transport) on a real server at 127.0.0.1 port 0: same
service, same results, auth, limits and errors as gRPC."""

import asyncio
import base64
import json

import aiohttp
import grpc
import pytest

from tests.helpers import ServerThread, serving
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.server.settings import ServerSettings
from v2m.v1 import scoring_pb2 as pb
from v2m.v1 import scoring_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("media")
    render_clip(root / "clip.mp4", ClipSpec(duration_s=5, cut_times_s=(2.0, 3.5), seed=71))
    return root


@pytest.fixture(scope="module")
def server(media_root, tmp_path_factory):
    yield from serving(media_root, tmp_path_factory)


async def _session_calls(port, calls, *, headers=None, cancel_after=None):
    """Run ``calls`` ([(method, message)]) on one socket; returns [(messages, status)]."""
    results = {i: ([], None) for i in range(len(calls))}
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"http://127.0.0.1:{port}/v1/ws", headers=headers) as ws:
            for i, (method, message, metadata) in enumerate(calls):
                frame = {"id": i, "method": method, "message": message, "metadata": metadata}
                await ws.send_str(json.dumps(frame))
            open_calls = set(results)
            async for msg in ws:
                frame = json.loads(msg.data)
                messages, _ = results[frame["id"]]
                if "status" in frame:
                    results[frame["id"]] = (messages, frame["status"])
                    open_calls.discard(frame["id"])
                    if not open_calls:
                        break
                else:
                    messages.append(frame["message"])
                    if cancel_after and cancel_after(frame["message"]):
                        await ws.send_str(json.dumps({"id": frame["id"], "cancel": True}))
    return [results[i] for i in range(len(calls))]


def call(port, method, message=None, *, token=None, headers=None, cancel_after=None):
    metadata = {"authorization": f"Bearer {token}"} if token else {}
    ((messages, status),) = asyncio.run(
        _session_calls(
            port, [(method, message or {}, metadata)], headers=headers, cancel_after=cancel_after
        )
    )
    return messages, status


def test_panel_is_served_and_root_redirects_to_it(server):
    async def fetch():
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{server.running.http_port}/") as r:
                return r.status, r.content_type, str(r.url), await r.text()

    status, kind, url, text = asyncio.run(fetch())
    assert status == 200 and kind == "text/html" and url.endswith("/panel/index.html")
    assert "Score selection" in text


def test_score_over_the_bridge_equals_score_over_grpc(server):
    request = {"media": {"path": "clip.mp4"}, "seed": 3, "prompt": "rock"}
    events, status = call(server.running.http_port, "Score", request)
    assert status == {"code": "OK", "message": ""}
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "accepted" and kinds[-1] == "result"
    assert kinds.index("curve") < kinds.index("planned") < kinds.index("plan") < kinds.index("stem")
    mix = b"".join(
        base64.b64decode(e["stem"]["data"])
        for e in events
        if "stem" in e and e["stem"]["name"] == "mix"
    )
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = pb_grpc.ScoringServiceStub(channel)
        grpc_events = list(
            stub.Score(pb.ScoreRequest(media=pb.MediaRef(path="clip.mp4"), seed=3, prompt="rock"))
        )
    grpc_mix = b"".join(
        e.stem.data for e in grpc_events if e.WhichOneof("event") == "stem" and e.stem.name == "mix"
    )
    assert mix == grpc_mix and len(mix) > 100_000
    result = events[-1]["result"]
    cuts = [h for h in result["plan"]["hits"] if h["kind"] == "cut"]
    assert [round(h["plannedS"], 2) for h in cuts] == [2.0, 3.5]
    assert "integratedLufs" in result["loudness"]


def test_errors_are_the_grpc_status_codes_and_the_socket_keeps_serving(server, media_root):
    port = server.running.http_port
    results = asyncio.run(
        _session_calls(
            port,
            [
                ("Score", {"media": {"path": "/etc/passwd"}}, {}),
                ("Score", {"media": {"path": "clip.mp4"}, "backend": "nope"}, {}),
                ("Score", {"media": {"path": "clip.mp4"}, "sead": 1}, {}),
                ("Frobnicate", {}, {}),
                ("GetServerInfo", {}, {}),
            ],
        )
    )
    codes = [status["code"] for _, status in results]
    assert codes == [
        "PERMISSION_DENIED",
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        "UNIMPLEMENTED",
        "OK",
    ]
    assert "outside" in results[0][1]["message"] and "sead" in results[2][1]["message"]
    assert "nope" in results[1][1]["message"]
    assert results[4][0][0]["mediaRoots"] == [str(media_root.resolve())]


def test_cancel_over_the_bridge_cancels_the_job(server):
    events, status = call(
        server.running.http_port,
        "Score",
        {"media": {"path": "clip.mp4"}, "seed": 99},
        cancel_after=lambda m: "progress" in m,
    )
    assert status["code"] == "CANCELLED"
    job_id = events[0]["accepted"]["jobId"]
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = pb_grpc.ScoringServiceStub(channel)
        for _ in range(200):
            job = stub.GetJob(pb.GetJobRequest(job_id=job_id))
            if job.state != "running":
                break
            asyncio.run(asyncio.sleep(0.05))
    assert job.state == "cancelled"


def test_upload_as_a_client_stream_then_analyze_by_upload_id(server, media_root):
    data = (media_root / "clip.mp4").read_bytes()
    half = len(data) // 2
    chunks = [
        {
            "filename": "mine.mp4",
            "totalBytes": str(len(data)),
            "data": base64.b64encode(data[:half]).decode(),
        },
        {"data": base64.b64encode(data[half:]).decode()},
    ]

    async def upload():
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{server.running.http_port}/v1/ws"
            async with session.ws_connect(url) as ws:
                await ws.send_str(
                    json.dumps({"id": 1, "method": "UploadMedia", "message": chunks[0]})
                )
                await ws.send_str(json.dumps({"id": 1, "message": chunks[1]}))
                await ws.send_str(json.dumps({"id": 1, "end": True}))
                frames = [json.loads((await ws.receive()).data) for _ in range(2)]
        return frames

    reply, status = asyncio.run(upload())
    assert status["status"]["code"] == "OK"
    upload_id = reply["message"]["uploadId"]
    events, status = call(server.running.http_port, "Analyze", {"media": {"uploadId": upload_id}})
    assert status["code"] == "OK"
    assert [round(c["timeS"], 2) for c in events[-1]["summary"]["cuts"]] == [2.0, 3.5]


def test_token_and_origin(media_root, tmp_path):
    open_srv = ServerThread(
        ServerSettings(port=0, media_roots=(str(media_root),), data_dir=str(tmp_path / "a"))
    )
    try:
        port = open_srv.running.http_port

        async def upgrade(origin):
            async with aiohttp.ClientSession() as session:
                try:
                    async with session.ws_connect(
                        f"http://127.0.0.1:{port}/v1/ws", headers={"Origin": origin}
                    ):
                        return 101
                except aiohttp.WSServerHandshakeError as exc:
                    return exc.status

        assert asyncio.run(upgrade("https://evil.example")) == 403
        assert asyncio.run(upgrade(f"http://127.0.0.1:{port}")) == 101
    finally:
        open_srv.stop()
    guarded = ServerThread(
        ServerSettings(
            port=0, media_roots=(str(media_root),), data_dir=str(tmp_path / "b"), token="s3cret"
        )
    )
    try:
        port = guarded.running.http_port
        _, status = call(port, "GetServerInfo")
        assert status["code"] == "UNAUTHENTICATED"
        _, status = call(port, "GetServerInfo", token="wrong")
        assert status["code"] == "UNAUTHENTICATED"
        info, status = call(port, "GetServerInfo", token="s3cret", headers={"Origin": "null"})
        assert status["code"] == "OK" and info[0]["authRequired"] is True
    finally:
        guarded.stop()


def test_panel_port_settings():
    from v2m.server.settings import load_settings

    assert ServerSettings().http_port == 50052  # the gRPC port + 1
    assert ServerSettings(port=0).http_port == 0  # free ports for both
    env = {"V2M_HTTP_PORT": "-1", "V2M_ALLOWED_ORIGINS": "https://a.example, http://b:8080"}
    settings = load_settings(env=env)
    assert settings.http_port == -1
    assert settings.allowed_origins == ("https://a.example", "http://b:8080")
    with pytest.raises(ValueError, match="http_port must be 0..65535, or -1"):
        ServerSettings(http_port=70000)


def test_premiere_plugin_folder(tmp_path):
    from v2m.nle_plugins.premiere.package import build_plugin

    manifest = json.loads(
        build_plugin(tmp_path / "plugin", server="ws://10.0.0.5:6000").read_text()
    )
    assert manifest["main"] == "panel/index.html"
    assert manifest["requiredPermissions"]["network"]["domains"] == [
        "http://10.0.0.5:6000",
        "ws://10.0.0.5:6000",
    ]
    assert (tmp_path / "plugin" / "premiere" / "host_premiere.js").is_file()
    assert (tmp_path / "plugin" / "panel" / "js" / "panel.js").is_file()
    with pytest.raises(ValueError, match="ws://HOST:PORT"):
        build_plugin(tmp_path / "x", server="127.0.0.1:50052")
