"""A tiny random Stable Audio Open base in the diffusers layout, built and saved by the tests
(no download): the real classes at toy sizes — transformer, Oobleck VAE (16 kHz, hop 256:
62.5 latent frames per second), T5 encoder and tokenizer, projection model."""

from __future__ import annotations

from pathlib import Path


def write_tiny_tokenizer(folder: Path) -> None:
    """A word-level tokenizer saved in the transformers layout."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["dark", "trailer", "waltz", "steady", "sparse", "clicks", "drums"]
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(words)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    fast.save_pretrained(folder)


def write_tiny_stable_audio_base(base: Path, *, seed: int = 0) -> Path:
    import diffusers
    import torch
    from diffusers.pipelines.stable_audio.modeling_stable_audio import StableAudioProjectionModel
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    diffusers.StableAudioDiTModel(
        sample_size=32,
        in_channels=4,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=2,
        num_key_value_attention_heads=1,
        out_channels=4,
        cross_attention_dim=16,
        time_proj_dim=16,
        global_states_input_dim=32,
        cross_attention_input_dim=16,
    ).save_pretrained(base / "transformer")
    diffusers.AutoencoderOobleck(
        encoder_hidden_size=8,
        downsampling_ratios=[4, 8, 8],
        channel_multiples=[1, 2, 2],
        decoder_channels=8,
        decoder_input_channels=4,
        audio_channels=2,
        sampling_rate=16000,
    ).save_pretrained(base / "vae")
    T5EncoderModel(
        T5Config(vocab_size=64, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    ).save_pretrained(base / "text_encoder")
    write_tiny_tokenizer(base / "tokenizer")
    StableAudioProjectionModel(
        text_encoder_dim=16, conditioning_dim=16, min_value=0, max_value=512
    ).save_pretrained(base / "projection_model")
    return base
