"""``composer`` — the embedded backend: tempo solver + arranger + synthesizer, CPU, no weights.

Deterministic for a seed: the same request gives a byte-identical mix. Timing (the tempo map
and where each hit lands) depends only on the hits, the tempo range and the meter, never on
the instruments, so two styles with the same tempo settings place the hits identically.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from v2m.model.arrange import arrange
from v2m.model.backends.base import Backend, ProgressFn
from v2m.model.errors import InvalidInputError, WeightsNotFoundError
from v2m.model.mastering import master_stems
from v2m.model.midi import arrangement_to_midi
from v2m.model.mixbus import gap_before_hits, mix_stems
from v2m.model.soundfont import render_stems_soundfont, soundfont_available
from v2m.model.styles import Overrides, choose_style, parse_key, validate_bpm
from v2m.model.synth import render_stems
from v2m.model.tempo import TempoPlan, constant_tempo_map, solve_tempo
from v2m.model.types import ScoreRequest, ScoreResult

SAMPLE_RATE_HZ = 48000
RENDERERS = ("builtin", "soundfont", "auto")
"""auto (default): a General-MIDI SoundFont via tinysoundfont when one is found, else the
built-in NumPy synthesizer; soundfont / builtin force one."""
MAX_DURATION_S = 20 * 60.0


def request_overrides(request: ScoreRequest) -> Overrides:
    o = request.options
    tonic = mode = None
    if o.key:
        tonic, mode = parse_key(o.key)
    return Overrides(
        bpm=validate_bpm(request.bpm) if request.bpm is not None else None,
        tonic=tonic,
        mode=mode,
        meter=o.meter,
        stems=o.stems,
    )


class ComposerBackend(Backend):
    """Built-in composer: hit-point tempo map, arranged stems, no weights (CPU)."""

    name = "composer"
    device = "cpu"

    def __init__(
        self,
        *,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
        target_lufs: float = -16.0,
        ceiling_dbtp: float = -1.0,
        renderer: str = "auto",
    ):
        if sample_rate_hz not in (44100, 48000):
            raise InvalidInputError(f"sample rate must be 44100 or 48000 Hz, got {sample_rate_hz}")
        if renderer not in RENDERERS:
            raise InvalidInputError(f"unknown renderer {renderer!r}; choose one of {RENDERERS}")
        self.sample_rate_hz = sample_rate_hz
        self.target_lufs = target_lufs
        self.ceiling_dbtp = ceiling_dbtp
        self.renderer = renderer

    def _render(self, notes, *, stems, times, n_samples, seed, progress) -> tuple[dict, str, dict]:
        """(stems, renderer name, ``{stem: instruments played}``): the SoundFont renderer when
        asked for and usable, else the built-in one; one stem at a time, reporting progress
        between stems (so a cancel lands quickly)."""
        font = None
        if self.renderer in ("auto", "soundfont"):
            usable, why = soundfont_available()
            if usable:
                font = why
            elif self.renderer == "soundfont":
                raise WeightsNotFoundError(f"SoundFont rendering unavailable: {why}")
        out: dict = {}
        sources: dict[str, str] = {}
        for i, stem in enumerate(stems):
            progress(0.3 + 0.5 * i / max(1, len(stems)), f"rendering {stem}")
            common = {
                "stems": (stem,),
                "times_s": times,
                "sample_rate_hz": self.sample_rate_hz,
                "n_samples": n_samples,
            }
            if font is not None:
                out.update(render_stems_soundfont(notes, sources=sources, **common))
            else:
                out.update(render_stems(notes, seed=seed, **common))
                sources[stem] = "built-in synthesizer"
        return out, f"soundfont:{Path(font).name}" if font else "builtin", sources

    def generate(self, request: ScoreRequest, *, progress: ProgressFn | None = None) -> ScoreResult:
        progress = progress or (lambda fraction, stage: None)
        if not 0 < request.duration_s <= MAX_DURATION_S:
            raise InvalidInputError(
                f"duration {request.duration_s:.2f} s is outside 0..{MAX_DURATION_S:.0f} s"
            )
        choice = choose_style(
            request.prompt, style=request.options.style, overrides=request_overrides(request)
        )
        style = choice.style
        clock = _StageClock()
        progress(0.0, "planning tempo")
        plan = self._tempo(request, style)
        clock.lap("planning")
        progress(0.15, "arranging")
        arrangement = arrange(
            plan,
            style=style,
            curve=request.curve,
            duration_s=request.duration_s,
            seed=request.options.seed,
        )
        grid = plan.tempo_map
        starts = grid.time_of([n.start_beat for n in arrangement.notes])
        ends = grid.time_of([n.start_beat + n.length_beats for n in arrangement.notes])
        times = {
            n: (float(s), float(e)) for n, s, e in zip(arrangement.notes, starts, ends, strict=True)
        }
        clock.lap("arranging")
        progress(0.3, "rendering stems")
        n = int(round(request.duration_s * self.sample_rate_hz))
        stems, renderer, instruments = self._render(
            list(arrangement.notes),
            stems=style.stems,
            times=times,
            n_samples=n,
            seed=request.options.seed,
            progress=progress,
        )
        _fade_out(stems, self.sample_rate_hz)
        clock.lap("rendering")
        progress(0.75, "mixing")
        stems, bus = mix_stems(
            stems, sample_rate_hz=self.sample_rate_hz, style=style.name, seed=request.options.seed
        )
        must = [p.achieved_s for p in plan.placements if p.kind in ("cut", "marker")]
        stems = gap_before_hits(stems, must, sample_rate_hz=self.sample_rate_hz)
        clock.lap("mixing")
        progress(0.8, "mastering")
        mix, stems, report = master_stems(
            stems,
            self.sample_rate_hz,
            n_samples=n,
            target_lufs=self.target_lufs,
            ceiling_dbtp=self.ceiling_dbtp,
        )
        midi = arrangement_to_midi(
            arrangement, grid, duration_s=request.duration_s, title=f"v2m {style.name}"
        )
        clock.lap("mastering")
        progress(1.0, "done")
        bpms = grid.bpm_at(np.arange(arrangement.first_beat, arrangement.last_beat + 1))
        metadata = {
            "backend": self.name,
            "style": style.name,
            "style_scores": choice.scores,
            "prompt": request.prompt,
            "key": arrangement.key,
            "meter": style.meter,
            "stems": list(stems),
            "tempo": {
                "constant": grid.constant,
                "bpm_min": round(float(bpms.min()), 3),
                "bpm_max": round(float(bpms.max()), 3),
                "bpm_median": round(float(np.median(bpms)), 3),
            },
            "sections_at_beats": list(arrangement.sections),
            "form": [{"beat": beat, "role": role} for beat, role in arrangement.form],
            "loudness": {
                "target_lufs": self.target_lufs,
                "integrated_lufs": round(report.integrated_lufs, 2),
                "true_peak_dbtp": round(report.true_peak_dbtp, 2),
                "gain_db": round(report.gain_db, 2),
                "limiter_max_reduction_db": round(report.limiter_max_reduction_db, 2),
            },
            "renderer": renderer,
            "instruments": instruments,
            "mix": bus,
            "seed": request.options.seed,
            "sample_rate_hz": self.sample_rate_hz,
            "timings_s": clock.laps,
        }
        return ScoreResult(self.sample_rate_hz, stems, mix, midi, grid, plan.placements, metadata)

    def _tempo(self, request: ScoreRequest, style) -> TempoPlan:
        if request.tempo_hint is not None:
            beat_s, phase_s = request.tempo_hint
            grid = constant_tempo_map(
                beat_s=beat_s, phase_s=phase_s, meter=style.meter, duration_s=request.duration_s
            )
            return TempoPlan.for_grid(grid, request.hits, frame_rate_hz=request.frame_rate_hz)
        return solve_tempo(
            request.hits,
            duration_s=request.duration_s,
            bpm_range=style.bpm_range,
            bpm=style.bpm,
            meter=style.meter,
            frame_rate_hz=request.frame_rate_hz,
        )


class _StageClock:
    """Wall time per stage, for the benchmark and the logs."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = round(now - self._last, 4)
        self._last = now


def _fade_out(stems: dict, sample_rate_hz: int, seconds: float = 0.25) -> None:
    """Fade the last ``seconds`` so the music ends cleanly at the out point."""
    for audio in stems.values():
        n = min(audio.shape[1], int(seconds * sample_rate_hz))
        if n:
            audio[:, -n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)
