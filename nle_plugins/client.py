"""Python client for the v2m scoring server (wraps the generated stubs).

>>> with ScoringClient("127.0.0.1:50051") as client:
...     remote = client.score("clip.mp4", {"prompt": "dark trailer", "seed": 3})
...     remote.write("out/")          # mix.wav, stems/*.wav, score.mid, hits.json, curve.png

Options are ``ScoreOptions`` fields (a ``ScoreOptions`` or a mapping of its field names);
``REQUEST_FIELDS`` says which ScoreRequest field carries each — the one table both sides use.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np

from v2m.model.types import PlacedHit
from v2m.v1 import scoring_pb2 as pb
from v2m.v1 import scoring_pb2_grpc as pb_grpc


@dataclass
class RemoteScore:
    """What a Score stream delivered."""

    job_id: str = ""
    sample_rate_hz: int = 0
    stems: dict[str, np.ndarray] = field(default_factory=dict)
    """``{name: float32[channels, n]}``; ``"mix"`` is the mastered mix."""
    plan: pb.HitPlan | None = None
    result: pb.ScoreResult | None = None

    @property
    def mix(self) -> np.ndarray:
        return self.stems["mix"]

    @property
    def hits(self) -> tuple[PlacedHit, ...]:
        """Where each hit landed (the result's plan), as the model reports it."""
        plan = self.result.plan if self.result is not None else self.plan
        return tuple(placed_hit(h) for h in (plan.hits if plan is not None else ()))

    def write(self, out_dir: str | os.PathLike) -> dict[str, str]:
        """Write mix.wav, stems/*.wav, score.mid and the inline files into ``out_dir`` (all
        at once: built in a partial folder beside it); returns their final paths."""
        import shutil

        from v2m.model.folders import commit_folder, partial_folder
        from v2m.model.wav import write_wav

        out = Path(out_dir)
        partial = partial_folder(out)
        try:
            files = {"mix": Path("mix.wav")}
            write_wav(partial / "mix.wav", self.mix, self.sample_rate_hz)
            for name, audio in self.stems.items():
                if name != "mix":
                    files[f"stem:{name}"] = Path("stems") / f"{name}.wav"
                    write_wav(partial / files[f"stem:{name}"], audio, self.sample_rate_hz)
            blobs = [(b.name, b.data) for b in self.result.files] if self.result else []
            if self.result is not None and self.result.midi:
                blobs.append(("score.mid", self.result.midi))
            for name, data in blobs:
                key = "midi" if name == "score.mid" else name
                files[key] = Path(Path(name).name)
                (partial / files[key]).write_bytes(data)
            commit_folder(partial, out)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return {k: str(out / v) for k, v in files.items()}


REQUEST_FIELDS = {
    "prompt": "prompt",
    "style": "style",
    "bpm": "bpm",
    "key": "key",
    "meter": "meter",
    "stems": "stems",
    "seed": "seed",
    "markers_s": "markers_s",
    "in_s": "in_s",
    "out_s": "out_s",
    "backend": "backend",
    "backend_options": "backend_options",
    "music": "music",
    "duck_dialogue": "duck_dialogue",
    "preview": "want_preview",
    "plot": "want_plot",
    "track_per_stem": "track_per_stem",
}
"""ScoreOptions field → the ScoreRequest field that carries it."""


def request_fields(options) -> dict:
    """ScoreRequest fields for ``options`` (a ScoreOptions or a mapping of its field names;
    unset values left out). Unknown names are refused, naming the valid ones."""
    values = (
        {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
        if dataclasses.is_dataclass(options)
        else dict(options or {})
    )
    unknown = sorted(set(values) - set(REQUEST_FIELDS))
    if unknown:
        raise ValueError(f"unknown scoring options {unknown}; valid: {sorted(REQUEST_FIELDS)}")
    fields = {}
    for option, value in values.items():
        if value is None:
            continue
        fields[REQUEST_FIELDS[option]] = list(value) if isinstance(value, tuple) else value
    return fields


def placed_hit(message: pb.HitPlacement) -> PlacedHit:
    """A HitPlacement message as the model's PlacedHit."""
    return PlacedHit(
        time_s=message.planned_s,
        kind=message.kind,
        strength=message.strength,
        beat=message.beat,
        achieved_s=message.achieved_s,
        error_ms=message.error_ms,
        error_frames=message.error_frames,
        on_beat=float(message.beat).is_integer(),
        on_downbeat=message.on_downbeat,
    )


class ScoringClient:
    """Blocking client. ``address`` is ``host:port``; a token is sent as a bearer header."""

    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        root_cert: bytes | None = None,
        max_message_bytes: int = 16 * 1024 * 1024,
    ):
        options = [("grpc.max_receive_message_length", max_message_bytes)]
        if root_cert is not None:
            self.channel = grpc.secure_channel(
                address, grpc.ssl_channel_credentials(root_cert), options=options
            )
        else:
            self.channel = grpc.insecure_channel(address, options=options)
        self.stub = pb_grpc.ScoringServiceStub(self.channel)
        self.metadata = [("authorization", f"Bearer {token}")] if token else []

    def __enter__(self) -> ScoringClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def upload(
        self, path: str | os.PathLike, *, chunk_bytes: int = 1 << 20, timeout: float = 3600
    ) -> str:
        """Send a local file to the server; returns its upload id (sha256) for MediaRef."""
        import hashlib

        p = Path(path)
        digest = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(chunk_bytes), b""):
                digest.update(block)

        def chunks():
            with open(p, "rb") as f:
                first = True
                for block in iter(lambda: f.read(chunk_bytes), b""):
                    if first:
                        first = False
                        yield pb.UploadChunk(
                            filename=p.name,
                            total_bytes=p.stat().st_size,
                            sha256=digest.hexdigest(),
                            data=block,
                        )
                    else:
                        yield pb.UploadChunk(data=block)

        reply = self.stub.UploadMedia(chunks(), timeout=timeout, metadata=self.metadata)
        return reply.upload_id

    def server_info(self, *, timeout: float = 10) -> pb.ServerInfo:
        return self.stub.GetServerInfo(
            pb.GetServerInfoRequest(), timeout=timeout, metadata=self.metadata
        )

    def analyze(self, path: str, *, encoder: str = "", timeout: float = 600) -> Iterable:
        """The Analyze event stream (progress, curve chunks, cuts, summary)."""
        return self.stub.Analyze(
            pb.AnalyzeRequest(media=pb.MediaRef(path=str(path)), encoder=encoder),
            timeout=timeout,
            metadata=self.metadata,
        )

    def score(
        self,
        path: str,
        options=None,
        *,
        progress: Callable[[float, str], None] | None = None,
        timeout: float = 1800,
        audio_format: str = "f32le",
    ) -> RemoteScore:
        """Score ``path`` (a path on the server, inside its media roots) with ``options``
        (ScoreOptions fields). Stems travel as float32 (bit-exact with local scoring) unless
        ``audio_format="pcm_s16le"`` (half the bytes)."""
        request = pb.ScoreRequest(
            media=pb.MediaRef(path=str(path)), audio_format=audio_format, **request_fields(options)
        )
        remote = RemoteScore()
        pieces: dict[str, list] = {}
        for event in self.stub.Score(request, timeout=timeout, metadata=self.metadata):
            kind = event.WhichOneof("event")
            if kind == "accepted":
                remote.job_id = event.accepted.job_id
            elif kind == "progress" and progress is not None:
                progress(event.progress.fraction, event.progress.stage)
            elif kind == "plan":
                remote.plan = event.plan
            elif kind == "stem":
                chunk = event.stem
                remote.sample_rate_hz = chunk.sample_rate_hz
                data = np.frombuffer(chunk.data, "<f4" if chunk.format == "f32le" else "<i2")
                if chunk.format != "f32le":
                    data = data.astype(np.float32) / 32767
                pieces.setdefault(chunk.name, []).append(data.reshape(-1, chunk.channels).T)
            elif kind == "result":
                remote.result = event.result
        remote.stems = {
            k: np.ascontiguousarray(np.concatenate(v, axis=1)) for k, v in pieces.items()
        }
        return remote
