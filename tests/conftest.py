"""Shared fixtures: the ``../shared/media`` index and synthetic clips with known cuts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import click_track, shared_media_path, write_audio
from v2m.model.sample_clip import ClipSpec, render_clip


@pytest.fixture(scope="session")
def media_index() -> dict:
    path = shared_media_path("media_index.json")
    return json.loads(path.read_text())["files"]


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def make_clip(clip_dir):
    """Render (once per session) a synthetic clip for a :class:`ClipSpec`; returns its path."""
    cache: dict[ClipSpec, Path] = {}

    def make(spec: ClipSpec | None = None, *, suffix: str = ".mp4") -> Path:
        spec = spec or ClipSpec()
        if spec not in cache:
            path = clip_dir / f"clip{len(cache)}{suffix}"
            render_clip(path, spec)
            cache[spec] = path
        return cache[spec]

    return make


@pytest.fixture(scope="session")
def flow_checkpoint(tmp_path_factory) -> Path:
    """A tiny flow checkpoint made by `v2m train` on two click tracks (4 steps, then resumed
    to 6): the real training path at toy scale."""
    from v2m.server.cli import main

    root = tmp_path_factory.mktemp("flow")
    music = root / "music"
    music.mkdir()
    for i, beats in enumerate(([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5], [0.3, 1.4, 2.2, 3.1])):
        write_audio(music / f"song{i}.wav", click_track(beats, duration_s=4.0), 22050)
        (music / f"song{i}.txt").write_text("sparse clicks" if i else "steady clicks")
    ckpt = root / "ckpt"
    args = ["train", str(music), "-o", str(ckpt), "--batch-size", "2", "--save-every", "4", "-q"]
    assert main([*args, "--steps", "4"]) == 0
    assert main([*args, "--steps", "6"]) == 0  # resumes from step 4
    return ckpt
