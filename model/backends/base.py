"""The one backend interface (DESIGN §5): a ``ScoreRequest`` in, a ``ScoreResult`` out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from v2m.model.types import ScoreRequest, ScoreResult

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class Resources:
    """What one job of a backend holds on a cluster node (the shape of a Ray replica)."""

    cpus: float = 1.0
    gpus: float = 0.0


class Backend:
    """Base class. Subclasses set ``name`` (and ``device``, ``options``) and implement
    ``generate``; weight-backed ones say in ``availability`` why they cannot run."""

    name: ClassVar[str] = ""
    device: str = "cpu"
    options: ClassVar[dict[str, str]] = {}
    """The named settings its constructor takes (``ScoreOptions.backend_options``) → help."""
    path_options: ClassVar[tuple[str, ...]] = ()
    """Which of ``options`` name files or folders (a server resolves them inside its roots)."""

    @classmethod
    def device_for(cls, options: Mapping[str, str]) -> str:
        """The device a backend built with ``options`` would run on, without building it."""
        return "cpu"

    @classmethod
    def resources_for(cls, options: Mapping[str, str]) -> Resources:
        """What a job of a backend built with ``options`` needs on a cluster node: one CPU
        unless the backend says more (a node with a GPU for a model that runs best on one)."""
        return Resources()

    def availability(self) -> tuple[bool, str]:
        """(available, reason when not)."""
        return True, ""

    def generate(self, request: ScoreRequest, *, progress: ProgressFn | None = None) -> ScoreResult:
        raise NotImplementedError
