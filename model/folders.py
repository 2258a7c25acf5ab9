"""Result folders that appear all at once: written under a hidden partial name beside the final
folder, then renamed (or, when the final folder already holds other files, moved in entry by
entry). A crash or failure leaves only the partial folder, which ``remove_partials`` clears."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from v2m.model.errors import InvalidInputError

PARTIAL_MARK = ".partial-"


def partial_folder(final: str | os.PathLike) -> Path:
    """Create and return a fresh hidden folder beside ``final`` to write a result into.

    Raises InvalidInputError when ``final`` is an existing file or its parent cannot be
    written (named, before any work is done)."""
    final = Path(final)
    if final.exists() and not final.is_dir():
        raise InvalidInputError(f"output folder {str(final)!r} exists and is not a folder")
    partial = final.parent / f".{final.name}{PARTIAL_MARK}{uuid.uuid4().hex[:8]}"
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        partial.mkdir()
    except OSError as exc:
        raise InvalidInputError(
            f"cannot write the output folder {str(final)!r}: {exc.strerror or exc}"
        ) from exc
    return partial


def commit_folder(partial: Path, final: Path) -> None:
    """Put the finished ``partial`` folder's contents at ``final``: one rename when ``final``
    does not exist, else each entry moved in (replacing entries of the same name)."""
    try:
        os.rename(partial, final)
        return
    except OSError:
        if not final.is_dir():
            raise
    for entry in sorted(partial.iterdir()):
        target = final / entry.name
        if entry.is_dir() and target.is_dir():
            old = final / f".{entry.name}{PARTIAL_MARK}old-{uuid.uuid4().hex[:8]}"
            os.rename(target, old)
            os.rename(entry, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(entry, target)
    partial.rmdir()


def remove_partials(
    folder: str | os.PathLike, *, keep=frozenset(), only: str | None = None
) -> list[Path]:
    """Remove partial result folders (and files) a crashed run left in ``folder``, except
    those of the final folders named in ``keep`` (still being written by another process);
    with ``only``, just those of that final folder."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for entry in folder.glob(f".*{PARTIAL_MARK}*"):
        final = str(folder / entry.name[1:].split(PARTIAL_MARK)[0])
        if final in keep or (only is not None and final != only):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed
