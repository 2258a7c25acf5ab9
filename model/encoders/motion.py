"""``motion`` — the built-in motion encoder for dance and action (no weights).

The feature of frame k is its coarse dense optical-flow field (Farnebäck, from frame k-1 to k)
as a velocity in frame-widths per second per grid cell, plus one constant component worth a
barely visible velocity. ``1 - cos`` between consecutive fields is then near 0 while movement
carries on (or nothing moves) and large when movement starts, stops or turns — the accents a
dancer's beats and an action's impacts make.
"""

from __future__ import annotations

import cv2
import numpy as np

from v2m.model.encoders.base import VideoEncoder

_WORK_SIDE = 128
_CELLS_LONG = 8
_STILL_SPEED = 0.02
"""Frame-widths per second below which a cell counts as still (sets the constant component)."""


def _grid(height: int, width: int) -> tuple[int, int]:
    """Cells (rows, columns): ``_CELLS_LONG`` along the longer side, square-ish cells, at
    least one per side — any frame shape, 8000x16 included."""
    cell = max(1.0, max(height, width) / _CELLS_LONG)
    return max(1, min(height, round(height / cell))), max(1, min(width, round(width / cell)))


class MotionEncoder(VideoEncoder):
    """Built-in: coarse optical-flow velocity fields; for dance, sport and action."""

    name = "motion"

    def __init__(self) -> None:
        self._previous: np.ndarray | None = None
        self._previous_time: float | None = None

    def _gray(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        scale = _WORK_SIDE / max(h, w)
        size = (max(8, round(w * scale)), max(8, round(h * scale)))  # Farnebäck needs >= 8 px
        return cv2.cvtColor(
            cv2.resize(frame, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY
        )

    def encode(self, frames: np.ndarray, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        times = np.asarray(times_s, np.float64)
        rows = []
        for frame, t in zip(frames, times, strict=True):
            gray = self._gray(frame)
            h, w = gray.shape
            gh, gw = _grid(h, w)
            if self._previous is None or self._previous.shape != gray.shape:
                velocity = np.zeros((gh, gw, 2), np.float32)
            else:
                flow = cv2.calcOpticalFlowFarneback(
                    self._previous, gray, None, 0.5, 2, 9, 2, 5, 1.1, 0
                )
                dt = max(t - self._previous_time, 1e-3)
                cells = cv2.resize(flow, (gw, gh), interpolation=cv2.INTER_AREA)  # cell means
                velocity = cells.reshape(gh, gw, 2) / (max(h, w) * dt)  # frame-widths per second
            self._previous, self._previous_time = gray, t
            still = _STILL_SPEED * np.sqrt(velocity.size)
            rows.append(np.concatenate([velocity.ravel(), [still]]))
        return np.asarray(rows, np.float32), times
