"""Standard MIDI file of an arrangement, with the solved tempo map as tempo events.

MIDI time 0 is the selection's in point, so the file drops onto the timeline at the in point
and lines up with the picture in any DAW. One track per stem (drums on channel 10, each program
of a stem on its own channel), 480 ticks per beat, a ``set_tempo`` event at every beat of the
grid (tick positions follow the grid's beats, so the first one may fall part-way into a beat:
the music can start with a pickup).
"""

from __future__ import annotations

import io

import mido
import numpy as np

from v2m.model.arrange import Arrangement
from v2m.model.errors import InvalidInputError
from v2m.model.tempo import TempoMap

TICKS_PER_BEAT = 480
_STEM_ORDER = ("bass", "harmony", "melody", "fx")
DRUM_CHANNEL = 9


def _channels(arrangement: Arrangement) -> dict[tuple[str, int], int]:
    """{(stem, program): channel}: drums on channel 10, each other stem's programs on their
    own channels (a stem may play several: strings and their pizzicato, a brass stab)."""
    pairs = sorted(
        {(n.stem, n.program) for n in arrangement.notes if not n.is_drum},
        key=lambda sp: (_STEM_ORDER.index(sp[0]) if sp[0] in _STEM_ORDER else 9, sp[1]),
    )
    free = [c for c in range(16) if c != DRUM_CHANNEL]
    if len(pairs) > len(free):
        raise InvalidInputError(
            f"{len(pairs)} instruments do not fit the {len(free)} MIDI channels"
        )
    out = dict(zip(pairs, free, strict=False))
    out.update({(n.stem, n.program): DRUM_CHANNEL for n in arrangement.notes if n.is_drum})
    return out


def arrangement_to_midi(
    arrangement: Arrangement, tempo_map: TempoMap, *, duration_s: float, title: str
) -> bytes:
    """The arrangement over ``0..duration_s`` as a type-1 MIDI file (bytes)."""
    origin = float(tempo_map.beat_of(0.0))  # grid beat at time 0 (fractional)
    end = float(tempo_map.beat_of(duration_s))

    def tick(beat: float) -> int:
        return int(round((beat - origin) * TICKS_PER_BEAT))

    # Tempo events: at time 0 (tempo of the beat containing it) and at every later grid beat.
    beats = np.concatenate([[origin], np.arange(np.floor(origin) + 1, np.ceil(end) + 1)])
    times = tempo_map.time_of(beats)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name=title, time=0))
    conductor.append(
        mido.MetaMessage("time_signature", numerator=tempo_map.meter, denominator=4, time=0)
    )
    now = 0
    for i in range(len(beats) - 1):
        seconds_per_beat = (times[i + 1] - times[i]) / (beats[i + 1] - beats[i])
        at = tick(beats[i])
        conductor.append(
            mido.MetaMessage(
                "set_tempo", tempo=max(1, int(round(seconds_per_beat * 1e6))), time=at - now
            )
        )
        now = at
    tracks = [conductor]
    last_tick = tick(end)
    channels = _channels(arrangement)
    for stem in sorted({n.stem for n in arrangement.notes}):
        notes = [n for n in arrangement.notes if n.stem == stem]
        events = []
        for n in notes:
            on = tick(n.start_beat)
            if on < 0 or on >= last_tick:
                continue
            ch = channels[(stem, n.program)]
            off = min(last_tick, on + max(1, int(round(n.length_beats * TICKS_PER_BEAT))))
            events.append(
                (on, 1, mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.velocity))
            )
            events.append((off, 0, mido.Message("note_off", channel=ch, note=n.pitch, velocity=0)))
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=stem, time=0))
        for (owner, program), ch in sorted(channels.items(), key=lambda kv: kv[1]):
            if owner == stem:  # on channel 10 a program change picks the GM2 drum kit
                track.append(mido.Message("program_change", channel=ch, program=program, time=0))
        now = 0
        for at, _order, msg in sorted(events, key=lambda e: (e[0], e[1])):
            track.append(msg.copy(time=at - now))
            now = at
        tracks.append(track)
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT, tracks=tracks)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()
