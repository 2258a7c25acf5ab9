"""Genre-true percussion and parts: roles per kit, a pulse on every beat, the hit vocabulary."""

from __future__ import annotations

import io

import mido
import numpy as np
import pytest

from v2m.model import grooves as G
from v2m.model.arrange import arrange
from v2m.model.midi import arrangement_to_midi
from v2m.model.styles import PRESETS
from v2m.model.tempo import solve_tempo
from v2m.model.types import EventCurve, Hit


def _strokes(groove: str, *, level: float, meter: int = 4) -> list[tuple[str, float]]:
    played: list[tuple[str, float]] = []
    G.drum_bar(
        lambda role, beat, length, velocity, pitch_class=0: played.append((role, beat)),
        0.0,
        meter=meter,
        level=level,
        groove=groove,
        swing_amount=0.3,
        tonic_pc=0,
        root_pc=7,
        rng=np.random.default_rng(0),
    )
    return played


@pytest.mark.parametrize("groove", G.GROOVES)
@pytest.mark.parametrize("level", [0.2, 0.5, 1.0])
@pytest.mark.parametrize("meter", [3, 4])
def test_every_groove_strikes_a_steady_drum_on_every_beat(groove, level, meter):
    """Beat trackers hear the pulse in the drums: every beat has a kick, snare, clap, timpani
    or taiko stroke, at every intensity."""
    steady = {beat for role, beat in _strokes(groove, level=level, meter=meter)
              if role in G.STEADY_ROLES or role == "taiko_short"}  # fmt: skip
    assert set(range(meter)) <= steady


@pytest.mark.parametrize("style", ["orchestral", "cinematic", "ambient"])
def test_orchestral_styles_never_play_a_pop_kit(style):
    kit = PRESETS[style].drum_kit
    assert kit == G.ORCHESTRA_KIT
    for level in (0.2, 0.5, 1.0):
        roles = {role for role, _ in _strokes(PRESETS[style].groove, level=level)}
        assert not roles & {"hat", "open_hat", "ride", "clap", "shaker"}, roles
    # In the orchestra kit a hi-hat key would be a timpani stroke: those roles are silent.
    assert {G.drum_key(kit, r) for r in ("hat", "open_hat", "ride", "tom_low")} == {None}
    assert G.drum_key(kit, "timpani", pitch_class=7) == 43  # G on the F..E timpani


def _arrangement(style: str, *, seed: int = 0):
    hits = [Hit(t, 1.0, "cut") for t in (4.0, 8.0, 12.5)]
    plan = solve_tempo(
        hits,
        duration_s=16.0,
        bpm_range=PRESETS[style].bpm_range,
        bpm=PRESETS[style].bpm,
        meter=4,
        frame_rate_hz=25.0,
    )
    times = np.arange(0, 16, 0.1)
    curve = EventCurve(np.abs(np.sin(times)), 10.0, 0.0, "test")
    return plan, arrange(plan, style=PRESETS[style], curve=curve, duration_s=16.0, seed=seed)


def test_orchestral_hits_are_timpani_and_a_string_chord_and_the_pulse_is_pizzicato():
    plan, arrangement = _arrangement("orchestral")
    notes = arrangement.notes
    timpani = set(range(G.TIMPANI_LOW_KEY, G.TIMPANI_LOW_KEY + 13))
    for hit in (p for p in plan.placements if p.kind == "cut"):
        at = [n for n in notes if abs(n.start_beat - hit.beat) < 1e-9]
        assert any(n.is_drum and n.pitch in timpani for n in at)
        stab = [n for n in at if n.stem == "harmony" and n.program == 48]
        assert len(stab) >= 4  # a full-orchestra chord across octaves
    pizzicato = [n for n in notes if n.program == 45]
    assert {n.stem for n in pizzicato} == {"harmony", "bass"}
    midi = mido.MidiFile(
        file=io.BytesIO(arrangement_to_midi(arrangement, plan.tempo_map, duration_s=16, title="t"))
    )
    harmony = next(t for t in midi.tracks if t.name == "harmony")
    programs = {m.channel: m.program for m in harmony if m.type == "program_change"}
    assert sorted(programs.values()) == [45, 48]  # each on its own channel
    played = {m.channel for m in harmony if m.type == "note_on"}
    assert played == set(programs)


def test_seeds_change_the_parts_not_the_hits():
    plan, first = _arrangement("hiphop", seed=1)
    _, second = _arrangement("hiphop", seed=2)
    assert first.notes != second.notes
    for hit in (p for p in plan.placements if p.kind == "cut"):
        for arrangement in (first, second):
            assert any(
                n.is_drum and n.pitch == G.KICK and n.start_beat == hit.beat
                for n in arrangement.notes
            )
