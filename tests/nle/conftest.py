"""A synthetic edit: two sources with known cuts, a timeline of them, and a render of it."""

import numpy as np
import opentimelineio as otio
import pytest

from tests.helpers import write_video
from v2m.model.media import iter_video_frames
from v2m.model.sample_clip import ClipSpec, render_clip

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
FPS = 30
# (source, source in s, length s); None: a gap (black)
EDIT = [("a", 1.0, 3.0), ("b", 0.5, 3.5), (None, 0.0, 1.0), ("a", 5.0, 2.0)]
EDIT_POINTS_S = [3.0, 6.5, 7.5]  # where the picture changes between clips
CUTS_INSIDE_S = [2.0, 4.5, 8.5]  # cuts inside the sources: a at 3.0, b at 2.0, a at 6.0


@pytest.fixture(scope="module")
def edit(tmp_path_factory):
    root = tmp_path_factory.mktemp("conform")
    sources = root / "sources"
    sources.mkdir()
    specs = {
        "a": ClipSpec(duration_s=8, cut_times_s=(3.0, 6.0), width=320, height=180, seed=71),
        "b": ClipSpec(duration_s=6, cut_times_s=(2.0,), width=320, height=180, seed=72),
    }
    for name, spec in specs.items():
        render_clip(sources / f"{name}.mp4", spec)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for name, start, length in EDIT:
        rng = TR(RT(round(start * FPS), FPS), RT(round(length * FPS), FPS))
        if name is None:
            track.append(otio.schema.Gap(source_range=rng))
        else:
            ref = otio.schema.ExternalReference(  # relative to the timeline's folder
                target_url=f"sources/{name}.mp4",
                available_range=TR(RT(0, FPS), RT(round(specs[name].duration_s * FPS), FPS)),
            )
            track.append(otio.schema.Clip(name=name, media_reference=ref, source_range=rng))
    timeline = otio.schema.Timeline(name="edit")
    timeline.tracks.append(track)
    otio.adapters.write_to_file(timeline, str(root / "edit.otio"))
    # The same edit rendered frame by frame from the sources, as an NLE would export it.
    rendered = []
    for name, start, length in EDIT:
        if name is None:
            rendered += [np.zeros((180, 320, 3), np.uint8)] * round(length * FPS)
            continue
        frames = iter_video_frames(sources / f"{name}.mp4", max_side=320)
        keep = [f.rgb for f in frames if start - 1e-6 <= f.time_s < start + length - 1e-6]
        rendered += keep
    write_video(root / "rendered.mp4", rendered, FPS)
    return root
