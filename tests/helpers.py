"""Test helpers: the ../shared/media location and small synthetic audio writers."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MEDIA = Path(os.environ.get("V2M_SHARED_MEDIA", REPO.parent / "shared" / "media"))


HARD_CUT_VIDEOS = (
    "video/pyscenedetect_testvideo.mp4",
    "video/big_buck_bunny_0_30.webm",
    "video/goldeneye-vfr-drop3.mp4",
    "video/issue-134-rotate.mp4",
    "video/fcpscene_60fps.mp4",
)
"""The shared videos with hard cuts (media_index.json lists their cut times)."""


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


def write_video(path: Path, frames, fps: int) -> Path:
    """Encode uint8[h, w, 3] RGB frames as H.264 at ``fps``."""
    import av

    with av.open(str(path), "w") as out:
        stream = None
        for img in frames:
            if stream is None:
                stream = out.add_stream("libx264", rate=fps)
                stream.height, stream.width = img.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": "20", "preset": "veryfast"}
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def dancing_frames(*, beat_s: float, duration_s: float, fps: int = 30, phase_s: float = 0.0):
    """A figure on a textured stage that swings left and right, turning on every beat."""
    import cv2

    rng = np.random.default_rng(3)
    stage = cv2.resize(rng.uniform(0, 255, (9, 16, 3)).astype(np.uint8), (320, 180))
    for i in range(int(duration_s * fps)):
        t = i / fps
        u = ((t - phase_s) / beat_s) % 2.0  # 0..2: out and back over two beats
        x = 100 + 120 * (u if u < 1 else 2 - u)  # triangle wave: turns at each beat
        img = stage.copy()
        cv2.circle(img, (int(x), 90), 28, (250, 250, 250), -1)
        cv2.rectangle(img, (int(x) - 10, 118), (int(x) + 10, 170), (240, 200, 60), -1)
        yield img


class ServerThread:
    """A real gRPC server (``v2m.server.app.start_server``) on its own event loop in a
    background thread."""

    def __init__(self, settings):
        from v2m.server.app import start_server

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        fut = asyncio.run_coroutine_threadsafe(start_server(settings), self.loop)
        self.running = fut.result(timeout=30)
        self.port = self.running.port

    def stop(self, grace_s=1.0):
        stopping = self.running.stop(grace_s=grace_s)
        asyncio.run_coroutine_threadsafe(stopping, self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def local_server(media_root, data_dir, **settings) -> ServerThread:
    """A ServerThread on 127.0.0.1 port 0 serving ``media_root``, storing into ``data_dir``;
    ``settings`` as ServerSettings fields. ``.data_dir`` is kept on it for the tests."""
    from v2m.server.settings import ServerSettings

    srv = ServerThread(
        ServerSettings(port=0, media_roots=(str(media_root),), data_dir=str(data_dir), **settings)
    )
    srv.data_dir = Path(data_dir)
    return srv


def serving(media_root, tmp_path_factory, **settings):
    """For a module fixture: ``yield from serving(root, tmp_path_factory)`` runs a
    ``local_server`` for the module and stops it after."""
    srv = local_server(media_root, tmp_path_factory.mktemp("server-data"), **settings)
    try:
        yield srv
    finally:
        srv.stop()


def wait_for(predicate, timeout_s: float = 120.0, *, every_s: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout_s`` passes (False)."""
    import time

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(every_s)
    return False


def two_clip_timeline(path: Path, *, rate: str = "24.0", seconds: float = 2.0, url="x.mov"):
    """An OTIO file of two clips of ``seconds`` each from ``url``, written with the first
    rate replaced by the JSON token ``rate`` (``"NaN"``, ``"1e12"`` ... for hostile tests)."""
    import opentimelineio as otio

    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    timeline = otio.schema.Timeline(name=path.stem)
    track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for i in range(2):
        track.append(
            otio.schema.Clip(
                name=f"c{i}",
                media_reference=otio.schema.ExternalReference(target_url=url),
                source_range=tr(rt(i * 24, 24), rt(seconds * 24, 24)),
            )
        )
    text = otio.adapters.write_to_string(timeline, "otio_json")
    path.write_text(text.replace('"rate": 24.0', f'"rate": {rate}', 1))
    return path


def healthy(channel) -> bool:
    """The gRPC health check of the server behind ``channel`` answers SERVING."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    return reply.status == health_pb2.HealthCheckResponse.SERVING
