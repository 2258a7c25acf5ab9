"""Both renderers (SoundFont and built-in) and the SoundFont search chain."""

import numpy as np
import pytest

from v2m.model.analysis import analyze
from v2m.model.backends.composer import ComposerBackend
from v2m.model.errors import InvalidInputError
from v2m.model.hits import plan_hits
from v2m.model.metrics import scene_cut_hit
from v2m.model.options import ScoreOptions
from v2m.model.sample_clip import ClipSpec
from v2m.model.soundfont import find_soundfont, soundfont_available, unload_fonts
from v2m.model.types import ScoreRequest

CUTS = (1.5, 3.2, 5.0, 7.1)


@pytest.fixture(scope="module")
def request_for_clip(make_clip):
    clip = make_clip(ClipSpec(duration_s=9, cut_times_s=CUTS, seed=51))
    a = analyze(clip)
    return ScoreRequest(
        duration_s=a.duration_s,
        curve=a.curves.smoothed,
        hits=tuple(plan_hits(a)),
        frame_rate_hz=30.0,
        options=ScoreOptions(seed=5),
        prompt="rock",
    )


@pytest.mark.parametrize("renderer", ["builtin", "soundfont"])
def test_each_renderer_lands_the_cuts_and_is_deterministic(request_for_clip, renderer, tmp_path):
    import librosa

    if renderer == "soundfont" and not soundfont_available()[0]:
        pytest.skip(f"SoundFont rendering unavailable: {soundfont_available()[1]}")
    backend = ComposerBackend(renderer=renderer)
    first = backend.generate(request_for_clip)
    again = backend.generate(request_for_clip)
    assert first.metadata["renderer"].startswith(renderer)
    assert np.array_equal(first.mix, again.mix)
    _tempo, beats = librosa.beat.beat_track(
        y=first.mix.mean(axis=0), sr=first.sample_rate, units="time"
    )
    assert scene_cut_hit(CUTS, beats) == 1.0
    assert all(np.any(np.abs(s) > 1e-4) for name, s in first.stems.items() if name != "melody")


def test_soundfont_chain_prefers_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("V2M_SOUNDFONT", raising=False)
    default = find_soundfont()
    assert default is None or default.endswith((".sf2", ".sf3"))
    font = tmp_path / "mine.sf2"
    font.write_bytes(b"RIFF")
    monkeypatch.setenv("V2M_SOUNDFONT", str(font))
    assert find_soundfont() == str(font)
    monkeypatch.setenv("V2M_SOUNDFONT", str(tmp_path / "missing.sf2"))
    with pytest.raises(InvalidInputError, match="V2M_SOUNDFONT"):
        find_soundfont()


def test_unknown_renderer_is_refused():
    with pytest.raises(InvalidInputError, match="unknown renderer"):
        ComposerBackend(renderer="orchestra")


def test_a_kept_synthesizer_renders_exactly_like_a_new_one(request_for_clip):
    """Fonts load once per process and the synth is reset between stems and scores: every
    render equals one on a freshly loaded synth, whatever was played before it."""
    if not soundfont_available()[0]:
        pytest.skip(f"SoundFont rendering unavailable: {soundfont_available()[1]}")
    backend = ComposerBackend(renderer="soundfont")
    styles = ("hiphop", "orchestral", "rock")
    fresh = {}
    for style in styles:
        unload_fonts()  # a new, freshly loaded synth
        fresh[style] = backend.generate(_with_style(request_for_clip, style)).mix
    for style in (*styles, *styles):  # one kept synth, in turn
        assert np.array_equal(
            backend.generate(_with_style(request_for_clip, style)).mix, fresh[style]
        )


def _with_style(request, style):
    import dataclasses

    return dataclasses.replace(request, options=dataclasses.replace(request.options, style=style))
