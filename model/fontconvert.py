"""SF3 → SF2: decode a compressed SoundFont's Ogg Vorbis samples once, at set-up.

An SF3 (MuseScore's compressed SoundFont) is an SF2 whose ``smpl`` chunk holds one Ogg Vorbis
stream per sample: a sample header's start/end are byte offsets of its stream and sample type
bit ``0x10`` marks it compressed; its loop points count decoded frames from the sample's start.
A synthesizer loading an SF3 decodes every sample on every load (seconds to tens of seconds for
a large set); the SF2 written here loads as fast as any other. Presets, instruments, generators
and modulators are copied unchanged — only the sample data and headers are rewritten.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from v2m.model.errors import InvalidInputError

VORBIS_FLAG = 0x10
SHDR_BYTES = 46
_SHDR = struct.Struct("<20sIIIIIBbHH")
_GUARD_FRAMES = 46
"""SF2 wants at least 46 zero frames after each sample (interpolation guard)."""


def _chunks(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(id, data start, data end) of the RIFF chunks in ``data[start:end]``."""
    out = []
    pos = start
    while pos + 8 <= end:
        cid, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if body + size > end:
            raise InvalidInputError(f"SoundFont chunk {cid!r} runs past the end of its list")
        out.append((cid, body, body + size))
        pos = body + size + (size & 1)
    return out


def _chunk(cid: bytes, body: bytes) -> bytes:
    pad = b"\0" if len(body) & 1 else b""
    return cid + struct.pack("<I", len(body)) + body + pad


def _lists(data: bytes) -> dict[bytes, tuple[int, int]]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"sfbk":
        raise InvalidInputError("not a SoundFont (no RIFF 'sfbk' header)")
    lists = {}
    riff_end = min(len(data), 8 + struct.unpack_from("<I", data, 4)[0])
    for cid, start, end in _chunks(data, 12, riff_end):
        if cid == b"LIST" and end - start >= 4:
            lists[data[start : start + 4]] = (start + 4, end)
    for needed in (b"INFO", b"sdta", b"pdta"):
        if needed not in lists:
            raise InvalidInputError(f"SoundFont has no {needed.decode()} list")
    return lists


def _decode_vorbis(stream: bytes) -> np.ndarray:
    import soundfile

    try:
        frames, _rate = soundfile.read(io.BytesIO(stream), dtype="int16", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise InvalidInputError(f"a compressed sample does not decode: {exc}") from exc
    return frames[:, 0]


def sf3_to_sf2(
    source: str | os.PathLike,
    target: str | os.PathLike,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write ``target`` (SF2) from ``source`` (SF3 or SF2); returns the target path.

    Args:
        progress: called with (samples done, samples in all).
    """
    data = Path(source).read_bytes()
    lists = _lists(data)
    sdta = dict((cid, (s, e)) for cid, s, e in _chunks(data, *lists[b"sdta"]))
    pdta = [(cid, s, e) for cid, s, e in _chunks(data, *lists[b"pdta"])]
    if b"smpl" not in sdta:
        raise InvalidInputError("SoundFont has no sample data (smpl chunk)")
    smpl = data[slice(*sdta[b"smpl"])]
    shdr = next(((s, e) for cid, s, e in pdta if cid == b"shdr"), None)
    if shdr is None or (shdr[1] - shdr[0]) % SHDR_BYTES:
        raise InvalidInputError("SoundFont sample headers (shdr) are missing or malformed")
    headers = [list(_SHDR.unpack_from(data, pos)) for pos in range(shdr[0], shdr[1], SHDR_BYTES)]
    pcm16 = np.frombuffer(smpl[: len(smpl) // 2 * 2], dtype="<i2")
    pieces, position = [], 0
    for i, h in enumerate(headers[:-1]):  # the last header is the terminal "EOS"
        _name, start, end, loop_start, loop_end, _rate, _key, _cents, _link, kind = h
        if kind & VORBIS_FLAG:
            frames = _decode_vorbis(smpl[start:end])
            loop_start, loop_end = loop_start + position, loop_end + position
        else:
            if not start <= end <= len(pcm16):
                raise InvalidInputError(f"sample {i} points outside the sample data")
            frames = pcm16[start:end]
            loop_start, loop_end = loop_start - start + position, loop_end - start + position
        h[1:5] = [position, position + len(frames), loop_start, loop_end]
        h[9] = kind & ~VORBIS_FLAG
        pieces += [frames.astype("<i2"), np.zeros(_GUARD_FRAMES, "<i2")]
        position += len(frames) + _GUARD_FRAMES
        if progress is not None:
            progress(i + 1, len(headers) - 1)
    new_shdr = b"".join(_SHDR.pack(*h) for h in headers)
    info = b"".join(
        _chunk(cid, struct.pack("<HH", 2, 1) if cid == b"ifil" else data[s:e])
        for cid, s, e in _chunks(data, *lists[b"INFO"])
    )
    samples = np.concatenate(pieces).tobytes() if pieces else b""
    pdta_body = b"".join(
        _chunk(cid, new_shdr if cid == b"shdr" else data[s:e]) for cid, s, e in pdta
    )
    body = (
        _chunk(b"LIST", b"INFO" + info)
        + _chunk(b"LIST", b"sdta" + _chunk(b"smpl", samples))
        + _chunk(b"LIST", b"pdta" + pdta_body)
    )
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(b"RIFF" + struct.pack("<I", len(body) + 4) + b"sfbk" + body)
    partial.replace(target)
    return target
