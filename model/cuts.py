"""Hard-cut detection: PySceneDetect's ``AdaptiveDetector`` fed from our own decode pass.

The detector sees every decoded frame (cuts are frame-accurate), at the analysis size, so the
same pass that feeds the encoder finds the cuts (no second decode). Frames are numbered as
decoded and mapped back to their presentation times, so variable frame rate and start offsets
come out right. A cut's time is the presentation time of the first frame of the new shot.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scenedetect import AdaptiveDetector, FrameTimecode

from v2m.model.errors import InvalidInputError
from v2m.model.types import Cut

DEFAULT_ADAPTIVE_THRESHOLD = 3.0
"""AdaptiveDetector's own threshold: the paper's metric counts cuts above it."""


@dataclass(frozen=True)
class CutSettings:
    """AdaptiveDetector's defaults, except that changes down to ``adaptive_threshold`` = 2.5
    are kept as *soft* cuts (fades, flashes, borderline changes) with confidence below 0.5.

    Confidence is ``r / (r + 3.0)`` for the adaptive ratio ``r``: 0.5 exactly at the detector's
    default threshold, so ``confidence >= 0.5`` selects what PySceneDetect's defaults report.
    A soft cut costs a music accent; missing a change a viewer (or the SCH metric) counts as a
    cut costs a hit, so the hit plan keeps them, with less strength.
    """

    adaptive_threshold: float = 2.5
    min_scene_len_frames: int = 15
    window_width: int = 2
    min_content_val: float = 15.0

    def __post_init__(self) -> None:
        if not self.adaptive_threshold > 0:
            raise InvalidInputError(
                f"adaptive_threshold must be > 0, got {self.adaptive_threshold}"
            )
        if self.min_scene_len_frames < 0 or self.window_width < 1:
            raise InvalidInputError(
                "min_scene_len_frames must be >= 0 and window_width >= 1, got "
                f"{self.min_scene_len_frames} and {self.window_width}"
            )


class CutDetector:
    """Streaming cut detector: ``push`` frames in order, then ``finish``.

    Confidence is ``r / (r + 3)`` for the detector's adaptive ratio ``r`` (a frame's change
    against the average change of its neighbours): 0.5 at PySceneDetect's default threshold,
    near 1 for a change out of nowhere (see :class:`CutSettings`).
    """

    def __init__(self, *, frame_rate_hz: float, settings: CutSettings | None = None):
        if not frame_rate_hz > 0:
            raise InvalidInputError(f"frame_rate_hz must be > 0, got {frame_rate_hz}")
        self.settings = settings or CutSettings()
        s = self.settings
        self._fps = float(frame_rate_hz)
        self._detector = AdaptiveDetector(
            adaptive_threshold=s.adaptive_threshold,
            min_scene_len=s.min_scene_len_frames,
            window_width=s.window_width,
            min_content_val=s.min_content_val,
        )
        self._times: list[float] = []
        self._scores: list[float] = []
        self._cuts: list[Cut] = []

    def push(self, rgb: np.ndarray, time_s: float) -> list[Cut]:
        """Feed the next frame (uint8[h, w, 3] RGB) and its presentation time; returns the cuts
        this frame confirmed (the detector looks a couple of frames ahead)."""
        index = len(self._times)
        self._times.append(time_s)
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        found = self._detector.process_frame(FrameTimecode(index, self._fps), bgr)
        self._scores.append(self._detector._frame_score or 0.0)
        new = [self._cut_at(tc.frame_num) for tc in found]
        self._cuts.extend(new)
        return new

    def _cut_at(self, index: int) -> Cut:
        w = self.settings.window_width
        target = self._scores[index]
        around = self._scores[max(0, index - w) : index] + self._scores[index + 1 : index + 1 + w]
        mean = sum(around) / len(around) if around else 0.0
        ratio = min(target / mean, 255.0) if mean > 1e-5 else 255.0
        thr = DEFAULT_ADAPTIVE_THRESHOLD
        return Cut(time_s=float(self._times[index]), confidence=float(ratio / (ratio + thr)))

    def finish(self) -> list[Cut]:
        """All cuts, in time order."""
        if self._times:
            last = FrameTimecode(len(self._times) - 1, self._fps)
            for tc in self._detector.post_process(last):
                self._cuts.append(self._cut_at(tc.frame_num))
        return sorted(self._cuts, key=lambda c: c.time_s)

    @property
    def frame_times_s(self) -> np.ndarray:
        """float64[n]: presentation time of every frame pushed so far."""
        return np.asarray(self._times)
