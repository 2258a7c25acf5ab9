"""How the composer sounds, per style: genre as an independent tagger hears it, sound statistics
next to real recordings, timing measured on the audio, and a listening page.

    bash scripts/setup_bench.sh            # once: the listeners' environment (.venv-bench)
    .venv/bin/python tests/bench/bench_sound.py [--video V] [--styles all] [--out DIR]

Renders one clip in every style twice — with the renderer chain v2m uses now ("new") and with
the 6 MB TimGM6mb font alone ("old", the renderer before issue 15) — and reports per style:

* the top five tags of musicnn (MSD and MTT models; see ``listeners.py``) and whether one of the
  style's genre tags is among them (either model's top five);
* spectral centroid (Hz), crest factor (dB) and stereo width (side/mid energy, dB) beside the
  same figures for the real recordings in ``../shared/media/music``;
* Scene Cut Hit (paper Algorithm 1) with librosa's beats and with madmom's, and the strongest
  onset's distance from each PySceneDetect cut in video frames — all measured on ``mix.wav``;

then writes a spectrogram per style and ``index.html`` (an audio player and spectrogram per
style, old beside new) into ``--out``, and a screenshot of the page when Chromium is present.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from v2m.model.analysis import analyze
from v2m.model.media import decode_audio, probe
from v2m.model.metrics import librosa_beat_times, pyscenedetect_cut_times, scene_cut_hit
from v2m.model.options import ScoreOptions
from v2m.model.pipeline import score
from v2m.model.styles import PRESETS
from v2m.model.wav import write_wav

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "media"
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
DEFAULT_VIDEO = SHARED / "video" / "big_buck_bunny_0_30.webm"
ONSET_WINDOW_S = 0.25
"""Onsets are looked for this far either side of a cut."""

GENRE_TAGS = {
    # The tags (MSD or MTT vocabulary) that count as "heard as this style".
    "cinematic": {"classical", "strings", "violin", "cello", "choral", "choir", "opera"},
    "orchestral": {"classical", "strings", "violin", "cello", "harpsichord", "classic", "opera"},
    "ambient": {"ambient", "new age", "chillout", "chill"},
    "lofi": {"chill", "chillout", "Mellow", "jazz", "Hip-Hop", "easy listening"},
    "electronic": {"electronic", "electronica", "techno", "dance", "electro", "House"},
    "rock": {"rock", "alternative rock", "hard rock", "classic rock", "indie rock", "punk"},
    "hiphop": {"Hip-Hop", "rnb"},
    "acoustic": {"acoustic", "folk", "country"},
}


def old_font() -> str:
    import pretty_midi

    return str(Path(pretty_midi.__file__).with_name("TimGM6mb.sf2"))


@contextlib.contextmanager
def soundfont_env(font: str | None):
    """``V2M_SOUNDFONT=font`` inside the block; ``None`` leaves the environment as it is."""
    saved = os.environ.get("V2M_SOUNDFONT")
    if font is not None:
        os.environ["V2M_SOUNDFONT"] = font
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("V2M_SOUNDFONT", None)
        else:
            os.environ["V2M_SOUNDFONT"] = saved


def sound_stats(path: Path, *, max_s: float = 30.0) -> dict:
    """Spectral centroid (Hz), crest factor (dB) and stereo width (side/mid energy, dB)."""
    import librosa

    info = probe(path)
    rate = info.audio[0].sample_rate_hz
    audio = decode_audio(path, sample_rate_hz=rate, channels=2, info=info).samples
    audio = audio[:, : int(max_s * rate)]
    mono = audio.mean(axis=0)
    centroid = float(np.median(librosa.feature.spectral_centroid(y=mono, sr=rate)))
    rms = float(np.sqrt(np.mean(mono**2))) + 1e-12
    crest = 20 * np.log10(float(np.max(np.abs(mono))) / rms + 1e-12)
    mid, side = (audio[0] + audio[1]) / 2, (audio[0] - audio[1]) / 2
    width = 10 * np.log10((np.mean(side**2) + 1e-12) / (np.mean(mid**2) + 1e-12))
    return {"centroid_hz": centroid, "crest_db": float(crest), "width_db": float(width)}


def onset_errors_frames(path: Path, cuts_s: list[float], frame_rate_hz: float) -> list[float]:
    """Per cut: distance (video frames) from the cut to the strongest onset near it."""
    import librosa

    info = probe(path)
    rate = info.audio[0].sample_rate_hz
    mono = decode_audio(path, sample_rate_hz=rate, channels=1, info=info).mono
    hop = 256
    envelope = librosa.onset.onset_strength(y=mono, sr=rate, hop_length=hop)
    times = librosa.times_like(envelope, sr=rate, hop_length=hop)
    errors = []
    for cut in cuts_s:
        near = np.flatnonzero(np.abs(times - cut) <= ONSET_WINDOW_S)
        if len(near) == 0:
            errors.append(float("inf"))
            continue
        best = near[int(np.argmax(envelope[near]))]
        errors.append(abs(float(times[best]) - cut) * frame_rate_hz)
    return errors


def spectrogram_png(wav: Path, png: Path, *, title: str) -> None:
    import librosa
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    info = probe(wav)
    rate = info.audio[0].sample_rate_hz
    mono = decode_audio(wav, sample_rate_hz=rate, channels=1, info=info).mono
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=mono, sr=rate, n_mels=96), ref=1.0)
    fig, ax = plt.subplots(figsize=(9, 2.6))
    ax.imshow(
        mel,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=-80,
        vmax=mel.max(),
        extent=(0, len(mono) / rate, 0, 96),
    )
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("s")
    ax.set_ylabel("mel band")
    fig.tight_layout()
    fig.savefig(png, dpi=80)
    plt.close(fig)


def listen(paths: list[Path], *, beats_only: bool = False) -> dict:
    """Tags and madmom beats from the bench environment, or ``{}`` when it is not built."""
    if not BENCH_PYTHON.exists():
        print("no .venv-bench: tagger and madmom skipped (bash scripts/setup_bench.sh)")
        return {}
    command = [str(BENCH_PYTHON), str(Path(__file__).with_name("listeners.py"))]
    command += ["--beats-only"] if beats_only else []
    done = subprocess.run(
        [*command, *map(str, paths)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def top_tags(heard: dict) -> list[str]:
    """The MSD model's top five, then the MTT model's."""
    return [t for t, _ in heard.get("msd", [])] + [t for t, _ in heard.get("mtt", [])]


def recognised(style: str, heard: dict) -> bool:
    return bool(matched_tags(style, heard))


def matched_tags(style: str, heard: dict) -> list[str]:
    """The style's genre tags among the top fives."""
    return [t for t in top_tags(heard) if t in GENRE_TAGS[style]]


def render_all(video: Path, styles: list[str], out: Path) -> tuple[dict, list[float], float]:
    analysis = analyze(video)
    cuts = pyscenedetect_cut_times(video)
    renders = {}
    for variant, font in (("new", None), ("old", old_font())):
        with soundfont_env(font):
            for style in styles:
                job = score(video, ScoreOptions(style=style, seed=0), analysis=analysis)
                wav = out / f"{style}-{variant}.wav"
                write_wav(wav, job.result.mix, job.result.sample_rate)
                renders[(style, variant)] = (wav, job.result.metadata.get("renderer", "?"))
                print(f"rendered {style:10s} {variant}: {renders[(style, variant)][1]}")
    return renders, cuts, analysis.frame_rate_hz or 25.0


def page(rows: list[dict], references: list[dict], out: Path) -> Path:
    def cell(row: dict, variant: str) -> str:
        r = row[variant]
        return (
            f"<td><audio controls preload='none' src='{html.escape(r['wav'])}'></audio><br>"
            f"<img src='{html.escape(r['png'])}' width='520'><br>"
            f"<small>{html.escape(r['renderer'])}"
            f" · tags: {html.escape(', '.join(r['tags']) or 'n/a')}</small></td>"
        )

    body = "".join(
        f"<tr><th>{row['style']}<br><small>{'heard as genre' if row['new']['recognised'] else ''}"
        f"</small></th>{cell(row, 'new')}{cell(row, 'old')}</tr>"
        for row in rows
    )
    refs = "".join(
        f"<li>{html.escape(r['name'])}: centroid {r['centroid_hz']:.0f} Hz, crest "
        f"{r['crest_db']:.1f} dB, width {r['width_db']:.1f} dB</li>"
        for r in references
    )
    doc = (
        "<!doctype html><meta charset='utf-8'><title>v2m — how each style sounds</title>"
        "<style>body{font:14px sans-serif;background:#111;color:#ddd}td,th{padding:6px;"
        "vertical-align:top}th{text-align:left}</style><h1>v2m composer: every style, new "
        "renderer beside old</h1><table><tr><th>style</th><th>new (font chain, mix bus)</th>"
        f"<th>old (TimGM6mb)</th></tr>{body}</table><h2>Real recordings</h2><ul>{refs}</ul>"
    )
    index = out / "index.html"
    index.write_text(doc)
    return index


def screenshot(index: Path, png: Path) -> bool:
    chromium = shutil.which("chromium")
    if chromium is None:
        return False
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return False
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        view = browser.new_page(viewport={"width": 1150, "height": 900})
        view.goto(index.as_uri())
        view.screenshot(path=str(png), full_page=True)
        browser.close()
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--styles", default="all", help="'all' or comma-separated presets")
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "bench_sound")
    args = parser.parse_args()
    if not args.video.exists():
        sys.exit(f"{args.video} is missing (the shared media sit beside the repository)")
    styles = list(PRESETS) if args.styles == "all" else args.styles.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    renders, cuts, fps = render_all(args.video, styles, args.out)
    music = sorted(p for p in (SHARED / "music").glob("*") if p.suffix in (".ogg", ".flac"))
    heard = listen([wav for wav, _ in renders.values()] + music)
    references = [{"name": p.name, **sound_stats(p)} for p in music]
    for ref in references:
        tags = heard.get(str(SHARED / "music" / ref["name"]), {})
        ref["tags"] = top_tags(tags)
    rows = []
    print(f"\n{args.video.name}: {len(cuts)} cuts, {fps:.3f} fps")
    header = (
        f"{'style':10s} {'ver':3s} {'genre?':6s} {'SCH lib':>7s} {'SCH mm':>6s} "
        f"{'onset max fr':>12s}"
        f" {'centroid':>8s} {'crest':>5s} {'width':>6s}  top tags (MSD | MTT)"
    )
    print(header)
    for style in styles:
        row = {"style": style}
        for variant in ("new", "old"):
            wav, renderer = renders[(style, variant)]
            listened = heard.get(str(wav), {})
            madmom = listened.get("madmom_beats_s")
            errors = onset_errors_frames(wav, cuts, fps)
            stats = sound_stats(wav)
            png = wav.with_suffix(".png")
            spectrogram_png(wav, png, title=f"{style} ({variant}: {renderer})")
            r = {
                "wav": wav.name,
                "png": png.name,
                "renderer": renderer,
                "tags": top_tags(listened),
                "recognised": recognised(style, listened) if listened else None,
                "sch_librosa": scene_cut_hit(cuts, librosa_beat_times(wav)),
                "sch_madmom": scene_cut_hit(cuts, madmom) if madmom is not None else None,
                "onset_max_frames": max(errors) if errors else 0.0,
                **stats,
            }
            row[variant] = r
            genre = {True: "yes", False: "no", None: "n/a"}[r["recognised"]]
            r["matched"] = matched_tags(style, listened)
            mm = f"{r['sch_madmom']:.2f}" if r["sch_madmom"] is not None else "n/a"
            msd = ", ".join(t for t, _ in listened.get("msd", []))
            mtt = ", ".join(t for t, _ in listened.get("mtt", []))
            print(
                f"{style:10s} {variant:3s} {genre:6s} {r['sch_librosa']:7.2f} {mm:>6s} "
                f"{r['onset_max_frames']:12.2f} {r['centroid_hz']:8.0f} {r['crest_db']:5.1f} "
                f"{r['width_db']:6.1f}  {msd} | {mtt}  [{', '.join(r['matched'])}]"
            )
        rows.append(row)
    print("\nreal recordings:")
    for ref in references:
        print(
            f"  {ref['name'][:40]:40s} centroid {ref['centroid_hz']:6.0f} "
            f"crest {ref['crest_db']:5.1f} width {ref['width_db']:6.1f}  {', '.join(ref['tags'])}"
        )
    if heard:
        hits = sum(bool(row["new"]["recognised"]) for row in rows)
        old = sum(bool(row["old"]["recognised"]) for row in rows)
        print(f"\nrecognised as their genre: new {hits}/{len(rows)}, old {old}/{len(rows)}")
    results = {"video": args.video.name, "rows": rows, "references": references}
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    index = page(rows, references, args.out)
    shot = args.out / "index.png"
    print(f"listening page: {index}" + (f" (screenshot {shot})" if screenshot(index, shot) else ""))


if __name__ == "__main__":
    main()
