"""Backend ``flow``: the V2M-Zero generator from a checkpoint made by ``v2m train``.

Its timing report is measured, not planned: each hit's achieved time is the nearest onset in
the generated audio, the beat grid is librosa's estimate of the generated music's beats.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from v2m.model.backends.base import Backend, ProgressFn, Resources
from v2m.model.errors import WeightsNotFoundError
from v2m.model.mastering import master
from v2m.model.tempo import SUBDIVISION, constant_tempo_map, placed_hit
from v2m.model.types import ScoreRequest, ScoreResult

OUTPUT_RATE_HZ = 48000


def _device(requested: str | None) -> str:
    if requested:
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _has_weights(options) -> bool:
    return bool(options.get("checkpoint") or os.environ.get("V2M_FLOW_CHECKPOINT"))


class FlowBackend(Backend):
    """V2M-Zero rectified-flow DiT following the event curve (needs a checkpoint).

    Guidance: ``text_scale`` 3 on the prompt; ``curve_scale`` 1 (the plain curve-conditional
    model) because guiding the curve harder over-drove loudness and lowered the curve
    correlation in the toy zero-pair runs (``tests/bench/zero_pair.py --curve-scale 3``).
    """

    name = "flow"
    options = {"checkpoint": "model folder made by `v2m train` (default: V2M_FLOW_CHECKPOINT)"}
    path_options = ("checkpoint",)

    @classmethod
    def device_for(cls, options) -> str:
        return _device(None) if _has_weights(options) else "cpu"

    @classmethod
    def resources_for(cls, options) -> Resources:
        """A GPU node when there are weights to run (the front server may have no GPU)."""
        return Resources(cpus=1.0, gpus=1.0 if _has_weights(options) else 0.0)

    def __init__(
        self,
        *,
        checkpoint: str | os.PathLike | None = None,
        device: str | None = None,
        steps: int = 96,
        text_scale: float = 3.0,
        curve_scale: float = 1.0,
    ):
        self.checkpoint = checkpoint or os.environ.get("V2M_FLOW_CHECKPOINT")
        self.device = _device(device) if self.checkpoint else "cpu"
        self.steps, self.text_scale, self.curve_scale = steps, text_scale, curve_scale

    def availability(self) -> tuple[bool, str]:
        if not self.checkpoint:
            return False, (
                "no flow checkpoint: pass --checkpoint DIR (config.json + model.safetensors "
                "made by `v2m train`) or set V2M_FLOW_CHECKPOINT"
            )
        folder = Path(self.checkpoint)
        missing = [n for n in ("config.json", "model.safetensors") if not (folder / n).is_file()]
        if missing:
            return False, f"flow checkpoint {str(folder)!r} lacks {', '.join(missing)}"
        return True, ""

    def generate(self, request: ScoreRequest, *, progress: ProgressFn | None = None) -> ScoreResult:
        from v2m.model.flow.checkpoint import CHECKPOINTS
        from v2m.model.flow.codec import MelCodec, OobleckCodec
        from v2m.model.flow.generate import curve_at_latent_rate, sample_latents

        progress = progress or (lambda fraction, stage: None)
        ok, why = self.availability()
        if not ok:
            raise WeightsNotFoundError(why)
        model = CHECKPOINTS.get(self.checkpoint, device=self.device)
        c = model.config
        frames = max(2, round(request.duration_s * c.latent_rate_hz))
        curve = request.curve
        latent_curve = curve_at_latent_rate(
            curve.values,
            curve.rate_hz,
            curve.start_s,
            latent_rate_hz=c.latent_rate_hz,
            frames=frames,
        )
        progress(0.0, "sampling")
        latents = sample_latents(
            model,
            latent_curve,
            request.prompt,
            seed=request.options.seed,
            steps=self.steps,
            text_scale=self.text_scale,
            curve_scale=self.curve_scale,
            progress=lambda f, s: progress(0.8 * f, s),
        )
        progress(0.8, "decoding audio")
        if c.codec == "oobleck":  # a fine-tuned base: its own VAE, in stereo
            audio = OobleckCodec(c.base, device=self.device).decode(latents)
        else:
            audio = MelCodec(c).decode(latents)[None]
        audio = _to_output(audio, c.sample_rate_hz, request.duration_s)
        progress(0.9, "mastering")
        mix, report = master(audio, OUTPUT_RATE_HZ)
        gain = np.float32(10 ** (report.gain_db / 20))
        grid, placements = _measure(mix, request)
        progress(1.0, "done")
        metadata = {
            "backend": self.name,
            "style": "flow",
            "prompt": request.prompt,
            "key": "",
            "meter": grid.meter,
            "stems": ["music"],
            "tempo": {
                "constant": True,
                "bpm_min": round(float(grid.bpm_at(np.arange(1))[0]), 3),
                "bpm_max": round(float(grid.bpm_at(np.arange(1))[0]), 3),
                "bpm_median": round(float(grid.bpm_at(np.arange(1))[0]), 3),
            },
            "loudness": {
                "target_lufs": -16.0,
                "integrated_lufs": round(report.integrated_lufs, 2),
                "true_peak_dbtp": round(report.true_peak_dbtp, 2),
                "gain_db": round(report.gain_db, 2),
                "limiter_max_reduction_db": round(report.limiter_max_reduction_db, 2),
            },
            "checkpoint": str(self.checkpoint),
            "steps": self.steps,
            "guidance": {"text": self.text_scale, "curve": self.curve_scale},
            "seed": request.options.seed,
            "sample_rate_hz": OUTPUT_RATE_HZ,
        }
        stems = {"music": (audio * gain).astype(np.float32)}
        return ScoreResult(OUTPUT_RATE_HZ, stems, mix, None, grid, placements, metadata)


def _to_output(audio: np.ndarray, rate_hz: int, duration_s: float) -> np.ndarray:
    """float[channels, n] at ``rate_hz`` (mono or stereo) → float32[2, duration at 48 kHz]."""
    from scipy.signal import resample_poly

    up = resample_poly(np.atleast_2d(audio), OUTPUT_RATE_HZ, rate_hz, axis=1).astype(np.float32)
    n = round(duration_s * OUTPUT_RATE_HZ)
    up = np.pad(up, ((0, 0), (0, max(0, n - up.shape[1]))))[:, :n]
    return np.repeat(up, 2, axis=0) if up.shape[0] == 1 else up[:2]


def _measure(mix: np.ndarray, request: ScoreRequest):
    """The generated music's beat grid and, per hit, its nearest onset."""
    import librosa

    sr = 22050
    y = librosa.resample(mix.mean(axis=0), orig_sr=OUTPUT_RATE_HZ, target_sr=sr)
    tempo, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
    bpm = float(np.atleast_1d(tempo)[0]) or 120.0
    phase = float(beats[0]) if len(beats) else 0.0
    grid = constant_tempo_map(
        beat_s=60.0 / bpm, phase_s=phase, meter=4, duration_s=request.duration_s
    )
    onsets = librosa.onset.onset_detect(y=y, sr=sr, units="time", backtrack=False)
    fps = request.frame_rate_hz
    placements = []
    for hit in sorted(request.hits, key=lambda h: h.time_s):
        achieved = float(onsets[np.argmin(np.abs(onsets - hit.time_s))]) if len(onsets) else 0.0
        beat = round(float(grid.beat_of(achieved)) * SUBDIVISION) / SUBDIVISION
        placements.append(placed_hit(hit, grid, beat=beat, achieved_s=achieved, fps=fps))
    return grid, tuple(placements)
