"""A music prompt described from the video's own measurements (when the user gives none).

Cut rate, picture activity, brightness, colour temperature and saturation map to words a style
matcher understands ("energetic electronic", "dark cinematic suspense", "warm acoustic"). The
prompt is shown to the user and saved with the result.
"""

from __future__ import annotations

import numpy as np

from v2m.model.analysis import Analysis


def video_measurements(analysis: Analysis, start_s: float, end_s: float) -> dict:
    """Numbers the description is made from (also saved with the result)."""
    span = max(end_s - start_s, 1e-3)
    cuts = [c for c in analysis.cuts if start_s <= c.time_s < end_s]
    thumbs = [img for t, img in analysis.thumbnails if start_s <= t < end_s] or [
        img for _t, img in analysis.thumbnails
    ]
    if thumbs:
        px = np.concatenate([t.reshape(-1, 3) for t in thumbs]).astype(np.float64) / 255.0
        brightness = float(px.mean())
        warmth = float((px[:, 0] - px[:, 2]).mean())
        saturation = float((px.max(axis=1) - px.min(axis=1)).mean())
    else:
        brightness, warmth, saturation = 0.5, 0.0, 0.3
    c = analysis.curves
    inside = (c.raw_times_s >= start_s) & (c.raw_times_s < end_s)
    activity = float(np.mean(c.raw[inside] > 1.0)) if inside.any() else 0.0
    return {
        "cuts_per_minute": round(60.0 * len(cuts) / span, 2),
        "activity": round(activity, 3),
        "brightness": round(brightness, 3),
        "warmth": round(warmth, 3),
        "saturation": round(saturation, 3),
        "has_audio": analysis.media.has_audio,
    }


def describe_video(analysis: Analysis, start_s: float, end_s: float) -> str:
    m = video_measurements(analysis, start_s, end_s)
    fast = m["cuts_per_minute"] >= 20 or m["activity"] > 0.15
    slow = m["cuts_per_minute"] < 6 and m["activity"] < 0.05
    dark = m["brightness"] < 0.3
    bright = m["brightness"] > 0.55
    warm = m["warmth"] > 0.04
    vivid = m["saturation"] > 0.35
    if dark:
        words = ["cinematic", "dark", "suspense"] + (["intense", "action"] if fast else ["slow"])
    elif fast and vivid:
        words = ["electronic", "energetic", "upbeat"]
    elif fast:
        words = ["rock", "driving", "energetic"]
    elif slow and warm:
        words = ["acoustic", "warm", "gentle"]
    elif slow:
        words = ["ambient", "atmospheric", "calm"]
    elif warm:
        words = ["lofi", "mellow", "warm"]
    else:
        words = ["cinematic", "dramatic"] + (["bright"] if bright else [])
    return (
        f"{' '.join(words)} (described from the video: {m['cuts_per_minute']:g} cuts/min, "
        f"{'bright' if bright else 'dark' if dark else 'mid'} picture, "
        f"{'warm' if warm else 'cool'} colours, {'vivid' if vivid else 'muted'})"
    )
