"""Write a score to a folder: mix, stems, MIDI, hit report, plot and a preview video.

    OUT/mix.wav          mastered stereo mix (24-bit PCM)
    OUT/stems/NAME.wav   one file per stem, at the mix's gain
    OUT/score.mid        the arrangement with the solved tempo map
    OUT/hits.json        per-hit report and every setting used
    OUT/curve.png        event curve, cuts and the placed hits
    OUT/preview.mp4      the selection's picture with the music (original sound ducked under)

Every file is written to a temporary name and renamed into place, so a crash never leaves a
half-written file under its final name.
"""

from __future__ import annotations

import dataclasses
import json
import os
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

from v2m import __version__
from v2m.model.describe import video_measurements
from v2m.model.media import decode_audio
from v2m.model.metrics import beat_f1
from v2m.model.wav import write_atomically, write_wav

if TYPE_CHECKING:
    from v2m.model.options import ScoreOptions
    from v2m.model.pipeline import ScoreJob
from v2m.model.tempo import median_error_frames

DUCK_DB = -14.0
"""Level of the original sound under the music in the preview."""


def hit_report_dict(job: ScoreJob) -> dict:
    r = job.result
    music_beats = [
        round(float(t), 5) for t in r.tempo_map.beat_times_s if 0 <= t <= job.request.duration_s
    ]
    return {
        "schema": "v2m.hits/1",
        "v2m_version": __version__,
        "media": job.analysis.media.path,
        "selection_s": [job.in_s, job.out_s],
        "frame_rate_hz": job.request.frame_rate_hz,
        "prompt": job.request.prompt,
        "prompt_source": job.prompt_source,
        "video_measurements": video_measurements(job.analysis, job.in_s, job.out_s),
        "motion": None
        if job.motion is None
        else {
            "bpm": round(job.motion.bpm, 3),
            "strength": round(job.motion.strength, 3),
            "motion_beats_s": [round(t, 4) for t in job.motion.motion_beats_s],
            "beat_f1_vs_music": round(
                beat_f1(job.motion.motion_beats_s, music_beats, tolerance_s=0.07).f1,
                4,
            ),
        },
        "settings": settings_dict(job.request.options),
        "result": r.metadata,
        "beats_s": music_beats,
        "hits": [
            {
                "kind": p.kind,
                "planned_s": round(p.time_s, 5),
                "achieved_s": round(p.achieved_s, 5),
                "error_ms": round(p.error_ms, 3),
                "error_frames": round(p.error_frames, 4),
                "beat": p.beat,
                "bar": int(p.beat // r.tempo_map.meter) + 1,
                "on_beat": p.on_beat,
                "on_downbeat": p.on_downbeat,
                "strength": p.strength,
            }
            for p in r.hit_report
        ],
    }


def settings_dict(options: ScoreOptions) -> dict:
    """Every setting of a job, JSON-ready (backend options included)."""
    return dataclasses.asdict(options)


def plot_score(job: ScoreJob, path: Path) -> None:
    """Event curve of the selection with cuts, placed hits and bar lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r, a = job.result, job.analysis
    fig, ax = plt.subplots(figsize=(13, 4.4))
    c = a.curves
    inside = (c.raw_times_s >= job.in_s) & (c.raw_times_s < job.out_s)
    ax.plot(
        c.raw_times_s[inside] - job.in_s,
        c.raw[inside],
        color="#9aa5b1",
        lw=0.8,
        label="event curve (raw)",
    )
    sm = job.request.curve
    twin = ax.twinx()
    twin.plot(sm.times_s, sm.values, color="#1f4e8c", lw=2, label="smoothed")
    music = r.metadata.get("retime_curves")
    if music:  # the editor's recording: its curve before and after retiming
        t = np.arange(len(music["after"])) / music["rate_hz"]
        twin.plot(t, music["before"], color="#e08a00", lw=1, ls=":", label="music, as recorded")
        twin.plot(t, music["after"], color="#e08a00", lw=1.6, label="music, retimed")
    twin.set_yticks([])
    grid = r.tempo_map
    for t in grid.beat_times_s:
        if 0 <= t <= job.request.duration_s:
            ax.axvline(t, color="#dddddd", lw=0.5, zorder=0)
    for b in np.arange(0, 10_000, grid.meter):
        t = float(grid.time_of(b))
        if t > job.request.duration_s:
            break
        if t >= 0:
            ax.axvline(t, color="#bbbbbb", lw=1.0, zorder=0)
    colours = {"cut": "#c62828", "marker": "#6a1b9a", "peak": "#e08a00", "motion_beat": "#2e7d32"}
    for kind in colours:
        pts = [p for p in r.hit_report if p.kind == kind]
        if pts:
            ax.scatter(
                [p.achieved_s for p in pts],
                [ax.get_ylim()[1] * 0.9] * len(pts),
                marker="v",
                s=60,
                color=colours[kind],
                label=f"{kind} → beat",
                zorder=3,
            )
            for p in pts:
                ax.axvline(p.time_s, color=colours[kind], ls="--", lw=1)
    tempo = r.metadata["tempo"]
    ax.set_title(
        f"{Path(a.media.path).name} — {r.metadata['style']} in {r.metadata['key']}, "
        f"{tempo['bpm_min']:.1f}–{tempo['bpm_max']:.1f} bpm; "
        f"median cut error {median_error_frames(r.hit_report):.2f} frames",
        fontsize=10,
    )
    ax.set_xlim(0, job.request.duration_s)
    ax.set_xlabel("time from the in point (s)")
    handles, labels = ax.get_legend_handles_labels()
    twin_handles, twin_labels = twin.get_legend_handles_labels()
    ax.legend(handles + twin_handles, labels + twin_labels, loc="upper right", fontsize=8)
    fig.tight_layout()
    write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


def write_preview(job: ScoreJob, path: Path) -> None:
    """The selection's picture (re-encoded, small) with the music and the ducked original."""
    r = job.result
    sr = r.sample_rate
    music = r.mix
    info = job.analysis.media
    if info.has_audio:
        original = decode_audio(info.path, sample_rate_hz=sr, channels=2, info=info).samples
        i0 = int(job.in_s * sr)
        original = original[:, i0 : i0 + music.shape[1]]
        bed = np.zeros_like(music)
        bed[:, : original.shape[1]] = original * 10 ** (DUCK_DB / 20)
        audio = np.clip(music + bed, -1, 1)
    else:
        audio = music

    def write(tmp: str) -> None:
        with av.open(info.path) as src, av.open(tmp, "w", format="mp4") as out:
            vin = src.streams[info.video.index]
            vin.thread_type = "AUTO"
            # The nominal rate's grid: a variable-rate file's frames land on it (its average
            # rate would put two frames on one tick, which the muxer refuses).
            rate = Fraction(info.video.frame_rate_hz).limit_denominator(1001)
            vout = out.add_stream("libx264", rate=rate)
            w, h = info.video.display_width, info.video.display_height
            scale = min(1.0, 854 / max(w, h))
            vout.width, vout.height = (
                max(2, int(w * scale) // 2 * 2),
                max(2, int(h * scale) // 2 * 2),
            )
            vout.pix_fmt = "yuv420p"
            vout.options = {"preset": "veryfast", "crf": "26"}
            aout = out.add_stream("aac", rate=sr)
            aout.layout = "stereo"
            origin = info.origin_s
            last_pts = -1
            for frame in src.decode(vin):
                if frame.pts is None:
                    continue
                t = float(frame.pts * frame.time_base) - origin
                if t < job.in_s:
                    continue
                if t >= job.out_s:
                    break
                turned = info.video.rotation_deg % 180 != 0
                img = frame.to_ndarray(
                    width=vout.height if turned else vout.width,
                    height=vout.width if turned else vout.height,
                    format="rgb24",
                )
                if info.video.rotation_deg:
                    img = np.ascontiguousarray(np.rot90(img, k=(info.video.rotation_deg // 90) % 4))
                pts = round((t - job.in_s) * rate)
                if pts <= last_pts:  # a dropped-frame file's two frames on one tick: keep one
                    continue
                last_pts = pts
                nf = av.VideoFrame.from_ndarray(img, format="rgb24")
                nf.pts = pts
                nf.time_base = Fraction(1) / rate
                out.mux(vout.encode(nf))
            out.mux(vout.encode(None))
            pcm = np.ascontiguousarray(audio.astype(np.float32))
            for i in range(0, pcm.shape[1], 1024):
                af = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(pcm[:, i : i + 1024]), format="fltp", layout="stereo"
                )
                af.sample_rate = sr
                af.pts = i
                out.mux(aout.encode(af))
            out.mux(aout.encode(None))

    write_atomically(path, write)


def write_outputs(
    job: ScoreJob, out_dir: str | os.PathLike, *, preview: bool = True, plot: bool = True
) -> dict:
    """Write every artifact of ``job`` into ``out_dir``; returns {name: path}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    r = job.result
    paths = {"mix": out / "mix.wav"}
    write_wav(paths["mix"], r.mix, r.sample_rate)
    for name, audio in r.stems.items():
        paths[f"stem:{name}"] = out / "stems" / f"{name}.wav"
        write_wav(paths[f"stem:{name}"], audio, r.sample_rate)
    if r.midi is not None:
        paths["midi"] = out / "score.mid"
        write_atomically(paths["midi"], lambda tmp: Path(tmp).write_bytes(r.midi))
    paths["hits"] = out / "hits.json"
    report = json.dumps(hit_report_dict(job), indent=1) + "\n"
    write_atomically(paths["hits"], lambda tmp: Path(tmp).write_text(report))
    if plot:
        paths["plot"] = out / "curve.png"
        plot_score(job, paths["plot"])
    if preview:
        paths["preview"] = out / "preview.mp4"
        write_preview(job, paths["preview"])
    return {k: str(v) for k, v in paths.items()}
