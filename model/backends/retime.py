"""``retime`` — the editor's own recording, its accents moved onto the cuts.

The music option names a recording or a folder of them (a library). Each track is analysed
once (cached by content), the track and start that already fit the edit best are chosen
(:mod:`~v2m.model.retime.match`), one continuous time map moves a landmark onto every cut
within the stretch bound (:mod:`~v2m.model.retime.fit`), and Signalsmith Stretch renders it
(:mod:`~v2m.model.retime.stretch`); the loudness stage is the composer's.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from v2m.model.backends.base import Backend, ProgressFn
from v2m.model.errors import InvalidInputError, MediaNotFoundError
from v2m.model.hits import is_must_hit
from v2m.model.mastering import master_stems
from v2m.model.media import decode_audio
from v2m.model.mixbus import gap_before_hits
from v2m.model.retime.captions import shortlist
from v2m.model.retime.fit import DEFAULT_MAX_STRETCH, fit_time_map
from v2m.model.retime.library import find_songs, index_library, stem_name
from v2m.model.retime.match import match_library, matched
from v2m.model.retime.stretch import render_through, stretch_available
from v2m.model.tempo import SUBDIVISION, TempoMap, placed_hit
from v2m.model.types import ScoreRequest, ScoreResult

ALTERNATIVES = 3


def _tempo_map(beats_target_s: np.ndarray, meter: int = 4) -> TempoMap:
    """The output's beat grid from the retimed beats (eighth ticks halfway between)."""
    beats = np.asarray(beats_target_s, np.float64)
    if len(beats) < 2:
        beats = np.array([0.0, 0.5]) if len(beats) == 0 else np.array([beats[0], beats[0] + 0.5])
    ticks = np.empty(len(beats) * SUBDIVISION - 1)
    ticks[::SUBDIVISION] = beats
    ticks[1::SUBDIVISION] = (beats[:-1] + beats[1:]) / 2
    return TempoMap(ticks, 0, meter, constant=False)


PLOT_RATE_HZ = 10.0


def _curves_for_plot(best, duration_s: float) -> dict:
    """The music's event curve over the selection before retiming (played straight from the
    chosen start) and after (through the time map), at :data:`PLOT_RATE_HZ` — for the plot."""
    t = np.arange(0.0, duration_s, 1 / PLOT_RATE_HZ)
    curve = best.music.curve

    def sample(source_s: np.ndarray) -> list[float]:
        return [round(float(v), 3) for v in np.interp(source_s, curve.times_s, curve.values)]

    return {
        "rate_hz": PLOT_RATE_HZ,
        "before": sample(best.offset_s + t),
        "after": sample(best.fit.time_map.to_source(t)),
    }


def _tempo_summary(grid: TempoMap, duration_s: float) -> dict:
    """The retimed tempo over the selection (what the doors report for every backend)."""
    inside = grid.beat_times_s[(grid.beat_times_s >= 0) & (grid.beat_times_s <= duration_s)]
    bpms = 60.0 / np.diff(inside) if len(inside) > 1 else np.array([120.0])
    return {
        "constant": bool(np.ptp(bpms) < 0.5),
        "bpm_min": round(float(bpms.min()), 3),
        "bpm_max": round(float(bpms.max()), 3),
        "bpm_median": round(float(np.median(bpms)), 3),
    }


class RetimeBackend(Backend):
    """Your own recording retimed onto the cuts (pitch-preserving stretch, bounded)."""

    name = "retime"
    options = {
        "music": "a recording, or a folder of recordings (the best-fitting track is chosen)",
        "max_stretch": f"largest speed change as a fraction (default {DEFAULT_MAX_STRETCH})",
    }
    path_options = ("music",)

    def __init__(
        self,
        *,
        music: str | None = None,
        max_stretch: float | str = DEFAULT_MAX_STRETCH,
        sample_rate_hz: int = 48000,
        target_lufs: float = -16.0,
        ceiling_dbtp: float = -1.0,
    ):
        try:
            stretch = float(max_stretch)
        except ValueError:
            raise InvalidInputError(f"max_stretch must be a number, got {max_stretch!r}") from None
        if not 0 < stretch < 0.5:
            raise InvalidInputError(f"max_stretch must be in (0, 0.5), got {max_stretch}")
        if music and not os.path.exists(music):
            raise MediaNotFoundError(f"music {music!r} does not exist")
        self.music = music
        self.max_stretch = stretch
        self.sample_rate_hz = sample_rate_hz
        self.target_lufs = target_lufs
        self.ceiling_dbtp = ceiling_dbtp

    def availability(self) -> tuple[bool, str]:
        usable, why = stretch_available()
        if not usable:
            return False, why
        if not self.music:
            return False, "no music given (--music FILE_OR_FOLDER, or backend option music=...)"
        return True, ""

    def generate(self, request: ScoreRequest, *, progress: ProgressFn | None = None) -> ScoreResult:
        progress = progress or (lambda fraction, stage: None)
        if not self.music:
            raise InvalidInputError("the retime backend needs music (backend option music=...)")
        library = index_library(
            find_songs(self.music), progress=lambda f, stage: progress(0.4 * f, stage)
        )
        tracks = list(library.tracks)
        unreadable = [{"path": path, "error": why} for path, why in library.unreadable]
        if not tracks:
            why = "; ".join(f"{path}: {error}" for path, error in library.unreadable)
            raise InvalidInputError(f"no readable recording in {self.music!r} ({why})")
        must = [h for h in request.hits if is_must_hit(h)]
        progress(0.45, "matching")
        fitting, prompt_fits = shortlist(request.options.prompt, tracks)
        by_track = match_library(
            fitting,
            [h.time_s for h in must],
            video_curve=request.curve,
            duration_s=request.duration_s,
            max_stretch=self.max_stretch,
        )
        ranked = [starts[0] for starts in by_track]
        best = ranked[0]
        progress(0.55, f"stretching {Path(best.music.path).name}")
        source = {
            stem_name(path) if best.music.stem_paths else "music": decode_audio(
                path, sample_rate_hz=self.sample_rate_hz, channels=2
            ).samples.astype(np.float32)
            for path in best.music.stem_paths or (best.music.path,)
        }
        starts = by_track[0]
        rendered, takes = self._best_take(source, starts[:TAKES], request, progress=progress)
        best, _, (mix, stems, report, heard, ending), gaps = rendered
        grid = _tempo_map(best.fit.time_map.played(best.music.beats_s))
        placements = self._placements(request, best, grid, heard=heard)
        progress(1.0, "done")
        metadata = {
            "backend": self.name,
            "music": best.music.path,
            "music_stems": [stem_name(p) for p in best.music.stem_paths],
            "offset_s": round(best.offset_s, 4),
            "max_stretch": self.max_stretch,
            "largest_stretch": round(best.largest_stretch, 4),
            "time_map": best.fit.time_map.segments(),
            "bar_edits": [edit.to_json() for edit in best.fit.time_map.edits()],
            "ending": ending,
            "gaps_before_s": [round(t, 4) for t in gaps],
            "takes": takes,
            "pulse": "steady"
            if best.music.has_beat
            else ("none found: landmarks are the recording's strongest onsets"),
            "alternatives": [
                {
                    "music": m.music.path,
                    "offset_s": round(m.offset_s, 3),
                    "cuts_hit": m.hits,
                    "largest_stretch": round(m.largest_stretch, 4),
                    "curve_r": round(m.curve_r, 3),
                    "prompt_fit": None
                    if prompt_fits is None
                    else round(prompt_fits[m.music.path], 3),
                }
                for m in ranked[:ALTERNATIVES]
            ],
            "unreadable": unreadable,
            "retime_curves": _curves_for_plot(best, request.duration_s),
            "tempo": _tempo_summary(grid, request.duration_s),
            "style": "retime",
            "key": "as recorded",
            "loudness": {
                "target_lufs": self.target_lufs,
                "integrated_lufs": round(report.integrated_lufs, 2),
                "true_peak_dbtp": round(report.true_peak_dbtp, 2),
                "gain_db": round(report.gain_db, 2),
            },
            "renderer": "signalsmith-stretch",
            "sample_rate_hz": self.sample_rate_hz,
        }
        return ScoreResult(
            self.sample_rate_hz,
            stems,
            mix,
            None,
            grid,
            placements,
            metadata,
        )

    def _best_take(
        self, source: dict[str, np.ndarray], queue: list, request: ScoreRequest, *, progress
    ):
        """((match, failures, take, gap times) of the fit heard best, renders tried). The
        track's best starts are tried in turn, then their variants: when a take leaves cuts
        unheard (no landmark, an onset sounding stronger nearby, or no tracked beat at the
        cut) the same fit with a producer's gap before those cuts (:func:`gap_before_hits`),
        and the fit again without the landmarks not heard. Fits that hit fewer cuts than the
        best take was heard at, and maps already rendered, are skipped; at most :data:`TAKES`
        renders, stopping at the first with every cut heard."""
        frame_s = 1.0 / (request.frame_rate_hz or 25.0)
        queue = [(0, m, True, ()) for m in queue]  # (depth, fit, may refit, gap times)
        rendered, tried, takes = None, set(), 0
        for attempt in range(TAKES):
            if rendered is not None:  # a fit can be heard at no more cuts than it hits
                heard = len(rendered[0].fit.cuts_s) - rendered[1]
                queue = [item for item in queue if item[1].hits > heard]
            queue = [item for item in queue if _signature(item[1], item[3]) not in tried]
            if not queue:
                break
            queue.sort(key=lambda item: item[0])  # every start before any variant (stable)
            depth, match, refit, gaps = queue.pop(0)
            tried.add(_signature(match, gaps))
            progress(0.55 + 0.3 * attempt / TAKES, f"stretching {Path(match.music.path).name}")
            take = self._render(source, match, request, gaps_s=gaps)
            failed, marks, cuts = _unheard(match, take[3], frame_s)
            takes = attempt + 1
            if rendered is None or failed < rendered[1]:
                rendered = (match, failed, take, gaps)
            if not failed:
                break
            if not cuts:  # only cuts this fit could not reach: try the next start
                continue
            if not gaps:
                queue.append((depth + 1, match, refit, tuple(cuts)))
            if refit and marks:
                try:
                    fit = fit_time_map(
                        match.music,
                        match.fit.cuts_s,
                        duration_s=request.duration_s,
                        offset_s=match.offset_s,
                        max_stretch=self.max_stretch,
                        exclude_s=marks,
                    )
                except InvalidInputError:
                    continue
                refitted = matched(match.music, match.offset_s, fit, curve_r=match.curve_r)
                queue.append((depth + 1, refitted, False, ()))
        return rendered, takes

    def _render(self, source: dict[str, np.ndarray], best, request: ScoreRequest, *, gaps_s=()):
        """(mix, stems, loudness report, heard accents, ending) of one fit: every stem of
        ``source`` ({name: float32[2, n]}) stretched through the one map, dipped just before
        the cuts at ``gaps_s``, ended (:func:`end_musically`), mastered together, and the mix
        measured."""
        stretched = {
            name: render_through(
                audio,
                best.fit.time_map,
                sample_rate_hz=self.sample_rate_hz,
                duration_s=request.duration_s,
            )
            for name, audio in source.items()
        }
        for audio in stretched.values():
            ending = end_musically(
                audio,
                best,
                cuts_s=[h.time_s for h in request.hits if h.kind in ("cut", "marker")],
                sample_rate_hz=self.sample_rate_hz,
                duration_s=request.duration_s,
            )
        if gaps_s:
            stretched = gap_before_hits(stretched, gaps_s, sample_rate_hz=self.sample_rate_hz)
        mix, stems, report = master_stems(
            stretched,
            self.sample_rate_hz,
            n_samples=int(round(request.duration_s * self.sample_rate_hz)),
            target_lufs=self.target_lufs,
            ceiling_dbtp=self.ceiling_dbtp,
        )
        return mix, stems, report, _heard(mix, self.sample_rate_hz), ending

    def _placements(self, request: ScoreRequest, best, grid: TempoMap, *, heard) -> tuple:
        """Per hit, where its accent is *heard* in the output: the strongest onset within
        :data:`HEARD_WINDOW_S` of a must-hit (measured, not planned); a peak's nearest beat."""
        times, strength, _beats = heard
        beats = grid.beat_times_s
        out = []
        for hit in sorted(request.hits, key=lambda h: h.time_s):
            near = np.flatnonzero(np.abs(times - hit.time_s) <= HEARD_WINDOW_S)
            if is_must_hit(hit) and len(near):
                achieved = float(times[near[np.argmax(strength[near])]])
            else:
                achieved = float(beats[np.argmin(np.abs(beats - hit.time_s))])
            beat = round(float(grid.beat_of(achieved)) * SUBDIVISION) / SUBDIVISION
            out.append(
                placed_hit(hit, grid, beat=beat, achieved_s=achieved, fps=request.frame_rate_hz)
            )
        return tuple(out)


TAKES = 12
"""Most renders tried for one job (each verified on its output)."""


def _signature(match, gaps) -> tuple:
    """What a take renders: its time map and gaps (fits from different starts often meet)."""
    m = match.fit.time_map
    return (
        match.music.path,
        tuple(np.round(m.target_s, 4)),
        tuple(np.round(m.source_s, 4)),
        tuple(gaps),
    )


def _unheard(best, heard, frame_s: float) -> tuple[int, list[float], list[float]]:
    """(cuts not heard, source times of their landmarks, their times): a cut is not heard
    when the fit gave it no landmark, when its strongest accent in the output lies more than a
    frame away, or when no beat is tracked within SCH's ±0.1 s of it."""
    times, strength, beats = heard
    failed, landmarks, cuts = 0, [], []
    for cut, mark in zip(best.fit.cuts_s, best.fit.landmarks, strict=True):
        near = np.flatnonzero(np.abs(times - cut) <= HEARD_WINDOW_S)
        off = not len(near) or abs(times[near[np.argmax(strength[near])]] - cut) > frame_s
        if mark is None or off or not len(beats) or np.abs(beats - cut).min() > SCH_TOLERANCE_S:
            failed += 1
            if mark is not None:
                landmarks.append(mark.source_s)
                cuts.append(cut)
    return failed, landmarks, cuts


NATURAL_END_S = 1.0
"""A recording whose own end comes this soon after the selection's end ends by itself."""
FADE_S = (0.25, 3.0)
"""Shortest and longest fade-out."""
HELD_AFTER_CUT_S = 1.0
"""Full level kept after the last cut before any fade, so its accent is heard (and tracked)
as a beat, not as part of the fade."""


def end_musically(
    audio: np.ndarray, best, *, cuts_s, sample_rate_hz: int, duration_s: float
) -> dict:
    """End ``audio`` (float32[channels, n], modified in place) the way music ends: on the
    recording's own ending when the selection reaches it, else with a cosine fade-out of one
    bar (at most 3 s) that starts after the last cut or marker (of any strength), so no
    accent is faded and no note is cut off.
    Returns what was done (JSON-ready)."""
    end_source = float(best.fit.time_map.to_source(duration_s))
    n = audio.shape[1]
    if best.music.duration_s - end_source <= NATURAL_END_S:
        fade_s, kind = 0.02, "the recording's own ending"
    else:
        beats = best.fit.time_map.played(best.music.beats_s)
        beat_s = float(np.median(np.diff(beats))) if len(beats) > 1 else 0.5
        last_cut = max((c for c in cuts_s if c < duration_s), default=0.0)
        room = duration_s - last_cut - HELD_AFTER_CUT_S
        fade_s = float(np.clip(min(4 * beat_s, room), *FADE_S))
        kind = "fade-out"
    length = min(n, int(fade_s * sample_rate_hz))
    x = np.linspace(0.0, 1.0, length, dtype=np.float32)
    audio[:, n - length :] *= 0.5 * (1 + np.cos(np.pi * x))
    return {"kind": kind, "from_s": round(duration_s - length / sample_rate_hz, 3)}


SCH_TOLERANCE_S = 0.1
HEARD_WINDOW_S = 0.25
"""A cut's accent is the strongest onset of the output within this distance."""
_HEARD_HOP = 256
_BEAT_HOP = 512
"""librosa's default hop, which Algorithm 1's ``beat_track`` uses."""


def _heard(mix: np.ndarray, sample_rate_hz: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(onset times_s, onset strength, beat times_s) of the output, measured as the
    benchmarks measure: onsets every 256 samples (5.3 ms at 48 kHz) with librosa's onset
    detector, beats exactly as Algorithm 1 tracks them (``beat_track`` on hop-512 frames).
    One mel spectrogram serves both: the hop-512 frames are every other hop-256 frame."""
    import librosa

    mono = mix.mean(axis=0)
    power = librosa.feature.melspectrogram(y=mono, sr=sample_rate_hz, hop_length=_HEARD_HOP)
    envelope = librosa.onset.onset_strength(
        S=librosa.power_to_db(power), sr=sample_rate_hz, hop_length=_HEARD_HOP
    )
    times = librosa.times_like(envelope, sr=sample_rate_hz, hop_length=_HEARD_HOP)
    step = _BEAT_HOP // _HEARD_HOP
    coarse = librosa.onset.onset_strength(
        S=librosa.power_to_db(power[:, ::step]),
        sr=sample_rate_hz,
        hop_length=_BEAT_HOP,
        aggregate=np.median,
    )
    _tempo, frames = librosa.beat.beat_track(
        onset_envelope=coarse, sr=sample_rate_hz, hop_length=_BEAT_HOP
    )
    beats = librosa.frames_to_time(frames, sr=sample_rate_hz, hop_length=_BEAT_HOP)
    return times, envelope, beats
