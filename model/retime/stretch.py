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
"""Source heard either side of each segment, so the stretcher has settled at the join."""
CROSSFADE_S = 0.01
"""Neighbouring segments overlap by this much and cross-fade (equal gain: they are renders
of the same source moment, so their waveforms agree and the level stays flat)."""


def render_through(
    audio: np.ndarray, time_map: TimeMap, *, sample_rate_hz: int, duration_s: float
) -> np.ndarray:
    """float32[channels, round(duration_s * rate)]: ``audio`` (float32[channels, n], the
    recording from 0 s) played so that source time ``time_map.to_source(t)`` sounds at ``t``.

    Each segment of the map is stretched at its own speed with :data:`CONTEXT_S` of source
    around it, placed by the map, and cross-faded into its neighbours over
    :data:`CROSSFADE_S` at the join — no click and no level step at any join."""
    import python_stretch as ps

    n_out = int(round(duration_s * sample_rate_hz))
    knots_t = np.clip(time_map.target_s, 0, duration_s)
    knots_s = time_map.to_source(knots_t)
    total_s = audio.shape[1] / sample_rate_hz
    if knots_s[0] < -1e-6 or knots_s[-1] > total_s + 1e-6:
        raise InvalidInputError(
            f"the selection needs the recording from {knots_s[0]:.2f} s to {knots_s[-1]:.2f} s, "
            f"but it lasts {total_s:.2f} s"
        )
    channels = audio.shape[0]
    out = np.zeros((channels, n_out), np.float32)
    weight = np.zeros(n_out, np.float32)
    context = int(CONTEXT_S * sample_rate_hz)
    fade = max(1, int(CROSSFADE_S * sample_rate_hz))
    for k in range(len(knots_t) - 1):
        t0, t1 = knots_t[k], knots_t[k + 1]
        if t1 <= t0:
            continue
        speed = (knots_s[k + 1] - knots_s[k]) / (t1 - t0)
        a = int(round(knots_s[k] * sample_rate_hz))
        b = int(round(knots_s[k + 1] * sample_rate_hz))
        lo, hi = max(0, a - context), min(audio.shape[1], b + context)
        chunk = np.ascontiguousarray(audio[:, lo:hi], dtype=np.float32)
        stretcher = ps.Signalsmith.Stretch()
        stretcher.preset(channels, sample_rate_hz)
        stretcher.timeFactor = float(speed)
        rendered = stretcher.process(chunk)
        # Output sample j of this render sounds source sample lo + j * speed, i.e. target
        # time t0 + (lo / rate + j * speed / rate - knots_s[k]) / speed.
        first = int(round((t0 + (lo / sample_rate_hz - knots_s[k]) / speed) * sample_rate_hz))
        start = max(0, int(round(t0 * sample_rate_hz)) - fade)
        stop = min(n_out, int(round(t1 * sample_rate_hz)) + fade)
        j0, j1 = start - first, stop - first
        piece = rendered[:, max(0, j0) : max(0, min(rendered.shape[1], j1))]
        at = start + max(0, -j0)
        ramp = _window(piece.shape[1], fade, open_start=k == 0, open_end=k == len(knots_t) - 2)
        out[:, at : at + piece.shape[1]] += piece * ramp
        weight[at : at + piece.shape[1]] += ramp
    return (out / np.maximum(weight, 1e-6)).astype(np.float32)


def _window(n: int, fade: int, *, open_start: bool, open_end: bool) -> np.ndarray:
    """float32[n]: 1 with linear ramps of ``2 * fade`` at the ends that meet a neighbour."""
    w = np.ones(n, np.float32)
    ramp = np.linspace(0, 1, 2 * fade + 2, dtype=np.float32)[1:-1]
    if not open_start and n >= len(ramp):
        w[: len(ramp)] = ramp
    if not open_end and n >= len(ramp):
        w[-len(ramp) :] = ramp[::-1]
    return w
