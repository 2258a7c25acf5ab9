"""Shared fixtures: the ``../shared/media`` index and synthetic clips with known cuts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import shared_media_path
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
