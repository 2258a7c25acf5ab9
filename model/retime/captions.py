"""What a recording is, in words: its caption file and tags — and how well each fits a prompt.

A track's caption is the text of ``NAME.txt`` beside it (for a folder of stems, ``NAME.txt``
beside the folder or ``caption.txt`` inside), followed by its title, artist, album, genre and
comment tags. A prompt ranks captioned tracks by meaning with the local sentence model
(:mod:`v2m.model.semantic`), or by shared words when no model is installed.
"""

from __future__ import annotations

import re
from pathlib import Path

from v2m.model.semantic import semantic_scores

TAGS = ("title", "artist", "album", "genre", "comment", "description")
MAX_CAPTION_CHARS = 2000
PROMPT_MARGIN = 0.1
"""Tracks whose prompt fit is within this of the best stay in the running (timing decides)."""


def caption_of(path: str) -> str:
    """The caption file's text and the file's tags (empty when it has neither)."""
    song = Path(path)
    parts = []
    for text_file in (
        song.with_name(song.name + ".txt"),
        song.with_suffix(".txt"),
        song / "caption.txt",
    ):
        if text_file.is_file():
            parts.append(text_file.read_text(encoding="utf-8", errors="replace"))
            break
    if song.is_file():
        parts += _tags(song)
    return " ".join(" ".join(parts).split())[:MAX_CAPTION_CHARS]


def _tags(path: Path) -> list[str]:
    import av

    try:
        with av.open(str(path)) as container:
            found = {k.lower(): v for k, v in container.metadata.items()}
            for stream in container.streams.audio:
                found.update({k.lower(): v for k, v in stream.metadata.items()})
    except (av.error.FFmpegError, OSError):
        return []
    return [found[t] for t in TAGS if found.get(t)]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


def prompt_fit(prompt: str | None, captions: dict[str, str]) -> dict[str, float] | None:
    """Per track path, how well its caption fits ``prompt`` (higher is better): cosine
    similarity by meaning, or the share of the prompt's words in the caption without a model.
    None when there is no prompt or no track has a caption."""
    if not prompt or not prompt.strip() or not any(captions.values()):
        return None
    scores = semantic_scores(prompt, {p: c or "music" for p, c in captions.items()})
    if scores is not None:
        return {p: (s if captions[p] else -1.0) for p, s in scores.items()}
    asked = _words(prompt) or {prompt.lower()}
    return {p: len(asked & _words(c)) / len(asked) for p, c in captions.items()}


def shortlist(prompt: str | None, tracks: list) -> tuple[list, dict[str, float] | None]:
    """The tracks (MusicAnalysis) whose captions fit ``prompt`` within :data:`PROMPT_MARGIN`
    of the best, and every track's fit (None: the prompt does not choose)."""
    fits = prompt_fit(prompt, {t.path: caption_of(t.path) for t in tracks})
    if fits is None:
        return tracks, None
    best = max(fits.values())
    return [t for t in tracks if fits[t.path] >= best - PROMPT_MARGIN], fits
