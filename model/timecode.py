"""Seconds ↔ SMPTE-style timecode for display (HH:MM:SS:FF; drop-frame for 29.97/59.94)."""

from __future__ import annotations

import math

from v2m.model.errors import InvalidInputError


def is_drop_frame_rate(frame_rate_hz: float) -> bool:
    """True for the NTSC rates that use drop-frame timecode (29.97, 59.94)."""
    return any(abs(frame_rate_hz - r * 1000 / 1001) < 1e-3 for r in (30, 60))


def format_timecode(time_s: float, frame_rate_hz: float, *, drop_frame: bool | None = None) -> str:
    """Timecode of the frame at ``time_s``; drop-frame (``;`` before frames) at 29.97/59.94.

    >>> format_timecode(1.001, 30000 / 1001)
    '00:00:01;00'
    """
    if not frame_rate_hz > 0:
        raise InvalidInputError(f"frame_rate_hz must be > 0, got {frame_rate_hz}")
    if time_s < 0:
        return "-" + format_timecode(-time_s, frame_rate_hz, drop_frame=drop_frame)
    drop = is_drop_frame_rate(frame_rate_hz) if drop_frame is None else drop_frame
    nominal = round(frame_rate_hz)
    frame = int(math.floor(time_s * frame_rate_hz + 1e-6))
    if drop:
        dropped = 2 * (nominal // 30)  # frames skipped each minute except every tenth
        per_10min = nominal * 600 - dropped * 9
        per_min = nominal * 60 - dropped
        tens, rem = divmod(frame, per_10min)
        frame += dropped * 9 * tens + (
            dropped * ((rem - dropped) // per_min) if rem > dropped else 0
        )
    ff = frame % nominal
    ss = frame // nominal % 60
    mm = frame // (nominal * 60) % 60
    hh = frame // (nominal * 3600)
    return f"{hh:02d}:{mm:02d}:{ss:02d}{';' if drop else ':'}{ff:02d}"
