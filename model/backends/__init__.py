"""Backends (DESIGN §5): one interface, looked up by name.

A backend turns a :class:`~v2m.model.types.ScoreRequest` into a
:class:`~v2m.model.types.ScoreResult`. ``composer`` is built in (CPU, no weights); ``flow`` is
the V2M-Zero model and needs a checkpoint: weight-backed backends report why they are
unavailable instead of failing at import. Built-ins are imported when first asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from v2m.model.backends.base import Backend, ProgressFn, Resources
from v2m.model.registry import Registry, summary


@dataclass(frozen=True)
class BackendEntry:
    name: str
    summary: str
    factory: Callable[..., Backend]
    options: dict[str, str]
    path_options: tuple[str, ...]
    device_for: Callable[[Mapping[str, str]], str]
    resources_for: Callable[[Mapping[str, str]], Resources]


def _entry(cls: type[Backend]) -> BackendEntry:
    return BackendEntry(
        cls.name,
        summary(cls),
        cls,
        dict(cls.options),
        cls.path_options,
        cls.device_for,
        cls.resources_for,
    )


REGISTRY: Registry[BackendEntry] = Registry(
    "backend",
    {
        "composer": "v2m.model.backends.composer:ComposerBackend",
        "flow": "v2m.model.backends.flow:FlowBackend",
        "retime": "v2m.model.backends.retime:RetimeBackend",
    },
    _entry,
)
register_backend = REGISTRY.register
backend_entry = REGISTRY.get


def list_backends() -> list[BackendEntry]:
    return REGISTRY.entries()


def create_backend(name: str, **options) -> Backend:
    return backend_entry(name).factory(**options)


__all__ = [
    "Backend",
    "BackendEntry",
    "ProgressFn",
    "Resources",
    "backend_entry",
    "create_backend",
    "list_backends",
    "register_backend",
]
