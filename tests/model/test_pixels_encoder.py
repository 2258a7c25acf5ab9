"""The built-in ``pixels`` encoder: exposure, gamma and shift robust, cut sensitive."""

import itertools

import cv2
import numpy as np
import pytest

from tests.helpers import shared_media_path
from v2m.model.encoders import create_encoder
from v2m.model.media import iter_video_frames
from v2m.model.sample_clip import ClipSpec


def brightness(x, c):
    return np.clip(x.astype(np.float32) * c, 0, 255).astype(np.uint8)


def gamma(x, g):
    return np.clip(255 * (x / 255.0) ** g, 0, 255).astype(np.uint8)


def shift(x, dx, dy):
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(x, m, (x.shape[1], x.shape[0]), borderMode=cv2.BORDER_REFLECT)


AUGMENTATIONS = {
    "brightness": [lambda x, c=c: brightness(x, c) for c in (0.6, 0.8, 1.2, 1.4)],
    "gamma": [lambda x, g=g: gamma(x, g) for g in (0.6, 0.8, 1.25, 1.6)],
    "shift": [lambda x, d=d: shift(x, *d) for d in ((4, 0), (-4, 0), (0, 4), (0, -4), (4, -4))],
}


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _check_robust_and_discriminative(frames):
    enc = create_encoder("pixels")
    feats = enc.encode(np.stack(frames), np.arange(len(frames), dtype=float))[0]
    for kind, augs in AUGMENTATIONS.items():
        sims = []
        for frame, feat in zip(frames, feats, strict=True):
            aug = enc.encode(np.stack([a(frame) for a in augs]), np.arange(len(augs), dtype=float))[
                0
            ]
            sims += [_cos(feat, f) for f in aug]
        assert np.mean(sims) >= 0.98, f"{kind}: mean cosine {np.mean(sims):.4f} < 0.98"
    cross = [_cos(feats[i], feats[j]) for i, j in itertools.combinations(range(len(feats)), 2)]
    assert np.mean(cross) <= 0.5 and np.max(cross) <= 0.8, (np.mean(cross), np.max(cross))


def _one_frame_per_shot(path, times):
    out, pending = [], list(times)
    for frame in iter_video_frames(path):
        if pending and frame.time_s >= pending[0]:
            out.append(frame.rgb)
            pending.pop(0)
    return out


def test_pixels_robust_on_synthetic_shots(make_clip):
    spec = ClipSpec(duration_s=8, cut_times_s=(1.5, 3, 4.5, 6), seed=11)
    frames = _one_frame_per_shot(make_clip(spec), [0.7, 2.2, 3.7, 5.2, 7.0])
    _check_robust_and_discriminative(frames)


@pytest.mark.parametrize(
    "relative,times",
    [
        ("video/big_buck_bunny_0_30.webm", [3, 13, 19, 26]),
        ("video/goldeneye-vfr-drop3.mp4", [1, 6, 9.5]),
        ("video/pyscenedetect_testvideo.mp4", [3, 10, 18]),
    ],
)
def test_pixels_robust_on_real_footage(relative, times):
    frames = _one_frame_per_shot(shared_media_path(relative), times)
    _check_robust_and_discriminative(frames)


def test_black_frames_are_alike_and_unlike_a_picture():
    enc = create_encoder("pixels")
    rng = np.random.default_rng(0)
    black = [
        np.clip(16 + rng.normal(0, 1.5, (144, 256, 3)), 0, 255).astype(np.uint8) for _ in range(2)
    ]
    picture = cv2.resize(rng.uniform(0, 255, (9, 16, 3)).astype(np.uint8), (256, 144))
    f = enc.encode(np.stack([*black, picture]), np.arange(3.0))[0]
    alike, unlike = _cos(f[0], f[1]), _cos(f[1], f[2])
    assert alike > 0.95 and unlike < 0.7
    assert 1 - unlike > 10 * (1 - alike)  # the cut stands far above black-frame noise
