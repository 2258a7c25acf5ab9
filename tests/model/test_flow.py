"""The flow backend's parts: shapes, zero-init equality with a base, the loss, the sampler,
checkpoints, tiny diffusers/transformers bases loaded from folders, and the backend end to end."""

import json
import re

import numpy as np
import pytest
import torch

from tests.flow_base import write_tiny_tokenizer
from v2m.model.errors import InvalidInputError, WeightsNotFoundError
from v2m.model.flow.checkpoint import FlowModel, load_checkpoint, save_checkpoint
from v2m.model.flow.config import FlowConfig
from v2m.model.flow.dit import CurveDiT
from v2m.model.flow.generate import window_starts
from v2m.model.flow.rectified import euler_sample, flow_loss, interpolate
from v2m.model.flow.train import learning_rate_at, train

TINY = FlowConfig(latent_channels=6, window_frames=24, hidden=32, depth=2, heads=2, text_dim=16)


def _inputs(b=2, length=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, TINY.latent_channels, length, generator=g)
    curve = torch.randn(b, length, generator=g)
    text = torch.randn(b, 5, TINY.text_dim, generator=g)
    mask = torch.ones(b, 5, dtype=torch.bool)
    return x, torch.rand(b, generator=g), curve, text, mask


def test_curve_is_one_extra_input_channel_and_shapes_hold():
    model = CurveDiT(TINY)
    assert model.input_proj.in_features == TINY.latent_channels + 1  # [x_t, e]
    x, t, curve, text, mask = _inputs(length=20)
    v = model(x, t, curve, text, mask)
    assert v.shape == x.shape
    for block in model.blocks:  # a non-trivial network: make adaLN gates non-zero
        torch.nn.init.normal_(block.ada.weight, std=0.2)
    a = model(x, t, curve, text, mask)
    b = model(x, t, curve + 1.0, text, mask)
    assert not torch.allclose(a, b)  # the curve reaches the output
    dropped = model(x, t, curve, text, mask, drop_curve=torch.tensor([True, True]))
    assert torch.allclose(dropped, model(x, t, curve * 0 + model.null_curve, text, mask))
    with pytest.raises(ValueError, match="window"):
        model(*_inputs(length=30))


def test_loss_is_eq6_on_a_hand_computed_batch():
    x0 = torch.tensor([[[1.0, 2.0]]])
    noise = torch.tensor([[[0.0, -1.0]]])
    t = torch.tensor([0.25])
    assert torch.allclose(interpolate(x0, noise, t), torch.tensor([[[0.75, 1.25]]]))
    v = torch.tensor([[[0.0, 0.0]]])
    # target ε − x0 = [-1, -3]: mean of 1 and 9
    assert flow_loss(v, x0, noise).item() == pytest.approx(5.0)
    assert flow_loss(noise - x0, x0, noise).item() == 0.0


def test_euler_integrates_the_straight_path_field_exactly():
    g = torch.Generator().manual_seed(1)
    target = torch.randn(3, 4, 10, generator=g)
    noise = torch.randn(3, 4, 10, generator=g)

    def velocity(x, t):  # the field whose paths are straight lines into ``target``
        return (x - target) / t.view(-1, 1, 1)

    for steps in (1, 7, 96):
        assert torch.allclose(euler_sample(velocity, noise, steps=steps), target, atol=1e-5)


def test_learning_rate_warms_up_then_holds_or_anneals_to_a_tenth():
    kw = {"steps": 100, "peak": 1e-3, "warmup_steps": 10}
    assert learning_rate_at(0, **kw) == pytest.approx(1e-4)
    assert learning_rate_at(9, **kw) == pytest.approx(1e-3)
    assert learning_rate_at(99, **kw) == pytest.approx(1e-3)
    cosine = [learning_rate_at(s, **kw, cosine_decay=True) for s in range(10, 101)]
    assert cosine[0] == pytest.approx(1e-3) and cosine[-1] == pytest.approx(1e-4)
    assert all(a >= b for a, b in zip(cosine, cosine[1:], strict=False))
    assert learning_rate_at(5, steps=100, peak=1e-4) == 1e-4  # the defaults: constant


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"steps": 0}, "steps (0)"),
        ({"lr": -1e-4}, "learning rate -0.0001"),
        ({"steps": 10, "warmup_steps": 11}, "warmup steps 11"),
    ],
)
def test_absurd_training_options_are_refused_before_any_work(tmp_path, options, named):
    with pytest.raises(InvalidInputError, match=re.escape(named)):
        train([], tmp_path / "ckpt", **options)
    assert not (tmp_path / "ckpt").exists()


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    torch.manual_seed(3)
    model = FlowModel(TINY)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.1)
    save_checkpoint(model, tmp_path / "ckpt")
    loaded = load_checkpoint(tmp_path / "ckpt")
    assert json.loads((tmp_path / "ckpt" / "config.json").read_text())["hidden"] == 32
    x, t, curve, _, _ = _inputs()
    text_a, mask = model.eval().encode_text(["dark trailer", "waltz"])
    text_b, _ = loaded.encode_text(["dark trailer", "waltz"])
    a = model.dit(x, t, curve, text_a, mask)
    b = loaded.dit(x, t, curve, text_b, mask)
    assert torch.equal(a, b)
    with pytest.raises(WeightsNotFoundError, match="make one with `v2m train"):
        load_checkpoint(tmp_path / "empty")


def test_windows_cover_long_music_with_overlap():
    assert window_starts(100, 128) == [0]
    starts = window_starts(500, 128)
    assert starts[0] == 0 and starts[-1] == 500 - 128
    assert all(b - a <= 96 for a, b in zip(starts, starts[1:], strict=False))


def test_tiny_stable_audio_base_loads_and_the_curve_input_starts_at_zero(tmp_path):
    diffusers = pytest.importorskip("diffusers")
    from v2m.model.flow.stable_audio import CurveStableAudio

    torch.manual_seed(0)
    base = diffusers.StableAudioDiTModel(
        sample_size=16,
        in_channels=8,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=2,
        num_key_value_attention_heads=1,
        out_channels=8,
        cross_attention_dim=16,
        time_proj_dim=16,
        global_states_input_dim=16,
        cross_attention_input_dim=16,
    )
    base.save_pretrained(tmp_path / "base" / "transformer")
    model = CurveStableAudio.from_base(tmp_path / "base").eval()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 8, 16, generator=g)
    t = torch.rand(2, generator=g)
    text = torch.randn(2, 4, 16, generator=g)
    mask = torch.ones(2, 4, dtype=torch.bool)
    curve = torch.randn(2, 16, generator=g) * 3
    with torch.no_grad():
        plain = model.base_velocity(x, t, text, mask)
        curved = model(x, t, curve, text, mask)
    assert torch.equal(plain, curved)  # zero-initialised: the base's output, unchanged
    torch.nn.init.normal_(model.curve_proj.weight)
    with torch.no_grad():
        assert not torch.allclose(model(x, t, curve, text, mask), plain)  # trainable path
    with pytest.raises(WeightsNotFoundError, match="transformer"):
        CurveStableAudio.from_base(tmp_path / "nothing")


def test_tiny_oobleck_vae_and_t5_load_from_folders(tmp_path):
    diffusers = pytest.importorskip("diffusers")
    from transformers import T5Config, T5EncoderModel

    from v2m.model.flow.codec import OobleckCodec
    from v2m.model.flow.text import T5TextEncoder

    torch.manual_seed(0)
    vae = diffusers.AutoencoderOobleck(
        encoder_hidden_size=8,
        downsampling_ratios=[2, 4],
        channel_multiples=[1, 2],
        decoder_channels=8,
        decoder_input_channels=4,
        audio_channels=2,
        sampling_rate=16000,
    )
    vae.save_pretrained(tmp_path / "base" / "vae")
    codec = OobleckCodec(tmp_path / "base")
    latent = codec.encode(np.zeros(800, np.float32))
    assert latent.shape == (4, 100)  # 800 samples / (2 * 4)
    assert codec.decode(latent).shape == (2, 800)
    t5 = T5EncoderModel(
        T5Config(vocab_size=64, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    )
    t5.save_pretrained(tmp_path / "t5")
    write_tiny_tokenizer(tmp_path / "t5")
    encoder = T5TextEncoder(tmp_path / "t5")
    hidden, mask = encoder(["dark trailer", "waltz"])
    assert (
        hidden.shape[0] == 2 and hidden.shape[2] == 16 == encoder.dim and mask.dtype == torch.bool
    )
    with pytest.raises(WeightsNotFoundError, match="T5"):
        T5TextEncoder(tmp_path / "none")
