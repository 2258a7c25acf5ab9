"""Written-back MLT projects (Kdenlive's ``.kdenlive``) proven by MLT's own engine: ``melt``
renders the project before and after v2m scored it, and the difference is v2m's mix, at the in
point, sample for sample — the editor's own sound untouched. Skips without ``melt`` (Debian's
``melt``; ``scripts/setup.sh --dev`` installs it where it can)."""

import shutil
import subprocess

import numpy as np
import opentimelineio as otio
import pytest
import soundfile

from v2m.model.media import AudioSignal
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.server.cli import main

pytestmark = pytest.mark.skipif(
    shutil.which("melt") is None, reason="melt (MLT) is not installed: apt-get install melt"
)
RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange
RATE = 48000
SOURCE_S = 10
TONE_HZ = 220.0


def source_clip(path, fps: int):
    """A clip with cuts at 3 s and 6 s and a steady 220 Hz tone as its own sound."""
    t = np.arange(SOURCE_S * RATE) / RATE
    tone = np.stack([0.2 * np.sin(2 * np.pi * TONE_HZ * t)] * 2).astype(np.float32)
    spec = ClipSpec(duration_s=SOURCE_S, cut_times_s=(3.0, 6.0), width=320, height=180, fps=fps)
    render_clip(path, spec, audio=AudioSignal(tone, RATE, 0.0))
    return path


def kdenlive_project(folder, fps: int):
    """The clip on a video and an audio track, saved as a Kdenlive project."""
    clip = source_clip(folder / "source.mp4", fps)
    whole = TR(RT(0, fps), RT(SOURCE_S * fps, fps))
    timeline = otio.schema.Timeline(name="edit")
    for kind in (otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio):
        track = otio.schema.Track(name=kind[0] + "1", kind=kind)
        ref = otio.schema.ExternalReference(target_url=str(clip), available_range=whole)
        track.append(otio.schema.Clip(name="source", media_reference=ref, source_range=whole))
        timeline.tracks.append(track)
    path = folder / "edit.kdenlive"
    otio.adapters.write_to_file(timeline, str(path), adapter_name="kdenlive")
    return path


def melt_audio(project, out_wav, *, frames: int) -> np.ndarray:
    """float[n, 2]: the project's sound as MLT renders it (the first ``frames`` frames)."""
    subprocess.run(
        ["melt", str(project), f"out={frames - 1}", "-consumer", f"avformat:{out_wav}"]
        + ["acodec=pcm_s16le", f"ar={RATE}", "ac=2", "vn=1", "-silent"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    audio, rate = soundfile.read(out_wav)
    assert rate == RATE
    return audio


@pytest.mark.parametrize("fps", [25, 30])
def test_a_scored_kdenlive_project_plays_the_mix_at_the_in_point_over_the_editors_sound(
    tmp_path, fps
):
    project = kdenlive_project(tmp_path, fps)
    out = tmp_path / "out"
    args = ["timeline", "score", str(project), "--in", "2", "--out", "8", "-o", str(out), "-q"]
    assert main(args) == 0
    scored = out / "edit.v2m.kdenlive"
    before = melt_audio(project, tmp_path / "before.wav", frames=SOURCE_S * fps)
    after = melt_audio(scored, tmp_path / "after.wav", frames=SOURCE_S * fps)
    mix, rate = soundfile.read(out / "mix.wav")
    assert rate == RATE
    # The editor's sound as rendered before: the tone, everywhere.
    t = np.arange(len(before)) / RATE
    tone = 0.2 * np.sin(2 * np.pi * TONE_HZ * t)
    assert np.corrcoef(before[:, 0], tone)[0, 1] > 0.99
    # After minus before is v2m's mix alone: found at the in point, at full level, nowhere else.
    added = after - before
    corr = np.correlate(added[:, 0], mix[:, 0], mode="valid")
    at = int(np.argmax(corr))
    assert abs(at / RATE - 2.0) <= 1 / fps, at / RATE  # within a frame of the in point
    segment = added[at : at + len(mix)]
    gain = float(np.sum(segment * mix) / np.sum(mix * mix))
    residual = np.sqrt(np.mean((segment - gain * mix) ** 2)) / np.sqrt(np.mean(mix**2))
    assert abs(gain - 1) < 0.01 and residual < 0.01
    assert (
        np.abs(added[: at - 10]).max() < 1e-3 and np.abs(added[at + len(mix) + 10 :]).max() < 1e-3
    )
