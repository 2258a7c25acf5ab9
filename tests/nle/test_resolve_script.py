"""The Resolve script against a recorded fake of the Resolve API calls it makes, scoring on a
real server; the OTIO it produces must load in OTIO."""

import shutil

import opentimelineio as otio
import pytest

from tests.helpers import ServerThread
from v2m.nle_plugins.resolve.score_selection import ResolveError, score_current_timeline
from v2m.server.settings import ServerSettings


class FakeResolve:
    """The documented calls the script makes, answering as Resolve 19.1 does, recording all."""

    EXPORT_OTIO = 7

    def __init__(self, otio_source, *, marks, start_frame=86400):
        self.calls = []
        self.otio_source, self.marks, self.start_frame = otio_source, marks, start_frame
        self.audio_tracks = 2
        project, timeline, pool = _Obj(self), _Obj(self), _Obj(self)
        self.answers = {
            "GetProjectManager": _Obj(self, GetCurrentProject=project),
            "GetCurrentTimeline": timeline,
            "GetMediaPool": pool,
            "GetName": "Cut 3 / final",
            "GetSetting": "30",
            "GetStartFrame": start_frame,
            "GetMarkInOut": marks,
            "ImportMedia": ["<MediaPoolItem mix.wav>"],
            "AppendToTimeline": ["<TimelineItem>"],
            "AddMarker": True,
        }
        self.project = project

    def GetProjectManager(self):  # noqa: N802 — Resolve's names
        self.calls.append(("GetProjectManager",))
        return self.answers["GetProjectManager"]

    def answer(self, name, args):
        self.calls.append((name, *args))
        if name == "Export":
            shutil.copy(self.otio_source, args[0])
            return args[1] == self.EXPORT_OTIO
        if name == "AddTrack":
            self.audio_tracks += 1
            return args == ("audio", "stereo")
        if name == "GetTrackCount":
            return self.audio_tracks
        return self.answers[name]


class _Obj:
    def __init__(self, fake, **fixed):
        self.fake, self.fixed = fake, fixed

    def __getattr__(self, name):
        def call(*args):
            if name in self.fixed:
                self.fake.calls.append((name,))
                return self.fixed[name]
            return self.fake.answer(name, args)

        return call


@pytest.fixture
def server(edit, tmp_path):
    srv = ServerThread(
        ServerSettings(port=0, media_roots=(str(edit),), data_dir=str(tmp_path / "data"))
    )
    yield f"127.0.0.1:{srv.port}"
    srv.stop()


def test_scores_the_marked_range_and_places_music_and_markers(edit, server):
    fake = FakeResolve(edit / "edit.otio", marks={"video": {"in": 75, "out": 239}})
    done = score_current_timeline(fake, server=server, work_dir=edit, options={"seed": 2})
    names = [c[0] for c in fake.calls]
    assert names[:4] == ["GetProjectManager", "GetCurrentProject", "GetCurrentTimeline", "GetName"]
    export = next(c for c in fake.calls if c[0] == "Export")
    assert export[1].endswith("Cut_3_final.otio") and export[2] == FakeResolve.EXPORT_OTIO
    append = next(c for c in fake.calls if c[0] == "AppendToTimeline")[1][0]
    assert append["recordFrame"] == 86400 + 75 and append["trackIndex"] == 3
    assert append["endFrame"] == 164 and append["mediaType"] == 2
    markers = [c for c in fake.calls if c[0] == "AddMarker"]
    cut_frames = sorted(c[1] for c in markers if " cut " in c[3])
    assert cut_frames == [90, 135, 195, 225]  # edit points and the cut inside b, in frames
    assert all(c[2] in ("Green", "Yellow", "Red") for c in markers)
    assert done["hits"] == len(markers) and done["in_frame"] == 75 and done["out_frame"] == 240
    scored = otio.adapters.read_from_file(done["timeline_otio"])  # imports in OTIO itself
    clip = next(c for c in scored.find_clips() if c.name == "v2m mix")
    assert clip.range_in_parent().start_time.to_frames() == 75
    assert len(clip.markers) == len(markers)


def test_no_open_timeline_is_a_clear_error(edit, server):
    fake = FakeResolve(edit / "edit.otio", marks={})
    fake.answers["GetCurrentTimeline"] = None
    with pytest.raises(ResolveError, match="no timeline is open"):
        score_current_timeline(fake, server=server, work_dir=edit)


def test_options_reach_the_server_and_stems_get_a_track_each(edit, server, tmp_path):
    from v2m.nle_plugins.resolve.score_selection import options_from_environment

    settings = tmp_path / "score.toml"
    settings.write_text('[score]\nbpm = 100\nstems = ["drums", "bass"]\ntrack_per_stem = true\n')
    options = options_from_environment({"V2M_SCORE_OPTIONS": str(settings), "V2M_PROMPT": "rock"})
    assert options == {
        "bpm": 100,
        "stems": ["drums", "bass"],
        "track_per_stem": True,
        "prompt": "rock",
    }
    fake = FakeResolve(edit / "edit.otio", marks={"video": {"in": 0, "out": 149}})
    fake.answers["ImportMedia"] = ["<MediaPoolItem stem>"]
    done = score_current_timeline(fake, server=server, work_dir=edit, options=options)
    imported = [c[1][0] for c in fake.calls if c[0] == "ImportMedia"]
    assert [p.rsplit("/", 1)[1] for p in imported] == ["drums.wav", "bass.wav"]
    assert done["audio_tracks"] == [3, 4]
    scored = otio.adapters.read_from_file(done["timeline_otio"])
    assert sorted(t.name for t in scored.tracks if t.name.startswith("v2m")) == [
        "v2m bass",
        "v2m drums",
    ]
    import json

    report = json.loads((edit / "Cut_3_final.v2m" / "hits.json").read_text())
    assert report["settings"]["bpm"] == 100 and report["settings"]["stems"] == ["drums", "bass"]
    with pytest.raises(ResolveError, match="V2M_SCORE_OPTIONS"):
        options_from_environment({"V2M_SCORE_OPTIONS": str(tmp_path / "missing.toml")})
