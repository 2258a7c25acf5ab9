"""Bad input gets a typed error whose message names the problem."""

import numpy as np
import pytest

from tests.helpers import write_audio
from v2m.model.analysis import AnalysisSettings, analyze
from v2m.model.errors import (
    CorruptMediaError,
    InvalidInputError,
    MediaError,
    MediaNotFoundError,
    NoStreamError,
    UnknownNameError,
    UnsupportedMediaError,
)
from v2m.model.media import decode_audio, probe
from v2m.model.sample_clip import ClipSpec, render_clip


def test_missing_file(tmp_path):
    with pytest.raises(MediaNotFoundError, match="not found"):
        analyze(tmp_path / "nope.mp4")


def test_zero_length_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(CorruptMediaError, match="empty"):
        analyze(tmp_path / "empty.mp4")


def test_text_file_renamed_mp4(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("these are my edit notes, not a video\n" * 50)
    with pytest.raises(CorruptMediaError, match="cannot read .*notes.mp4.* as media"):
        analyze(path)


def test_truncated_file_without_index(make_clip, tmp_path):
    data = make_clip(ClipSpec(duration_s=4, cut_times_s=(2.0,))).read_bytes()
    path = tmp_path / "cut_short.mp4"
    path.write_bytes(data[: len(data) // 2])  # the MP4 index (moov) is at the end: gone
    with pytest.raises(CorruptMediaError, match="truncated|cannot read"):
        analyze(path)


def test_truncated_file_with_index_up_front(tmp_path):
    import av

    full = tmp_path / "faststart.mp4"
    with av.open(str(full), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 128, 72, "yuv420p"
        rng = np.random.default_rng(0)
        for _ in range(100):
            img = rng.integers(0, 255, (72, 128, 3), dtype=np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode(None))
    data = full.read_bytes()
    path = tmp_path / "faststart_cut.mp4"
    path.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(CorruptMediaError, match="truncated"):
        analyze(path)


def test_audio_only_file_asked_for_video(tmp_path):
    path = write_audio(tmp_path / "tone.flac", np.zeros((1, 22050), np.float32), 22050)
    with pytest.raises(NoStreamError, match="no video stream"):
        analyze(path, settings=AnalysisSettings(encoder="pixels"))


def test_video_without_audio_asked_for_audio(make_clip):
    path = make_clip(ClipSpec(duration_s=2, cut_times_s=(1.0,)))
    with pytest.raises(NoStreamError, match="no audio stream"):
        decode_audio(path)
    with pytest.raises(NoStreamError, match="reads music"):
        analyze(path, settings=AnalysisSettings(encoder="spectral"))


def test_unknown_encoder_is_refused_before_decoding():
    with pytest.raises(UnknownNameError, match="unknown encoder 'vgg'; choose one of"):
        AnalysisSettings(encoder="vgg")


def test_huge_frame_size_is_refused_without_decoding(tmp_path):
    path = tmp_path / "huge.y4m"
    path.write_bytes(b"YUV4MPEG2 W12000 H12000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + b"\0" * 1024)
    with pytest.raises(UnsupportedMediaError, match="12000x12000"):
        probe(path)


def test_directory_is_not_media(tmp_path):
    with pytest.raises(InvalidInputError, match="directory"):
        analyze(tmp_path)


def test_single_frame_video_is_too_short(tmp_path):
    path = tmp_path / "one.mp4"
    render_clip(path, ClipSpec(duration_s=1 / 30, cut_times_s=()))
    with pytest.raises(MediaError, match="too short|need at least 2"):
        analyze(path)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"rate_hz": 0}, "curve rate"),
        ({"rate_hz": 1e6}, "curve rate"),
        ({"kernel_size": 4}, "odd"),
        ({"analysis_fps": -1}, "analysis fps"),
    ],
)
def test_absurd_parameters(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        AnalysisSettings(**kwargs)


def test_errors_are_both_typed_and_standard():
    assert issubclass(CorruptMediaError, ValueError)  # callers may catch ValueError
    assert issubclass(MediaNotFoundError, FileNotFoundError)
    assert issubclass(UnknownNameError, KeyError)


def _striped(width: int, height: int, n: int = 36):
    """Frames of one shape: a bright bar sweeping across, a cut (new shade) every 12 frames."""
    for i in range(n):
        img = np.full((height, width, 3), 40 + 70 * (i // 12), np.uint8)
        x = (i * max(1, width // 24)) % width
        y = (i * max(1, height // 24)) % height
        img[: max(1, height // 4) + y, : max(1, width // 4) + x] = 230
        yield img


@pytest.mark.parametrize("width,height", [(8000, 16), (16, 8000), (2, 2), (4096, 2), (2, 1080)])
def test_extreme_frame_shapes_analyse_with_every_video_encoder(tmp_path, width, height):
    """Very wide, very tall or tiny pictures are media like any other: every built-in video
    encoder, the cut detector and the scorer take them (no traceback)."""
    from tests.helpers import write_video
    from v2m.model.options import ScoreOptions
    from v2m.model.pipeline import score

    path = write_video(tmp_path / f"{width}x{height}.mp4", _striped(width, height), 12)
    for encoder in ("pixels", "motion"):
        analysis = analyze(path, settings=AnalysisSettings(encoder=encoder))
        assert np.isfinite(analysis.curves.smoothed.values).all()
        assert len(analysis.feature_times_s) == 36
    job = score(path, ScoreOptions(seed=0))
    assert job.request.duration_s == pytest.approx(3.0, abs=0.1)
    assert np.isfinite(job.result.mix).all()
