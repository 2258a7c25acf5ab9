"""SoundFont rendering (General MIDI) with ``tinysoundfont``, and where the sounds come from.

The fonts form a chain, best first; each instrument (bank, program) is played by the first font
in the chain that has it, so a font without, say, the GM2 orchestra kit hands that kit down:

1. ``$V2M_DRUM_SOUNDFONT`` (drums only) and ``$V2M_SOUNDFONT`` (a ``.sf2``/``.sf3`` path);
2. fonts prepared by ``v2m fonts prepare`` (which ``scripts/setup.sh`` runs) in
   :func:`fonts_dir` — an SF3 decoded once into an SF2, so loading takes seconds, not minutes;
3. Debian/Ubuntu system fonts, largest sampled set first: ``musescore-general-soundfont``,
   ``fluid-soundfont-gm`` (FluidR3_GM.sf2), ``fluidr3mono-gm-soundfont``, ``timgm6mb-soundfont``;
4. the TimGM6mb font that ships inside the ``pretty_midi`` wheel.

Fonts load once per process into one kept synthesizer (a large set is hundreds of MB of
samples); renders take turns on it and it is reset between them, so every render is
byte-identical to one on a freshly loaded synthesizer. If no font or no ``tinysoundfont`` is
available, the composer falls back to the built-in synthesizer (:mod:`v2m.model.synth`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from v2m.model import arrange as A
from v2m.model.errors import InvalidInputError

PREPARED_FONTS = ("MuseScore_General_Full.sf2", "MuseScore_General.sf2")
"""SF2s :func:`prepare_fonts` writes into :func:`fonts_dir`, best first."""
SF3_SOURCES = (
    "/usr/share/sounds/sf3/MuseScore_General_Full.sf3",
    "/usr/share/sounds/sf3/MuseScore_General.sf3",
)
SYSTEM_FONTS = (
    *SF3_SOURCES,
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf3/FluidR3Mono_GM.sf3",
    "/usr/share/sounds/sf2/FluidR3Mono_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
)
_STEM_GAIN_DB = {"drums": 0.0, "bass": -3.0, "harmony": -9.0, "melody": -6.0, "fx": -9.0}
DRUM_BANK = 128
DRUM_CHANNEL = 9


def fonts_dir() -> Path:
    """Where prepared fonts live: ``$V2M_FONT_DIR``, else ``$XDG_DATA_HOME/v2m/soundfonts``."""
    env = os.environ.get("V2M_FONT_DIR")
    if env:
        return Path(env)
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(data) / "v2m" / "soundfonts"


def _env_font(name: str) -> str | None:
    path = os.environ.get(name)
    if path and not os.path.isfile(path):
        raise InvalidInputError(f"{name} points at {path!r}, which is not a file")
    return path or None


def _bundled_font() -> str | None:
    try:
        import pretty_midi
    except ImportError:
        return None
    bundled = Path(pretty_midi.__file__).with_name("TimGM6mb.sf2")
    return str(bundled) if bundled.is_file() else None


def font_chain(*, drums: bool = False) -> tuple[str, ...]:
    """Existing fonts, best first (see the module docstring); empty when there are none."""
    chosen = [_env_font("V2M_DRUM_SOUNDFONT") if drums else None, _env_font("V2M_SOUNDFONT")]
    prepared = [str(fonts_dir() / name) for name in PREPARED_FONTS]
    prepared_stems = {Path(p).stem for p in prepared if os.path.isfile(p)}
    system = [p for p in SYSTEM_FONTS if _real_stem(p) not in prepared_stems]
    chain, seen = [], set()
    for path in [*chosen, *prepared, *system, _bundled_font()]:
        if path and os.path.isfile(path) and os.path.realpath(path) not in seen:
            chain.append(path)
            seen.add(os.path.realpath(path))
    return tuple(chain)


def _real_stem(path: str) -> str:
    """The name of the file a (Debian alternatives) link finally points at, less its suffix."""
    return Path(os.path.realpath(path)).stem


def find_soundfont() -> str | None:
    """The first font of the chain (what most instruments play from), or ``None``."""
    chain = font_chain()
    return chain[0] if chain else None


def soundfont_available() -> tuple[bool, str]:
    """(usable, the first font — or the reason when not usable)."""
    try:
        import tinysoundfont  # noqa: F401
    except ImportError:
        return False, "tinysoundfont is not installed (scripts/setup.sh installs it)"
    font = find_soundfont()
    if font is None:
        return False, "no SoundFont found (set V2M_SOUNDFONT or install fluid-soundfont-gm)"
    return True, font


def prepare_fonts(*, progress: Callable[[str, int, int], None] | None = None) -> list[str]:
    """Decode the system's SF3 sets (see ``SF3_SOURCES``) into SF2s in :func:`fonts_dir`,
    once; returns one line per font saying what was done."""
    from v2m.model.fontconvert import sf3_to_sf2

    lines = []
    sources = {os.path.realpath(p) for p in SF3_SOURCES if os.path.isfile(p)}
    for source in sorted(sources):
        target = fonts_dir() / (_real_stem(source) + ".sf2")
        if target.is_file() and target.stat().st_mtime >= os.path.getmtime(source):
            lines.append(f"{target} is ready")
            continue
        report = None
        if progress is not None:
            report = lambda done, total, source=source: progress(source, done, total)  # noqa: E731
        sf3_to_sf2(source, target, progress=report)
        lines.append(f"decoded {source} into {target}")
    return lines


@dataclass
class _KeptSynth:
    """One synthesizer per process with the fonts it has loaded (``{path: sfid}``)."""

    sample_rate_hz: int
    synth: object
    sfids: dict[str, int] = field(default_factory=dict)

    def sfid(self, font: str) -> int:
        if font not in self.sfids:
            self.sfids[font] = self.synth.sfload(font)
        return self.sfids[font]

    def source(self, chain: tuple[str, ...], bank: int, program: int) -> tuple[int, int, str]:
        """(sfid, program, font) of the first font in ``chain`` with ``(bank, program)``; a
        missing drum kit falls back to the standard kit (0) of the first font."""
        for font in chain:
            sfid = self.sfid(font)
            if self.synth.sfpreset_name(sfid, bank, program):
                return sfid, program, font
        return self.sfid(chain[0]), 0 if bank == DRUM_BANK else program, chain[0]

    def reset(self) -> None:
        """Back to a fresh synth's state: all notes and sounds off, a flush of silence, every
        assigned channel unset."""
        channels = sorted(self.synth.channel)
        for channel in channels:
            self.synth.notes_off(channel)
            self.synth.sounds_off(channel)
        self.synth.generate(int(_FLUSH_S * self.sample_rate_hz))
        for channel in channels:
            self.synth.program_unset(channel)


_KEPT: dict[int, _KeptSynth] = {}
_LOCK = threading.Lock()
_FLUSH_S = 1.0


def _kept_synth(sample_rate_hz: int) -> _KeptSynth:
    """The process's synth at this rate (call with ``_LOCK`` held); fonts stay loaded."""
    kept = _KEPT.get(sample_rate_hz)
    if kept is None:
        import tinysoundfont

        _KEPT.clear()  # one synth per process: a big font's samples are hundreds of MB
        kept = _KEPT[sample_rate_hz] = _KeptSynth(
            sample_rate_hz, tinysoundfont.Synth(samplerate=sample_rate_hz)
        )
    return kept


def unload_fonts() -> None:
    """Drop the kept synthesizer and its fonts (the next render loads them again)."""
    with _LOCK:
        _KEPT.clear()


def _channels_for(notes: list[A.Note], drums: bool) -> dict[int, int]:
    """{program: channel}: each program of a stem on its own channel (drums on channel 10)."""
    programs = sorted({n.program for n in notes})
    if drums:
        return {p: DRUM_CHANNEL for p in programs[:1]}
    free = [c for c in range(16) if c != DRUM_CHANNEL]
    if len(programs) > len(free):
        raise InvalidInputError(f"a stem uses {len(programs)} programs; at most {len(free)}")
    return dict(zip(programs, free, strict=False))


def render_stems_soundfont(
    notes: list[A.Note],
    *,
    stems: tuple[str, ...],
    times_s: dict,
    sample_rate_hz: int,
    n_samples: int,
    sources: dict[str, str] | None = None,
) -> dict[str, np.ndarray]:
    """Render each stem: ``{stem: float32[2, n_samples]}``. ``sources``, when given, receives
    ``{stem: "preset name (font file)"}`` for what each stem was played with."""
    out = {}
    for stem in stems:
        stem_notes = [n for n in notes if n.stem == stem]
        drums = stem == "drums"
        chain = font_chain(drums=drums)
        if not chain:
            raise InvalidInputError("no SoundFont found (set V2M_SOUNDFONT)")
        channels = _channels_for(stem_notes, drums) if stem_notes else {}
        with _LOCK:
            kept = _kept_synth(sample_rate_hz)
            kept.reset()
            names = []
            for program, channel in channels.items():
                bank = DRUM_BANK if drums else 0
                sfid, preset, font = kept.source(chain, bank, program)
                kept.synth.program_select(channel, sfid, bank, preset, drums)
                names.append(f"{kept.synth.sfpreset_name(sfid, bank, preset)} ({Path(font).name})")
            buf = _play(kept.synth, stem_notes, channels, times_s, sample_rate_hz, n_samples)
        if sources is not None:
            sources[stem] = ", ".join(names) or "silent"
        gain = 10 ** (_STEM_GAIN_DB.get(stem, -6.0) / 20)
        out[stem] = np.ascontiguousarray(buf.T * gain)
    return out


def _play(synth, notes, channels, times_s, sample_rate_hz, n_samples) -> np.ndarray:
    """float32[n_samples, 2] of ``notes`` played on ``channels`` ({program: channel})."""
    events = []
    for n in notes:
        start, end = times_s[n]
        if end <= 0 or start >= n_samples / sample_rate_hz:
            continue
        on = max(0, int(round(start * sample_rate_hz)))
        off = max(on + 1, int(round(end * sample_rate_hz)))
        channel = channels[n.program]
        events.append((on, 1, channel, n.pitch, n.velocity))
        events.append((off, 0, channel, n.pitch, 0))
    events.sort(key=lambda e: (e[0], e[1], e[2], e[3]))
    buf = np.zeros((n_samples, 2), np.float32)
    pos = 0
    for at, kind, channel, pitch, velocity in events + [(n_samples, -1, 0, 0, 0)]:
        at = min(at, n_samples)
        if at > pos:
            chunk = np.frombuffer(synth.generate(at - pos), dtype=np.float32)
            buf[pos:at] = chunk.reshape(-1, 2)
            pos = at
        if kind == 1:
            synth.noteon(channel, pitch, velocity)
        elif kind == 0:
            synth.noteoff(channel, pitch)
    return buf
