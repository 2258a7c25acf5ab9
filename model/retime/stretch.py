"""Render a recording through a time map: pitch- and transient-preserving time-stretch.

Signalsmith Stretch (MIT, through ``python-stretch``) runs as one stream over the whole
selection: each segment of the map feeds its source samples at its own speed, so the stretcher
keeps its state across joins — no restart, no click, no level jump. Segment boundaries are
placed on whole samples from the cumulative knots, so timing never drifts.
"""

from __future__ import annotations

import numpy as np

from v2m.model.errors import InvalidInputError
from v2m.model.retime.fit import TimeMap


def stretch_available() -> tuple[bool, str]:
    try:
        import python_stretch  # noqa: F401
    except ImportError:
        return False, "python-stretch is not installed (pip install python-stretch)"
    return True, ""


CONTEXT_S = 0.1
"""Source heard either side of each piece, so the stretcher has settled at the join."""
CROSSFADE_S = 0.01
"""Neighbouring pieces overlap by twice this and cross-fade. Across a plain join they are
renders of the same source moment, so their waveforms agree: equal-gain ramps keep the level
flat. Across a bar edit they are different moments: equal-power (sine/cosine) ramps."""


def render_through(
    audio: np.ndarray, time_map: TimeMap, *, sample_rate_hz: int, duration_s: float
) -> np.ndarray:
    """float32[channels, round(duration_s * rate)]: ``audio`` (float32[channels, n], the
    recording from 0 s) played so that source time ``time_map.to_source(t)`` sounds at ``t``.

    Each piece of the map is stretched at its own speed with :data:`CONTEXT_S` of source
    around it, placed by the map, and cross-faded into its neighbours over
    ``2 * CROSSFADE_S`` at each join and bar edit — no click and no level step anywhere."""
    import python_stretch as ps

    n_out = int(round(duration_s * sample_rate_hz))
    total_s = audio.shape[1] / sample_rate_hz
    first_s, last_s = time_map.to_source(np.array([0.0, duration_s]))
    low_s = min(first_s, time_map.source_s.min())
    high_s = max(last_s, time_map.source_s.max())
    if low_s < -1e-6 or high_s > total_s + 1e-6:
        raise InvalidInputError(
            f"the selection needs the recording from {low_s:.2f} s to {high_s:.2f} s, "
            f"but it lasts {total_s:.2f} s"
        )
    channels = audio.shape[0]
    out = np.zeros((channels, n_out), np.float32)
    weight = np.zeros(n_out, np.float32)
    context = int(CONTEXT_S * sample_rate_hz)
    fade = max(1, int(CROSSFADE_S * sample_rate_hz))
    pieces = _pieces(time_map, duration_s)
    for k, (t0, t1, s0, s1, edit_in, edit_out) in enumerate(pieces):
        speed = (s1 - s0) / (t1 - t0)
        a, b = int(round(s0 * sample_rate_hz)), int(round(s1 * sample_rate_hz))
        lo, hi = max(0, a - context), min(audio.shape[1], b + context)
        stretcher = ps.Signalsmith.Stretch()
        stretcher.preset(channels, sample_rate_hz)
        stretcher.timeFactor = float(speed)
        rendered = stretcher.process(np.ascontiguousarray(audio[:, lo:hi], dtype=np.float32))
        # Output sample j of this render sounds source sample lo + j * speed, i.e. target
        # time t0 + (lo / rate + j * speed / rate - s0) / speed.
        first = int(round((t0 + (lo / sample_rate_hz - s0) / speed) * sample_rate_hz))
        start = max(0, int(round(t0 * sample_rate_hz)) - fade)
        stop = min(n_out, int(round(t1 * sample_rate_hz)) + fade)
        j0, j1 = start - first, stop - first
        piece = rendered[:, max(0, j0) : max(0, min(rendered.shape[1], j1))]
        at = start + max(0, -j0)
        gain, power = _ramps(
            piece.shape[1],
            fade,
            start=None if k == 0 else ("power" if edit_in else "gain"),
            end=None if k == len(pieces) - 1 else ("power" if edit_out else "gain"),
        )
        out[:, at : at + piece.shape[1]] += piece * gain
        weight[at : at + piece.shape[1]] += power
    return (out / np.maximum(weight, 1e-6)).astype(np.float32)


def _pieces(time_map: TimeMap, duration_s: float) -> list[tuple]:
    """(t0, t1, s0, s1, edit before, edit after) per piece of the map inside the selection."""
    inside = []
    for t0, t1, s0, s1, edit_in in time_map.pieces():
        lo, hi = max(t0, 0.0), min(t1, duration_s)
        if hi > lo:
            speed = (s1 - s0) / (t1 - t0)
            inside.append([lo, hi, s0 + (lo - t0) * speed, s0 + (hi - t0) * speed, edit_in])
    for piece, following in zip(inside, inside[1:] + [None], strict=True):
        piece.append(bool(following and following[4]))
    return [tuple(p) for p in inside]


def _ramps(n: int, fade: int, *, start: str | None, end: str | None):
    """(amplitude, weight), float32[n] each: 1 in the middle, with ``2 * fade`` ramps at the
    ends that meet a neighbour. "gain" ramps are linear and add to 1 with the neighbour's
    (weight = amplitude); "power" ramps are sine/cosine, whose squares add to 1 (weight =
    amplitude², so the normalisation leaves an equal-power cross-fade)."""
    amp = np.ones(n, np.float32)
    weight = np.ones(n, np.float32)
    x = np.linspace(0, 1, 2 * fade + 2, dtype=np.float32)[1:-1]
    shapes = {"gain": (x, x), "power": (np.sin(np.pi / 2 * x), np.sin(np.pi / 2 * x) ** 2)}
    for side, kind in (("start", start), ("end", end)):
        if kind is None or n < len(x):
            continue
        a, w = shapes[kind]
        if side == "start":
            amp[: len(x)], weight[: len(x)] = a, w
        else:
            amp[-len(x) :], weight[-len(x) :] = a[::-1], w[::-1]
    return amp, weight
