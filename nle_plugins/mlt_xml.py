"""MLT XML: Shotcut's projects (``.mlt``) read as a timeline and written back, and the audio
mixing MLT needs in Kdenlive projects written by OTIO's adapter.

OpenTimelineIO has no MLT reader, so v2m reads the MLT document itself: the main tractor (the
last ``<tractor>``) lists the tracks; each track is a ``<playlist>`` of ``<entry>`` (a
``<chain>`` or ``<producer>`` with a ``resource``, ``in`` and inclusive ``out``) and
``<blank>`` items; Shotcut's black ``background`` playlist is not a track; audio tracks are
those Shotcut marks ``shotcut:audio`` or shows without video (``hide="video"``). Times are
frames, MLT clock values (``HH:MM:SS.mmm``) or SMPTE (``HH:MM:SS:FF``) at the profile's rate;
relative resources are taken from the document's ``root`` or the file's folder.

Writing back keeps the project as the editor saved it — every filter, transition and setting
— and adds only the tracks v2m made: a ``<chain>`` per clip, a ``<playlist>`` per track, a
``<track>`` in the main tractor and the ``mix`` transition that makes MLT sum its sound with the
rest (as Shotcut does for every audio track).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from v2m.nle_plugins.errors import TimelineReadError

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange
META = "mlt"
"""Metadata key: the timeline's source document, and each track's playlist and position."""


def _prop(element: ET.Element | None, name: str) -> str | None:
    if element is None:
        return None
    found = next((p for p in element.findall("property") if p.get("name") == name), None)
    return None if found is None else (found.text or "").strip()


def mlt_frames(value: str | None, fps: Fraction) -> int:
    """An MLT time (frames, ``HH:MM:SS.mmm`` or ``HH:MM:SS:FF``) in frames of ``fps``."""
    text = (value or "0").strip()
    try:
        if ":" not in text:
            return int(text)
        parts = text.split(":")
        if len(parts) == 4:  # SMPTE with frames
            h, m, s, f = (int(p) for p in parts)
            return round((h * 3600 + m * 60 + s) * fps) + f
        h, m, s = int(parts[0]), int(parts[1]), Fraction(parts[2])
        return round((h * 3600 + m * 60 + s) * fps)
    except (ValueError, ZeroDivisionError) as exc:
        raise TimelineReadError(f"MLT time {value!r} is not frames or HH:MM:SS.mmm") from exc


def _rate(root: ET.Element, name: str) -> Fraction:
    profile = root.find("profile")
    try:
        num = int(profile.get("frame_rate_num", "25")) if profile is not None else 25
        den = int(profile.get("frame_rate_den", "1")) if profile is not None else 1
        rate = Fraction(num, den)
    except (ValueError, ZeroDivisionError) as exc:
        raise TimelineReadError(f"{name!r}: the MLT profile's frame rate is not a number") from exc
    if not 1 <= rate <= 1000:
        raise TimelineReadError(f"{name!r}: MLT frame rate {float(rate):g} is not 1..1000")
    return rate


def _main_tractor(root: ET.Element, name: str) -> ET.Element:
    tractors = root.findall("tractor")
    if root.tag != "mlt" or not tractors:
        raise TimelineReadError(f"{name!r} is not an MLT project with a timeline (<mlt><tractor>)")
    return tractors[-1]


def _is_background(playlist: ET.Element, elements: dict) -> bool:
    entries = playlist.findall("entry")
    return playlist.get("id") == "background" or (
        bool(entries)
        and all(_prop(elements.get(e.get("producer")), "mlt_service") == "color" for e in entries)
    )


def read_mlt(data: bytes, path: str | os.PathLike) -> otio.schema.Timeline:
    """The timeline of an MLT document (``data``, screened already; ``path`` locates
    relative media and is kept for writing back)."""
    path = Path(path)
    root = ET.fromstring(data)
    main = _main_tractor(root, path.name)
    fps = _rate(root, path.name)
    rate = float(fps)
    base = Path(root.get("root") or path.parent)
    elements = {e.get("id"): e for e in root if e.get("id")}
    timeline = otio.schema.Timeline(
        name=root.get("title") or path.stem, metadata={META: {"source": str(path)}}
    )
    for index, slot in enumerate(main.findall("track")):
        playlist = elements.get(slot.get("producer"))
        if playlist is None or playlist.tag != "playlist" or _is_background(playlist, elements):
            continue
        audio = _prop(playlist, "shotcut:audio") == "1" or slot.get("hide") == "video"
        track = otio.schema.Track(
            name=_prop(playlist, "shotcut:name") or playlist.get("id"),
            kind=otio.schema.TrackKind.Audio if audio else otio.schema.TrackKind.Video,
            metadata={META: {"playlist": playlist.get("id"), "index": index}},
        )
        track.enabled = slot.get("hide") != "both"
        for item in playlist:
            if item.tag == "blank":
                length = mlt_frames(item.get("length"), fps)
                track.append(otio.schema.Gap(source_range=TR(RT(0, rate), RT(length, rate))))
            elif item.tag == "entry":
                track.append(_clip(item, elements, fps, base))
        timeline.tracks.append(track)
    return timeline


def _clip(entry: ET.Element, elements: dict, fps: Fraction, base: Path) -> otio.schema.Clip:
    producer = elements.get(entry.get("producer"))
    rate = float(fps)
    first = mlt_frames(entry.get("in"), fps)
    last = mlt_frames(entry.get("out"), fps)
    resource = _prop(producer, "resource") or ""
    source = Path(resource) if os.path.isabs(resource) else base / resource
    service = _prop(producer, "mlt_service") or ""
    reference = (
        otio.schema.ExternalReference(target_url=str(source))
        if resource and service.startswith("avformat")
        else otio.schema.GeneratorReference(generator_kind=service or "unknown")
    )
    return otio.schema.Clip(
        name=_prop(producer, "shotcut:caption") or Path(resource).name or entry.get("producer"),
        media_reference=reference,
        source_range=TR(RT(first, rate), RT(max(0, last - first + 1), rate)),
    )


def write_mlt(timeline: otio.schema.Timeline, path: str | os.PathLike) -> None:
    """Save ``timeline`` — read by :func:`read_mlt`, with tracks added — as its source
    document plus the added tracks (see the module's note)."""
    source = timeline.metadata.get(META, {}).get("source")
    if not source:
        raise TimelineReadError("only timelines read from an MLT project can be written as MLT")
    tree = ET.parse(source)
    root = tree.getroot()
    main = _main_tractor(root, Path(source).name)
    fps = _rate(root, Path(source).name)
    # Relative media stay relative to where the editor's project is, wherever this is saved.
    root.set("root", str(Path(root.get("root") or Path(source).resolve().parent)))
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    at = list(root).index(main)
    for track in timeline.tracks:
        if META in track.metadata:
            continue  # the editor's own track, written as it was
        playlist = ET.Element("playlist", id=_fresh("v2m_playlist", ids))
        kind = "shotcut:audio" if track.kind == otio.schema.TrackKind.Audio else "shotcut:video"
        _set(playlist, kind, "1")
        _set(playlist, "shotcut:name", track.name)
        for item in track:
            frames = round(item.source_range.duration.rescaled_to(float(fps)).value)
            if isinstance(item, otio.schema.Gap):
                ET.SubElement(playlist, "blank", length=str(frames))
                continue
            chain = ET.Element("chain", id=_fresh("v2m_chain", ids), out=str(frames - 1))
            for name, value in (
                ("length", str(frames)),
                ("resource", _local_path(item.media_reference.target_url)),
                ("mlt_service", "avformat-novalidate"),
                ("shotcut:caption", item.name),
            ):
                _set(chain, name, value)
            root.insert(at, chain)
            at += 1
            entry = ET.SubElement(playlist, "entry", producer=chain.get("id"))
            entry.set("in", "0")
            entry.set("out", str(frames - 1))
        root.insert(at, playlist)
        at += 1
        slots = main.findall("track")
        slot = ET.Element("track", producer=playlist.get("id"))
        if track.kind == otio.schema.TrackKind.Audio:
            slot.set("hide", "video")
        main.insert(list(main).index(slots[-1]) + 1, slot)
        add_mix(main, b_track=len(slots), id=_fresh("v2m_mix", ids))
    tree.write(path, encoding="utf-8", xml_declaration=True)


def add_mix(tractor: ET.Element, *, b_track: int, id: str, **extra: str) -> None:
    """A ``mix`` transition summing track ``b_track``'s sound into the bottom track's — what
    Shotcut and Kdenlive write for every audio track."""
    transition = ET.SubElement(tractor, "transition", id=id)
    for name, value in (
        ("a_track", "0"),
        ("b_track", str(b_track)),
        ("mlt_service", "mix"),
        ("always_active", "1"),
        ("sum", "1"),
        *extra.items(),
    ):
        _set(transition, name, value)


def mix_audio_tracks(path: str | os.PathLike) -> None:
    """Give every audio track of a Kdenlive project a ``mix`` transition in the main tractor,
    as Kdenlive itself writes (``internal_added``) — OTIO's kdenlive writer writes none, and
    then an MLT engine plays only the top audio track: the editor's own sound would be muted
    under the score (found by rendering with ``melt``)."""
    tree = ET.parse(path)
    root = tree.getroot()
    main = root.findall("tractor")[-1]  # the timeline's tractor comes last, after its tracks
    audio = {
        element.get("id")
        for element in root
        if element.tag in ("tractor", "playlist") and _prop(element, "kdenlive:audio_track") == "1"
    }
    mixed = {
        _prop(t, "b_track") for t in main.findall("transition") if _prop(t, "mlt_service") == "mix"
    }
    for index, track in enumerate(main.findall("track")):
        if index and track.get("producer") in audio and str(index) not in mixed:
            add_mix(main, b_track=index, id=f"v2m_mix{index}", internal_added="237")
    tree.write(path, encoding="utf-8", xml_declaration=True)


def _local_path(url: str) -> str:
    """A file path for MLT (which reads plain paths) from a ``file://`` URL or a path."""
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(url).path) if url.startswith("file://") else url


def _set(element: ET.Element, name: str, value: str) -> None:
    ET.SubElement(element, "property", name=name).text = value


def _fresh(stem: str, taken: set) -> str:
    n = 0
    while f"{stem}{n}" in taken:
        n += 1
    taken.add(f"{stem}{n}")
    return f"{stem}{n}"
