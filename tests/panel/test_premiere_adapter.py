"""The Premiere adapter (nle_plugins/premiere/host_premiere.js) against a recorded fake of the
documented UXP calls, run by Node; its OTIO goes through a real server and its placement is
checked call by call."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from google.protobuf import json_format

from tests.helpers import ServerThread
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.nle_plugins.timeline import edit_points, load_timeline, markers
from v2m.server.settings import ServerSettings
from v2m.v1 import scoring_pb2 as pb
from v2m.v1 import scoring_pb2_grpc as pb_grpc

HERE = Path(__file__).parent
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

# Every Premiere/UXP call the adapter makes, as documented (see the header of host_premiere.js).
DOCUMENTED = {
    "Project.getActiveProject", "project.getActiveSequence", "project.importFiles",
    "project.getRootItem", "root.getItems", "project.lockedAccess", "project.executeTransaction",
    "compound.addAction", "sequence.getTimebase", "sequence.getInPoint", "sequence.getOutPoint",
    "sequence.getEndTime", "sequence.getVideoTrackCount", "sequence.getVideoTrack",
    "sequence.getAudioTrackCount", "track.getTrackItems", "item.getName", "item.getStartTime",
    "item.getEndTime", "item.getInPoint", "item.isDisabled", "item.getProjectItem",
    "ClipProjectItem.cast", "clip.getMediaFilePath", "Markers.getMarkers", "markers.getMarkers",
    "marker.getName", "marker.getStart", "marker.getComments", "markers.createAddMarkerAction",
    "TickTime.createWithSeconds", "SequenceEditor.getEditor",
    "editor.createInsertProjectItemAction", "localFileSystem.getTemporaryFolder",
    "folder.createFile", "file.write",
}  # fmt: skip


def _run_node(*args) -> dict:
    done = subprocess.run(
        [NODE, str(HERE / "premiere_fake.js"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    root = tmp_path_factory.mktemp("premiere-media")
    render_clip(root / "a.mp4", ClipSpec(duration_s=8, cut_times_s=(3.0,), seed=91))
    render_clip(root / "b.mp4", ClipSpec(duration_s=8, cut_times_s=(4.0,), seed=92))
    text = (HERE / "fixtures" / "premiere_sequence.json").read_text()
    text = text.replace("MEDIA_A", str(root / "a.mp4")).replace("MEDIA_B", str(root / "b.mp4"))
    path = root / "sequence.json"
    path.write_text(text)
    return root, path


def test_selection_becomes_an_otio_timeline_with_the_edit_points_and_markers(sequence):
    root, seq = sequence
    out = _run_node(seq)
    called = {c[0] for c in out["calls"]}
    assert called <= DOCUMENTED, called - DOCUMENTED
    assert out["selection"] == {
        "label": "Promo cut v3: 00:00:01:00 – 00:00:09:00",
        "inS": 1.0,
        "outS": 9.0,
        "fps": 25.0,
        "filename": "Promo cut v3.otio",
    }
    (root / "seq.otio").write_text(out["otioText"])
    tl = load_timeline(root / "seq.otio")
    # V1: a.mp4 0-4 s, b.mp4 4-10 s; V2 (on top): a title (no media: skipped), an insert 6-7 s
    assert [round(e.time_s, 3) for e in edit_points(tl, start_s=1.0, end_s=9.0)] == [4.0, 6.0, 7.0]
    # editor markers are must-hits; v2m's own hit markers from an earlier run are not
    assert [round(m.time_s, 3) for m in markers(tl, start_s=1.0, end_s=9.0)] == [5.2]


def test_otio_scores_on_the_server_and_the_music_is_placed_with_hit_markers(sequence, tmp_path):
    root, seq = sequence
    out = _run_node(seq)
    srv = ServerThread(
        ServerSettings(port=0, http_port=-1, media_roots=(str(root),), data_dir=str(tmp_path))
    )
    try:
        import grpc

        with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
            stub = pb_grpc.ScoringServiceStub(channel)
            data = out["otioText"].encode()
            up = stub.UploadMedia(
                iter([pb.UploadChunk(filename="seq.otio", total_bytes=len(data), data=data)])
            )
            events = list(
                stub.Score(
                    pb.ScoreRequest(media=pb.MediaRef(upload_id=up.upload_id), in_s=1.0, out_s=9.0),
                    timeout=300,
                )
            )
    finally:
        srv.stop()
    result = events[-1].result
    planned = {(h.kind, round(h.planned_s, 2)) for h in result.plan.hits}
    assert {("cut", 3.0), ("cut", 5.0), ("cut", 6.0), ("marker", 4.2)} <= planned
    events_file = tmp_path / "events.json"
    events_file.write_text(json.dumps([json_format.MessageToDict(e) for e in events]))
    placed_dir = tmp_path / "placed"
    placed_dir.mkdir()
    out = _run_node(seq, events_file, placed_dir)
    calls = out["calls"]
    assert {c[0] for c in calls} <= DOCUMENTED
    (wav,) = placed_dir.glob("v2m-*-mix.wav")
    mix, rate = soundfile.read(wav, always_2d=True)
    server_mix, server_rate = soundfile.read(
        next(a.path for a in result.artifacts if a.name == "mix"), always_2d=True
    )
    assert rate == server_rate and mix.shape == server_mix.shape
    assert np.abs(mix - server_mix).max() < 2e-4  # the streamed 16-bit PCM, rebuilt by stems.js
    (imported,) = [c for c in calls if c[0] == "project.importFiles"]
    assert imported[1:] == [[str(wav)], True, None, False]
    (insert,) = [c for c in calls if c[0] == "editor.createInsertProjectItemAction"]
    assert insert[1:] == [wav.name, 1.0, 0, 2, True]  # at the in point, on a new track A3
    marks = [c for c in calls if c[0] == "markers.createAddMarkerAction"]
    assert len(marks) == len(result.plan.hits)
    assert [round(m[3], 4) for m in marks] == [
        round(1.0 + h.achieved_s, 4) for h in result.plan.hits
    ]
    assert all(m[1].startswith("v2m hit: ") and m[2] == "Comment" for m in marks)
    transactions = [c for c in calls if c[0] == "project.executeTransaction"]
    assert transactions == [["project.executeTransaction", "v2m: score selection"]]
    assert out["placed"].startswith("placed on audio track A3 at 00:00:01:00")
