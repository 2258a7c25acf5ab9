"""The one backend interface (DESIGN §5): a ``ScoreRequest`` in, a ``ScoreResult`` out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from v2m.model.types import ScoreRequest, ScoreResult

ProgressFn = Callable[[float, str], None]


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

    def availability(self) -> tuple[bool, str]:
        """(available, reason when not)."""
        return True, ""

    def generate(self, request: ScoreRequest, *, progress: ProgressFn | None = None) -> ScoreResult:
        raise NotImplementedError
