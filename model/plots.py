"""Pictures of an analysis: thumbnails over time, the event curve, its peaks and the cuts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from v2m.model.analysis import Analysis
from v2m.model.timecode import format_timecode


def plot_analysis(analysis: Analysis, path: str | os.PathLike, *, title: str | None = None) -> None:
    """Write a PNG: a thumbnail strip (video), the raw and smoothed curves, peaks and cuts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = analysis
    duration = max(a.duration_s, 1e-3)
    has_thumbs = bool(a.thumbnails)
    fig, axes = plt.subplots(
        2 if has_thumbs else 1,
        1,
        figsize=(13, 5.2 if has_thumbs else 4.2),
        sharex=True,
        gridspec_kw={"height_ratios": [1, 4]} if has_thumbs else None,
        squeeze=False,
    )
    ax = axes[-1, 0]
    if has_thumbs:
        strip = axes[0, 0]
        step = duration / len(a.thumbnails)
        for t, img in a.thumbnails:
            strip.imshow(img, extent=(t, min(t + step * 0.96, duration), 0, 1), aspect="auto")
        strip.set_ylim(0, 1)
        strip.set_yticks([])
        strip.set_facecolor("#222222")
    c = a.curves
    ax.plot(c.raw_times_s, c.raw, color="#9aa5b1", lw=0.8, label="raw event curve (standardized)")
    sm = c.smoothed
    right = ax.twinx()  # the smoothed curve is far smaller than the raw spikes: own scale
    right.plot(sm.times_s, sm.values, color="#1f4e8c", lw=2.2)
    right.set_ylabel(f"smoothed (Hann {c.kernel_size} @ {sm.rate_hz:g} Hz)", color="#1f4e8c")
    right.tick_params(axis="y", colors="#1f4e8c")
    ax.plot([], [], color="#1f4e8c", lw=2.2, label="smoothed curve (right axis)")
    if len(a.peaks_s):
        peak_vals = np.interp(a.peaks_s, c.raw_times_s, c.raw)
        ax.plot(a.peaks_s, peak_vals, "v", color="#e08a00", ms=6, label="peaks")
    fps = a.frame_rate_hz
    for i, cut in enumerate(a.cuts):
        ax.axvline(
            cut.time_s,
            color="#c62828",
            ls="--",
            lw=1.2,
            label="cuts (PySceneDetect)" if i == 0 else None,
        )
        label = format_timecode(cut.time_s, fps) if fps else f"{cut.time_s:.2f}s"
        ax.annotate(
            label,
            (cut.time_s, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            fontsize=8,
            color="#c62828",
            rotation=90,
            va="top",
        )
    ax.axhline(0, color="#cccccc", lw=0.6)
    ax.set_xlim(0, duration)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("event curve (σ)")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    ax.grid(alpha=0.25)
    name = Path(a.media.path).name
    fig.suptitle(
        title
        or f"{name} — {a.modality} encoder '{a.encoder}', {len(a.cuts)} cuts, {duration:.2f} s",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
    plt.close(fig)
