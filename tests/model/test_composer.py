"""The composer backend end to end: timing acceptance, determinism, loudness, bad inputs."""

import numpy as np
import pytest
import soundfile

from tests.helpers import HARD_CUT_VIDEOS, dancing_frames, shared_media_path, write_video
from v2m.model.analysis import analyze
from v2m.model.errors import InvalidInputError
from v2m.model.mastering import integrated_lufs, true_peak_dbtp
from v2m.model.metrics import (
    beat_f1,
    librosa_beat_times,
    pyscenedetect_cut_times,
    scene_cut_hit,
)
from v2m.model.options import ScoreOptions
from v2m.model.outputs import write_outputs
from v2m.model.pipeline import score
from v2m.model.sample_clip import ClipSpec
from v2m.model.styles import PRESETS
from v2m.model.tempo import median_error_frames


@pytest.mark.parametrize("relative", HARD_CUT_VIDEOS)
def test_scene_cut_hit_on_shared_videos(relative, tmp_path):
    """Paper's Algorithm 1: PySceneDetect cuts on the video, librosa beats on mix.wav."""
    video = shared_media_path(relative)
    job = score(video, ScoreOptions(seed=0))
    paths = write_outputs(job, tmp_path, preview=False)
    sch = scene_cut_hit(pyscenedetect_cut_times(video), librosa_beat_times(paths["mix"]))
    assert sch >= 0.9, f"SCH {sch:.2f} for {relative}"
    assert median_error_frames(job.result.hit_report) <= 1.0


@pytest.fixture(scope="module")
def cut_clip(make_clip):
    return make_clip(ClipSpec(duration_s=10, cut_times_s=(1.3, 3.9, 6.05, 8.4), seed=41))


def test_synthetic_cuts_hit_and_land_on_beats(cut_clip, tmp_path):
    job = score(cut_clip, ScoreOptions(seed=3, prompt="electronic club"))
    paths = write_outputs(job, tmp_path, preview=False)
    beats = librosa_beat_times(paths["mix"])
    assert scene_cut_hit([1.3, 3.9, 6.05, 8.4], beats) == 1.0
    cuts = [p for p in job.result.hit_report if p.kind == "cut"]
    assert [round(p.time_s, 3) for p in cuts] == [1.3, 3.9, 6.067, 8.4]  # on the 30 fps grid
    assert all(abs(p.error_frames) < 1e-6 and p.on_beat for p in cuts)


def test_same_seed_same_bytes_and_styles_keep_the_hits(cut_clip, tmp_path):
    a = write_outputs(
        score(cut_clip, ScoreOptions(seed=7, prompt="rock")), tmp_path / "a", preview=False
    )
    b = write_outputs(
        score(cut_clip, ScoreOptions(seed=7, prompt="rock")), tmp_path / "b", preview=False
    )
    assert open(a["mix"], "rb").read() == open(b["mix"], "rb").read()
    hit_times = {}
    for style in PRESETS:
        result = score(cut_clip, ScoreOptions(seed=1, style=style)).result
        hit_times[style] = [
            (p.kind, p.time_s, p.achieved_s) for p in result.hit_report if p.kind == "cut"
        ]
    first = next(iter(hit_times.values()))
    assert all(times == first for times in hit_times.values()), hit_times


def test_mix_loudness_peaks_and_stem_sum(cut_clip):
    result = score(cut_clip, ScoreOptions(seed=2, prompt="cinematic")).result
    sr = result.sample_rate
    assert sr in (44100, 48000) and result.mix.shape[0] == 2
    assert np.max(np.abs(result.mix)) < 1.0  # no clipping
    assert true_peak_dbtp(result.mix, sr) <= -1.0 + 0.05
    assert integrated_lufs(result.mix, sr) == pytest.approx(-16.0, abs=1.0)
    stem_sum = sum(result.stems.values())
    # The stems carry the mix's gain, so they sum to the mix before the limiter: the mix is
    # the stem sum times one gain per sample, <= 1, equal in both channels, mostly exactly 1.
    loud = np.abs(stem_sum).min(axis=0) > 1e-3
    ratio = result.mix[:, loud] / stem_sum[:, loud]
    np.testing.assert_allclose(ratio[0], ratio[1], atol=1e-3)
    assert ratio.max() <= 1.0 + 1e-3 and ratio.min() > 0.2
    assert np.mean(np.abs(ratio - 1) < 1e-3) > 0.5
    assert set(result.stems) == {"drums", "bass", "harmony", "melody", "fx"}


def test_outputs_are_written(cut_clip, tmp_path):
    import json

    import mido

    paths = write_outputs(score(cut_clip, ScoreOptions(seed=0)), tmp_path)
    for name in ("mix.wav", "score.mid", "hits.json", "curve.png", "preview.mp4"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert sorted(p.name for p in (tmp_path / "stems").iterdir()) == [
        "bass.wav",
        "drums.wav",
        "fx.wav",
        "harmony.wav",
        "melody.wav",
    ]
    info = soundfile.info(paths["mix"])
    assert info.samplerate == 48000 and info.channels == 2 and info.subtype == "PCM_24"
    report = json.loads((tmp_path / "hits.json").read_text())
    assert report["prompt_source"] == "described" and report["prompt"]
    assert {h["kind"] for h in report["hits"]} >= {"cut"}
    midi = mido.MidiFile(paths["midi"])
    assert midi.length == pytest.approx(10.0, abs=0.05)  # starts at the in point
    tempos = [m for m in midi.tracks[0] if m.type == "set_tempo"]
    assert len(tempos) > 8
    from v2m.model.media import probe

    preview = probe(paths["preview"])
    assert preview.has_audio and preview.duration_s == pytest.approx(10.0, abs=0.2)


def test_prompt_overrides_and_selection(cut_clip):
    job = score(
        cut_clip, ScoreOptions(prompt="lofi, 80 bpm, in D minor, no melody", in_s=2.0, out_s=8.0)
    )
    r = job.result
    assert r.metadata["style"] == "lofi" and r.metadata["key"] == "D minor"
    assert "melody" not in r.stems
    assert r.mix.shape[1] == pytest.approx(6.0 * r.sample_rate, abs=2)
    cuts = [p.time_s for p in r.hit_report if p.kind == "cut"]
    assert cuts == pytest.approx([3.9 - 2.0, 6.0667 - 2.0], abs=1e-3)


def test_dance_tempo_follows_the_movement(tmp_path):
    video = write_video(
        tmp_path / "dance.mp4", dancing_frames(beat_s=0.6, duration_s=10, phase_s=0.25), 30
    )
    job = score(video, ScoreOptions(seed=0))
    assert job.motion is not None and job.motion.bpm == pytest.approx(100, abs=1.5)
    paths = write_outputs(job, tmp_path / "out", preview=False)
    music_beats = librosa_beat_times(paths["mix"])
    f1 = beat_f1(job.motion.motion_beats_s, music_beats, tolerance_s=0.07).f1
    assert f1 >= 0.8, f1


def test_dance_gif_from_the_shared_media():
    job = score(shared_media_path("video/pigs_in_a_polka.gif"), ScoreOptions(seed=0))
    assert job.motion is not None
    grid = job.result.tempo_map.beat_times_s
    grid = grid[(grid >= 0) & (grid <= job.request.duration_s)]
    assert beat_f1(job.motion.motion_beats_s, grid, tolerance_s=0.07).f1 >= 0.8


def test_video_without_cuts_and_a_one_second_clip(make_clip):
    calm = make_clip(ClipSpec(duration_s=4, cut_times_s=(), seed=9))
    r = score(calm, ScoreOptions(seed=0), follow_motion=False).result
    assert r.mix.shape[1] == pytest.approx(4 * r.sample_rate, abs=2)
    short = make_clip(ClipSpec(duration_s=1, cut_times_s=(0.5,), seed=10))
    r = score(short, ScoreOptions(seed=0)).result
    assert r.mix.shape[1] == pytest.approx(r.sample_rate, abs=2)


def test_silent_soundtrack_and_impossible_overrides(tmp_path):
    from v2m.model.media import AudioSignal
    from v2m.model.sample_clip import render_clip

    clip = tmp_path / "silent.mp4"
    render_clip(
        clip,
        ClipSpec(duration_s=3, cut_times_s=(1.5,)),
        audio=AudioSignal(np.zeros((2, 3 * 48000), np.float32), 48000),
    )
    a = analyze(clip)
    assert (
        score(clip, ScoreOptions(seed=0), analysis=a).result.metadata["loudness"]["integrated_lufs"]
        > -20
    )
    for bpm in (5, 900):
        with pytest.raises(InvalidInputError, match="playable range"):
            score(clip, ScoreOptions(bpm=bpm), analysis=a)
    with pytest.raises(InvalidInputError, match="key"):
        score(clip, ScoreOptions(key="H minor"), analysis=a)
    with pytest.raises(InvalidInputError, match="selection"):
        score(clip, ScoreOptions(in_s=2.8, out_s=2.9), analysis=a)


@pytest.mark.slow
def test_ten_minute_clip(make_clip, tmp_path):
    long = make_clip(
        ClipSpec(
            duration_s=600,
            cut_times_s=tuple(np.arange(7.0, 600, 13.0)),
            width=320,
            height=180,
            seed=12,
        )
    )
    job = score(long, ScoreOptions(seed=0), follow_motion=False)
    assert job.result.mix.shape[1] == pytest.approx(600 * job.result.sample_rate, abs=2)
    assert median_error_frames(job.result.hit_report) <= 1.0


def test_each_style_plays_its_own_drum_kit(cut_clip):
    """Hip-hop on a TR-808, orchestral on the orchestra kit (timpani on the tom keys), acoustic
    on brushes: the kit travels with the drum notes into the render and the MIDI file."""
    import io

    import mido

    kits = {}
    for style in ("hiphop", "orchestral", "acoustic"):
        job = score(cut_clip, ScoreOptions(seed=1, style=style))
        midi = mido.MidiFile(file=io.BytesIO(job.result.midi))
        drums = next(t for t in midi.tracks if t.name == "drums")
        program = next(m.program for m in drums if m.type == "program_change")
        kits[style] = program
    assert kits == {"hiphop": 25, "orchestral": 48, "acoustic": 40}


def test_parts_are_humanised_but_kicks_snares_and_hits_stay_on_the_grid(cut_clip):
    from v2m.model.arrange import arrange
    from v2m.model.grooves import CLAP, KICK, SNARE
    from v2m.model.styles import PRESETS

    job = score(cut_clip, ScoreOptions(seed=5, style="acoustic"))
    from v2m.model.tempo import TempoPlan

    plan = TempoPlan(job.result.tempo_map, job.result.hit_report, 80.0, 120.0)
    notes = arrange(
        plan, style=PRESETS["acoustic"], curve=job.request.curve, duration_s=6.0, seed=5
    ).notes
    off_grid = [n for n in notes if abs(n.start_beat * 8 - round(n.start_beat * 8)) > 1e-6]
    assert off_grid and all(not (n.is_drum and n.pitch in (KICK, SNARE, CLAP)) for n in off_grid)
    assert len({n.velocity for n in notes if n.stem == "harmony"}) > 3
    for hit in job.result.hit_report:
        assert any(n.start_beat == hit.beat and n.is_drum and n.pitch == KICK for n in notes)
