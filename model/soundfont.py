"""SoundFont rendering (General MIDI) with ``tinysoundfont``, and where the font comes from.

The font is found by a documented chain, first hit wins:

1. ``$V2M_SOUNDFONT`` (a ``.sf2``/``.sf3`` path);
2. Debian/Ubuntu system fonts: ``fluid-soundfont-gm`` (FluidR3_GM.sf2), ``fluidr3mono-gm-soundfont``
   (FluidR3Mono_GM.sf3), ``musescore-general-soundfont-small``, ``timgm6mb-soundfont``;
3. the TimGM6mb font that ships inside the ``pretty_midi`` wheel.

If no font or no ``tinysoundfont`` is available, the composer falls back to the built-in
synthesizer (:mod:`v2m.model.synth`), so scoring never fails for lack of a font.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from v2m.model import arrange as A
from v2m.model.errors import InvalidInputError

SYSTEM_FONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf3/FluidR3Mono_GM.sf3",
    "/usr/share/sounds/sf2/FluidR3Mono_GM.sf2",
    "/usr/share/sounds/sf3/MuseScore_General.sf3",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
)
_STEM_GAIN_DB = {"drums": 0.0, "bass": -3.0, "harmony": -9.0, "melody": -6.0, "fx": -9.0}


def find_soundfont() -> str | None:
    """Path of the first SoundFont in the chain above, or ``None``."""
    env = os.environ.get("V2M_SOUNDFONT")
    if env:
        if not os.path.isfile(env):
            raise InvalidInputError(f"V2M_SOUNDFONT points at {env!r}, which is not a file")
        return env
    for path in SYSTEM_FONTS:
        if os.path.isfile(path):
            return path
    try:
        import pretty_midi
    except ImportError:
        return None
    bundled = Path(pretty_midi.__file__).with_name("TimGM6mb.sf2")
    return str(bundled) if bundled.is_file() else None


def soundfont_available() -> tuple[bool, str]:
    """(usable, reason when not)."""
    try:
        import tinysoundfont  # noqa: F401
    except ImportError:
        return False, "tinysoundfont is not installed (scripts/setup.sh installs it)"
    font = find_soundfont()
    if font is None:
        return False, "no SoundFont found (set V2M_SOUNDFONT or install fluid-soundfont-gm)"
    return True, font


_LOADED = threading.local()
_FLUSH_S = 1.0


def loaded_synth(font: str, sample_rate_hz: int):
    """(synth, font id) with ``font`` loaded, kept per thread: loading a font — decoding an
    SF3's samples above all — costs far more than rendering, so a worker pays it once. The
    synth is reset to a fresh one's state first (all notes and sounds off, a flush of silence,
    both channels' programs unset): renders stay byte-identical to a new synth's."""
    cache = getattr(_LOADED, "synths", None)
    if cache is None:
        cache = _LOADED.synths = {}
    key = (font, os.path.getmtime(font), sample_rate_hz)
    if key not in cache:
        import tinysoundfont

        cache.clear()  # one font per thread: a big font's samples are hundreds of MB
        synth = tinysoundfont.Synth(samplerate=sample_rate_hz)
        cache[key] = (synth, synth.sfload(Path(font).read_bytes()))
        return cache[key]
    synth, sfid = cache[key]
    assigned = [channel for channel in (0, 9) if channel in synth.channel]
    for channel in assigned:
        synth.notes_off(channel)
        synth.sounds_off(channel)
    synth.generate(int(_FLUSH_S * sample_rate_hz))
    for channel in assigned:
        synth.program_unset(channel)
    return synth, sfid


def render_stems_soundfont(
    notes: list[A.Note],
    *,
    stems: tuple[str, ...],
    times_s: dict,
    sample_rate_hz: int,
    n_samples: int,
    font: str,
) -> dict[str, np.ndarray]:
    """Render each stem on its own synthesizer: ``{stem: float32[2, n_samples]}``."""
    out = {}
    for stem in stems:
        synth, sfid = loaded_synth(font, sample_rate_hz)
        stem_notes = [n for n in notes if n.stem == stem]
        drums = stem == "drums"
        program = stem_notes[0].program if stem_notes else 0
        if drums and not synth.sfpreset_name(sfid, 128, program):
            program = 0  # the font lacks the style's kit: its standard kit
        synth.program_select(9 if drums else 0, sfid, 128 if drums else 0, program, drums)
        chan = 9 if drums else 0
        events = []
        for n in stem_notes:
            start, end = times_s[n]
            if end <= 0 or start >= n_samples / sample_rate_hz:
                continue
            on = max(0, int(round(start * sample_rate_hz)))
            off = max(on + 1, int(round(end * sample_rate_hz)))
            events.append((on, 1, n.pitch, n.velocity))
            events.append((off, 0, n.pitch, 0))
        events.sort(key=lambda e: (e[0], e[1]))
        buf = np.zeros((n_samples, 2), np.float32)
        pos = 0
        for at, kind, pitch, velocity in events + [(n_samples, -1, 0, 0)]:
            at = min(at, n_samples)
            if at > pos:
                chunk = np.frombuffer(synth.generate(at - pos), dtype=np.float32)
                buf[pos:at] = chunk.reshape(-1, 2)
                pos = at
            if kind == 1:
                synth.noteon(chan, pitch, velocity)
            elif kind == 0:
                synth.noteoff(chan, pitch)
        gain = 10 ** (_STEM_GAIN_DB.get(stem, -6.0) / 20)
        out[stem] = np.ascontiguousarray(buf.T * gain)
    return out
