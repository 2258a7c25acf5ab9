"""Conversions between the service contract (``v2m.v1`` messages) and the domain types.

Proto3 has no "unset" for scalars: 0 and empty mean "not given" in a ``ScoreRequest`` (as
``scoring.proto`` documents), and become ``None`` in ``ScoreOptions`` — which then validates
every value, exactly as for the command line and the watch folder.
"""

from __future__ import annotations

from v2m.model.options import ScoreOptions
from v2m.v1 import scoring_pb2 as pb


def options_from_request(request: pb.ScoreRequest) -> ScoreOptions:
    """The ScoreOptions a ScoreRequest asks for (InvalidInputError names a bad field)."""
    return ScoreOptions(
        prompt=request.prompt or None,
        style=request.style or None,
        bpm=request.bpm or None,
        key=request.key or None,
        meter=request.meter or None,
        stems=tuple(request.stems) or None,
        seed=request.seed,
        markers_s=tuple(request.markers_s),
        in_s=request.in_s or None,
        out_s=request.out_s or None,
        backend=request.backend or "composer",
        duck_dialogue=request.duck_dialogue,
        preview=False,
        plot=request.want_plot,
    )


def request_fields(options: ScoreOptions) -> dict:
    """ScoreRequest fields for ``options`` (unset ones left out)."""
    fields = {
        "prompt": options.prompt,
        "style": options.style,
        "bpm": options.bpm,
        "key": options.key,
        "meter": options.meter,
        "stems": list(options.stems) if options.stems else None,
        "seed": options.seed,
        "markers_s": list(options.markers_s),
        "in_s": options.in_s,
        "out_s": options.out_s,
        "backend": options.backend,
        "duck_dialogue": options.duck_dialogue,
        "want_plot": options.plot,
    }
    return {k: v for k, v in fields.items() if v is not None}
