"""The form of a cue: sections move on, follow the curve, and differ between seeds."""

from __future__ import annotations

from collections import Counter

import numpy as np

from v2m.model.arrange import arrange
from v2m.model.form import SECTION_BARS, progression_variants
from v2m.model.styles import PRESETS
from v2m.model.tempo import solve_tempo
from v2m.model.types import EventCurve


def _cue(curve_values, *, duration_s: float, style: str = "acoustic", seed: int = 0):
    s = PRESETS[style]
    plan = solve_tempo(
        [], duration_s=duration_s, bpm_range=s.bpm_range, bpm=s.bpm, meter=4, frame_rate_hz=25
    )
    curve = EventCurve(np.asarray(curve_values, np.float32), 1.0, 0.0, "test")
    return arrange(plan, style=s, curve=curve, duration_s=duration_s, seed=seed)


def _blocks(arrangement, *, bars: int = 4) -> list[tuple]:
    """The chords of each ``bars``-bar block: per bar, the pitch classes the harmony strikes
    (what a loop would repeat; humanised timing and velocities do not count)."""
    chords: dict[int, set] = {}
    for n in arrangement.notes:
        if n.stem == "harmony":
            bar = int((n.start_beat - arrangement.first_beat + 0.05) // 4)
            chords.setdefault(bar, set()).add(n.pitch % 12)
    per_bar = [frozenset(chords.get(b, ())) for b in range(max(chords) + 1)]
    n_blocks = len(per_bar) // bars - 1  # the last block is cut short
    return [tuple(per_bar[k * bars : (k + 1) * bars]) for k in range(n_blocks)]


def test_a_two_minute_cue_never_loops_one_four_bar_block():
    steady = np.full(121, 1.0) + 0.2 * np.sin(np.arange(121) / 7)
    cue = _cue(steady, duration_s=120.0)
    blocks = _blocks(cue)
    assert len(blocks) >= 10
    most = Counter(blocks).most_common(1)[0][1]
    assert len(set(blocks)) >= len(blocks) // 2 and most <= len(blocks) // 3, Counter(blocks)
    assert len(cue.sections) >= len(blocks) * 4 // SECTION_BARS - 1


def test_the_form_follows_the_curve():
    t = np.arange(97)
    rise_and_fall = np.exp(-(((t - 60) / 14.0) ** 2))  # the peak 60 s in
    cue = _cue(rise_and_fall, duration_s=96.0)
    roles = [role for _beat, role in cue.form]
    peak = roles.index("peak")
    assert roles.count("peak") == 1 and roles[0] == "intro"
    assert set(roles[1:peak]) <= {"build"} and set(roles[peak + 1 :]) <= {"release"}
    beats_per_s = (cue.last_beat - cue.first_beat) / 96.0
    peak_s = (cue.form[peak][0] - cue.first_beat) / beats_per_s
    assert 35 <= peak_s <= 70  # the peak section holds the curve's maximum


def test_seeds_give_different_pieces():
    curve = np.full(61, 1.0)
    first, second = (_cue(curve, duration_s=60.0, seed=s) for s in (1, 2))
    a, b = _blocks(first), _blocks(second)
    assert sum(x != y for x, y in zip(a, b, strict=False)) >= len(a) // 2


def test_progression_variants_are_distinct_and_start_with_the_style():
    for style in PRESETS.values():
        variants = progression_variants(style.progression)
        assert variants[0] == style.progression and len(set(variants)) == len(variants) >= 3
