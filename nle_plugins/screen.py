"""Screens for timeline files: what is checked before any parser sees the bytes, and what a
parsed timeline must satisfy before v2m computes anything with it.

Timeline files come from anyone who can reach a server or drop a file into a watch folder, and
the readers behind OpenTimelineIO are not built for hostile input: its JSON reader recurses once
per nesting level in C++ (a 600 KB file of nested brackets overflows the stack and kills the
process), XML adapters recurse in Python, and a rate of 0, NaN or 10^12 in any item reaches
frame arithmetic. So, before parsing: a size cap, a nesting-depth cap (JSON and XML), no XML
entity declarations, an ``.otioz`` bundle's content size checked from its zip directory, and an
EDL's text decoded from the encodings editors write (UTF-8, else Windows-1252). After parsing:
every rate inside 1..1000 fps, every time finite and within 48 hours, at most
``MAX_ITEMS`` items and ``MAX_COMPOSITION_DEPTH`` nested compositions.
"""

from __future__ import annotations

import codecs
import json
import math
import re
import zipfile
from pathlib import Path
from xml.parsers import expat

import numpy as np
import opentimelineio as otio

from v2m.nle_plugins.errors import TimelineReadError

MAX_TIMELINE_BYTES = 128 * 1024 * 1024
"""Largest timeline file (and largest ``content.otio`` inside an ``.otioz``) read."""
MAX_NESTING = 256
"""Deepest JSON / XML nesting accepted (real timelines stay below ~40)."""
MAX_COMPOSITION_DEPTH = 64
"""Deepest nesting of stacks and tracks (compound clips inside compound clips...)."""
MAX_ITEMS = 200_000
"""Most clips, gaps, transitions, tracks and markers in one timeline."""
MIN_RATE_HZ, MAX_RATE_HZ = 1.0, 1000.0
"""Frame rates accepted in a timeline."""
MAX_TIME_S = 48 * 3600.0
"""Largest time (start, duration, marker) accepted anywhere in a timeline."""

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_BLOCK = 8 * 1024 * 1024


def check_size(path: Path) -> None:
    """Refuse empty timeline files and files over the size cap."""
    size = path.stat().st_size
    if size == 0 or size > MAX_TIMELINE_BYTES:
        raise TimelineReadError(
            f"{path.name!r} is {size} bytes; a timeline must hold 1 byte .. "
            f"{MAX_TIMELINE_BYTES // 2**20} MiB"
        )


def json_depth(data: bytes) -> int:
    """The deepest bracket nesting of a JSON text (string contents ignored)."""
    stripped = _JSON_STRING.sub(b'""', data)
    deepest = depth = 0
    for i in range(0, len(stripped), _BLOCK):
        block = np.frombuffer(stripped, np.uint8, count=min(_BLOCK, len(stripped) - i), offset=i)
        steps = np.zeros(len(block), np.int8)
        steps[(block == ord("[")) | (block == ord("{"))] = 1
        steps[(block == ord("]")) | (block == ord("}"))] = -1
        moves = steps[steps != 0].astype(np.int32)
        if len(moves):
            running = depth + np.cumsum(moves)
            deepest = max(deepest, int(running.max()))
            depth = int(running[-1])
    return deepest


def screen_json(data: bytes, name: str) -> str:
    """The JSON text OTIO's reader may be given: refused when nested deeper than
    ``MAX_NESTING`` (the reader recurses per level) or not well-formed, and otherwise
    re-serialized by Python's own parser — OTIO's reader builds objects as it scans and crashes
    the process on malformed text (an unbalanced brace) and on repeated keys, neither of which
    survives the round trip (the last of repeated keys wins, as in Python)."""
    depth = json_depth(data)
    if depth > MAX_NESTING:
        raise TimelineReadError(
            f"{name!r} nests {depth} levels deep; v2m reads timelines nested at most "
            f"{MAX_NESTING} levels (real exports stay far below)"
        )
    try:
        return json.dumps(json.loads(data, object_hook=_checked_schema))
    except _BadSchema as exc:
        raise TimelineReadError(
            f"{name!r} names the object type {exc.args[0]!r:.80}; a timeline's objects are "
            "'Name.VERSION' (VERSION 1..9) of OTIO's timeline types"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise TimelineReadError(f"{name!r} is not valid JSON: {exc}") from None


class _BadSchema(Exception):
    pass


_SCHEMA = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\.[1-9]")


_NOT_IN_TIMELINES = frozenset(
    ("UnknownSchema", "Adapter", "HookScript", "MediaLinker", "PluginManifest", "SchemaDef", "Test")
)
"""OTIO types a timeline never holds: ``UnknownSchema`` aborts the process when a file names it,
the others are OTIO's plugin machinery."""


def _checked_schema(obj: dict) -> dict:
    """A JSON object whose ``OTIO_SCHEMA`` OTIO can take: an out-of-range version
    (``"Clip.-1"``) sends its schema upgrader astray and ``"UnknownSchema.1"`` aborts it (both
    found by fuzzing)."""
    schema = obj.get("OTIO_SCHEMA")
    if schema is None:
        return obj
    if not (isinstance(schema, str) and _SCHEMA.fullmatch(schema)):
        raise _BadSchema(schema)
    if schema.split(".")[0] in _NOT_IN_TIMELINES:
        raise _BadSchema(schema)
    return obj


def screen_xml(data: bytes, name: str) -> None:
    """Refuse XML with entity declarations, nested deeper than ``MAX_NESTING``, or not
    well-formed — checked by a streaming parser before any adapter builds a tree."""
    if _ENTITY.search(data):
        raise TimelineReadError(
            f"{name!r} declares XML entities; v2m refuses them (they can expand without bound "
            "or read other files) — export the timeline again"
        )
    parser = expat.ParserCreate()
    depth = 0

    def start(_tag, _attrs) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_NESTING:
            raise TimelineReadError(
                f"{name!r} nests XML elements more than {MAX_NESTING} levels deep; v2m refuses "
                "such files (real exports stay far below)"
            )

    def end(_tag) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler, parser.EndElementHandler = start, end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise TimelineReadError(f"{name!r} is not well-formed XML: {exc}") from None


def otioz_content(path: Path) -> bytes:
    """``content.otio`` of an ``.otioz`` bundle, its size checked before it is inflated."""
    try:
        with zipfile.ZipFile(path) as bundle:
            info = bundle.getinfo("content.otio")
            if info.file_size > MAX_TIMELINE_BYTES:
                raise TimelineReadError(
                    f"{path.name!r}: content.otio inflates to {info.file_size} bytes; the "
                    f"limit is {MAX_TIMELINE_BYTES // 2**20} MiB"
                )
            data = bundle.read(info)
    except TimelineReadError:
        raise
    except KeyError:
        raise TimelineReadError(f"{path.name!r} is a zip without content.otio") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise TimelineReadError(f"{path.name!r} is not a readable .otioz bundle: {exc}") from exc
    if not data:
        raise TimelineReadError(f"{path.name!r}: content.otio is empty")
    return data


def decode_edl(data: bytes, notes: list[str]) -> str:
    """An EDL's text: UTF-8 (with or without a byte-order mark), else Windows-1252, the
    8-bit encoding Premiere and Avid write on Western systems (a note says so)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        notes.append("EDL is not UTF-8; read as Windows-1252 (Latin-1 where undefined)")
    return data.decode("cp1252", errors="v2m-latin1")


def _latin1_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    """Bytes Windows-1252 leaves undefined (0x81, 0x8D, ...) read as Latin-1."""
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("v2m-latin1", _latin1_fallback)


def _check_time(value: otio.opentime.RationalTime, what: str, name: str) -> None:
    rate, amount = value.rate, value.value
    if not (math.isfinite(rate) and MIN_RATE_HZ <= rate <= MAX_RATE_HZ):
        raise TimelineReadError(
            f"{name!r}: {what} has frame rate {rate!r}; v2m accepts "
            f"{MIN_RATE_HZ:g}..{MAX_RATE_HZ:g} fps"
        )
    if not (math.isfinite(amount) and abs(amount / rate) <= MAX_TIME_S):
        raise TimelineReadError(
            f"{name!r}: {what} is {amount!r} frames at {rate:g} fps; times must be finite "
            f"and within {MAX_TIME_S / 3600:g} hours"
        )


def _check_range(rng: otio.opentime.TimeRange | None, what: str, name: str) -> None:
    if rng is None:
        return
    _check_time(rng.start_time, f"{what} start", name)
    _check_time(rng.duration, f"{what} duration", name)
    if rng.duration.value < 0:
        raise TimelineReadError(f"{name!r}: {what} has a negative duration")


def check_timeline(timeline: otio.schema.Timeline, name: str) -> None:
    """Refuse a parsed timeline whose numbers v2m cannot compute with: rates outside
    1..1000 fps, non-finite or huge times, negative durations, non-finite speeds, too many
    items or compositions nested too deep. Raises TimelineReadError naming the value."""
    if timeline.global_start_time is not None:
        _check_time(timeline.global_start_time, "the start timecode", name)
    count = 0
    todo: list[tuple[otio.core.Composable, int]] = [(timeline.tracks, 1)]
    while todo:
        item, depth = todo.pop()
        count += 1 + len(getattr(item, "markers", ()))
        if count > MAX_ITEMS:
            raise TimelineReadError(
                f"{name!r} holds more than {MAX_ITEMS} items and markers; v2m refuses it"
            )
        label = f"{type(item).__name__} {getattr(item, 'name', '')!r}"
        if isinstance(item, otio.schema.Transition):
            _check_time(item.in_offset, f"{label} in offset", name)
            _check_time(item.out_offset, f"{label} out offset", name)
            continue
        _check_range(item.source_range, label, name)
        try:
            item.trimmed_range()
        except Exception as exc:  # noqa: BLE001 — OTIO raises its own error types here
            raise TimelineReadError(f"{name!r}: {label} has no length ({exc})") from None
        for marker in item.markers:
            _check_range(marker.marked_range, f"marker {marker.name!r}", name)
        for effect in getattr(item, "effects", ()):
            scalar = getattr(effect, "time_scalar", 1.0)
            if not (math.isfinite(scalar) and abs(scalar) <= 100):
                raise TimelineReadError(
                    f"{name!r}: {label} has speed {scalar!r}; v2m accepts -100..100"
                )
        reference = getattr(item, "media_reference", None)
        if reference is not None:
            _check_range(reference.available_range, f"{label} media", name)
        if isinstance(item, otio.core.Composition):
            if depth > MAX_COMPOSITION_DEPTH:
                raise TimelineReadError(
                    f"{name!r} nests compositions more than {MAX_COMPOSITION_DEPTH} deep"
                )
            todo.extend((child, depth + 1) for child in item)
