"""Fine-tuning a Stable Audio Open base (`v2m train --base`), on a tiny random base of the real
architecture built by the tests: train → resume → `v2m score --backend flow`, LoRA round trip,
the curve input leaving the base's output unchanged, and the refusals."""

import json
import shutil

import pytest
import soundfile
import torch

from tests.flow_base import write_tiny_stable_audio_base
from tests.helpers import click_track, write_audio
from v2m.model.errors import InvalidInputError, WeightsNotFoundError
from v2m.model.sample_clip import ClipSpec
from v2m.server.cli import main

pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return write_tiny_stable_audio_base(tmp_path_factory.mktemp("sao") / "base")


@pytest.fixture(scope="module")
def music(tmp_path_factory):
    folder = tmp_path_factory.mktemp("music")
    for i, beats in enumerate(([0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75], [0.3, 0.9, 1.4])):
        write_audio(folder / f"song{i}.wav", click_track(beats, duration_s=2.0), 16000)
        (folder / f"song{i}.txt").write_text("steady clicks" if i else "sparse drums")
    return folder


def _train(music, base, out, steps, *extra):
    args = ["train", str(music), "-o", str(out), "--base", str(base), "--batch-size", "2"]
    return main([*args, "--steps", str(steps), "--save-every", "2", "-q", *extra])


def test_train_a_base_then_resume_then_score_with_it(music, base, make_clip, tmp_path):
    out = tmp_path / "ckpt"
    assert _train(music, base, out, 2, "--gradient-checkpointing") == 0
    assert _train(music, base, out, 4) == 0  # resumes from step 2
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "stable-audio" and config["base"] == str(base.resolve())
    assert config["latent_rate_hz"] == 62.5 and config["lora_rank"] == 0
    assert torch.load(out / "train_state.pt", weights_only=False)["step"] == 4
    assert len(list((out / "cache").glob("*.npz"))) == 2  # latents encoded once, cached
    clip = make_clip(ClipSpec(duration_s=2.0, cut_times_s=(1.0,), width=96, height=64))
    scored = tmp_path / "scored"
    args = ["score", str(clip), "-o", str(scored), "--backend", "flow", "--checkpoint", str(out)]
    assert main([*args, "--prompt", "steady clicks", "--no-preview"]) == 0
    mix, rate = soundfile.read(scored / "mix.wav")
    assert rate == 48000 and mix.shape == (96000, 2)  # the base's VAE decoded, in stereo
    result = json.loads((scored / "hits.json").read_text())["result"]
    assert result["backend"] == "flow" and result["checkpoint"] == str(out)


def test_lora_weights_save_and_load_back_exactly(base, tmp_path):
    from v2m.model.flow.base_model import BaseFlowConfig, BaseFlowModel
    from v2m.model.flow.checkpoint import load_checkpoint, save_checkpoint

    torch.manual_seed(1)
    model = BaseFlowModel(BaseFlowConfig.for_base(base, lora_rank=2)).eval()
    saved = model.checkpoint_state()
    assert all("lora_" in n or n.startswith(("dit.curve_proj", "dit.null_")) for n in saved)
    assert (
        sum("lora_" in n for n in saved) == 2 * 4 * 2 * 2
    )  # A, B; q k v out; self, cross; 2 blocks
    for name, p in saved.items():
        torch.nn.init.normal_(p, std=0.05) if "lora_b" in name else None
    save_checkpoint(model, tmp_path / "lora")
    loaded = load_checkpoint(tmp_path / "lora")
    size = (tmp_path / "lora" / "model.safetensors").stat().st_size
    whole = sum(f.stat().st_size for f in (base / "transformer").glob("*.safetensors"))
    assert size < whole / 2  # adapters only, not the base again
    g = torch.Generator().manual_seed(3)
    x, t = torch.randn(2, 4, 32, generator=g), torch.rand(2, generator=g)
    curve = torch.randn(2, 32, generator=g)
    text, mask = model.encode_text(["dark trailer", "waltz"])
    with torch.no_grad():
        assert torch.equal(model.dit(x, t, curve, text, mask), loaded.dit(x, t, curve, text, mask))
    config = json.loads((tmp_path / "lora" / "config.json").read_text())
    config["lora_rank"] = 3
    (tmp_path / "lora" / "config.json").write_text(json.dumps(config))
    with pytest.raises(InvalidInputError, match="another LoRA rank or base"):
        load_checkpoint(tmp_path / "lora")


def test_the_zero_initialised_curve_input_leaves_the_base_unchanged(base):
    """The fine-tune starts as the base: same output as the base transformer conditioned the
    way the Stable Audio pipeline conditions it (prompt + seconds tokens, seconds as the global
    state), for any curve — with or without LoRA adapters (B starts at zero)."""
    from diffusers import StableAudioDiTModel
    from diffusers.models.embeddings import get_1d_rotary_pos_embed

    from v2m.model.flow.base_model import BaseFlowConfig, BaseFlowModel

    plain = StableAudioDiTModel.from_pretrained(base / "transformer").eval()
    for rank in (0, 2):
        model = BaseFlowModel(BaseFlowConfig.for_base(base, lora_rank=rank)).eval()
        g = torch.Generator().manual_seed(4)
        x, t = torch.randn(2, 4, 32, generator=g), torch.rand(2, generator=g)
        text, mask = model.encode_text(["dark trailer", "waltz"])
        global_states = torch.cat([text[:, -2:-1], text[:, -1:]], dim=2)
        rotary = get_1d_rotary_pos_embed(4, 33, use_real=True, repeat_interleave_real=False)
        with torch.no_grad():
            expected = plain(
                x,
                timestep=t,
                encoder_hidden_states=text,
                global_hidden_states=global_states,
                rotary_embedding=rotary,
                encoder_attention_mask=mask,
            ).sample
            for curve in (torch.zeros(2, 32), torch.randn(2, 32, generator=g) * 3):
                got = model.dit(x, t, curve, text, mask)
                torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)  # float rounding


def test_a_folder_that_is_not_a_base_is_named_with_what_it_lacks(base, music, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(base, partial, ignore=shutil.ignore_patterns("projection_model", "tokenizer"))
    with pytest.raises(WeightsNotFoundError) as err:
        from v2m.model.flow.base_model import check_base

        check_base(partial)
    assert "tokenizer/tokenizer_config.json" in str(err.value)
    assert "projection_model/config.json" in str(err.value)
    assert _train(music, partial, tmp_path / "out", 1) == 1  # the CLI says so, exit 1


def test_music_without_captions_is_refused_naming_the_files(base, music, tmp_path, capsys):
    folder = tmp_path / "music"
    shutil.copytree(music, folder)
    (folder / "song1.txt").unlink()
    assert _train(folder, base, tmp_path / "out", 1) == 2
    said = capsys.readouterr().err
    assert "1 of 2 files" in said and "song1.wav" in said and "NAME.txt" in said


def test_fine_tuning_the_large_base_on_a_cpu_is_estimated_and_refused():
    from v2m.model.flow.base_model import cpu_fine_tune_hours

    # Stable Audio Open 1.0: ~1.06 B transformer weights, 1024-frame windows, batch 16, 10 k steps
    hours = cpu_fine_tune_hours(1_060_000_000, batch_size=16, window_frames=1024, steps=10_000)
    assert 2500 < hours < 3000  # months: refused by `v2m train --base` without a GPU
