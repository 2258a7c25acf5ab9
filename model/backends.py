"""Backends registry (DESIGN §5): one interface, looked up by name.

A backend turns a :class:`~v2m.model.types.ScoreRequest` into a
:class:`~v2m.model.types.ScoreResult`. ``composer`` is built in (CPU, no weights); weight-backed
backends report why they are unavailable instead of failing at import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from v2m.model.errors import UnknownNameError
from v2m.model.types import ScoreRequest, ScoreResult

ProgressFn = Callable[[float, str], None]


class Backend:
    name: str = ""
    device: str = "cpu"
    options: dict[str, str] = {}
    """The named settings its constructor takes (``ScoreOptions.backend_options``) → help."""

    def availability(self) -> tuple[bool, str]:
        """(available, reason when not)."""
        return True, ""

    def generate(self, request: ScoreRequest, *, progress: ProgressFn | None = None) -> ScoreResult:
        raise NotImplementedError


@dataclass(frozen=True)
class BackendEntry:
    name: str
    summary: str
    factory: Callable[..., Backend]
    options: dict[str, str]


_REGISTRY: dict[str, BackendEntry] = {}


def register_backend(cls: type[Backend]) -> type[Backend]:
    doc = (cls.__doc__ or "").strip().splitlines()
    _REGISTRY[cls.name] = BackendEntry(cls.name, doc[0] if doc else "", cls, dict(cls.options))
    return cls


def list_backends() -> list[BackendEntry]:
    _load_builtins()
    return sorted(_REGISTRY.values(), key=lambda e: e.name)


def backend_entry(name: str) -> BackendEntry:
    """The registered backend ``name`` (UnknownNameError lists the choices)."""
    _load_builtins()
    if name not in _REGISTRY:
        choices = ", ".join(sorted(_REGISTRY))
        raise UnknownNameError(f"unknown backend {name!r}; choose one of: {choices}")
    return _REGISTRY[name]


def create_backend(name: str, **options) -> Backend:
    return backend_entry(name).factory(**options)


def _load_builtins() -> None:
    from v2m.model import composer  # noqa: F401  (registers "composer")
    from v2m.model.flow import backend  # noqa: F401  (registers "flow")
