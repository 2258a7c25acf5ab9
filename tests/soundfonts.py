"""Tiny SoundFonts built in the tests: one looped 441 Hz sine played by a melodic preset (bank
0, program 0) and a drum kit (bank 128, program 0), as SF2 or as MuseScore's SF3 (the sample
as an Ogg Vorbis stream)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np

RATE_HZ = 44100
TONE_HZ = 441.0  # a whole number of samples per period (100): a seamless loop
LOOP = (1000, 41000)


def sine_frames() -> np.ndarray:
    t = np.arange(44100) / RATE_HZ
    return (0.5 * 32767 * np.sin(2 * np.pi * TONE_HZ * t)).astype("<i2")


def _chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")


def _name(text: str) -> bytes:
    return text.encode().ljust(20, b"\0")


def build_soundfont(path: Path, *, compressed: bool) -> Path:
    frames = sine_frames()
    if compressed:
        import soundfile

        stream = io.BytesIO()
        soundfile.write(stream, frames, RATE_HZ, format="OGG", subtype="VORBIS")
        smpl = stream.getvalue()
        start, end, kind = 0, len(smpl), 0x10 | 1
        loop = LOOP  # relative to the decoded sample
    else:
        smpl = frames.tobytes() + bytes(92)
        start, end, kind = 0, len(frames), 1
        loop = LOOP
    shdr = struct.pack("<20sIIIIIBbHH", _name("sine"), start, end, *loop, RATE_HZ, 69, 0, 0, kind)
    shdr += struct.pack("<20sIIIIIBbHH", _name("EOS"), 0, 0, 0, 0, 0, 0, 0, 0, 0)
    phdr = b"".join(
        struct.pack("<20sHHHIII", _name(n), prog, bank, bag, 0, 0, 0)
        for n, prog, bank, bag in (("Sine", 0, 0, 0), ("Kit", 0, 128, 1), ("EOP", 0, 0, 2))
    )
    pbag = struct.pack("<HH", 0, 0) + struct.pack("<HH", 1, 0) + struct.pack("<HH", 2, 0)
    pgen = struct.pack("<HH", 41, 0) * 2 + bytes(4)  # both presets play instrument 0
    inst = struct.pack("<20sH", _name("sine"), 0) + struct.pack("<20sH", _name("EOI"), 1)
    ibag = struct.pack("<HH", 0, 0) + struct.pack("<HH", 2, 0)
    igen = struct.pack("<HH", 54, 1) + struct.pack("<HH", 53, 0) + bytes(4)
    pdta = b"pdta" + b"".join(
        _chunk(cid, body)
        for cid, body in (
            (b"phdr", phdr), (b"pbag", pbag), (b"pmod", bytes(10)), (b"pgen", pgen),
            (b"inst", inst), (b"ibag", ibag), (b"imod", bytes(10)), (b"igen", igen),
            (b"shdr", shdr),
        )
    )  # fmt: skip
    info = b"INFO" + _chunk(b"ifil", struct.pack("<HH", 3 if compressed else 2, 1))
    info += _chunk(b"INAM", b"v2m test font\0")
    body = _chunk(b"LIST", info) + _chunk(b"LIST", b"sdta" + _chunk(b"smpl", smpl))
    body += _chunk(b"LIST", pdta)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + 4) + b"sfbk" + body)
    return path
