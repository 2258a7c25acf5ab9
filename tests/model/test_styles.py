"""Styles from prompts and explicit overrides."""

import numpy as np
import pytest

from v2m.model.errors import InvalidInputError
from v2m.model.styles import PRESETS, choose_style, parse_key, parse_prompt_overrides


@pytest.mark.parametrize(
    "prompt,style",
    [
        ("dark epic trailer with big drums", "cinematic"),
        ("chill lofi beats to study to", "lofi"),
        ("energetic techno for a club night", "electronic"),
        ("slow atmospheric aerial landscape", "ambient"),
        ("elegant classical strings", "orchestral"),
        ("loud distorted guitar skate video", "rock"),
        ("hip-hop beat for a city street montage", "hiphop"),
        ("gentle piano for a wedding", "acoustic"),
    ],
)
def test_prompt_picks_the_style_it_means(prompt, style):
    assert choose_style(prompt).style.name == style


def test_at_least_eight_presets_with_sane_tempo_ranges():
    assert len(PRESETS) >= 8
    for s in PRESETS.values():
        lo, hi = s.bpm_range
        assert 40 <= lo <= s.bpm <= hi <= 240, s.name


def test_overrides_from_the_prompt():
    o = parse_prompt_overrides("moody lofi at 72 bpm in F# minor, 3/4, no drums")
    assert (o.bpm, o.tonic, o.mode, o.meter) == (72.0, "F#", "minor", 3)
    assert "drums" not in o.stems
    assert parse_prompt_overrides("only bass and drums").stems == ("drums", "bass")
    style = choose_style("lofi at 72 bpm in F# minor").style
    assert style.bpm == 72 and style.tonic == "F#" and style.mode == "minor"
    assert style.bpm_range[0] <= 72 <= style.bpm_range[1]


def test_flags_win_over_the_prompt():
    from v2m.model.styles import Overrides

    s = choose_style("rock at 150 bpm", overrides=Overrides(bpm=100.0)).style
    assert s.bpm == 100.0


def test_keys_parse_and_bad_values_are_refused():
    assert parse_key("Bb major") == ("A#", "major")
    assert parse_key("c") == ("C", None)
    with pytest.raises(InvalidInputError, match="cannot read key"):
        parse_key("H minor")
    with pytest.raises(InvalidInputError, match="playable range"):
        parse_prompt_overrides("drum and bass at 900 bpm")
    with pytest.raises(InvalidInputError, match="no stems"):
        parse_prompt_overrides("no drums, no bass, no chords, no melody, no fx")
    with pytest.raises(InvalidInputError, match="unknown style"):
        choose_style("anything", style="polka")


@pytest.fixture
def tiny_text_encoder(tmp_path, monkeypatch):
    """A tiny random BERT + WordPiece tokenizer saved like a sentence-transformers folder."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)  # reproducible random weights

    vocab = tmp_path / "vocab.txt"
    words = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "music",
        "for",
        "a",
        "the",
        "dark",
        "slow",
        "sea",
        "city",
        "night",
        "dance",
        "wedding",
        "piano",
        "drums",
    ]
    vocab.write_text("\n".join(words) + "\n")
    folder = tmp_path / "encoder"
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(words),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
    )
    BertModel(config).save_pretrained(folder)
    monkeypatch.setenv("V2M_TEXT_ENCODER_DIR", str(folder))
    from v2m.model.semantic import _load

    _load.cache_clear()
    return folder


def test_semantic_scores_load_from_a_local_folder(tiny_text_encoder):
    from v2m.model.semantic import embed, semantic_scores

    vectors = embed(["dark night city", "a wedding with piano"], folder=str(tiny_text_encoder))
    assert vectors.shape == (2, 16)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    scores = semantic_scores("slow sea", {"a": "the sea", "b": "drums"})
    assert set(scores) == {"a", "b"} and all(-1 <= v <= 1 for v in scores.values())
    # A prompt the keywords cannot place goes through the model and still picks a preset.
    assert choose_style("the sea at night").style.name in PRESETS


def test_without_a_model_keywords_decide(monkeypatch, tmp_path):
    monkeypatch.setenv("V2M_TEXT_ENCODER_DIR", str(tmp_path / "nothing-here"))
    from v2m.model.semantic import semantic_scores

    assert semantic_scores("anything", {"a": "b"}) is None
    assert choose_style("lofi beats").style.name == "lofi"


@pytest.mark.parametrize(
    "prompt,style",
    [
        ("a tense chase through a neon-lit city at night", "cinematic"),
        ("old black and white ballroom dancers", "orchestral"),
        ("a documentary about whales", "ambient"),
        ("skateboarders crash and jump in a parking lot", "rock"),
    ],
)
def test_descriptive_prompts_match_by_meaning(prompt, style, monkeypatch):
    from v2m.model.semantic import text_encoder_dir

    monkeypatch.delenv("V2M_TEXT_ENCODER_DIR", raising=False)
    if text_encoder_dir() is None:
        pytest.skip("no sentence-embedding model installed (scripts/setup.sh installs one)")
    assert choose_style(prompt).style.name == style
