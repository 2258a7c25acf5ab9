"""Resolve client-given paths strictly inside the server's media roots."""

from __future__ import annotations

from pathlib import Path

from v2m.model.errors import MediaNotFoundError
from v2m.server.errors import BadRequestError, PathOutsideRootsError


def resolve_media_path(path: str, roots: tuple[Path, ...], *, folder: bool | None = False) -> Path:
    """The real path of ``path`` (relative paths are taken from the first root): a file, with
    ``folder`` a directory (a model checkpoint), with ``folder=None`` either (a recording or a
    music library).

    Symlinks are resolved before the check, so a link that points out of the roots is refused
    like ``..``. Raises PathOutsideRootsError, MediaNotFoundError or BadRequestError.
    """
    if not path or "\x00" in path or len(path) > 4096:
        raise BadRequestError("a path must be 1..4096 characters without NUL bytes")
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    real = candidate.resolve()
    if not any(real == root or real.is_relative_to(root) for root in roots):
        raise PathOutsideRootsError(
            f"path {path!r} is outside the server's media roots "
            f"({', '.join(str(r) for r in roots)})"
        )
    found = real.exists() if folder is None else (real.is_dir() if folder else real.is_file())
    if not found:
        kind = {None: "file or folder", True: "folder", False: "media file"}[folder]
        raise MediaNotFoundError(f"{kind} not found on the server: {path!r}")
    return real
