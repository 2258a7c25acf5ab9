"""One Score job as the stream of ``ScoreEvent`` messages its callers receive, wherever it runs.

``ScoreWork`` is what an executor runs — in a thread of the server, or in a replica on a Ray
node. Called with ``emit``, it runs the one job function and hands each event to ``emit`` as it
is produced: progress, the event curve and the planned hits, then (while the files are being
written) the placed hits and every stem and the mix in chunks, and last the result naming the
artifacts. It emits plain protobuf messages only, so the stream crosses processes and machines
as it is, already encoded (a remote replica never ships arrays the front server would encode).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from v2m.model.options import Limits, ScoreOptions
from v2m.server import convert
from v2m.server.paths import resolve_media_path
from v2m.v1 import scoring_pb2 as pb

Emit = Callable[[object], None]


@dataclass(frozen=True)
class ScoreWork:
    """A Score job's inputs, resolved by the front server (paths inside its media roots).

    Attributes:
        job_id: the job; its artifacts go to ``out_dir``.
        path: the media or timeline file.
        roots: the media roots (a timeline's sources must lie inside them).
        audio_format: how stems travel (``convert.AUDIO_FORMATS``).
        max_message_bytes: the largest message the server sends.
    """

    job_id: str
    path: str
    options: ScoreOptions
    out_dir: Path
    roots: tuple[Path, ...]
    limits: Limits
    audio_format: str
    max_message_bytes: int

    def __call__(self, emit: Emit) -> None:
        from v2m.server.score_job import run_score_job, source_for

        def progress(fraction: float, stage: str) -> None:
            emit(pb.ScoreEvent(progress=pb.Progress(stage=stage, fraction=fraction)))

        def on_request(req) -> None:
            emit(pb.ScoreEvent(curve=convert.curve_message(req.curve)))
            emit(pb.ScoreEvent(planned=convert.planned_message(req)))

        done = run_score_job(
            source_for(self.path, search_paths=self.roots),
            self.options,
            self.out_dir,
            limits=self.limits,
            media_check=lambda p: resolve_media_path(str(p), self.roots),
            progress=progress,
            on_request=on_request,
            on_music=lambda scored: self._music(scored, emit),  # sent while files write
        )
        artifacts = {k: str(v) for k, v in done.artifacts.items()}
        emit(pb.ScoreEvent(result=convert.result_message(self.job_id, done.scored, artifacts)))

    def _music(self, scored, emit: Emit) -> None:
        """The placed hits, then every stem and the mix in chunks."""
        emit(pb.ScoreEvent(plan=convert.plan_message(scored)))
        r = scored.result
        for name, audio in [*r.stems.items(), ("mix", r.mix)]:
            for chunk in convert.stem_chunks(
                name, audio, r.sample_rate, self.audio_format, max_bytes=self.max_message_bytes
            ):
                emit(pb.ScoreEvent(stem=chunk))
