"""The arranger: hit plan + event curve + style → notes for drums, bass, harmony, melody, fx.

Everything is placed in *beats* on the solved tempo map, so the timing of hits is decided by the
tempo solver alone and the style only chooses sounds and patterns. The shape of the piece:

* sections (:mod:`~v2m.model.form`) start at strong must-hits (big cuts, markers) and every
  few bars in between; each has its role along the curve (intro, build, peak, release), its
  own progression variant and motif; the hit itself gets kick, crash and the style's sound;
* intensity follows the smoothed event curve bar by bar: quiet bars thin out to pads and a soft
  pulse, busy bars add hats, extra kicks, melody and fills;
* a snare fill and an fx riser lead into strong hits;
* the beat is always the strongest broadband onset around (kick and snare on beats, hats on
  eighths), because the paper's metric hears beats through librosa's onset tracker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from v2m.model import grooves as G
from v2m.model.form import plan_form
from v2m.model.styles import NOTE_NAMES, Style
from v2m.model.tempo import TempoPlan
from v2m.model.types import EventCurve

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)

STRONG_HIT = 0.6
"""Hit strength from which a hit opens a section and gets a fill and a riser."""


@dataclass(frozen=True)
class Note:
    """One note on the beat grid. ``program`` is General MIDI (0-based); drums use keys and
    ``program`` names the GM2 drum kit."""

    stem: str
    start_beat: float
    length_beats: float
    pitch: int
    velocity: int
    program: int = 0
    is_drum: bool = False


@dataclass(frozen=True)
class Arrangement:
    notes: tuple[Note, ...]
    first_beat: float
    last_beat: float
    sections: tuple[float, ...]
    """Beat positions where sections start."""
    form: tuple[tuple[float, str], ...]
    """(start beat, role) per section: intro, build, peak, release."""
    key: str
    intensity_per_bar: tuple[float, ...]


def _scale(style: Style) -> tuple[int, ...]:
    return MAJOR if style.mode == "major" else MINOR


def _chord_pcs(style: Style, degree: int, *, seventh: bool) -> list[int]:
    scale = _scale(style)
    tonic = NOTE_NAMES.index(style.tonic)
    steps = (0, 2, 4, 6) if seventh else (0, 2, 4)
    return [(tonic + scale[(degree + s) % 7] + 12 * ((degree + s) // 7)) % 12 for s in steps]


def _voice(pcs: list[int], previous: list[int] | None, low: int = 52, high: int = 76) -> list[int]:
    """The voicing of pitch classes ``pcs`` in [low, high] that moves least from ``previous``."""
    candidates = []
    for inversion in range(len(pcs)):
        order = pcs[inversion:] + pcs[:inversion]
        for base_octave in range(low // 12, high // 12 + 1):
            notes, current = [], base_octave * 12 + order[0]
            for pc in order:
                while current % 12 != pc:
                    current += 1
                notes.append(current)
                current += 1
            if notes[0] >= low and notes[-1] <= high:
                candidates.append(notes)
    if not candidates:
        return [60 + pc for pc in pcs]
    if previous is None:
        centre = (low + high) / 2
        return min(candidates, key=lambda n: abs(np.mean(n) - centre))

    def motion(notes: list[int]) -> float:
        a, b = sorted(notes), sorted(previous)
        n = min(len(a), len(b))
        return sum(abs(x - y) for x, y in zip(a[:n], b[:n], strict=True)) + abs(len(a) - len(b))

    return min(candidates, key=motion)


def _intensity(curve: EventCurve, times_s: np.ndarray) -> np.ndarray:
    """0.2..1 per time: the smoothed curve, scaled over the clip."""
    v = np.interp(times_s, curve.times_s, curve.values)
    lo, hi = float(curve.values.min()), float(curve.values.max())
    scaled = (v - lo) / (hi - lo) if hi - lo > 1e-6 else np.full_like(v, 0.5)
    return 0.2 + 0.8 * np.clip(scaled, 0, 1)


class _Parts:
    """Collects notes; drum hits on a key at the same position keep the loudest."""

    def __init__(self, style: Style):
        self.style = style
        self.notes: list[Note] = []

    def add(
        self,
        stem: str,
        beat: float,
        length: float,
        pitch: int,
        velocity: float,
        *,
        program: int | None = None,
    ) -> None:
        """A pitched note on ``stem``, played by the style's program for it unless
        ``program`` names another (a pizzicato pulse, a brass stab)."""
        if stem not in self.style.stems:
            return
        vel = int(np.clip(round(velocity), 1, 127))
        if program is None:
            program = self.style.programs.get(stem, 0)
        self.notes.append(Note(stem, beat, length, int(np.clip(pitch, 0, 127)), vel, program))

    def hit(
        self, role: str, beat: float, length: float, velocity: float, *, pitch_class: int = 0
    ) -> None:
        """A percussion stroke by role (see :mod:`~v2m.model.grooves`); a role the style's
        kit lacks is not played."""
        key = G.drum_key(self.style.drum_kit, role, pitch_class=pitch_class)
        if key is None or "drums" not in self.style.stems:
            return
        vel = int(np.clip(round(velocity), 1, 127))
        self.notes.append(Note("drums", beat, length, key, vel, self.style.drum_kit, True))

    def dedupe_drums(self) -> list[Note]:
        best: dict[tuple, Note] = {}
        others = []
        for n in self.notes:
            if not n.is_drum:
                others.append(n)
                continue
            key = (round(n.start_beat, 4), n.pitch)
            if key not in best or n.velocity > best[key].velocity:
                best[key] = n
        return sorted(others + list(best.values()), key=lambda n: (n.start_beat, n.stem, n.pitch))


def arrange(
    plan: TempoPlan,
    *,
    style: Style,
    curve: EventCurve,
    duration_s: float,
    seed: int,
) -> Arrangement:
    """Notes for every stem of ``style`` over ``duration_s`` seconds.

    Args:
        plan: the tempo map and hit placements (from :func:`~v2m.model.tempo.solve_tempo`).
        curve: the smoothed event curve (times from 0), for intensity.
        seed: the arrangement's only source of randomness.
    """
    rng = np.random.default_rng(seed)
    grid = plan.tempo_map
    meter = grid.meter
    first_beat = math.floor(float(grid.beat_of(0.0)) / meter) * meter
    last_beat = float(grid.beat_of(duration_s))
    bars = list(range(int(first_beat), int(math.ceil(last_beat)) + 1, meter))
    bar_times = grid.time_of(np.array(bars, np.float64) + meter / 2)
    intensity = _intensity(curve, np.clip(bar_times, 0, duration_s))
    parts = _Parts(style)

    strong = [
        p for p in plan.placements if p.kind in ("cut", "marker") and p.strength >= STRONG_HIT
    ]
    sections = plan_form(
        bars,
        intensity,
        strong_starts={math.floor(p.beat / meter) * meter for p in strong},
        base_progression=style.progression,
        meter=meter,
        rng=rng,
    )
    scale = _scale(style)
    tonic_pc = NOTE_NAMES.index(style.tonic)
    previous_voicing: list[int] | None = None

    for i, bar in enumerate(bars):
        level = float(intensity[i])
        section = next(s for s in reversed(sections) if s.start_beat <= bar)
        bar_in_section = (bar - section.start_beat) // meter
        degree = section.progression[bar_in_section % len(section.progression)]
        seventh = style.name in ("lofi", "hiphop") or (style.name == "acoustic" and level > 0.6)
        pcs = _chord_pcs(style, degree, seventh=seventh)
        voicing = _voice(pcs, previous_voicing)
        previous_voicing = voicing
        root = 36 + (pcs[0] - 36) % 12

        G.drum_bar(
            parts.hit,
            bar,
            meter=meter,
            level=level,
            groove=style.groove,
            swing_amount=style.swing,
            tonic_pc=tonic_pc,
            root_pc=pcs[0],
            rng=rng,
        )
        _pulse_bar(parts, bar, meter=meter, level=level, style=style, voicing=voicing, root=root)

        # Harmony: sustained chord when quiet, re-struck on beats when busy.
        if level < 0.55 or style.name in ("ambient", "cinematic", "orchestral"):
            for p in voicing:
                parts.add("harmony", bar, meter, p, 50 + 30 * level)
        else:
            for b in range(0, meter, 2 if style.density < 0.8 else 1):
                for k, p in enumerate(voicing):  # strummed: low to high
                    parts.add(
                        "harmony",
                        bar + b + k * style.strum_beats,
                        1.8 if style.density < 0.8 else 0.9,
                        p,
                        55 + 30 * level,
                    )

        # Bass: root on the downbeat; busier bars walk root-fifth on beats.
        parts.add("bass", bar, 1.5 if level > 0.5 else meter, root, 80 + 30 * level)
        if level > 0.5:
            fifth = root + 7
            for b in range(2, meter, 2):
                parts.add("bass", bar + b, 1.0, fifth if b % 4 == 2 else root, 72 + 30 * level)

        # Melody: the section's motif over chord tones in the busier bars, varied every other
        # bar; none in an intro, doubled an octave up at the peak.
        if section.role != "intro" and level > 0.45 * (1.2 - style.density) + 0.25:
            shift = 0 if bar_in_section % 2 == 0 else int(rng.integers(-1, 2))
            for onset, step in zip(section.rhythm, section.motif, strict=True):
                if onset >= meter:
                    continue
                degree_step = degree + step + shift
                pitch = 72 + tonic_pc + scale[degree_step % 7] + 12 * (degree_step // 7) - 12
                parts.add("melody", bar + onset, 0.9, pitch, 70 + 35 * level)
                if section.role == "peak":
                    parts.add("melody", bar + onset, 0.9, pitch + 12, 50 + 30 * level)

        # Pad swell in quiet bars (fx).
        if level < 0.35:
            parts.add("fx", bar, meter, voicing[-1] + 12, 40)

    must_beats = [p.beat for p in plan.placements if p.kind in ("cut", "marker")]
    _breathe_before(parts, must_beats)
    _humanise(parts, rng)
    for p in plan.placements:  # after humanising: the hits themselves stay exact
        _mark_hit(parts, p, style, scale, tonic_pc)

    return Arrangement(
        notes=tuple(parts.dedupe_drums()),
        first_beat=float(first_beat),
        last_beat=last_beat,
        sections=tuple(float(s.start_beat) for s in sections),
        form=tuple((float(s.start_beat), s.role) for s in sections),
        key=f"{style.tonic} {style.mode}",
        intensity_per_bar=tuple(float(x) for x in intensity),
    )


HUMAN_VELOCITY = 7
"""Largest random change of a note's velocity (MIDI units), so repeated notes breathe."""
HUMAN_TIMING_BEATS = 0.015
"""Largest random shift of a pitched note or a cymbal (about 7 ms at 120 bpm); kicks and
snares on the beat stay put (they carry the pulse), hits are placed after and stay exact."""


def _humanise(parts: _Parts, rng: np.random.Generator) -> None:
    """Players are not machines: velocities vary a little, and pitched notes and cymbals sit
    a few milliseconds off the grid."""
    steady = G.steady_keys(parts.style.drum_kit)
    out = []
    for n in parts.notes:
        velocity = int(
            np.clip(n.velocity + rng.integers(-HUMAN_VELOCITY, HUMAN_VELOCITY + 1), 1, 127)
        )
        shift = 0.0
        if not (n.is_drum and n.pitch in steady) and n.start_beat > 0:
            shift = float(rng.uniform(-HUMAN_TIMING_BEATS, HUMAN_TIMING_BEATS))
        out.append(
            Note(
                n.stem,
                n.start_beat + shift,
                n.length_beats,
                n.pitch,
                velocity,
                n.program,
                n.is_drum,
            )
        )
    parts.notes = out


BREATH_BEATS = 0.5
"""Silence before a must-hit: nothing starts in this last half-beat and sustained notes stop,
so the hit is the biggest change around — to the ear and to an onset detector."""


def _breathe_before(parts: _Parts, hit_beats: list[float]) -> None:
    kept = []
    for n in parts.notes:
        end = n.start_beat + n.length_beats
        drop = False
        for h in hit_beats:
            if h - BREATH_BEATS < n.start_beat < h - 1e-6:
                drop = True
                break
            if n.start_beat <= h - BREATH_BEATS and end > h - BREATH_BEATS / 2 and not n.is_drum:
                n = Note(
                    n.stem,
                    n.start_beat,
                    max(0.125, h - BREATH_BEATS / 2 - n.start_beat),
                    n.pitch,
                    n.velocity,
                    n.program,
                    n.is_drum,
                )
                end = n.start_beat + n.length_beats
        if not drop:
            kept.append(n)
    parts.notes = kept


def _mark_hit(parts: _Parts, p, style: Style, scale, tonic_pc) -> None:
    """The hit in the style's vocabulary (see ``Style.hit_sound``) over a kick, snare and
    crash; before strong ones a fill or a swell that ends a half-beat early, so the hit lands
    out of a breath."""
    must = p.kind in ("cut", "marker")
    s = p.strength
    beat = p.beat
    if not must:  # optional peak: an accent, lighter
        accent = "timpani" if style.drum_kit == G.ORCHESTRA_KIT else "tom_high"
        parts.hit(accent, beat, 0.5, 70 + 40 * s, pitch_class=tonic_pc + 7)
        parts.hit("open_hat", beat, 0.5, 60 + 40 * s)
        return
    parts.hit("kick", beat, 1.0, 110 + 17 * s)
    parts.hit("snare", beat, 1.0, 100 + 27 * s)
    parts.hit("crash", beat, 2.0, 95 + 32 * s)
    parts.add("bass", beat, 2.0, 36 + tonic_pc % 12, 100 + 27 * s)
    stab = style.programs.get("stab")
    sound = style.hit_sound
    if sound in ("orchestral", "boom"):  # timpani and a full-orchestra chord
        parts.hit("timpani", beat, 2.0, 110 + 17 * s, pitch_class=tonic_pc)
        if sound == "boom":
            parts.hit("taiko", beat, 2.0, 100 + 27 * s)
        for off in (-12, 0, 7, 12, 12 + scale[2]):
            parts.add("harmony", beat, 0.75, 60 + tonic_pc + off, 100 + 27 * s, program=stab)
    elif sound == "swell":  # a low bloom under the cymbal
        for off in (-24, -12, 7):
            parts.add("fx", beat, 3.0, 60 + tonic_pc + off, 80 + 30 * s, program=stab)
    elif sound == "stab":
        for off in (0, scale[2], 7):
            parts.add("harmony", beat, 0.5, 60 + tonic_pc + off, 100 + 27 * s, program=stab)
    else:  # crash: a low tom boom on the hit
        parts.hit("tom_low", beat, 1.0, 90 + 37 * s)
    if s < STRONG_HIT or beat - 2 < 0:
        return
    if style.fill == "timpani_roll":  # crescendo roll on the tonic
        for k in range(12):
            parts.hit("timpani", beat - 2 + k / 8, 0.125, 50 + 5 * k, pitch_class=tonic_pc)
    elif style.fill == "snare":  # snare sixteenths leading in
        for k in range(6):
            parts.hit("snare", beat - 2 + k * 0.25, 0.25, 55 + 9 * k)
    for k in range(6):  # riser: rising notes into the breath
        parts.add("fx", beat - 2 + k * 0.25, 0.25, 72 + 2 * k, 45 + 7 * k)


def _pulse_bar(
    parts: _Parts, bar: float, *, meter: int, level: float, style: Style, voicing, root: int
) -> None:
    """The style's pitched pulse (``Style.pulse``) on the harmony stem: it carries the beat
    where the drums are light or absent (orchestral pizzicato, a trailer's string ostinato,
    an ambient harp, a folk guitar's picking)."""
    if not style.pulse:
        return
    program = style.programs.get("pulse")
    velocity = 62 + 40 * level
    tones = sorted(voicing)
    if style.pulse == "pizzicato":  # chord tones on the beats, eighths when busy
        for b in range(meter):
            parts.add("harmony", bar + b, 0.4, tones[b % len(tones)], velocity, program=program)
            parts.add("bass", bar + b, 0.4, root + 12 * (b % 2), velocity - 8, program=program)
            if level > 0.6:
                offbeat = tones[(b + 1) % len(tones)] + 12
                parts.add("harmony", bar + b + 0.5, 0.3, offbeat, velocity - 20, program=program)
    elif style.pulse == "ostinato":  # driving eighths: root, root, octave, fifth …
        pattern = (0, 0, 12, 0, 7, 0, 12, 7)
        for k in range(2 * meter):
            accent = 14 if k % 2 == 0 else 0
            pitch = root + 24 + pattern[k % len(pattern)]
            parts.add("harmony", bar + k / 2, 0.35, pitch, velocity - 14 + accent, program=program)
    elif style.pulse == "arpeggio":  # up and down the chord in eighths, softly
        cycle = tones + tones[-2:0:-1]
        for k in range(2 * meter):
            accent = 18 if k % 2 == 0 else 0
            pitch = cycle[k % len(cycle)] + 12
            parts.add("harmony", bar + k / 2, 1.0, pitch, velocity - 30 + accent, program=program)
    elif style.pulse == "fingerpick" and level < 0.55:  # quiet bars: picked (busy: strummed)
        for b in range(meter):
            bass = root + 12 + (7 if b % 2 else 0)
            parts.add("harmony", bar + b, 0.9, bass, velocity, program=program)
            upper = tones[(b + 1) % len(tones)]
            parts.add("harmony", bar + b + 0.5, 0.5, upper, velocity - 18, program=program)
