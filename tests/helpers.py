"""Test helpers: the ../shared/media location and small synthetic audio writers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MEDIA = Path(os.environ.get("V2M_SHARED_MEDIA", REPO.parent / "shared" / "media"))


def shared_media_path(relative: str) -> Path:
    """Path of a file in ../shared/media, or skip the test with the reason."""
    path = SHARED_MEDIA / relative
    if not path.exists():
        pytest.skip(
            f"shared test media not available ({path} missing; it sits beside the repo "
            "in the project's workspace, not in a user's clone)"
        )
    return path


def write_audio(
    path: Path,
    samples: np.ndarray,
    sample_rate_hz: int,
    *,
    start_s: float = 0.0,
    codec: str = "flac",
) -> Path:
    """Write float samples (float32[channels, n]) with PyAV; ``start_s`` offsets the stream."""
    import av

    channels = samples.shape[0]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=sample_rate_hz)
        stream.layout = "mono" if channels == 1 else "stereo"
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        frame_len = 4096
        offset = round(start_s * sample_rate_hz)
        for i in range(0, pcm.shape[1], frame_len):
            chunk = np.ascontiguousarray(pcm[:, i : i + frame_len].T.reshape(1, -1))
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout=stream.layout.name)
            frame.sample_rate = sample_rate_hz
            frame.pts = offset + i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def click_track(times_s, *, duration_s: float, sample_rate_hz: int = 22050) -> np.ndarray:
    """float32[1, n]: broadband clicks (decaying noise bursts) at ``times_s`` over quiet noise."""
    rng = np.random.default_rng(0)
    n = int(duration_s * sample_rate_hz)
    y = 0.002 * rng.standard_normal(n)
    burst = int(0.04 * sample_rate_hz)
    env = np.exp(-np.arange(burst) / (0.008 * sample_rate_hz))
    for t in times_s:
        i = int(round(t * sample_rate_hz))
        seg = y[i : i + burst]
        seg += 0.8 * env[: len(seg)] * rng.standard_normal(len(seg))
    return y[None].astype(np.float32)
