"""SoundFonts: SF3 decoded once into an SF2, the font chain per instrument, prepared fonts.

The fonts are built by the tests (``tests/soundfonts.py``): a looped 441 Hz sine as a melodic
preset and a drum kit, stored plainly (SF2) or as an Ogg Vorbis stream (SF3)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tests.soundfonts import LOOP, RATE_HZ, TONE_HZ, build_soundfont, sine_frames
from v2m.model import soundfont as S
from v2m.model.arrange import Note
from v2m.model.errors import InvalidInputError
from v2m.model.fontconvert import _SHDR, SHDR_BYTES, sf3_to_sf2

tinysoundfont = pytest.importorskip("tinysoundfont", reason="scripts/setup.sh installs it")


def _play(font, *, seconds: float = 2.0) -> np.ndarray:
    synth = tinysoundfont.Synth(samplerate=RATE_HZ)
    sfid = synth.sfload(str(font))
    synth.program_select(0, sfid, 0, 0)
    synth.noteon(0, 69, 100)
    return np.frombuffer(synth.generate(int(seconds * RATE_HZ)), np.float32).reshape(-1, 2)[:, 0]


def _headers(font) -> list[tuple]:
    data = font.read_bytes()
    at = data.index(b"shdr")
    size = struct.unpack_from("<I", data, at + 4)[0]
    return [_SHDR.unpack_from(data, at + 8 + i) for i in range(0, size, SHDR_BYTES)]


def test_sf3_decodes_into_an_sf2_that_plays_like_the_original(tmp_path):
    plain = build_soundfont(tmp_path / "plain.sf2", compressed=False)
    small = build_soundfont(tmp_path / "small.sf3", compressed=True)
    converted = sf3_to_sf2(small, tmp_path / "c.sf2")
    ref, out = _play(plain), _play(converted)
    # The second second is past the 1 s sample: only a correct loop keeps the tone going.
    tail = out[RATE_HZ:]
    assert tail.std() > 0.5 * ref[RATE_HZ:].std()
    peak_hz = np.argmax(np.abs(np.fft.rfft(tail))) * RATE_HZ / len(tail)
    assert peak_hz == pytest.approx(TONE_HZ, abs=1.0)
    assert np.corrcoef(ref, out)[0, 1] > 0.99  # Vorbis is lossy, the tone is the same
    sample, terminal = _headers(converted)
    _name, start, end, loop_start, loop_end, rate, key, _c, _link, kind = sample
    assert (start, end - start, loop_start, loop_end) == (0, len(sine_frames()), *LOOP)
    assert kind & 0x10 == 0 and (rate, key) == (RATE_HZ, 69)
    assert terminal[0].startswith(b"EOS")
    assert b"ifil" + struct.pack("<IHH", 4, 2, 1) in converted.read_bytes()


def test_an_sf2_passes_through_unchanged_in_sound(tmp_path):
    plain = build_soundfont(tmp_path / "plain.sf2", compressed=False)
    again = sf3_to_sf2(plain, tmp_path / "again.sf2")
    assert np.array_equal(_play(plain), _play(again))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b"not a soundfont at all", "not a SoundFont"),
        (lambda b: b[: len(b) // 2], "past the end|no pdta"),
        (lambda b: b.replace(b"shdr", b"shdx"), "sample headers"),
        (lambda b: b.replace(b"OggS", b"Junk"), "does not decode"),
    ],
)
def test_a_damaged_font_is_refused_with_the_reason(tmp_path, damage, message):
    good = build_soundfont(tmp_path / "good.sf3", compressed=True).read_bytes()
    bad = tmp_path / "bad.sf3"
    bad.write_bytes(damage(good))
    with pytest.raises(InvalidInputError, match=message):
        sf3_to_sf2(bad, tmp_path / "out.sf2")
    assert not (tmp_path / "out.sf2").exists()


def test_each_instrument_plays_from_the_first_font_that_has_it(tmp_path, monkeypatch):
    """The tiny font has program 0 and kit 0 only: a violin (40) and the orchestra kit (48)
    come from further down the chain; the sources say which."""
    tiny = build_soundfont(tmp_path / "tiny.sf2", compressed=False)
    monkeypatch.setenv("V2M_SOUNDFONT", str(tiny))
    if len(S.font_chain()) < 2:
        pytest.skip("no General-MIDI font below the test font (pretty_midi carries TimGM6mb)")
    notes = [
        Note("melody", 0.0, 1.0, 69, 100, program=0),
        Note("melody", 1.0, 1.0, 69, 100, program=40),
        Note("drums", 0.0, 1.0, 36, 100, program=48, is_drum=True),
    ]
    times = {n: (n.start_beat * 0.5, (n.start_beat + n.length_beats) * 0.5) for n in notes}
    sources: dict[str, str] = {}
    out = S.render_stems_soundfont(
        notes, stems=("melody", "drums"), times_s=times, sample_rate_hz=RATE_HZ,
        n_samples=RATE_HZ, sources=sources,
    )  # fmt: skip
    played = sources["melody"].split(", ")
    assert played[0] == "Sine (tiny.sf2)" and "tiny.sf2" not in played[1]
    assert "tiny.sf2" not in sources["drums"]  # the tiny font has no orchestra kit
    assert all(np.abs(out[stem]).max() > 1e-3 for stem in ("melody", "drums"))


def test_drums_may_come_from_their_own_font(tmp_path, monkeypatch):
    tiny = build_soundfont(tmp_path / "kit.sf2", compressed=False)
    monkeypatch.setenv("V2M_DRUM_SOUNDFONT", str(tiny))
    assert S.font_chain(drums=True)[0] == str(tiny)
    assert str(tiny) not in S.font_chain()
    notes = [Note("drums", 0.0, 1.0, 36, 100, program=0, is_drum=True)]
    sources: dict[str, str] = {}
    S.render_stems_soundfont(
        notes, stems=("drums",), times_s={notes[0]: (0.0, 0.5)}, sample_rate_hz=RATE_HZ,
        n_samples=RATE_HZ // 2, sources=sources,
    )  # fmt: skip
    assert sources["drums"] == "Kit (kit.sf2)"


def test_prepared_fonts_are_decoded_once_and_come_first(tmp_path, monkeypatch):
    sf3 = build_soundfont(tmp_path / "MuseScore_General_Full.sf3", compressed=True)
    monkeypatch.setattr(S, "SF3_SOURCES", (str(sf3),))
    monkeypatch.setenv("V2M_FONT_DIR", str(tmp_path / "fonts"))
    monkeypatch.delenv("V2M_SOUNDFONT", raising=False)
    first = S.prepare_fonts()
    assert first == [f"decoded {sf3} into {tmp_path / 'fonts' / 'MuseScore_General_Full.sf2'}"]
    assert S.prepare_fonts()[0].endswith("is ready")
    assert S.font_chain()[0] == str(tmp_path / "fonts" / "MuseScore_General_Full.sf2")


def test_a_missing_environment_font_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("V2M_DRUM_SOUNDFONT", str(tmp_path / "nope.sf2"))
    with pytest.raises(InvalidInputError, match="V2M_DRUM_SOUNDFONT"):
        S.font_chain(drums=True)
