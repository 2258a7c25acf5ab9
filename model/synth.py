"""The built-in synthesizer: renders notes to stereo stems with NumPy alone (no SoundFont).

It is the last resort of the renderer chain and the default of the tests: deterministic for a
seed, fast (far above real time), and built so the beat is the strongest broadband onset —
kicks with a click, snares and claps with bright noise — which is what beat trackers hear.
Pitched parts get a timbre per General-MIDI family: piano/keys (decaying harmonics), plucked
(guitar, bass), sustained (strings, pads, brass: slow attack, detuned saws), lead (square).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from v2m.model import arrange as A
from v2m.model import grooves as G


def _midi_hz(pitch: float) -> float:
    return 440.0 * 2 ** ((pitch - 69) / 12)


def _onepole_lowpass(x: np.ndarray, cutoff_hz: float, sr: int) -> np.ndarray:
    a = np.exp(-2 * np.pi * cutoff_hz / sr)
    return lfilter([1 - a], [1, -a], x)


def _env(
    n: int, sr: int, attack_s: float, decay_s: float, sustain: float, release_s: float, hold: int
) -> np.ndarray:
    """ADSR over n samples with the key held for ``hold`` samples."""
    t = np.arange(n) / sr
    a = np.minimum(t / max(attack_s, 1e-4), 1.0)
    d = sustain + (1 - sustain) * np.exp(-np.maximum(t - attack_s, 0) / max(decay_s, 1e-4))
    env = a * d
    if hold < n:
        rel = np.exp(-(np.arange(n - hold)) / (max(release_s, 1e-3) * sr))
        env[hold:] = env[hold] * rel if hold > 0 else rel
    return env


def _family(program: int) -> str:
    if program < 8 or 16 <= program < 24:
        return "keys"
    if 24 <= program < 40:
        return "pluck"
    if 40 <= program < 56 or 88 <= program < 104:
        return "sustain"
    if 56 <= program < 80:
        return "brass"
    return "lead"


def _pitched(
    note_hz: float, n: int, hold: int, sr: int, family: str, rng: np.random.Generator
) -> np.ndarray:
    t = np.arange(n) / sr
    if family == "keys":
        wave = sum(
            np.sin(2 * np.pi * note_hz * h * t) * np.exp(-t * (1.5 + h)) / h for h in range(1, 7)
        )
        return wave * _env(n, sr, 0.003, 0.6, 0.25, 0.15, hold)
    if family == "pluck":
        wave = sum(np.sin(2 * np.pi * note_hz * h * t) / h**1.3 for h in range(1, 9))
        return wave * _env(n, sr, 0.002, 0.25, 0.15, 0.08, hold)
    detune = (1.0, 1.004, 0.996)
    saw = sum(2 * ((note_hz * d * t + rng.random()) % 1.0) - 1 for d in detune) / 3
    if family == "sustain":
        return _onepole_lowpass(saw, 1800, sr) * _env(n, sr, 0.12, 0.5, 0.8, 0.35, hold)
    if family == "brass":
        return _onepole_lowpass(saw, 2500, sr) * _env(n, sr, 0.04, 0.3, 0.7, 0.15, hold)
    square = np.sign(np.sin(2 * np.pi * note_hz * t))
    return _onepole_lowpass(0.6 * square + 0.4 * saw, 3500, sr) * _env(
        n, sr, 0.005, 0.2, 0.6, 0.1, hold
    )


def _drum(key: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    def noise(seconds: float) -> np.ndarray:
        return rng.standard_normal(int(seconds * sr))

    if key == G.KICK:
        t = np.arange(int(0.35 * sr)) / sr
        freq = 45 + 110 * np.exp(-t / 0.035)
        body = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.16)
        click = noise(0.35) * np.exp(-t / 0.004) * 0.6
        return body + click
    if key in (G.SNARE, G.CLAP):
        t = np.arange(int(0.25 * sr)) / sr
        tone = np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05) * (0.5 if key == G.SNARE else 0.1)
        n = noise(0.25)
        n = n - _onepole_lowpass(n, 1200, sr)
        return tone + n * np.exp(-t / (0.07 if key == G.SNARE else 0.04)) * 0.9
    if key in (G.HAT, G.OPEN_HAT, G.RIDE):
        length = {G.HAT: 0.06, G.OPEN_HAT: 0.35, G.RIDE: 0.5}[key]
        t = np.arange(int((length * 3) * sr)) / sr
        n = noise(length * 3)
        n = n - _onepole_lowpass(n, 7000, sr)
        return n * np.exp(-t / length) * 0.5
    if key == G.CRASH:
        t = np.arange(int(2.0 * sr)) / sr
        n = noise(2.0)
        n = n - _onepole_lowpass(n, 4000, sr)
        return n * np.exp(-t / 0.6) * 0.8
    # toms
    t = np.arange(int(0.6 * sr)) / sr
    base = 80 if key == G.TOM_LOW else 160
    freq = base + base * 0.6 * np.exp(-t / 0.05)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.25) + 0.2 * noise(0.6) * np.exp(
        -t / 0.01
    )


_PAN = {"drums": 0.0, "bass": 0.0, "harmony": -0.25, "melody": 0.2, "fx": 0.35}
_STEM_GAIN = {"drums": 0.9, "bass": 0.55, "harmony": 0.16, "melody": 0.22, "fx": 0.16}


def render_stems(
    notes: list[A.Note],
    *,
    stems: tuple[str, ...],
    times_s: dict,
    sample_rate_hz: int,
    n_samples: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Render notes to stems.

    Args:
        notes: the arrangement's notes.
        stems: the stems to render, in order (a stem without notes is silence).
        times_s: ``{note: (start_s, end_s)}`` from the tempo map.
        n_samples: stem length.

    Returns:
        ``{stem: float32[2, n_samples]}``.
    """
    sr = sample_rate_hz
    out: dict[str, np.ndarray] = {}
    drum_cache: dict[int, np.ndarray] = {}
    for stem in stems:
        rng = np.random.default_rng([seed, sum(stem.encode())])  # per stem, order-independent
        mono = np.zeros(n_samples + sr * 3, np.float64)
        for note in (n for n in notes if n.stem == stem):
            start_s, end_s = times_s[note]
            i0 = int(round(start_s * sr))
            if i0 >= n_samples or i0 < -sr * 3:
                continue
            gain = (note.velocity / 127.0) ** 1.6
            if note.is_drum:
                if note.pitch not in drum_cache:
                    drum_cache[note.pitch] = _drum(
                        note.pitch, sr, np.random.default_rng([seed, note.pitch])
                    )
                wave = drum_cache[note.pitch]
            else:
                hold = max(1, int((end_s - start_s) * sr))
                n = hold + int(0.4 * sr)
                wave = _pitched(_midi_hz(note.pitch), n, hold, sr, _family(note.program), rng)
            if i0 < 0:
                wave, i0 = wave[-i0:], 0
            seg = mono[i0 : i0 + len(wave)]
            seg += gain * wave[: len(seg)]
        mono = mono[:n_samples] * _STEM_GAIN.get(stem, 0.3)
        pan = _PAN.get(stem, 0.0)
        left, right = np.sqrt(0.5 * (1 - pan)), np.sqrt(0.5 * (1 + pan))
        out[stem] = np.stack([mono * left, mono * right]).astype(np.float32)
    return out
