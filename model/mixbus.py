"""The mix bus: each stem through its own channel strip (EQ, compression, pan) with a send to a
room, then a gentle glue compressor on the sum — before the loudness and true-peak stage.

A production is not a sum of dry General-MIDI parts: parts sit in their own place left to
right and in the spectrum, and share one room. The room is a convolution reverb whose impulse
response is made here (decaying, damped, decorrelated noise per channel; seeded, so a seed
still gives identical bytes): a hall for orchestral and cinematic music, a small room for rock
and hip-hop, a dark room for lo-fi, a long wash for ambient. Each stem carries its own share of
the room, so stems still sum to the mix. Lo-fi also gets a darker tone and a record's
surface noise (on the fx stem). Timing is untouched: every filter is causal and
phase-aligned to the dry signal at the onset (the room only adds a tail after it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve, lfilter, resample_poly, sosfilt

ROOM_RATE_HZ = 24000
"""The room is convolved at half the output rate (a room's tail holds little above 12 kHz)."""


@dataclass(frozen=True)
class Strip:
    """One stem's channel strip.

    Attributes:
        pan: -1 (left) .. 1 (right), constant power.
        highpass_hz: cut below (0: none).
        low_shelf_db, high_shelf_db: shelves at 200 Hz and 6 kHz.
        threshold_db, ratio: compressor (peak-relative threshold; ratio 1: off).
        send: how much of the stem goes to the room (linear).
    """

    pan: float = 0.0
    highpass_hz: float = 0.0
    low_shelf_db: float = 0.0
    high_shelf_db: float = 0.0
    threshold_db: float = -12.0
    ratio: float = 1.0
    send: float = 0.15


@dataclass(frozen=True)
class Tone:
    """A style's colour on the whole mix: a low-pass (0: none) and a bed of vinyl noise (dB
    below full scale; None: none) — lo-fi's dusty, darker sound."""

    lowpass_hz: float = 0.0
    noise_db: float | None = None


TONES = {"lofi": Tone(lowpass_hz=5500.0, noise_db=-46.0)}


@dataclass(frozen=True)
class Room:
    """The shared room: decay time (RT60), pre-delay, damping and the return level."""

    decay_s: float
    predelay_s: float
    damping_hz: float
    level: float


STRIPS = {
    "drums": Strip(
        pan=0.0, highpass_hz=30, high_shelf_db=1.5, threshold_db=-10, ratio=2.0, send=0.08
    ),
    "bass": Strip(
        pan=0.0,
        highpass_hz=35,
        low_shelf_db=1.0,
        high_shelf_db=-2.0,
        threshold_db=-12,
        ratio=3.0,
        send=0.02,
    ),
    "harmony": Strip(
        pan=-0.28, highpass_hz=140, low_shelf_db=-2.0, threshold_db=-14, ratio=1.6, send=0.30
    ),
    "melody": Strip(
        pan=0.22, highpass_hz=180, high_shelf_db=1.0, threshold_db=-14, ratio=1.8, send=0.22
    ),
    "fx": Strip(pan=0.4, highpass_hz=200, threshold_db=-14, ratio=1.4, send=0.45),
    "music": Strip(),
}
ROOMS = {
    "cinematic": Room(decay_s=2.8, predelay_s=0.03, damping_hz=6000, level=0.55),
    "orchestral": Room(decay_s=2.3, predelay_s=0.025, damping_hz=7000, level=0.6),
    "ambient": Room(decay_s=4.5, predelay_s=0.04, damping_hz=5000, level=0.7),
    "lofi": Room(decay_s=0.9, predelay_s=0.01, damping_hz=3500, level=0.4),
    "rock": Room(decay_s=1.1, predelay_s=0.012, damping_hz=8000, level=0.35),
    "hiphop": Room(decay_s=0.8, predelay_s=0.01, damping_hz=6000, level=0.3),
    "electronic": Room(decay_s=1.6, predelay_s=0.02, damping_hz=9000, level=0.35),
    "acoustic": Room(decay_s=1.3, predelay_s=0.015, damping_hz=7000, level=0.45),
}
FADERS_DB = {
    "acoustic": {"drums": -9.0, "harmony": 10.0, "melody": 4.0},
}
"""Per style, stem levels on top of the strips (dB): where the genre's lead instrument is not
the drums — an acoustic song is its guitar, the brushes sit under it."""
DEFAULT_ROOM = Room(decay_s=1.5, predelay_s=0.02, damping_hz=7000, level=0.4)


def _shelf_sos(freq_hz: float, gain_db: float, sample_rate_hz: int, *, high: bool) -> np.ndarray:
    """An RBJ shelving biquad as one second-order section."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * freq_hz / sample_rate_hz
    cos, alpha = np.cos(w), np.sin(w) / 2 * np.sqrt(2)
    sign = -1 if high else 1
    root = 2 * np.sqrt(a) * alpha
    b0 = a * ((a + 1) - sign * (a - 1) * cos + root)
    b1 = sign * 2 * a * ((a - 1) - sign * (a + 1) * cos)
    b2 = a * ((a + 1) - sign * (a - 1) * cos - root)
    a0 = (a + 1) + sign * (a - 1) * cos + root
    a1 = -sign * 2 * ((a - 1) + sign * (a + 1) * cos)
    a2 = (a + 1) + sign * (a - 1) * cos - root
    return np.array([[b0, b1, b2, a0, a1, a2]]) / a0


def _highpass_sos(freq_hz: float, sample_rate_hz: int) -> np.ndarray:
    w = 2 * np.pi * freq_hz / sample_rate_hz
    cos, alpha = np.cos(w), np.sin(w) / 2 * np.sqrt(2)
    b = np.array([(1 + cos) / 2, -(1 + cos), (1 + cos) / 2])
    a = np.array([1 + alpha, -2 * cos, 1 - alpha])
    return np.concatenate([b, a])[None, :] / a[0]


def _lowpass_sos(freq_hz: float, sample_rate_hz: int) -> np.ndarray:
    w = 2 * np.pi * freq_hz / sample_rate_hz
    cos, alpha = np.cos(w), np.sin(w) / 2 * np.sqrt(2)
    b = np.array([(1 - cos) / 2, 1 - cos, (1 - cos) / 2])
    a = np.array([1 + alpha, -2 * cos, 1 - alpha])
    return np.concatenate([b, a])[None, :] / a[0]


def vinyl_noise(n: int, sample_rate_hz: int, *, level_db: float, seed: int) -> np.ndarray:
    """float32[2, n]: a record's surface — soft filtered hiss and sparse, quiet crackles
    (well below the music, so they never outweigh a beat)."""
    rng = np.random.default_rng(seed + 7919)
    hiss = sosfilt(_lowpass_sos(4000.0, sample_rate_hz), rng.standard_normal((2, n)), axis=1)
    hiss *= 10 ** (level_db / 20) / max(float(np.std(hiss)), 1e-9)
    crackles = np.zeros((2, n))
    count = int(n / sample_rate_hz * 6)  # about six a second
    at = rng.integers(0, max(1, n - 8), count)
    crackles[rng.integers(0, 2, count), at] = rng.uniform(-1, 1, count)
    crackles = sosfilt(_lowpass_sos(6000.0, sample_rate_hz), crackles, axis=1)
    crackles *= 10 ** ((level_db + 10) / 20)
    return (hiss + crackles).astype(np.float32)


def _equalize(audio: np.ndarray, strip: Strip, sr: int) -> np.ndarray:
    sections = []
    if strip.highpass_hz:
        sections.append(_highpass_sos(strip.highpass_hz, sr))
    if strip.low_shelf_db:
        sections.append(_shelf_sos(200.0, strip.low_shelf_db, sr, high=False))
    if strip.high_shelf_db:
        sections.append(_shelf_sos(6000.0, strip.high_shelf_db, sr, high=True))
    if not sections:
        return audio
    return sosfilt(np.concatenate(sections), audio, axis=1).astype(np.float32)


def compressor_gain(
    audio: np.ndarray, sr: int, *, threshold_db: float, ratio: float, release_s: float = 0.12
) -> np.ndarray:
    """float32[n] gain of a feed-forward compressor on float[channels, n]: threshold relative
    to the signal's own peak, instant attack (transients are not delayed), smooth release;
    channels linked."""
    level = np.abs(audio).max(axis=0)
    peak = float(level.max()) if level.size else 0.0
    if ratio <= 1.0 or peak <= 1e-9:
        return np.ones(audio.shape[1], np.float32)
    a = np.exp(-1.0 / (release_s * sr))
    envelope = np.maximum(level, lfilter([1 - a], [1, -a], level))  # instant up, slow down
    envelope = envelope.astype(np.float32)
    threshold = np.float32(peak * 10 ** (threshold_db / 20))
    gain = np.ones(audio.shape[1], np.float32)
    over = envelope > threshold  # above it, every dB over comes out as 1/ratio dB
    gain[over] = (envelope[over] / threshold) ** np.float32(1 / ratio - 1)
    return gain


def _pan(audio: np.ndarray, pan: float) -> np.ndarray:
    angle = (pan + 1) * np.pi / 4
    gains = np.array([np.cos(angle), np.sin(angle)], np.float32) * np.sqrt(2)
    return (audio * gains[:, None]).astype(np.float32)


def impulse_response(room: Room, *, seed: int) -> np.ndarray:
    """float32[2, n] at ROOM_RATE_HZ: exponentially decaying noise, damped over time (high
    frequencies die first), different per channel (width), unit energy."""
    rng = np.random.default_rng(seed)
    sr = ROOM_RATE_HZ
    n = int((room.predelay_s + room.decay_s) * sr)
    t = np.arange(n) / sr
    envelope = np.exp(-6.91 * np.maximum(t - room.predelay_s, 0) / room.decay_s)
    envelope[t < room.predelay_s] = 0.0
    noise = rng.standard_normal((2, n)) * envelope[None, :]
    cutoff = room.damping_hz / (1 + 3 * t / room.decay_s)  # darker as it decays
    out = np.empty_like(noise)
    for ch in range(2):  # a time-varying one-pole low-pass, in blocks
        state, step = 0.0, 256
        for i in range(0, n, step):
            a = np.exp(-2 * np.pi * float(cutoff[i]) / sr)
            block, zi = lfilter([1 - a], [1, -a], noise[ch, i : i + step], zi=[state * a])
            out[ch, i : i + step], state = block, float(zi[0]) / max(a, 1e-9)
    return (out / np.sqrt((out**2).sum() / 2 + 1e-12)).astype(np.float32)


def _room(send: np.ndarray, ir: np.ndarray, sr: int, level: float) -> np.ndarray:
    """The room's return for a send signal (float[2, n]), at the output rate."""
    down = resample_poly(send, ROOM_RATE_HZ, sr, axis=1)
    wet = np.stack([fftconvolve(down[ch], ir[ch])[: down.shape[1]] for ch in range(2)])
    up = resample_poly(wet, sr, ROOM_RATE_HZ, axis=1)[:, : send.shape[1]]
    return (level * up).astype(np.float32)


def mix_stems(
    stems: dict[str, np.ndarray], *, sample_rate_hz: int, style: str, seed: int
) -> tuple[dict[str, np.ndarray], dict]:
    """Every stem through its strip and its share of the room; a glue compressor's gain applied
    to all of them alike. Returns ({stem: float32[2, n]} summing to the pre-master mix, a
    description for the metadata)."""
    room = ROOMS.get(style, DEFAULT_ROOM)
    faders = FADERS_DB.get(style, {})
    ir = impulse_response(room, seed=seed)
    out = {}
    for name, audio in stems.items():
        strip = STRIPS.get(name, Strip())
        fader = np.float32(10 ** (faders.get(name, 0.0) / 20))
        dry = _equalize(audio * fader, strip, sample_rate_hz)
        gain = compressor_gain(
            dry, sample_rate_hz, threshold_db=strip.threshold_db, ratio=strip.ratio
        )
        dry = dry * gain[None, :]
        dry = _pan(dry, strip.pan)
        wet = _room(dry * strip.send, ir, sample_rate_hz, room.level) if strip.send else 0.0
        out[name] = (dry + wet).astype(np.float32)
    tone = TONES.get(style, Tone())
    if tone.lowpass_hz:
        sos = _lowpass_sos(tone.lowpass_hz, sample_rate_hz)
        out = {k: sosfilt(sos, v, axis=1).astype(np.float32) for k, v in out.items()}
    if tone.noise_db is not None and "fx" in out:
        n = next(iter(out.values())).shape[1]
        out["fx"] = out["fx"] + vinyl_noise(n, sample_rate_hz, level_db=tone.noise_db, seed=seed)
    if out:
        glue = compressor_gain(
            sum(out.values()), sample_rate_hz, threshold_db=-6.0, ratio=1.5, release_s=0.3
        )
        out = {k: (v * glue[None, :]).astype(np.float32) for k, v in out.items()}
    described = {
        "room": {"style": style, "decay_s": room.decay_s, "predelay_s": room.predelay_s},
        "strips": {k: STRIPS.get(k, Strip()).__dict__ for k in stems},
        "faders_db": faders,
        "glue": {"threshold_db": -6.0, "ratio": 1.5},
        "tone": tone.__dict__,
    }
    return out, described


GAP_DB = 14.0
"""Depth of the gap cut into every stem just before a must-hit."""
GAP_S = (0.075, 0.008)
"""The gap is at its floor from this long before the hit and back to full level this long
before it (ramps of 15 ms on either side)."""
_GAP_RAMP_S = 0.015


def gap_before_hits(
    stems: dict[str, np.ndarray], hit_times_s, *, sample_rate_hz: int
) -> dict[str, np.ndarray]:
    """Every stem dipped by :data:`GAP_DB` in the few tens of milliseconds before each hit —
    the producer's cut before a drop: ringing cymbals and room tails stop, so the hit is the
    largest rise in level in every band (what an ear and an onset detector hear as *the*
    accent). The hit itself and everything after it are untouched.

    Args:
        stems: ``{stem: float32[2, n]}``.
        hit_times_s: must-hit times (seconds from the start of the stems).
    """
    if not stems:
        return stems
    n = next(iter(stems.values())).shape[1]
    gain = np.ones(n, np.float32)
    floor = np.float32(10 ** (-GAP_DB / 20))
    ramp = max(1, int(_GAP_RAMP_S * sample_rate_hz))
    for t in hit_times_s:
        start = int(round((t - GAP_S[0]) * sample_rate_hz))  # at the floor from here …
        back = int(round((t - GAP_S[1]) * sample_rate_hz))  # … to full level again here
        end = back - ramp
        if back <= 0 or start >= n:
            continue
        idx = np.arange(max(0, start - ramp), min(n, back))
        down = np.clip((start - idx) / ramp, 0, 1)  # 1 before the gap, 0 inside
        up = np.clip((idx - end) / ramp, 0, 1)
        shape = floor + (1 - floor) * np.maximum(down, up)
        gain[idx] = np.minimum(gain[idx], shape.astype(np.float32))
    return {k: (v * gain[None, :]).astype(np.float32) for k, v in stems.items()}
