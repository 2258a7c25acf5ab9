"""One request, the same music whichever door it came through.

A clip with cuts, an editor marker, a tempo other than the style's and a choice of stems is
scored through the command line (local and ``--server``), gRPC, the WebSocket bridge, the watch
folder and — as a timeline of the same clip — ``v2m timeline score``, the server, the bridge,
the watch folder and the Resolve script (on its recorded fake). Within each kind of source,
every door must give byte-identical mixes and identical hits.
"""

import asyncio
import base64
import json
import shutil

import aiohttp
import numpy as np
import opentimelineio as otio
import pytest

from tests.helpers import serving
from tests.nle.test_resolve_script import FakeResolve
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.model.wav import write_wav
from v2m.nle_plugins.client import ScoringClient, request_fields
from v2m.nle_plugins.resolve.score_selection import score_current_timeline
from v2m.server.cli import main
from v2m.server.watch import WatchFolder

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
OPTIONS = {"bpm": 110.0, "stems": ("drums", "bass", "harmony"), "seed": 3, "markers_s": (3.0,)}
SIDECAR = (
    '[score]\nbpm = 110.0\nstems = ["drums", "bass", "harmony"]\nseed = 3\nmarkers_s = [3.0]\n'
)
CLI = ["--bpm", "110", "--stems", "drums,bass,harmony", "--seed", "3", "--marker", "3.0"]


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("doors")
    render_clip(root / "clip.mp4", ClipSpec(duration_s=6, cut_times_s=(2.0, 4.5), seed=77))
    timeline = otio.schema.Timeline(name="doors")
    track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for start, length in ((0, 60), (90, 60)):  # 0-2 s of the clip, then 3-5 s: a cut at 2 s
        ref = otio.schema.ExternalReference(target_url="clip.mp4")
        track.append(
            otio.schema.Clip(
                name="c", media_reference=ref, source_range=TR(RT(start, 30), RT(length, 30))
            )
        )
    otio.adapters.write_to_file(timeline, str(root / "edit.otio"))
    return root


@pytest.fixture(scope="module")
def server(media, tmp_path_factory):
    yield from serving(media, tmp_path_factory)


def _local_hits(folder):
    report = json.loads((folder / "hits.json").read_text())
    return [
        (h["kind"], round(h["planned_s"], 4), round(h["achieved_s"], 4)) for h in report["hits"]
    ]


def _remote_hits(remote):
    return [(h.kind, round(h.time_s, 4), round(h.achieved_s, 4)) for h in remote.hits]


async def _bridge_score(port, message):
    """Score over the WebSocket bridge (f32le stems); the mix as float32[2, n] and the hits."""
    pieces, plan = [], None
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"http://127.0.0.1:{port}/v1/ws", max_msg_size=0) as ws:
            frame = {"id": 1, "method": "Score", "message": {**message, "audioFormat": "f32le"}}
            await ws.send_str(json.dumps(frame))
            async for msg in ws:
                data = json.loads(msg.data)
                if "status" in data:
                    assert data["status"]["code"] == "OK", data["status"]
                    break
                event = data["message"]
                if "stem" in event and event["stem"]["name"] == "mix":
                    raw = base64.b64decode(event["stem"].get("data", ""))
                    pieces.append(np.frombuffer(raw, "<f4").reshape(-1, 2).T)
                if "result" in event:
                    plan = event["result"]["plan"]
    hits = [
        (h["kind"], round(h.get("plannedS", 0.0), 4), round(h.get("achievedS", 0.0), 4))
        for h in plan["hits"]
    ]
    return np.concatenate(pieces, axis=1), hits


def _bridge_message(path, **extra):
    fields = request_fields({**OPTIONS, **extra})
    camel = {
        "".join(w if i == 0 else w.title() for i, w in enumerate(k.split("_"))): v
        for k, v in fields.items()
    }
    return {"media": {"path": path}, **camel}


def _wav(tmp_path, name, mix):
    path = tmp_path / f"{name}.wav"
    write_wav(path, mix, 48000)
    return path.read_bytes()


def _watch(tmp_path, media, name):
    inbox, out = tmp_path / f"in-{name}", tmp_path / f"out-{name}"
    inbox.mkdir()
    shutil.copy(media / name, inbox / name)
    if name.endswith(".otio"):
        shutil.copy(media / "clip.mp4", inbox / "clip.mp4")  # the timeline's source, beside it
        (inbox / "clip.mp4").rename(inbox / ".clip-source.mp4")
        text = (inbox / name).read_text().replace('"clip.mp4"', '".clip-source.mp4"')
        (inbox / name).write_text(text)
    (inbox / (name.rsplit(".", 1)[0] + ".v2m.toml")).write_text(SIDECAR)
    WatchFolder(inbox, out, stable_s=0, preview=False).scan_once()
    folder = out / name.rsplit(".", 1)[0]
    assert (folder / "mix.wav").exists(), list((out / "failed").glob("*"))
    return folder


def _through_every_door(source, command, media, server, tmp_path):
    """{door: (mix.wav bytes, hits)} for one source scored with OPTIONS through every door
    (hits are not reported by the CLI's --server path: None there)."""
    path, address = str(media / source), f"127.0.0.1:{server.port}"
    results = {}
    for door, extra in (("cli", []), ("cli --server", ["--server", address])):
        out = tmp_path / door.replace(" ", "")
        assert main([*command, path, "-o", str(out), "-q", *CLI, *extra]) == 0
        hits = _local_hits(out) if not extra else None
        results[door] = ((out / "mix.wav").read_bytes(), hits)
    with ScoringClient(address) as client:
        remote = client.score(path, OPTIONS)
    results["grpc"] = (_wav(tmp_path, "grpc", remote.mix), _remote_hits(remote))
    mix, hits = asyncio.run(_bridge_score(server.running.http_port, _bridge_message(path)))
    results["bridge"] = (_wav(tmp_path, "bridge", mix), hits)
    folder = _watch(tmp_path, media, source)
    results["watch"] = ((folder / "mix.wav").read_bytes(), _local_hits(folder))
    return results


def _assert_the_same(results) -> None:
    mixes = {door: mix for door, (mix, _) in results.items()}
    assert len(set(mixes.values())) == 1, {door: len(mix) for door, mix in mixes.items()}
    hits = {door: h for door, (_, h) in results.items() if h is not None}
    assert all(h == hits["cli"] for h in hits.values()), hits


def test_a_video_scores_the_same_through_every_door(media, server, tmp_path):
    results = _through_every_door("clip.mp4", ["score", "--no-preview"], media, server, tmp_path)
    _assert_the_same(results)
    assert ("marker", 3.0) in [h[:2] for h in results["cli"][1]]


def test_a_timeline_scores_the_same_through_every_door(media, server, tmp_path):
    results = _through_every_door("edit.otio", ["timeline", "score"], media, server, tmp_path)
    fake = FakeResolve(media / "edit.otio", marks={})  # exports beside the clip it uses
    address = f"127.0.0.1:{server.port}"
    done = score_current_timeline(fake, server=address, work_dir=media, options=OPTIONS)
    with open(done["mix"], "rb") as mix_file:
        results["resolve"] = (mix_file.read(), None)
    _assert_the_same(results)
