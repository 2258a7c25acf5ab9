"""What a recording offers to land on: beats, downbeats, onsets and its event curve — cached.

Analysis runs once per file content: results are kept by the SHA-256 of the file's bytes in
:func:`cache_dir`, so a library of hundreds of tracks is read once and re-indexing is instant.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from v2m.model.analysis import analyze
from v2m.model.media import decode_audio, probe
from v2m.model.types import EventCurve

ANALYSIS_RATE_HZ = 22050
HOP = 256
ENVELOPE_RATE_HZ = ANALYSIS_RATE_HZ / HOP
"""86.1 frames per second (11.6 ms): landmarks are placed to well under a frame."""
METER = 4
MIN_BEATS = 8
MIN_PULSE_SUPPORT = 0.3
"""A steady pulse needs at least :data:`MIN_BEATS` tracked beats, and this share of them on
an onset (within 70 ms). Below either — ambient, free time — the tracker's beats are guesses:
the recording gets no beats or bars, and its landmarks are its strongest onsets."""
_VERSION = 4


@dataclass(frozen=True)
class MusicAnalysis:
    """A recording's landmarks. Times in seconds from the file's start.

    Attributes:
        beats_s, downbeats_s, onsets_s: float64[k] each, increasing.
        onset_strength: float64[len(onsets_s)] — relative strength of each onset (max 1).
        envelope: float32[frames] — the onset-strength envelope (max 1) at
            :data:`ENVELOPE_RATE_HZ` from 0 s: what an accent must stand out of, including
            rises too small or too close to be picked as onsets.
        curve: the smoothed V2M-Zero event curve of the music (``spectral`` encoder).
        has_beat: False when no steady pulse was found (landmarks are onsets then).
        stem_paths: the stem files when the recording is a folder of one song's stems (then
            ``path`` is the folder and the analysis is of their sum); empty otherwise.
    """

    path: str
    sha256: str
    duration_s: float
    tempo_bpm: float
    beats_s: np.ndarray
    downbeats_s: np.ndarray
    onsets_s: np.ndarray
    onset_strength: np.ndarray
    envelope: np.ndarray
    curve: EventCurve
    has_beat: bool
    stem_paths: tuple[str, ...] = ()


def cache_dir() -> Path:
    """``$V2M_CACHE_DIR/music``, else ``$XDG_CACHE_HOME/v2m/music`` (``~/.cache``)."""
    root = os.environ.get("V2M_CACHE_DIR")
    if root:
        return Path(root) / "music"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "v2m" / "music"


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _downbeats(beats: np.ndarray, strength_at) -> np.ndarray:
    """Every ``METER``-th beat, phased where the low end hits hardest (bar starts)."""
    if len(beats) < METER:
        return beats[:1]
    scores = [float(np.sum(strength_at(beats[p::METER]))) for p in range(METER)]
    return beats[int(np.argmax(scores)) :: METER]


def _pulse_support(beats: np.ndarray, onsets: np.ndarray) -> float:
    """Share of ``beats`` with an onset within 70 ms."""
    if not len(beats) or not len(onsets):
        return 0.0
    return float((np.abs(beats[:, None] - onsets[None, :]).min(axis=1) <= 0.07).mean())


def _analyse(path: str, sha: str) -> MusicAnalysis:
    import librosa

    info = probe(path)
    mono = decode_audio(path, sample_rate_hz=ANALYSIS_RATE_HZ, channels=1, info=info).mono
    hop = HOP
    envelope = librosa.onset.onset_strength(y=mono, sr=ANALYSIS_RATE_HZ, hop_length=hop)
    tempo, beat_frames = librosa.beat.beat_track(
        onset_envelope=envelope, sr=ANALYSIS_RATE_HZ, hop_length=hop
    )
    beats = librosa.frames_to_time(beat_frames, sr=ANALYSIS_RATE_HZ, hop_length=hop)
    onset_frames = librosa.onset.onset_detect(
        onset_envelope=envelope, sr=ANALYSIS_RATE_HZ, hop_length=hop
    )
    onsets = librosa.frames_to_time(onset_frames, sr=ANALYSIS_RATE_HZ, hop_length=hop)
    peak = float(envelope.max()) or 1.0
    strength = envelope[onset_frames] / peak if len(onset_frames) else np.zeros(0)
    # Low-band onsets (kick, bass) mark bar starts best.
    low = librosa.onset.onset_strength(
        y=mono, sr=ANALYSIS_RATE_HZ, hop_length=hop, fmax=200, n_mels=32
    )

    def strength_at(times: np.ndarray) -> np.ndarray:
        frames = librosa.time_to_frames(times, sr=ANALYSIS_RATE_HZ, hop_length=hop)
        return low[np.clip(frames, 0, len(low) - 1)]

    has_beat = len(beats) >= MIN_BEATS and _pulse_support(beats, onsets) >= MIN_PULSE_SUPPORT
    if not has_beat:
        beats = np.zeros(0)
    curve = analyze(path).curves.smoothed
    return MusicAnalysis(
        path=path,
        sha256=sha,
        duration_s=info.duration_s,
        tempo_bpm=float(np.atleast_1d(tempo)[0]),
        beats_s=beats.astype(np.float64),
        downbeats_s=_downbeats(beats, strength_at) if has_beat else np.zeros(0),
        onsets_s=onsets.astype(np.float64),
        onset_strength=strength.astype(np.float64),
        envelope=(envelope / peak).astype(np.float32),
        curve=curve,
        has_beat=has_beat,
    )


def analyze_music(path: str | os.PathLike, *, use_cache: bool = True) -> MusicAnalysis:
    """The landmarks of the recording at ``path`` (from the cache when its content is known).

    Raises:
        MediaError subclasses for unreadable files or files without audio.
    """
    path = str(path)
    sha = file_sha256(path)
    cached = cache_dir() / f"{sha}.npz"
    if use_cache and cached.is_file():
        try:
            return _load(cached, path)
        except (OSError, ValueError, KeyError):
            pass  # an unreadable or older cache entry: analyse again
    music = _analyse(path, sha)
    if use_cache:
        _save(music, cached)
    return music


def _save(music: MusicAnalysis, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "version": _VERSION,
        "sha256": music.sha256,
        "duration_s": music.duration_s,
        "tempo_bpm": music.tempo_bpm,
        "has_beat": music.has_beat,
        "curve_rate_hz": music.curve.rate_hz,
        "curve_start_s": music.curve.start_s,
        "curve_source": music.curve.source,
    }
    partial = target.with_name(target.name + ".partial.npz")
    np.savez(
        partial,
        meta=np.array(json.dumps(meta)),
        beats=music.beats_s,
        downbeats=music.downbeats_s,
        onsets=music.onsets_s,
        strength=music.onset_strength,
        envelope=music.envelope,
        curve=music.curve.values,
    )
    partial.replace(target)


def _load(cached: Path, path: str) -> MusicAnalysis:
    with np.load(cached) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("version") != _VERSION:
            raise ValueError("cache entry from another version")
        return MusicAnalysis(
            path=path,
            sha256=meta["sha256"],
            duration_s=float(meta["duration_s"]),
            tempo_bpm=float(meta["tempo_bpm"]),
            beats_s=data["beats"],
            downbeats_s=data["downbeats"],
            onsets_s=data["onsets"],
            onset_strength=data["strength"],
            envelope=data["envelope"],
            curve=EventCurve(
                data["curve"], meta["curve_rate_hz"], meta["curve_start_s"], meta["curve_source"]
            ),
            has_beat=bool(meta["has_beat"]),
        )
