"""Fuzz the readers: random and mutated timelines (every format) and media headers.

Run in a child process by ``tests/nle/test_fuzz_readers.py`` (so a crash is a failed test, not
a dead test run), or by hand for longer::

    .venv/bin/python -m tests.fuzz_readers WORKDIR --seed 7 --budget-s 600

Each case is written to WORKDIR and handed to the reader a door would use: ``load_timeline``
(then the edit points and markers) for timeline suffixes, ``probe`` plus a few decoded frames
and the audio for media. A typed error (the project's ``TimelineError`` / ``ModelError``) is
the right answer to bad input; any other exception is printed as one JSON line
``{"case": ..., "unexpected": "TypeName: message"}`` and makes the exit status 1. A segfault
kills the process, which the caller sees in its return code.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import opentimelineio as otio

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

FCPXML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE fcpxml>
<fcpxml version="1.10">
  <resources>
    <format id="r1" frameDuration="1001/30000s" width="1920" height="1080"/>
    <asset id="r2" name="src" start="0s" duration="60s" hasVideo="1" format="r1">
      <media-rep kind="original-media" src="file:///media/src.mov"/>
    </asset>
  </resources>
  <library><event name="e"><project name="p">
    <sequence format="r1" duration="3003/1000s" tcStart="3600s">
      <spine>
        <asset-clip ref="r2" offset="3600s" name="a" start="0s" duration="1001/1000s"/>
        <gap offset="3601001/1000s" duration="1001/1000s"/>
        <asset-clip ref="r2" offset="3602002/1000s" name="b" start="10s" duration="1001/1000s">
          <marker start="10s" duration="1001/30000s" value="hit"/>
        </asset-clip>
      </spine>
    </sequence>
  </project></event></library>
</fcpxml>
"""

EDL = """TITLE: fuzz
FCM: DROP FRAME

001  AX       V     C        00:00:00;00 00:00:02;00 01:00:00;00 01:00:02;00
* FROM CLIP NAME: a.mov
002  AX       V     D    030 00:00:05;00 00:00:07;00 01:00:02;00 01:00:04;00
* FROM CLIP NAME: b.mov
M2   AX       048.0                00:00:05;00
"""


def _timeline() -> otio.schema.Timeline:
    rate = 24000 / 1001
    timeline = otio.schema.Timeline(name="fuzz", global_start_time=RT(86400, rate))
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for i, (start, length) in enumerate(((0, 48), (100, 30), (10, 60))):
        ref = otio.schema.ExternalReference(
            target_url=f"file:///media/{i}.mov", available_range=TR(RT(0, rate), RT(500, rate))
        )
        clip = otio.schema.Clip(
            name=f"clip {i}",
            media_reference=ref,
            source_range=TR(RT(start, rate), RT(length, rate)),
        )
        clip.markers.append(otio.schema.Marker(name=f"m{i}", marked_range=TR(RT(start + 5, rate))))
        track.append(clip)
        if i == 0:
            track.append(otio.schema.Transition(in_offset=RT(4, rate), out_offset=RT(4, rate)))
    nested = otio.schema.Stack(name="nest", source_range=TR(RT(0, rate), RT(24, rate)))
    inner = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    inner.append(otio.schema.Gap(source_range=TR(RT(0, rate), RT(24, rate))))
    nested.append(inner)
    track.append(nested)
    track.effects.append(otio.schema.LinearTimeWarp(time_scalar=1.0))
    return timeline


def _write_media(folder: Path) -> dict[str, bytes]:
    """Small real media files: H.264 MP4 with AAC sound, FLAC, WAV."""
    from tests.helpers import write_audio
    from v2m.model.media import AudioSignal
    from v2m.model.sample_clip import ClipSpec, render_clip

    tone = (0.3 * np.sin(np.arange(2 * 22050) / 5)).astype(np.float32)[None]
    render_clip(
        folder / "seed-clip.mp4",
        ClipSpec(duration_s=2, cut_times_s=(1.0,), width=64, height=48),
        audio=AudioSignal(np.repeat(tone, 2, axis=0), 22050),
    )
    write_audio(folder / "seed-tone.flac", tone, 22050)
    write_audio(folder / "seed-tone.wav", tone, 22050, codec="pcm_s16le")
    seeds = {}
    for path in sorted(folder.glob("seed-*")):
        seeds[path.name.removeprefix("seed-")] = path.read_bytes()
        path.unlink()
    return seeds


def seed_corpus(folder: Path, shared: Path | None = None) -> dict[str, bytes]:
    """name → bytes of well-formed seeds in every format (plus the shared timelines)."""
    timeline = _timeline()
    seeds = {
        "seed.otio": otio.adapters.write_to_string(timeline, "otio_json").encode(),
        "seed.xml": otio.adapters.write_to_string(timeline, "fcp_xml").encode(),
        "seed.kdenlive": otio.adapters.write_to_string(timeline, "kdenlive").encode(),
        "seed.fcpxml": FCPXML.encode(),
        "seed.edl": EDL.encode(),
    }
    bundle = folder / "seed-bundle.otioz"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("content.otio", seeds["seed.otio"])
        z.writestr("version.txt", "1.0.0")
    seeds["seed.otioz"] = bundle.read_bytes()
    bundle.unlink()
    aaf = folder / "seed-write.aaf"
    try:
        otio.adapters.write_to_file(timeline, str(aaf), use_empty_mob_ids=True)
        seeds["seed.aaf"] = aaf.read_bytes()
    except Exception:  # noqa: BLE001 — the AAF writer refuses some timelines; shared ones remain
        pass
    aaf.unlink(missing_ok=True)
    if shared is not None and shared.is_dir():
        for path in sorted(shared.iterdir()):
            if path.stat().st_size < 4 * 1024 * 1024:
                seeds[f"shared-{path.name}"] = path.read_bytes()
    seeds.update(_write_media(folder))
    return seeds


_EXTREMES = [b"NaN", b"Infinity", b"-Infinity", b"1e308", b"-1", b"0", b"1e-320", b"4294967296"]
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


_SCHEMAS = (
    "Timeline.1 Stack.1 Track.1 Clip.1 Clip.2 Gap.1 Transition.1 Marker.2 ExternalReference.1 "
    "MissingReference.1 LinearTimeWarp.1 FreezeFrame.1 RationalTime.1 TimeRange.1 "
    "TimeTransform.1 SerializableCollection.1 GeneratorReference.1 ImageSequenceReference.1 "
    "Effect.1 Composable.1 Item.1 Composition.1 SerializableObject.1 UnknownSchema.1 Foo.1 "
    "Clip.9 Clip.0 Clip.-1 Adapter.1 HookScript.1"
).split()
_ODD_VALUES = [None, 0, -1, 1.5, 1e308, "", "x", [], [1], {}, True, {"OTIO_SCHEMA": 5}]
_ODD_VALUES += [{"OTIO_SCHEMA": "Track.1", "children": {}}]


def _retype(data: bytes, rng: random.Random) -> bytes:
    """A JSON document with one value anywhere replaced by a value of another type."""
    try:
        doc = json.loads(data)
    except ValueError:
        return data
    places = []

    def walk(node) -> None:
        keys = node.keys() if isinstance(node, dict) else range(len(node))
        for key in keys:
            places.append((node, key))
            if isinstance(node[key], dict | list):
                walk(node[key])

    if isinstance(doc, dict | list):
        walk(doc)
    if places:
        node, key = rng.choice(places)
        if key == "OTIO_SCHEMA" or rng.random() < 0.3:  # an object becomes another type
            node[key] = {"OTIO_SCHEMA": rng.choice(_SCHEMAS), "name": "x"}
            if isinstance(node, dict) and "OTIO_SCHEMA" in node:
                node["OTIO_SCHEMA"] = rng.choice(_SCHEMAS)
        else:
            node[key] = json.loads(json.dumps(rng.choice(_ODD_VALUES)))
    return json.dumps(doc).encode()


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random mutation: flips, cuts, splices, numbers made extreme, nesting, junk, a JSON
    value of the wrong type."""
    data = bytearray(data)
    kind = rng.randrange(10)
    n = len(data)
    if kind == 0 and n:  # flip some bytes
        for _ in range(rng.randint(1, 16)):
            data[rng.randrange(n)] = rng.randrange(256)
    elif kind == 1 and n:  # truncate
        del data[rng.randrange(n) :]
    elif kind == 2 and n:  # duplicate a slice
        a = rng.randrange(n)
        b = min(n, a + rng.randint(1, 4096))
        data[a:a] = data[a:b] * rng.randint(1, 8)
    elif kind == 3 and n:  # delete a slice
        a = rng.randrange(n)
        del data[a : a + rng.randint(1, 512)]
    elif kind == 4:  # numbers become extreme
        found = list(_NUMBER.finditer(bytes(data)))
        for m in rng.sample(found, min(len(found), rng.randint(1, 6))):
            value = rng.choice(_EXTREMES)
            data[m.start() : m.end()] = value.ljust(m.end() - m.start())[: max(len(value), 1)]
            break  # offsets move: one number per mutation
    elif kind == 5:  # deep nesting injected
        opener, closer = rng.choice(((b"[", b"]"), (b"{", b"}"), (b"<a>", b"</a>")))
        depth = rng.choice((300, 3000, 30000))
        at = rng.randrange(n + 1)
        data[at:at] = opener * depth + closer * depth
    elif kind == 6:  # random junk
        data = bytearray(rng.randbytes(rng.randint(0, 2048)))
    elif kind == 7 and n:  # splice a random chunk in
        at = rng.randrange(n)
        data[at:at] = rng.randbytes(rng.randint(1, 64))
    elif kind == 8 and data[:1] in (b"{", b"["):  # a value of the wrong type
        data = bytearray(_retype(bytes(data), rng))
    else:  # several small mutations
        for _ in range(3):
            data = bytearray(mutate(bytes(data), rng))
    return bytes(data)


def read_case(path: Path) -> str:
    """Feed one file to its reader; the outcome's name (``ok`` or the typed error's)."""
    from v2m.model.errors import ModelError
    from v2m.nle_plugins.errors import TimelineError
    from v2m.nle_plugins.timeline import edit_points, is_timeline, load_timeline, markers

    try:
        if is_timeline(path):
            tl = load_timeline(path)
            edit_points(tl)
            markers(tl)
            tl.timecode(tl.duration_s)
        else:
            from v2m.model.media import decode_audio, iter_video_frames, probe

            info = probe(path)
            if info.video is not None:
                for i, _ in enumerate(iter_video_frames(path, info=info, max_side=32)):
                    if i >= 5:
                        break
            if info.audio:
                decode_audio(path, info=info)
        return "ok"
    except (TimelineError, ModelError) as exc:
        return type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workdir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget-s", type=float, default=60.0)
    p.add_argument("--cases", type=int, default=10_000, help="most mutated cases")
    p.add_argument("--shared", help="a folder of real timelines to add to the seeds")
    args = p.parse_args(argv)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    seeds = seed_corpus(work, Path(args.shared) if args.shared else None)
    names = sorted(seeds)
    deadline = time.monotonic() + args.budget_s
    outcomes: dict[str, int] = {}
    failures = 0
    cases = [(name, seeds[name]) for name in names]  # every seed as it is first
    count = 0
    while count < args.cases and time.monotonic() < deadline:
        if cases:
            name, data = cases.pop(0)
        else:
            name = rng.choice(names)
            data = mutate(seeds[name], rng)
        suffix = Path(name).suffix
        path = work / f"case{count:05d}{suffix}"
        path.write_bytes(data)
        print(json.dumps({"case": path.name, "from": name}), flush=True)
        try:
            outcome = read_case(path)
        except Exception as exc:  # noqa: BLE001 — what the fuzzer is looking for
            failures += 1
            outcome = "unexpected"
            message = f"{type(exc).__name__}: {str(exc)[:300]}"
            print(json.dumps({"case": path.name, "unexpected": message}), flush=True)
            path.rename(work / f"failed-{path.name}")
        else:
            path.unlink()
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        count += 1
    print(json.dumps({"cases": count, "outcomes": outcomes}), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
