"""Which SoundFont synthesizer: v2m's path (tinysoundfont + the mix bus) or FluidSynth's.

    .venv/bin/python tests/bench/bench_synths.py [--video V] [--styles all]

For each style the composer scores the clip once; its ``score.mid`` is then also rendered by
the FluidSynth program (Debian's ``fluidsynth``, an optional external tool: LGPL, never linked)
with the same SoundFont and FluidSynth's own reverb and chorus, and brought to the same
loudness by v2m's mastering stage. Both renders go to the listeners of ``bench_sound.py``
(musicnn's tags; ``.venv-bench``), and the render times are compared.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_sound import DEFAULT_VIDEO, listen, matched_tags, top_tags  # noqa: E402

from v2m.model.analysis import analyze  # noqa: E402
from v2m.model.mastering import master  # noqa: E402
from v2m.model.media import decode_audio, probe  # noqa: E402
from v2m.model.options import ScoreOptions  # noqa: E402
from v2m.model.pipeline import score  # noqa: E402
from v2m.model.soundfont import find_soundfont  # noqa: E402
from v2m.model.styles import PRESETS  # noqa: E402
from v2m.model.wav import write_wav  # noqa: E402


def fluidsynth_render(midi: Path, font: str, out: Path, *, rate_hz: int, duration_s: float):
    """(float32[2, n] mastered like v2m's mix, seconds FluidSynth took)."""
    started = time.perf_counter()
    raw = out.with_suffix(".raw.wav")
    subprocess.run(
        ["fluidsynth", "-ni", "-q", "-r", str(rate_hz), "-F", str(raw), font, str(midi)],
        check=True,
        capture_output=True,
    )
    took = time.perf_counter() - started
    audio = decode_audio(raw, sample_rate_hz=rate_hz, channels=2, info=probe(raw)).samples
    audio = audio[:, : int(round(duration_s * rate_hz))]
    mixed, _report = master(audio.astype(np.float32), rate_hz, target_lufs=-16.0, ceiling_dbtp=-1.0)
    return mixed, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--styles", default="all")
    args = parser.parse_args()
    if shutil.which("fluidsynth") is None:
        sys.exit(
            "the fluidsynth program is missing (apt-get install --no-install-recommends fluidsynth)"
        )
    font = find_soundfont()
    styles = list(PRESETS) if args.styles == "all" else args.styles.split(",")
    analysis = analyze(args.video)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for style in styles:
            job = score(args.video, ScoreOptions(style=style, seed=0), analysis=analysis)
            r = job.result
            ours = Path(tmp) / f"{style}-v2m.wav"
            write_wav(ours, r.mix, r.sample_rate)
            midi = Path(tmp) / f"{style}.mid"
            midi.write_bytes(r.midi)
            theirs = Path(tmp) / f"{style}-fluidsynth.wav"
            audio, took = fluidsynth_render(
                midi, font, theirs, rate_hz=r.sample_rate, duration_s=job.request.duration_s
            )
            write_wav(theirs, audio, r.sample_rate)
            render_s = r.metadata["timings_s"]["rendering"] + r.metadata["timings_s"]["mixing"]
            rows.append((style, ours, theirs, render_s, took))
        heard = listen([p for row in rows for p in row[1:3]])
    print(f"{args.video.name}, font {Path(font).name}")
    wins = {"v2m": 0, "fluidsynth": 0}
    for style, ours, theirs, ours_s, theirs_s in rows:
        for name, path, seconds in (("v2m", ours, ours_s), ("fluidsynth", theirs, theirs_s)):
            listened = heard.get(str(path), {})
            matched = matched_tags(style, listened)
            wins[name] += bool(matched)
            print(
                f"{style:10s} {name:10s} {seconds:5.2f} s  genre {'yes' if matched else 'no ':3s} "
                f"{', '.join(top_tags(listened))}"
            )
    print(
        f"heard as their genre: v2m {wins['v2m']}/{len(rows)}, "
        f"FluidSynth {wins['fluidsynth']}/{len(rows)}"
    )


if __name__ == "__main__":
    main()
