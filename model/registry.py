"""Registries of named components (encoders, backends), as PySceneDetect keeps its detectors.

A ``Registry`` maps names to entries. Built-ins are declared by where their class lives
(``"v2m.model.backends.composer:ComposerBackend"``) and imported on first lookup, so the
registry module imports none of its members (no import cycle, and a member's heavy imports are
paid only when it is used); anything else registers its class with ``register``.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from v2m.model.errors import UnknownNameError

E = TypeVar("E")


class Registry(Generic[E]):
    """Name → entry for one kind of component.

    Args:
        kind: what the members are, for messages (``"backend"``).
        builtins: name → ``"module:Class"`` of the built-in members.
        entry: makes the entry of a member class (its name, summary, options...).
        label: how an entry is listed in the "choose one of" message (default: its name).
    """

    def __init__(
        self,
        kind: str,
        builtins: Mapping[str, str],
        entry: Callable[[type], E],
        *,
        label: Callable[[E], str] | None = None,
    ):
        self.kind = kind
        self._builtins = dict(builtins)
        self._entry = entry
        self._label = label or (lambda e: e.name)
        self._entries: dict[str, E] = {}
        self._lock = threading.RLock()
        """Held while a built-in is imported: a second thread asking for it meanwhile waits
        (without it, it found the name neither imported nor still to import)."""

    def register(self, cls: type) -> type:
        """Class decorator: make ``cls`` available under ``cls.name``."""
        self._entries[cls.name] = self._entry(cls)
        return cls

    def _load(self, name: str) -> None:
        module, _, attribute = self._builtins.pop(name).partition(":")
        self.register(getattr(importlib.import_module(module), attribute))

    def get(self, name: str) -> E:
        """The entry called ``name`` (UnknownNameError lists the choices)."""
        with self._lock:
            if name not in self._entries and name in self._builtins:
                self._load(name)
        if name not in self._entries:
            choices = ", ".join(self._label(e) for e in self.entries())
            raise UnknownNameError(f"unknown {self.kind} {name!r}; choose one of: {choices}")
        return self._entries[name]

    def entries(self) -> list[E]:
        """Every entry, sorted by name (built-ins imported)."""
        with self._lock:
            for name in list(self._builtins):
                self._load(name)
        return [self._entries[name] for name in sorted(self._entries)]

    def names(self) -> list[str]:
        return sorted({*self._entries, *self._builtins})


def summary(cls: type) -> str:
    """The first line of a class's docstring."""
    doc = (cls.__doc__ or "").strip().splitlines()
    return doc[0] if doc else ""
