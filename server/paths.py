"""Resolve client-given media paths strictly inside the server's media roots."""

from __future__ import annotations

from pathlib import Path

from v2m.model.errors import InvalidInputError, MediaNotFoundError
from v2m.server.errors import PathOutsideRootsError


def resolve_media_path(path: str, roots: tuple[Path, ...]) -> Path:
    """The real path of ``path`` (relative paths are taken from the first root).

    Symlinks are resolved before the check, so a link that points out of the roots is refused
    like ``..``. Raises PathOutsideRootsError, MediaNotFoundError or InvalidInputError.
    """
    if not path or "\x00" in path:
        raise InvalidInputError("media path is empty or contains a NUL byte")
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    real = candidate.resolve()
    if not any(real == root or real.is_relative_to(root) for root in roots):
        raise PathOutsideRootsError(
            f"media path {path!r} is outside the server's media roots "
            f"({', '.join(str(r) for r in roots)})"
        )
    if not real.is_file():
        raise MediaNotFoundError(f"media file not found on the server: {path!r}")
    return real
