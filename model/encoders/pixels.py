"""``pixels`` — the built-in video encoder (no weights).

Per frame, three coarse layouts on a grid (about 16 × 9 cells for 16:9 frames):

* log-luminance, standardized over the cells;
* edge energy (gradient magnitude of log-luminance), scaled to unit RMS;
* log-chromaticity (``log R − log G``, ``log B − (log R + log G)/2``), scaled to unit RMS;

plus one constant component. Working in the log domain makes the features invariant to
exposure and gamma: ``log(c · x^γ) = log c + γ log x``, and standardizing (or RMS-scaling)
removes both ``log c`` and ``γ``. Cell averages make them tolerant of small shifts, while a
cut — a different picture — decorrelates every layout. Flat frames (black, a slate) have
near-zero layouts (the spread floors stop noise from being blown up), so the constant component
makes two flat frames alike and a flat frame clearly unlike a textured one.
"""

from __future__ import annotations

import cv2
import numpy as np

from v2m.model.encoders.base import VideoEncoder

_WORK_SIDE = 64
"""Frames are first area-reduced so their longer side is this many pixels."""
_CELLS_LONG = 16
"""Grid cells along the longer side."""
_BLUR_SIGMA = 2.0
"""Gaussian blur (in work pixels) before cell averaging: soft cells tolerate shifts."""
_LUMA_BLUR_SIGMA = 3.0
"""Extra blur of the log-luminance layout, the component most sensitive to shifts."""
_LOG_EPS = 0.02
"""Added to linear values in [0, 1] before the log, so black noise is not amplified."""
_LUM_STD_FLOOR = 0.25
_EDGE_RMS_FLOOR = 0.05
_CHROMA_RMS_FLOOR = 0.15
_WEIGHTS = {"luma": 0.8, "edges": 0.4, "chroma": 0.4, "constant": 0.5}


def _cell_mean(x: np.ndarray, cell: int) -> np.ndarray:
    """Block means of x: float[n, H, W] → float[n, H // cell, W // cell]."""
    n, h, w = x.shape
    h2, w2 = h // cell, w // cell
    x = x[:, : h2 * cell, : w2 * cell]
    return x.reshape(n, h2, cell, w2, cell).mean(axis=(2, 4))


def _unit_rms(x: np.ndarray, floor: float) -> np.ndarray:
    """Scale each row of x (float[n, k]) to unit RMS, dividing by at least ``floor``."""
    rms = np.sqrt(np.mean(x * x, axis=1, keepdims=True))
    return x / np.maximum(rms, floor)


class PixelsEncoder(VideoEncoder):
    """Built-in: log-luminance, edge and chroma layouts; exposure/gamma invariant, no weights."""

    name = "pixels"

    def encode(self, frames: np.ndarray, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, h, w, _ = frames.shape
        cell = max(1, _WORK_SIDE // _CELLS_LONG)
        scale = _WORK_SIDE / max(h, w)
        ws = max(cell, round(w * scale / cell) * cell)
        hs = max(cell, round(h * scale / cell) * cell)
        small = np.stack(
            [
                cv2.GaussianBlur(
                    cv2.resize(f, (ws, hs), interpolation=cv2.INTER_AREA), (0, 0), _BLUR_SIGMA
                )
                for f in frames
            ]
        )
        logs = np.log(small.astype(np.float32) * (1.0 / 255.0) + _LOG_EPS)  # [n, hs, ws, 3]
        log_r, log_g, log_b = logs[..., 0], logs[..., 1], logs[..., 2]
        log_lum = 0.299 * log_r + 0.587 * log_g + 0.114 * log_b

        smooth_lum = np.stack([cv2.GaussianBlur(x, (0, 0), _LUMA_BLUR_SIGMA) for x in log_lum])
        luma = _cell_mean(smooth_lum, cell).reshape(n, -1)
        luma = luma - luma.mean(axis=1, keepdims=True)
        luma = luma / np.maximum(luma.std(axis=1, keepdims=True), _LUM_STD_FLOOR)

        gx = np.abs(np.diff(log_lum, axis=2, append=log_lum[:, :, -1:]))
        gy = np.abs(np.diff(log_lum, axis=1, append=log_lum[:, -1:, :]))
        edges = _unit_rms(_cell_mean(gx + gy, cell).reshape(n, -1), _EDGE_RMS_FLOOR)

        c1 = _cell_mean(log_r - log_g, cell).reshape(n, -1)
        c2 = _cell_mean(log_b - 0.5 * (log_r + log_g), cell).reshape(n, -1)
        chroma = _unit_rms(np.concatenate([c1, c2], axis=1), _CHROMA_RMS_FLOOR)

        k = luma.shape[1]
        parts = [
            _WEIGHTS["luma"] * luma / np.sqrt(k),
            _WEIGHTS["edges"] * edges / np.sqrt(k),
            _WEIGHTS["chroma"] * chroma / np.sqrt(2 * k),
            np.full((n, 1), _WEIGHTS["constant"], dtype=np.float32),
        ]
        return np.concatenate(parts, axis=1).astype(np.float32), np.asarray(times_s, np.float64)
