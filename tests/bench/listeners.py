"""Independent ears for the sound bench, run inside the bench environment (``.venv-bench``).

    .venv-bench/bin/python tests/bench/listeners.py [--beats-only] a.wav b.wav ... > listen.json

For each file: the top tags of musicnn (Pons & Serra 2019; weights ship inside its pip package)
trained on human tags of real recordings — ``MSD_musicnn`` (Million Song Dataset, last.fm genre
tags) and ``MTT_musicnn`` (MagnaTagATune: genre and instrument tags) — and the beats of madmom's
RNN + DBN beat tracker (Böck et al.; its models ship inside its pip package). Neither is a
dependency of v2m: ``scripts/setup_bench.sh`` builds this environment. Prints one JSON object
``{path: {"msd": [[tag, p], ...], "mtt": [...], "madmom_beats_s": [...]}}``.
"""

from __future__ import annotations

import collections
import collections.abc
import contextlib
import json
import os
import sys

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# madmom 0.16.1 (the last release) predates Python 3.10 and NumPy 2: restore the old names.
collections.MutableSequence = collections.abc.MutableSequence  # type: ignore[attr-defined]
for _name, _type in (("float", float), ("int", int), ("complex", complex), ("object", object)):
    setattr(np, _name, _type)

TOP_N = 5


def _batch_data(audio_file: str, n_frames: int, overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """musicnn's own patching, with the log-mel in float32: its float16 overflows to inf on
    loud mixes (``10000 * mel`` > 65504) and the model then answers the same tags for all.
    Returns (patches [n, n_frames, 96], log-mel [frames, 96])."""
    import librosa
    from musicnn import configuration as config

    audio, sr = librosa.load(audio_file, sr=config.SR)
    mel = librosa.feature.melspectrogram(
        y=audio, sr=sr, hop_length=config.FFT_HOP, n_fft=config.FFT_SIZE, n_mels=config.N_MELS
    ).T
    log_mel = np.log10(10000 * mel.astype(np.float32) + 1)
    starts = range(0, log_mel.shape[0] - n_frames + 1, overlap)
    return np.stack([log_mel[t : t + n_frames] for t in starts]), log_mel


def tags(path: str, model: str) -> list[list]:
    import musicnn.extractor
    from musicnn.extractor import extractor

    musicnn.extractor.batch_data = _batch_data

    with contextlib.redirect_stdout(sys.stderr):  # musicnn prints its progress
        taggram, labels = extractor(path, model=model, extract_features=False)[:2]
    mean = taggram.mean(axis=0)
    order = np.argsort(mean)[::-1][:TOP_N]
    return [[labels[i], round(float(mean[i]), 3)] for i in order]


def madmom_beats(path: str) -> list[float]:
    import librosa
    import soundfile as sf
    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor

    audio, rate = librosa.load(path, sr=44100, mono=True)  # madmom's models run at 44.1 kHz
    mono = path + ".mono.wav"
    sf.write(mono, audio, rate, subtype="PCM_16")
    try:
        activation = RNNBeatProcessor()(mono)
    finally:
        os.remove(mono)
    return [round(float(t), 4) for t in DBNBeatTrackingProcessor(fps=100)(activation)]


def main() -> None:
    args = sys.argv[1:]
    beats_only = "--beats-only" in args
    out = {}
    for path in (a for a in args if a != "--beats-only"):
        out[path] = {"madmom_beats_s": madmom_beats(path)}
        if not beats_only:
            out[path].update(msd=tags(path, "MSD_musicnn"), mtt=tags(path, "MTT_musicnn"))
        print(f"listened to {os.path.basename(path)}", file=sys.stderr)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
