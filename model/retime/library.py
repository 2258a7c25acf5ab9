"""A library: the songs a music option names, each one recording or a folder of its stems.

A folder holds songs: each audio file is one, except in a folder named as stems (its name
ends in "stems": ``Our Song stems``, ``our_song.stems``, ``Our Song (Stems)``), whose audio
files (2 to :data:`MAX_STEMS`) are one song's parts and must all last the same (within
:data:`SAME_LENGTH_S`; exported stems share their length to the sample). The name decides, not
the lengths alone: a pack of loops has equal lengths too. A stem song is analysed from the sum
of its stems (kept beside the analysis cache), retimed with one map, and comes back as stems.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from v2m.model.errors import InvalidInputError, MediaNotFoundError, ModelError
from v2m.model.media import decode_audio, probe
from v2m.model.retime.music import MusicAnalysis, analyze_music, cache_dir, file_sha256
from v2m.model.wav import write_wav

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".aif", ".aiff", ".opus")
MAX_STEMS = 16
SAME_LENGTH_S = 0.02
MIXDOWN_RATE_HZ = 44100


@dataclass(frozen=True)
class Song:
    """One song: ``path`` is the recording, or the folder of its ``stems`` (sorted)."""

    path: str
    stems: tuple[str, ...] = ()


def _audio_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


STEM_FOLDER = re.compile(r"stems\W*$", re.IGNORECASE)


def _stem_folder(folder: Path, files: list[Path]) -> bool:
    """Whether ``folder`` is one song's stems (by its name), checking they fit together.

    Raises:
        InvalidInputError: a stem folder with too few or too many files, or stems of
            different lengths (naming each length).
    """
    if not STEM_FOLDER.search(folder.name):
        return False
    if not 2 <= len(files) <= MAX_STEMS:
        raise InvalidInputError(
            f"stem folder {str(folder)!r} holds {len(files)} audio files; a song's stems are "
            f"2 to {MAX_STEMS} files of one length"
        )
    lengths = {p.name: probe(p).duration_s for p in files}
    if max(lengths.values()) - min(lengths.values()) > SAME_LENGTH_S:
        listed = ", ".join(f"{name} {s:.3f} s" for name, s in lengths.items())
        raise InvalidInputError(
            f"the stems in {str(folder)!r} differ in length ({listed}); export them from one "
            "start to one end"
        )
    return True


def find_songs(music: str) -> list[Song]:
    """The songs ``music`` names: a file, a folder of one song's stems, or a library folder
    (searched below; stem folders inside it are songs too).

    Raises:
        MediaNotFoundError: ``music`` is neither a file nor a folder.
        InvalidInputError: the folder holds no audio files, or a stem folder's files do not
            fit together.
        MediaError: a stem whose length cannot be read.
    """
    path = Path(music)
    if path.is_file():
        return [Song(str(path))]
    if not path.is_dir():
        raise MediaNotFoundError(f"music {music!r} is neither a file nor a folder")
    songs = []
    for folder in sorted({path, *(p for p in path.rglob("*") if p.is_dir())}):
        files = _audio_in(folder)
        if _stem_folder(folder, files):
            songs.append(Song(str(folder), tuple(str(p) for p in files)))
        else:
            songs += [Song(str(p)) for p in files]
    if not songs:
        raise InvalidInputError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in {music!r}")
    return songs


def stem_name(path: str) -> str:
    """A stem's name from its file name: ``Bass Guitar.wav`` → ``bass_guitar``."""
    return re.sub(r"[^a-z0-9_-]+", "_", Path(path).stem.lower()).strip("_") or "stem"


def analyze_song(song: Song) -> MusicAnalysis:
    """The landmarks of a song; of a stem folder, those of the stems' sum (cached by the
    stems' content)."""
    if not song.stems:
        return analyze_music(song.path)
    digest = hashlib.sha256("".join(file_sha256(p) for p in song.stems).encode()).hexdigest()
    mixdown = cache_dir() / "mixdowns" / f"{digest}.wav"
    if not mixdown.is_file():
        mixdown.parent.mkdir(parents=True, exist_ok=True)
        parts = [
            decode_audio(p, sample_rate_hz=MIXDOWN_RATE_HZ, channels=2).samples for p in song.stems
        ]
        n = max(p.shape[1] for p in parts)
        total = np.zeros((2, n), np.float32)
        for part in parts:
            total[:, : part.shape[1]] += part
        write_wav(mixdown, total / max(1.0, float(np.abs(total).max())), MIXDOWN_RATE_HZ)
    return replace(analyze_music(mixdown), path=song.path, stem_paths=song.stems)


@dataclass(frozen=True)
class LibraryIndex:
    """What indexing a library found: the analyses, and the files that could not be read."""

    tracks: tuple[MusicAnalysis, ...]
    unreadable: tuple[tuple[str, str], ...]
    """(path, why) per song that could not be analysed."""


def index_library(
    songs: list[Song], *, progress: Callable[[float, str], None] | None = None
) -> LibraryIndex:
    """Analyse (or load from the cache) every song; unreadable ones are listed, not fatal."""
    tracks, unreadable = [], []
    for i, song in enumerate(songs):
        if progress is not None:
            progress(i / max(1, len(songs)), f"analysing {Path(song.path).name}")
        try:
            tracks.append(analyze_song(song))
        except (ModelError, OSError) as exc:
            unreadable.append((song.path, str(exc)))
    if progress is not None:
        progress(1.0, "indexed")
    return LibraryIndex(tuple(tracks), tuple(unreadable))
