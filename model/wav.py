"""Files written atomically, and WAV files (24-bit PCM) — all a thin client needs to save the
audio a server streamed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile


def write_atomically(path: Path, write) -> None:
    """Call ``write(tmp)`` with a temporary name beside ``path``, then rename it into place:
    a crash never leaves a half-written file under its final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_wav(path: Path, audio: np.ndarray, sample_rate_hz: int) -> None:
    """float[channels, n] → 24-bit PCM WAV (deterministic bytes for the same samples)."""
    write_atomically(
        path,
        lambda tmp: soundfile.write(tmp, audio.T, sample_rate_hz, subtype="PCM_24", format="WAV"),
    )
