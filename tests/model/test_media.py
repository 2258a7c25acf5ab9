"""Probing and decoding: timestamps, rotation, pixel aspect, offsets, audio alignment."""

from fractions import Fraction

import numpy as np
import pytest

from tests.helpers import shared_media_path
from v2m.model.media import AudioSignal, analysis_size, decode_audio, iter_video_frames, probe
from v2m.model.sample_clip import ClipSpec, render_clip


def _frame_times(spec: ClipSpec) -> list[float]:
    return [spec.frame_time_s(i) for i in range(spec.frame_count) if spec.is_kept(i)]


@pytest.mark.parametrize(
    "spec",
    [
        ClipSpec(duration_s=3, cut_times_s=(1.0,)),
        ClipSpec(duration_s=3, cut_times_s=(1.0,), start_offset_s=7.25),
        ClipSpec(duration_s=3, cut_times_s=(1.0,), fps=Fraction(24000, 1001), drop_every=3),
        ClipSpec(duration_s=3, cut_times_s=(1.0,), fps=Fraction(30000, 1001)),
    ],
    ids=["cfr", "offset", "vfr", "ntsc"],
)
def test_frame_times_are_presentation_times_on_the_media_clock(make_clip, spec):
    path = make_clip(spec)
    info = probe(path)
    assert info.origin_s == pytest.approx(spec.start_offset_s, abs=1e-6)
    times = [f.time_s for f in iter_video_frames(path, info=info)]
    np.testing.assert_allclose(times, _frame_times(spec), atol=1e-4)
    assert info.video.frame_rate_hz == pytest.approx(float(spec.fps), rel=1e-6)
    assert info.video.is_variable_rate == bool(spec.drop_every)


def test_rotation_flag_gives_upright_portrait_frames(make_clip):
    spec = ClipSpec(duration_s=2, cut_times_s=(1.0,), rotation_deg=-90, width=320, height=180)
    info = probe(make_clip(spec))
    assert info.video.rotation_deg == -90
    assert (info.video.display_width, info.video.display_height) == (180, 320)
    frame = next(iter_video_frames(make_clip(spec), max_side=128))
    assert frame.rgb.shape == (128, 72, 3)
    # Upright means the coded frame turned clockwise: coded column 0 becomes the top row.
    plain = next(
        iter_video_frames(
            make_clip(ClipSpec(duration_s=2, cut_times_s=(1.0,), width=320, height=180)),
            max_side=128,
        )
    )
    np.testing.assert_allclose(
        frame.rgb.astype(float), np.rot90(plain.rgb, k=-1).astype(float), atol=12
    )


def test_non_square_pixels_are_resampled_to_display_aspect(make_clip):
    spec = ClipSpec(
        duration_s=2, cut_times_s=(1.0,), width=480, height=360, sample_aspect_ratio=Fraction(4, 3)
    )
    info = probe(make_clip(spec))
    assert info.video.sample_aspect_ratio == Fraction(4, 3)
    assert (info.video.display_width, info.video.display_height) == (640, 360)
    assert analysis_size(info.video, max_side=256) == (256, 144)


def test_rate_hz_keeps_one_frame_per_tick(make_clip):
    path = make_clip(ClipSpec(duration_s=3, cut_times_s=(1.0,)))
    times = [f.time_s for f in iter_video_frames(path, rate_hz=10)]
    assert len(times) == 30
    np.testing.assert_allclose(np.diff(times), 0.1, atol=1e-6)


@pytest.mark.parametrize("audio_start_s", [0.0, 0.4, -0.4])
def test_audio_is_aligned_to_the_first_video_frame(tmp_path, audio_start_s):
    sr = 48000
    y = np.zeros((2, 4 * sr), np.float32)
    y[:, 2 * sr : 2 * sr + 100] = 0.9  # a click 2 s into the audio
    path = tmp_path / "av.mp4"
    render_clip(
        path,
        ClipSpec(duration_s=4, cut_times_s=(2.0,), start_offset_s=1.0),
        audio=AudioSignal(y, sr, audio_start_s),
    )
    audio = decode_audio(path, sample_rate_hz=sr, channels=2)
    assert audio.samples.shape[0] == 2
    click_s = np.argmax(np.abs(audio.mono)) / sr
    assert click_s == pytest.approx(2.0 + audio_start_s, abs=0.002)


def test_shared_rotated_file_reports_rotation_and_audio():
    info = probe(shared_media_path("video/issue-134-rotate.mp4"))
    assert info.video.rotation_deg == -90
    assert (info.video.display_width, info.video.display_height) == (544, 1280)
    assert info.audio[0].codec == "aac"


def test_shared_vfr_file_keeps_true_timestamps():
    path = shared_media_path("video/goldeneye-vfr-drop3.mp4")
    info = probe(path)
    assert info.video.is_variable_rate
    assert info.video.frame_rate_hz == pytest.approx(24000 / 1001)
    times = np.array([f.time_s for f in iter_video_frames(path, info=info)])
    assert len(times) == 160
    steps = np.round(np.diff(times) * info.video.frame_rate_hz).astype(int)
    assert set(steps) <= {1, 2, 3} and 2 in steps  # dropped frames leave gaps on the grid


def test_shared_music_with_cover_art_is_audio_only():
    info = probe(shared_media_path("music/Kevin_MacLeod_-_Vibe_Ace.hq.ogg"))
    assert info.video is None  # the embedded mjpeg cover is not video
    assert info.duration_s == pytest.approx(61.46, abs=0.05)
    audio = decode_audio(info.path, sample_rate_hz=22050, info=info)
    assert audio.duration_s == pytest.approx(61.46, abs=0.05)


def test_shared_webm_start_offset_is_the_origin():
    info = probe(shared_media_path("video/big_buck_bunny_0_30.webm"))
    assert info.origin_s == pytest.approx(0.003)
    first = next(iter_video_frames(info.path, info=info))
    assert first.time_s == 0.0
