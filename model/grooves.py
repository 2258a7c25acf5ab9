"""Percussion by role, per kit, and the bar patterns (grooves) that use them.

Patterns name *roles* (kick, snare, hat, crash, timpani …), never MIDI keys: each General MIDI 2
kit puts them on its own keys — in the orchestra kit, keys 41–53 are tuned timpani, so a pop
pattern's hi-hat (42) would be a timpani stroke there. A role the kit lacks is simply not
played, so no style ever hears another genre's kit.

Every groove keeps the beat the strongest broadband onset around (the paper's metric hears
beats through librosa's onset tracker): something strikes on every beat at every intensity.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

ORCHESTRA_KIT = 48
TIMPANI_LOW_KEY = 41
"""Orchestra kit: keys 41..53 are timpani tuned F2..F3."""

# General-MIDI percussion keys of the standard kits.
KICK, SNARE, CLAP, HAT, OPEN_HAT, CRASH, RIDE, TOM_LOW, TOM_HIGH, SHAKER = (
    36, 38, 39, 42, 46, 49, 51, 45, 50, 70,
)  # fmt: skip
_STANDARD_KEYS = {
    "kick": KICK,
    "snare": SNARE,
    "clap": CLAP,
    "hat": HAT,
    "open_hat": OPEN_HAT,
    "crash": CRASH,
    "ride": RIDE,
    "tom_low": TOM_LOW,
    "tom_high": TOM_HIGH,
    "shaker": SHAKER,
}
_ORCHESTRA_KEYS = {
    "kick": 36,  # concert bass drum
    "snare": 38,  # concert snare
    "crash": 57,  # concert cymbals
    "triangle": 81,
    "taiko": 87,
    "taiko_short": 86,
}
STEADY_ROLES = ("kick", "snare", "clap", "timpani", "taiko")
"""Roles that carry the pulse: humanising never moves them."""


def steady_keys(kit: int) -> frozenset[int]:
    """Keys of :data:`STEADY_ROLES` in ``kit`` (every timpani key in the orchestra kit)."""
    keys = {drum_key(kit, role) for role in STEADY_ROLES if role != "timpani"}
    if kit == ORCHESTRA_KIT:
        keys |= set(range(TIMPANI_LOW_KEY, TIMPANI_LOW_KEY + 13))
    return frozenset(k for k in keys if k is not None)


def drum_key(kit: int, role: str, *, pitch_class: int = 0) -> int | None:
    """The MIDI key for ``role`` in GM2 kit ``kit``, or ``None`` when the kit lacks it.
    ``timpani`` is tuned: the drum nearest ``pitch_class`` in F2..E3."""
    if kit == ORCHESTRA_KIT:
        if role == "timpani":
            return TIMPANI_LOW_KEY + (pitch_class - 5) % 12
        return _ORCHESTRA_KEYS.get(role)
    return _STANDARD_KEYS.get(role)


def swing(beat: float, amount: float) -> float:
    """Delay off-beat eighths by ``amount`` of an eighth."""
    frac = beat - math.floor(beat)
    return beat + (amount * 0.5 / 2 if abs(frac - 0.5) < 1e-6 else 0.0)


Hit = Callable[..., None]
"""``hit(role, beat, length_beats, velocity, *, pitch_class=0)`` — adds one stroke."""


def drum_bar(
    hit: Hit,
    bar_start: float,
    *,
    meter: int,
    level: float,
    groove: str,
    swing_amount: float,
    tonic_pc: int,
    root_pc: int,
    rng: np.random.Generator,
) -> None:
    """One bar of ``groove`` at ``level`` (0.2 quiet .. 1 full); see :data:`GROOVES`."""
    v = 88 + 35 * level
    for b in range(meter):
        beat = bar_start + b
        backbeat = b % 2 == 1
        if groove == "orchestral":  # timpani on the pulse, bass drum on the downbeat
            pc = root_pc if b % 2 == 0 else (root_pc + 7) % 12
            hit("timpani", beat, 0.9, v - (6 if b else 0) - 12, pitch_class=pc)
            if b == 0 and level > 0.5:
                hit("kick", beat, 1.0, v - 10)
            continue
        if groove == "trailer":  # taiko and bass drum ostinato, timpani on the roots
            hit("taiko" if b % 2 == 0 else "taiko_short", beat, 1.0, v - (0 if b == 0 else 10))
            if b == 0:
                hit("kick", beat, 1.0, v)
                hit("timpani", beat, 1.0, v - 8, pitch_class=root_pc)
            elif b == 2 and level > 0.45:
                hit("snare", beat, 0.5, v - 12)
            if level > 0.6:
                hit("taiko_short", beat + 0.5, 0.5, v - 30)
            continue
        if groove == "heartbeat":  # a soft low drum on every beat, the downbeat fuller
            hit("kick", beat, 1.0, v - (20 if b else 8))
            continue
        if groove == "boom_bap":  # kick 1 and the and-of-2, snare 2 and 4, swung hats
            if b % 2 == 0:
                hit("kick", beat, 0.5, v + 5)
            else:
                hit("snare", beat, 0.5, v)
                if b == 1 and level > 0.35:
                    hit("kick", swing(beat + 0.5, swing_amount), 0.5, v - 18)
        elif groove == "folk":  # soft brushes under the guitar: kick on 1 and 3, snare 2 and 4
            hit("snare" if backbeat else "kick", beat, 0.5, v - (34 if backbeat else 22))
            hit("shaker", swing(beat + 0.5, swing_amount), 0.25, v - 50)
            continue
        elif groove == "four_floor":
            hit("kick", beat, 0.5, v + 5)
            if backbeat:
                hit("clap", beat, 0.5, v - 5)
        elif groove == "halftime":
            if b == 0 or (level > 0.6 and b == 2 and rng.random() < 0.6):
                hit("kick", beat, 0.5, v + 5)
            elif b == 2 % meter or (meter == 3 and b == 2):
                hit("snare", beat, 0.5, v)
            else:
                hit("kick", beat, 0.5, v - 12)
        elif groove in ("pulse", "brushes"):
            hit("snare" if backbeat else "kick", beat, 0.5, v - (12 if backbeat else 0))
        else:  # backbeat, shuffle
            hit("snare" if backbeat else "kick", beat, 0.5, v)
            if not backbeat and level > 0.7 and rng.random() < 0.4:
                hit("kick", beat + 0.5, 0.5, v - 20)
        # Cymbals: quarters when quiet, eighths when busy; off-beats softer than beats.
        cymbal = {"folk": "shaker", "brushes": "ride", "pulse": "ride"}.get(groove, "hat")
        if cymbal == "ride" and level <= 0.5:
            cymbal = "hat"
        hit(cymbal, beat, 0.25, v - 25)
        if level > 0.4:
            hit(cymbal, swing(beat + 0.5, swing_amount), 0.25, v - 38)


GROOVES = (
    "backbeat",
    "four_floor",
    "halftime",
    "shuffle",
    "brushes",
    "pulse",
    "boom_bap",
    "folk",
    "orchestral",
    "trailer",
    "heartbeat",
)
"""Drum pattern families: pop/rock backbeat, dance four-on-the-floor, half-time, shuffle,
brushes, soft pulse, hip-hop boom-bap, folk brushes and shaker, orchestral timpani, trailer
taiko ostinato, an ambient heartbeat."""
