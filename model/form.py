"""The form of a cue: sections, what each is (intro, build, peak, release) and what it plays.

Sections start at strong must-hits (a big cut is a new scene) and, where the picture runs on
without one, every :data:`SECTION_BARS` bars — so a long cue moves on instead of looping one
progression. Each section's role follows the event curve: the most intense section is the
peak, those before it build towards it, those after release. Each section takes its own chord
progression — a phrase and an answering variant — and melodic motif (never the previous
section's), chosen by the seed, so two seeds give two different pieces over the same hits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SECTION_BARS = 8
"""Longest section when no strong hit starts one sooner."""
MOTIFS = ((0, 2, 1, 4), (4, 2, 0, 1), (0, 1, 2, 4), (2, 4, 5, 4), (4, 3, 2, 0), (0, 4, 3, 1))
"""Melodic cells: scale steps above the chord's root."""
RHYTHMS = ((0, 1, 1.5, 2.5), (0, 0.5, 1, 2), (0, 1.5, 2, 3), (0, 1, 2, 3))
"""Onsets (beats into the bar) of a motif's four notes."""


@dataclass(frozen=True)
class Section:
    """One section: from ``start_beat`` (a downbeat) to the next section."""

    start_beat: int
    role: str
    """intro, build, peak or release."""
    progression: tuple[int, ...]
    """Chord degrees, one per bar, cycled: a phrase and its answer (two variants)."""
    motif: tuple[int, ...]
    rhythm: tuple[float, ...]


def progression_variants(base: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The style's progression and close relatives: rotated by two bars, with a IV–V turn
    at the end, with its middle chords swapped. Distinct, the base first."""
    n = len(base)
    candidates = [
        base,
        base[n // 2 :] + base[: n // 2],
        base[: max(1, n - 2)] + (3, 4),
        base[:1] + base[1 : n - 1][::-1] + base[n - 1 :],
    ]
    out: list[tuple[int, ...]] = []
    for c in candidates:
        if c not in out:
            out.append(c)
    return out


def _pick(options: list, previous, rng: np.random.Generator):
    """A seeded choice among ``options``, never ``previous`` when there is another."""
    fresh = [o for o in options if o != previous] or options
    return fresh[int(rng.integers(len(fresh)))]


def plan_form(
    bars: list[int],
    intensity: np.ndarray,
    *,
    strong_starts: set[int],
    base_progression: tuple[int, ...],
    meter: int,
    rng: np.random.Generator,
) -> list[Section]:
    """Sections over ``bars`` (downbeat positions, beats; ``intensity`` float[len(bars)])."""
    starts = [bars[0]]
    for bar in bars[1:]:
        if bar in strong_starts or bar - starts[-1] >= SECTION_BARS * meter:
            starts.append(bar)
    index = np.searchsorted(starts, bars, side="right") - 1
    energy = np.array([intensity[index == k].mean() for k in range(len(starts))])
    peak = int(np.argmax(energy))
    variants = progression_variants(tuple(base_progression))
    rhythm = RHYTHMS[int(rng.integers(len(RHYTHMS)))]
    sections: list[Section] = []
    for k, start in enumerate(starts):
        if k == peak:
            role = "peak"
        elif k == 0:
            role = "intro"
        else:
            role = "build" if k < peak else "release"
        previous = sections[-1] if sections else None
        if previous is None:
            phrase = variants[0]
        else:  # not the phrase the previous section opened with
            phrase = _pick(variants, previous.progression[: len(base_progression)], rng)
        answer = _pick(variants, phrase, rng)  # the phrase, then an answering one
        progression = phrase + answer
        motif = _pick(list(MOTIFS), previous.motif if previous else None, rng)
        sections.append(Section(int(start), role, progression, motif, rhythm))
    return sections
