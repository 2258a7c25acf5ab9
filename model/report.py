"""An analysis as JSON-ready data and as a short human summary."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from v2m import __version__
from v2m.model.analysis import Analysis
from v2m.model.timecode import format_timecode

JSON_SCHEMA = "v2m.curve/1"


def _floats(values, digits: int = 5) -> list[float]:
    return [round(float(v), digits) for v in np.asarray(values).ravel()]


def analysis_to_dict(a: Analysis) -> dict:
    """Everything ``v2m curve --json`` writes: media, settings, cuts, peaks and curves."""
    m, c, s = a.media, a.curves, a.settings
    video = None
    if m.video:
        v = m.video
        video = {
            "codec": v.codec,
            "coded_size": [v.width, v.height],
            "display_size": [v.display_width, v.display_height],
            "frame_rate_hz": v.frame_rate_hz,
            "average_rate_hz": v.average_rate_hz,
            "variable_frame_rate": v.is_variable_rate,
            "rotation_deg": v.rotation_deg,
            "sample_aspect_ratio": str(v.sample_aspect_ratio),
        }
    fps = a.frame_rate_hz
    return {
        "schema": JSON_SCHEMA,
        "v2m_version": __version__,
        "media": {
            "path": m.path,
            "container": m.container,
            "duration_s": m.duration_s,
            "origin_s": m.origin_s,
            "video": video,
            "audio": [dataclasses.asdict(x) for x in m.audio],
        },
        "settings": {
            "modality": a.modality,
            "encoder": a.encoder,
            "rate_hz": s.rate_hz,
            "kernel_size": c.kernel_size,
            "kernel_s": c.kernel_size / s.rate_hz,
            "analysis_fps": s.analysis_fps,
            "frame_side_px": s.frame_side_px,
            "min_peak_spacing_s": s.min_peak_spacing_s,
            "cuts": dataclasses.asdict(s.cuts),
        },
        "cuts": [
            {
                "time_s": round(cut.time_s, 6),
                "frame": round(cut.time_s * fps) if fps else None,
                "timecode": format_timecode(cut.time_s, fps) if fps else None,
                "confidence": round(cut.confidence, 4),
            }
            for cut in a.cuts
        ],
        "peaks_s": _floats(a.peaks_s, 6),
        "raw": {
            "description": "standardized 1 - cos of consecutive features, at midpoint times",
            "times_s": _floats(c.raw_times_s, 6),
            "values": _floats(c.raw),
        },
        "smoothed": {
            "description": "raw curve resampled (box-filtered) to rate_hz, Hann-smoothed",
            "rate_hz": c.smoothed.rate_hz,
            "start_s": c.smoothed.start_s,
            "times_s": _floats(c.smoothed.times_s, 6),
            "values": _floats(c.smoothed.values),
        },
    }


def summary_lines(a: Analysis, *, elapsed_s: float | None = None) -> list[str]:
    """A few lines for the terminal: what was read, the cuts in timecode, the strongest peaks."""
    m = a.media
    lines = []
    if m.video:
        v = m.video
        vfr = ", variable frame rate" if v.is_variable_rate else ""
        rot = f", rotated {v.rotation_deg}°" if v.rotation_deg else ""
        lines.append(
            f"{Path(m.path).name}: {m.duration_s:.3f} s, {v.display_width}x{v.display_height} "
            f"@ {v.frame_rate_hz:.3f} fps{vfr}{rot}; encoder {a.encoder}"
        )
    else:
        lines.append(f"{Path(m.path).name}: {m.duration_s:.3f} s audio; encoder {a.encoder}")
    fps = a.frame_rate_hz
    if a.modality == "video" or m.video:
        lines.append(f"cuts ({len(a.cuts)}):")
        for cut in a.cuts:
            tc = format_timecode(cut.time_s, fps) if fps else ""
            frame = f"frame {round(cut.time_s * fps):>6d}" if fps else ""
            soft = "  (soft: fade or borderline change)" if cut.confidence < 0.5 else ""
            lines.append(
                f"  {tc}  {cut.time_s:9.3f} s  {frame}  confidence {cut.confidence:.2f}{soft}"
            )
    order = np.argsort(-np.interp(a.peaks_s, a.curves.raw_times_s, a.curves.raw))[:8]
    top = ", ".join(f"{t:.3f}" for t in np.sort(a.peaks_s[order]))
    sm = a.curves.smoothed
    lines.append(
        f"curve: {len(sm.values)} samples at {sm.rate_hz:g} Hz (Hann {a.curves.kernel_size}); "
        f"{len(a.peaks_s)} peaks, strongest at {top or '-'} s"
    )
    if elapsed_s is not None:
        lines.append(
            f"analysed in {elapsed_s:.2f} s ({m.duration_s / max(elapsed_s, 1e-9):.1f}x real time)"
        )
    return lines
