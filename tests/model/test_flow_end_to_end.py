"""`v2m train` then `v2m score --backend flow --checkpoint DIR`: the real path at toy scale."""

import json

import pytest
import soundfile
import torch

from v2m.model.backends import create_backend
from v2m.model.sample_clip import ClipSpec
from v2m.server.cli import main


@pytest.fixture
def checkpoint(flow_checkpoint):
    return flow_checkpoint


def test_train_writes_a_resumable_checkpoint_with_cached_features(checkpoint):
    assert json.loads((checkpoint / "config.json").read_text())["codec"] == "mel"
    assert torch.load(checkpoint / "train_state.pt", weights_only=False)["step"] == 6
    assert len(list((checkpoint / "cache").glob("*.npz"))) == 2


def test_score_with_the_flow_backend_end_to_end(checkpoint, make_clip, tmp_path, capsys):
    clip = make_clip(ClipSpec(duration_s=3.0, cut_times_s=(1.0, 2.0), width=160, height=90))
    out = tmp_path / "out"
    code = main(
        [
            "score",
            str(clip),
            "-o",
            str(out),
            "--backend",
            "flow",
            "--checkpoint",
            str(checkpoint),
            "--no-preview",
            "-q",
            "--prompt",
            "steady clicks",
        ]
    )
    assert code == 0, capsys.readouterr().err
    mix, rate = soundfile.read(out / "mix.wav")
    assert rate == 48000 and abs(len(mix) / rate - 3.0) < 0.02
    report = json.loads((out / "hits.json").read_text())
    assert report["result"]["backend"] == "flow" and report["result"]["stems"] == ["music"]
    assert [h["kind"] for h in report["hits"]].count("cut") == 2


def test_without_a_checkpoint_the_flow_backend_says_what_to_put_where(
    make_clip, tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("V2M_FLOW_CHECKPOINT", raising=False)
    ok, why = create_backend("flow").availability()
    assert not ok and "--checkpoint DIR" in why and "v2m train" in why
    clip = make_clip(ClipSpec(duration_s=3.0, cut_times_s=(1.0,), width=160, height=90))
    code = main(["score", str(clip), "-o", str(tmp_path), "--backend", "flow", "-q"])
    assert code == 1 and "missing weights" in capsys.readouterr().err
    ok, why = create_backend("flow", checkpoint=str(tmp_path)).availability()
    assert not ok and "lacks config.json, model.safetensors" in why


def test_a_server_loads_the_checkpoint_once_for_many_requests(checkpoint, tmp_path):
    """Two Score requests naming the checkpoint (a backend option, resolved inside the media
    roots) read the weights once; a retrained checkpoint (files changed) is read again."""
    import os
    import shutil

    import grpc

    from tests.helpers import ServerThread
    from v2m.model.flow.checkpoint import CHECKPOINTS
    from v2m.model.sample_clip import render_clip
    from v2m.server.settings import ServerSettings
    from v2m.v1 import scoring_pb2 as pb
    from v2m.v1 import scoring_pb2_grpc as pb_grpc

    root = tmp_path / "media"
    root.mkdir()
    shutil.copytree(checkpoint, root / "ckpt", ignore=shutil.ignore_patterns("cache"))
    render_clip(
        root / "clip.mp4", ClipSpec(duration_s=2.0, cut_times_s=(1.0,), width=96, height=64)
    )
    srv = ServerThread(
        ServerSettings(port=0, media_roots=(str(root),), data_dir=str(tmp_path / "d"))
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
            client = pb_grpc.ScoringServiceStub(channel)

            def score(seed):
                request = pb.ScoreRequest(
                    media=pb.MediaRef(path="clip.mp4"),
                    backend="flow",
                    backend_options={"checkpoint": "ckpt"},
                    seed=seed,
                )
                events = list(client.Score(request, timeout=300))
                assert events[-1].WhichOneof("event") == "result"

            before = CHECKPOINTS.loads
            score(1)
            score(2)
            assert CHECKPOINTS.loads - before == 1
            weights = root / "ckpt" / "model.safetensors"
            stat = weights.stat()
            os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
            score(3)
            assert CHECKPOINTS.loads - before == 2
            outside = pb.ScoreRequest(
                media=pb.MediaRef(path="clip.mp4"),
                backend="flow",
                backend_options={"checkpoint": str(checkpoint)},
            )
            with pytest.raises(grpc.RpcError) as err:
                list(client.Score(outside, timeout=60))
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        srv.stop()
