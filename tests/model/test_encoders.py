"""Encoder registry, the motion encoder, and weight-backed encoders on tiny saved models."""

import json

import numpy as np
import pytest

from tests.helpers import click_track, write_audio
from v2m.model import curves as C
from v2m.model.analysis import AnalysisSettings, analyze
from v2m.model.encoders import create_encoder, list_encoders
from v2m.model.errors import InvalidInputError, UnknownNameError, WeightsNotFoundError
from v2m.model.sample_clip import ClipSpec
from v2m.server.cli import main


def test_registry_lists_every_encoder_with_its_modality():
    names = {(e.name, e.modality, e.needs_weights) for e in list_encoders()}
    assert names == {
        ("pixels", "video", False),
        ("motion", "video", False),
        ("dinov2", "video", True),
        ("spectral", "music", False),
        ("mert", "music", True),
    }


def test_unknown_encoder_names_the_choices():
    with pytest.raises(UnknownNameError, match="unknown encoder 'clip'.*pixels"):
        create_encoder("clip")


def test_built_in_encoder_refuses_weights():
    with pytest.raises(InvalidInputError, match="takes no weights"):
        create_encoder("pixels", weights_dir="/tmp")


def test_missing_weights_say_what_to_put_where(tmp_path, monkeypatch):
    monkeypatch.delenv("V2M_DINOV2_DIR", raising=False)
    with pytest.raises(WeightsNotFoundError, match="V2M_DINOV2_DIR"):
        create_encoder("dinov2")
    with pytest.raises(WeightsNotFoundError, match="no config.json"):
        create_encoder("dinov2", weights_dir=tmp_path)


def _swinging_disc(reversal_every: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A disc that moves right then left, turning every ``reversal_every`` frames at 30 fps."""
    import cv2

    frames, x, v = [], 60.0, 3.0
    rng = np.random.default_rng(0)
    backdrop = cv2.resize(rng.uniform(0, 255, (9, 16, 3)).astype(np.uint8), (256, 144))
    for i in range(n):
        if i and i % reversal_every == 0:
            v = -v
        x += v
        img = backdrop.copy()
        cv2.circle(img, (int(x), 72), 30, (255, 255, 255), -1)
        frames.append(img)
    return np.stack(frames), np.arange(n) / 30.0


def test_motion_curve_peaks_where_movement_turns():
    frames, times = _swinging_disc(15, 120)  # turns at frames 15, 30, ... (every 0.5 s)
    enc = create_encoder("motion")
    feats = np.concatenate(
        [enc.encode(frames[i : i + 16], times[i : i + 16])[0] for i in range(0, len(frames), 16)]
    )  # stateful across batches
    curve = C.event_curve(feats, times, rate_hz=30, kernel_size=1)
    peaks = curve.raw_times_s[
        C.pick_peaks(curve.raw, curve.raw_times_s, min_spacing_s=0.3, min_height=1.0)
    ]
    turns = np.arange(15, 120, 15) / 30.0
    assert len(peaks) == len(turns)
    np.testing.assert_allclose(peaks, turns, atol=2.5 / 30)


@pytest.fixture(scope="module")
def tiny_dinov2(tmp_path_factory):
    import torch
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)  # reproducible random weights

    path = tmp_path_factory.mktemp("dinov2")
    config = Dinov2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=56,
        patch_size=14,
    )
    Dinov2Model(config).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_hubert(tmp_path_factory):
    import torch
    from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

    torch.manual_seed(0)  # reproducible random weights

    path = tmp_path_factory.mktemp("mert")
    config = HubertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16, 16),
        conv_stride=(5, 4, 4),
        conv_kernel=(10, 8, 4),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    HubertModel(config).save_pretrained(path)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(path)
    return path


def test_dinov2_loads_from_a_local_directory_and_pools_patches(tiny_dinov2):
    import torch
    from transformers import Dinov2Model

    enc = create_encoder("dinov2", weights_dir=tiny_dinov2)
    frames = np.random.default_rng(0).integers(0, 255, (3, 72, 128, 3), dtype=np.uint8)
    feats, times = enc.encode(frames, np.arange(3.0))
    assert feats.shape == (3, 32) and feats.dtype == np.float32
    # Same numbers as running the saved model by hand on the same preprocessing.
    model = Dinov2Model.from_pretrained(tiny_dinov2).eval()
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
    x = torch.nn.functional.interpolate(x, size=(56, 56), mode="bilinear", antialias=True)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        ref = model(pixel_values=(x - mean) / std).last_hidden_state[:, 1:].mean(1).numpy()
    np.testing.assert_allclose(feats, ref, rtol=1e-4, atol=1e-5)


def test_dinov2_through_the_cli(tiny_dinov2, make_clip, tmp_path, capsys):
    clip = make_clip(ClipSpec(duration_s=3, cut_times_s=(1.5,)))
    out = tmp_path / "curve.json"
    rc = main(
        [
            "curve",
            str(clip),
            "--encoder",
            "dinov2",
            "--weights",
            str(tiny_dinov2),
            "--analysis-fps",
            "10",
            "--json",
            str(out),
            "-q",
        ]
    )
    assert rc == 0
    data = json.loads(out.read_text())
    assert data["settings"]["encoder"] == "dinov2"
    assert len(data["raw"]["values"]) == 29  # 30 frames at 10 fps → 29 pairs
    assert [c["time_s"] for c in data["cuts"]] == [1.5]  # cuts still from every frame


def test_mert_style_model_gives_frames_at_its_hop(tiny_hubert, tmp_path):
    path = write_audio(
        tmp_path / "clicks.flac",
        click_track([0.5, 1.0, 1.5], duration_s=2.0, sample_rate_hz=16000),
        16000,
    )
    analysis = analyze(
        path, settings=AnalysisSettings(encoder="mert", weights_dir=str(tiny_hubert))
    )
    t = analysis.feature_times_s
    hop = 5 * 4 * 4 / 16000
    np.testing.assert_allclose(np.diff(t), hop, atol=1e-9)
    receptive = 1 + 9 + 7 * 5 + 3 * 20  # kernels 10, 8, 4 at strides 1, 5, 20
    assert t[0] == pytest.approx((receptive - 1) / 2 / 16000)  # centre of the first frame
    assert len(t) == pytest.approx(2.0 / hop, abs=2)
    assert analysis.modality == "music" and analysis.cuts == ()


def test_mert_long_audio_is_windowed_without_gaps(tiny_hubert):
    from v2m.model.media import AudioSignal

    enc = create_encoder("mert", weights_dir=tiny_hubert, window_s=0.5)
    y = np.random.default_rng(0).standard_normal((1, 16000 * 2)).astype(np.float32) * 0.1
    feats, t = enc.encode(AudioSignal(y, 16000))
    np.testing.assert_allclose(np.diff(t), 80 / 16000, atol=1e-9)
    assert feats.shape[1] == 32
