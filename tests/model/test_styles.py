"""Styles from prompts and explicit overrides."""

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
