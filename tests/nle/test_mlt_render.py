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
        stdin=subprocess.DEVNULL,  # melt reads keys from a terminal; never wait on one
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


SHOTCUT_PROJECT = """<?xml version="1.0" standalone="no"?>
<mlt LC_NUMERIC="C" version="7.12.0" title="Shotcut version 24.06.26" producer="main_bin">
  <profile description="automatic" width="320" height="180" progressive="1"
    sample_aspect_num="1" sample_aspect_den="1" display_aspect_num="16" display_aspect_den="9"
    frame_rate_num="{num}" frame_rate_den="{den}" colorspace="709"/>
  <playlist id="main_bin">
    <property name="xml_retain">1</property>
  </playlist>
  <producer id="black" in="00:00:00.000" out="{last}">
    <property name="length">{frames}</property>
    <property name="eof">pause</property>
    <property name="resource">0</property>
    <property name="mlt_service">color</property>
    <property name="set.test_audio">0</property>
  </producer>
  <playlist id="background">
    <entry producer="black" in="00:00:00.000" out="{last}"/>
  </playlist>
  <chain id="chain0" out="{last}">
    <property name="length">{frames}</property>
    <property name="eof">pause</property>
    <property name="resource">source.mp4</property>
    <property name="mlt_service">avformat-novalidate</property>
    <property name="seekable">1</property>
    <property name="shotcut:caption">source.mp4</property>
  </chain>
  <playlist id="playlist0">
    <property name="shotcut:video">1</property>
    <property name="shotcut:name">V1</property>
    <entry producer="chain0" in="00:00:00.000" out="{last}"/>
  </playlist>
  <tractor id="tractor0" title="Shotcut version 24.06.26" in="00:00:00.000" out="{last}">
    <property name="shotcut">1</property>
    <property name="shotcut:projectAudioChannels">2</property>
    <track producer="background"/>
    <track producer="playlist0"/>
    <transition id="transition0">
      <property name="a_track">0</property>
      <property name="b_track">1</property>
      <property name="mlt_service">mix</property>
      <property name="always_active">1</property>
      <property name="sum">1</property>
    </transition>
  </tractor>
</mlt>
"""
"""A project as Shotcut 24 saves it: black background, the clip on V1 with its sound."""


@pytest.mark.parametrize(("num", "den"), [(24, 1), (30000, 1001)])
def test_a_scored_shotcut_project_plays_the_mix_at_the_in_point_over_the_editors_sound(
    tmp_path, num, den
):
    from fractions import Fraction

    from v2m.nle_plugins.timeline import edit_points, load_timeline

    fps = Fraction(num, den)
    frames = round(SOURCE_S * fps)
    source_clip(tmp_path / "source.mp4", fps)
    last = f"{frames - 1}"
    project = tmp_path / "edit.mlt"
    project.write_text(SHOTCUT_PROJECT.format(num=num, den=den, frames=frames, last=last))
    tl = load_timeline(project)
    assert tl.adapter == "v2m_mlt" and abs(tl.duration_s - SOURCE_S) < 1 / float(fps)
    assert [round(p.time_s, 2) for p in edit_points(tl)] == []  # one clip: no edit points
    out = tmp_path / "out"
    args = ["timeline", "score", str(project), "--in", "2", "--out", "8", "-o", str(out), "-q"]
    assert main(args) == 0
    scored = out / "edit.v2m.mlt"
    assert "transition0" in scored.read_text()  # the editor's project kept as it was
    assert load_timeline(scored).timeline.tracks[-1].kind == otio.schema.TrackKind.Audio
    before = melt_audio(project, tmp_path / "before.wav", frames=frames)
    after = melt_audio(scored, tmp_path / "after.wav", frames=frames)
    mix, _ = soundfile.read(out / "mix.wav")
    added = after - before
    at = int(np.argmax(np.correlate(added[:, 0], mix[:, 0], mode="valid")))
    assert abs(at / RATE - 2.0) <= 1 / float(fps), at / RATE
    segment = added[at : at + len(mix)]
    gain = float(np.sum(segment * mix) / np.sum(mix * mix))
    assert abs(gain - 1) < 0.01
    t = np.arange(len(before)) / RATE
    assert np.corrcoef(before[:, 0], 0.2 * np.sin(2 * np.pi * TONE_HZ * t))[0, 1] > 0.99
