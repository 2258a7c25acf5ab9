"""Standard MIDI file of an arrangement, with the solved tempo map as tempo events.

One track per stem (drums on channel 10), 480 ticks per beat, a ``set_tempo`` event at every
beat of the grid, so the file's bars and beats line up with the picture in any DAW.
"""

from __future__ import annotations

import io

import mido
import numpy as np

from v2m.model.arrange import Arrangement
from v2m.model.tempo import TempoMap

TICKS_PER_BEAT = 480
_CHANNELS = {"bass": 0, "harmony": 1, "melody": 2, "fx": 3, "drums": 9}


def arrangement_to_midi(arrangement: Arrangement, tempo_map: TempoMap, *, title: str) -> bytes:
    """The arrangement as a type-1 MIDI file (bytes). Beat 0 of the file is the grid's
    ``arrangement.first_beat``; a leading tempo event covers any time before it."""
    start = arrangement.first_beat
    end = arrangement.last_beat + 2
    beats = np.arange(start, end + 1)
    times = tempo_map.time_of(beats)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name=title, time=0))
    conductor.append(
        mido.MetaMessage("time_signature", numerator=tempo_map.meter, denominator=4, time=0)
    )
    for i in range(len(beats) - 1):
        micro = int(round((times[i + 1] - times[i]) * 1e6))
        conductor.append(
            mido.MetaMessage("set_tempo", tempo=max(1, micro), time=0 if i == 0 else TICKS_PER_BEAT)
        )
    tracks = [conductor]
    for stem in sorted({n.stem for n in arrangement.notes}):
        ch = _CHANNELS.get(stem, 4)
        events = []
        notes = [n for n in arrangement.notes if n.stem == stem]
        program = notes[0].program
        for n in notes:
            on = int(round((n.start_beat - start) * TICKS_PER_BEAT))
            off = on + max(1, int(round(n.length_beats * TICKS_PER_BEAT)))
            if on < 0:
                continue
            events.append(
                (on, 1, mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.velocity))
            )
            events.append((off, 0, mido.Message("note_off", channel=ch, note=n.pitch, velocity=0)))
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=stem, time=0))
        if ch != 9:
            track.append(mido.Message("program_change", channel=ch, program=program, time=0))
        now = 0
        for tick, _order, msg in sorted(events, key=lambda e: (e[0], e[1])):
            track.append(msg.copy(time=tick - now))
            now = tick
        tracks.append(track)
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT, tracks=tracks)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()
