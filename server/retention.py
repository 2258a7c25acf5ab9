"""What the server keeps on disk, and for how long.

Every Score job leaves its artifacts in ``DATA/jobs/<job id>/`` and every upload a file in
``DATA/uploads/``. ``sweep`` removes finished entries older than ``max_age_s``, then the oldest
until everything kept fits in ``max_bytes``; entries in use (a running job's folder, the upload
it reads) are never touched. ``clean_partial_work`` runs at start-up: a server killed mid-job
leaves hidden partial folders and half-received uploads, which nothing will ever finish.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from v2m.model.folders import remove_partials

AREAS = ("jobs", "uploads")


@dataclass(frozen=True)
class Removed:
    path: Path
    reason: str
    """``"older than 604800 s"`` or ``"over the 10737418240-byte store limit"``."""


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _entries(data_dir: Path) -> list[tuple[float, int, Path]]:
    """(mtime, bytes, path) of every finished entry, oldest first."""
    found = []
    for area in AREAS:
        folder = data_dir / area
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.name.startswith("."):  # partial work: clean_partial_work's business
                continue
            try:
                found.append((entry.stat().st_mtime, _size(entry), entry))
            except OSError:
                continue
    return sorted(found, key=lambda e: e[0])


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def sweep(
    data_dir: str | os.PathLike,
    *,
    max_age_s: float,
    max_bytes: int,
    keep: Iterable[Path] = (),
    now: float | None = None,
) -> list[Removed]:
    """Remove finished job folders and uploads older than ``max_age_s`` (0: no age limit),
    then the oldest until the rest fit in ``max_bytes`` (0: no size limit). Returns what was
    removed and why."""
    now = time.time() if now is None else now
    kept = {Path(p).resolve() for p in keep}
    removed: list[Removed] = []
    survivors = []
    for mtime, size, path in _entries(Path(data_dir)):
        if path.resolve() in kept:
            continue
        if max_age_s and now - mtime > max_age_s:
            _remove(path)
            removed.append(Removed(path, f"older than {max_age_s:g} s"))
        else:
            survivors.append((size, path))
    if max_bytes:
        total = sum(size for size, _ in survivors)
        for size, path in survivors:  # oldest first
            if total <= max_bytes:
                break
            _remove(path)
            total -= size
            removed.append(Removed(path, f"over the {max_bytes}-byte store limit"))
    return removed


def clean_partial_work(data_dir: str | os.PathLike) -> list[Path]:
    """Remove what a killed server left half-done: partial job folders, partial uploads."""
    removed = []
    for area in AREAS:
        folder = Path(data_dir) / area
        removed += remove_partials(folder)
        if folder.is_dir():  # uploads cut short by earlier versions (".<id>.part")
            for legacy in folder.glob(".*.part"):
                legacy.unlink(missing_ok=True)
                removed.append(legacy)
    return removed
