"""Musical styles, chosen from a text prompt, plus explicit overrides parsed from it.

A :class:`Style` says how the composer should sound — tempo range, mode, chord progression,
General-MIDI instruments, drum groove, density — and never *when* things happen: timing comes
from the hit plan and the tempo solver alone, so changing the style never moves a hit.

Prompts are matched by meaning with a small local sentence-embedding model
(:mod:`v2m.model.semantic`) when one is installed, else by keyword weights (genre, mood and
instrument words); the prompt may also carry overrides: ``"96 bpm"``, ``"in D minor"``,
``"3/4"``, ``"no drums"``, ``"only piano and bass"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from v2m.model.errors import InvalidInputError
from v2m.model.semantic import semantic_scores

STEMS = ("drums", "bass", "harmony", "melody", "fx")
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLATS = {"DB": "C#", "EB": "D#", "GB": "F#", "AB": "G#", "BB": "A#"}

MIN_BPM, MAX_BPM = 40.0, 240.0


@dataclass(frozen=True)
class Style:
    """How a score sounds. Chord degrees are scale steps (0 = tonic) of the mode."""

    name: str
    description: str
    keywords: tuple[str, ...]
    bpm_range: tuple[float, float]
    bpm: float
    """Preferred tempo; the solver stays near it."""
    mode: str  # "major" or "minor"
    tonic: str
    progression: tuple[int, ...]
    meter: int = 4
    programs: dict[str, int] = field(default_factory=dict)
    """General-MIDI program (0-based) per pitched stem (bass, harmony, melody, fx) and per
    extra part: ``pulse`` (the pitched pulse) and ``stab`` (hit chords)."""
    groove: str = "backbeat"
    """Drum pattern family, one of :data:`v2m.model.grooves.GROOVES`."""
    swing: float = 0.0
    """Delay of off-beat eighths as a fraction of an eighth (0 = straight)."""
    density: float = 0.7
    """0..1 — how busy parts get at full intensity."""
    hit_sound: str = "crash"
    """What marks a hit besides kick, snare and crash: crash (a low tom), stab (a chord on
    the ``stab`` program), orchestral (timpani and a full-orchestra chord), boom (the same
    with taiko), swell (a low pad bloom)."""
    fill: str = "snare"
    """What leads into a strong hit: snare (sixteenths), timpani_roll, none (only the riser)."""
    pulse: str = ""
    """A pitched pulse on the harmony stem, played by the ``pulse`` program: pizzicato,
    ostinato, arpeggio, fingerpick; empty for none."""
    strum_beats: float = 0.0
    """Delay between the notes of a struck chord, low to high (a strummed guitar)."""
    drum_kit: int = 0
    """General MIDI 2 drum kit (bank 128 preset): 0 standard, 16 power, 24 electronic,
    25 TR-808, 32 jazz, 40 brush, 48 orchestra (timpani on the tom keys)."""
    stems: tuple[str, ...] = STEMS

    def with_overrides(self, overrides: Overrides) -> Style:
        s = self
        if overrides.bpm is not None:
            s = replace(s, bpm=overrides.bpm, bpm_range=_range_around(overrides.bpm))
        if overrides.tonic is not None:
            s = replace(s, tonic=overrides.tonic)
        if overrides.mode is not None:
            s = replace(s, mode=overrides.mode)
        if overrides.meter is not None:
            s = replace(s, meter=overrides.meter)
        if overrides.stems is not None:
            s = replace(s, stems=overrides.stems)
        return s


def _range_around(bpm: float) -> tuple[float, float]:
    return (max(MIN_BPM, bpm * 0.92), min(MAX_BPM, bpm * 1.08))


def _words_of(text: str) -> tuple[str, ...]:
    return tuple(text.split())


PRESETS: dict[str, Style] = {
    s.name: s
    for s in (
        Style(
            name="cinematic",
            description="epic cinematic trailer: strings, brass, big drums, risers",
            keywords=_words_of(
                "cinematic epic trailer film movie dramatic heroic tension action "
                "battle orchestra brass suspense dark intense"
            ),
            bpm_range=(84, 132),
            bpm=100,
            mode="minor",
            tonic="D",
            progression=(0, 5, 2, 6),
            programs={"bass": 43, "harmony": 48, "melody": 60, "fx": 50, "pulse": 48, "stab": 61},
            groove="trailer",
            swing=0.0,
            density=0.6,
            hit_sound="boom",
            drum_kit=48,
            fill="timpani_roll",
            pulse="ostinato",
        ),
        Style(
            name="lofi",
            description="lo-fi hip-hop: dusty keys, soft swung beat, mellow",
            keywords=_words_of(
                "lofi lo-fi chill study relax mellow cozy rain night jazzy dusty calm coffee"
            ),
            bpm_range=(70, 96),
            bpm=84,
            mode="major",
            tonic="F",
            progression=(1, 4, 0, 5),
            programs={"bass": 32, "harmony": 4, "melody": 11, "fx": 89},
            groove="boom_bap",
            swing=0.45,
            density=0.5,
            hit_sound="stab",
            drum_kit=32,
        ),
        Style(
            name="electronic",
            description="electronic dance: four-on-the-floor, synth bass, bright leads",
            keywords=_words_of(
                "electronic edm dance club techno house synth energetic party neon rave "
                "upbeat fast future tech"
            ),
            bpm_range=(112, 140),
            bpm=124,
            mode="minor",
            tonic="A",
            progression=(0, 5, 2, 6),
            programs={"bass": 38, "harmony": 81, "melody": 80, "fx": 94},
            groove="four_floor",
            swing=0.0,
            density=0.85,
            hit_sound="stab",
            drum_kit=24,
        ),
        Style(
            name="ambient",
            description="ambient: slow pads, soft pulse, wide and calm",
            keywords=_words_of(
                "ambient atmospheric pad drone space dreamy ethereal slow nature ocean "
                "peaceful meditative landscape aerial"
            ),
            bpm_range=(60, 90),
            bpm=72,
            mode="major",
            tonic="E",
            progression=(0, 3, 5, 4),
            programs={"bass": 89, "harmony": 91, "melody": 98, "fx": 95, "pulse": 46, "stab": 89},
            groove="heartbeat",
            swing=0.0,
            density=0.35,
            hit_sound="swell",
            drum_kit=48,
            fill="none",
            pulse="arpeggio",
        ),
        Style(
            name="orchestral",
            description="orchestral: strings, woodwinds, timpani, classical",
            keywords=_words_of(
                "orchestral classical strings symphony violin cello elegant waltz "
                "romantic period timpani woodwind"
            ),
            bpm_range=(76, 120),
            bpm=96,
            mode="major",
            tonic="G",
            progression=(0, 3, 4, 0),
            programs={"bass": 42, "harmony": 48, "melody": 40, "fx": 49, "pulse": 45, "stab": 48},
            groove="orchestral",
            swing=0.0,
            density=0.55,
            hit_sound="orchestral",
            drum_kit=48,
            fill="timpani_roll",
            pulse="pizzicato",
        ),
        Style(
            name="rock",
            description="rock: driving drums, distorted guitars, electric bass",
            keywords=_words_of(
                "rock guitar distorted punk grunge band loud driving rebel garage indie "
                "sport skate road"
            ),
            bpm_range=(100, 150),
            bpm=126,
            mode="minor",
            tonic="E",
            progression=(0, 5, 6, 0),
            programs={"bass": 33, "harmony": 29, "melody": 30, "fx": 30},
            groove="backbeat",
            swing=0.0,
            density=0.85,
            hit_sound="crash",
            drum_kit=16,
        ),
        Style(
            name="hiphop",
            description="hip-hop: heavy kick and snare, sub bass, sparse keys",
            keywords=_words_of(
                "hiphop hip-hop hip hop rap trap urban street boom bap beat swagger city"
            ),
            bpm_range=(80, 100),
            bpm=90,
            mode="minor",
            tonic="C",
            progression=(0, 5, 3, 4),
            programs={"bass": 38, "harmony": 4, "melody": 82, "fx": 55, "stab": 61},
            groove="boom_bap",
            swing=0.35,
            density=0.7,
            hit_sound="stab",
            drum_kit=25,
        ),
        Style(
            name="acoustic",
            description="acoustic: piano and acoustic guitar, warm and gentle",
            keywords=_words_of(
                "acoustic piano folk gentle warm happy wedding family travel sunny soft "
                "heartfelt emotional sad memories"
            ),
            bpm_range=(72, 118),
            bpm=92,
            mode="major",
            tonic="C",
            progression=(0, 4, 5, 3),
            programs={"bass": 32, "harmony": 25, "melody": 0, "fx": 46, "pulse": 25},
            groove="folk",
            swing=0.1,
            density=0.55,
            hit_sound="crash",
            drum_kit=40,
            strum_beats=0.03,
            pulse="fingerpick",
        ),
    )
}

DEFAULT_STYLE = "cinematic"


@dataclass(frozen=True)
class Overrides:
    """Explicit settings from the prompt or flags; ``None`` leaves the style's own."""

    bpm: float | None = None
    tonic: str | None = None
    mode: str | None = None
    meter: int | None = None
    stems: tuple[str, ...] | None = None

    def merged(self, other: Overrides) -> Overrides:
        """``other``'s values win where set."""
        return Overrides(
            bpm=other.bpm if other.bpm is not None else self.bpm,
            tonic=other.tonic if other.tonic is not None else self.tonic,
            mode=other.mode if other.mode is not None else self.mode,
            meter=other.meter if other.meter is not None else self.meter,
            stems=other.stems if other.stems is not None else self.stems,
        )


def validate_bpm(bpm: float) -> float:
    if not MIN_BPM <= bpm <= MAX_BPM:
        raise InvalidInputError(
            f"tempo {bpm:g} bpm is outside the playable range {MIN_BPM:g}..{MAX_BPM:g} bpm"
        )
    return float(bpm)


def parse_key(text: str) -> tuple[str, str | None]:
    """``"D minor"``, ``"Bb"``, ``"f#m"`` → (tonic, mode or None)."""
    m = re.fullmatch(r"\s*([A-Ga-g])([#b♯♭]?)\s*(major|minor|maj|min|m)?\s*", text)
    if not m:
        raise InvalidInputError(
            f"cannot read key {text!r}; write e.g. 'D minor', 'Bb major', 'F#m' or 'C'"
        )
    name = m.group(1).upper() + m.group(2).replace("♯", "#").replace("♭", "b")
    if name.endswith("b"):
        name = _FLATS.get(name.upper(), name)
    if name not in NOTE_NAMES:  # Cb, Fb, E#, B#
        raise InvalidInputError(f"unsupported key name {text!r}; use one of {NOTE_NAMES}")
    mode = m.group(3)
    return name, None if mode is None else ("major" if mode in ("major", "maj") else "minor")


def parse_stems(text: str) -> tuple[str, ...]:
    names = tuple(s.strip().lower() for s in re.split(r"[,\s+]+", text) if s.strip())
    bad = [s for s in names if s not in STEMS]
    if bad or not names:
        raise InvalidInputError(f"unknown stem(s) {bad or text!r}; choose from {', '.join(STEMS)}")
    return tuple(s for s in STEMS if s in names)


_STEM_WORDS = {
    "drums": ("drums", "drum", "percussion", "beat"),
    "bass": ("bass",),
    "harmony": ("chords", "harmony", "pads", "keys"),
    "melody": ("melody", "lead", "tune"),
    "fx": ("fx", "effects", "risers"),
}


def parse_prompt_overrides(prompt: str) -> Overrides:
    """Overrides written in the prompt: tempo, key/mode, meter, stems left out or kept."""
    p = prompt.lower()
    bpm = None
    if m := re.search(r"(\d{2,3}(?:\.\d+)?)\s*(?:bpm|beats per minute)", p):
        bpm = validate_bpm(float(m.group(1)))
    tonic = mode = None
    if m := re.search(r"\bin ([a-g](?:#|b|♯|♭)?)(?:\s*(major|minor|maj|min|m))?\b", p):
        tonic, mode = parse_key(m.group(1) + (" " + m.group(2) if m.group(2) else ""))
    elif m := re.search(r"\b(major|minor)\b", p):
        mode = m.group(1)
    meter = None
    if m := re.search(r"\b([2-7])/(4|8)\b", p):
        meter = int(m.group(1))
    elif "waltz" in p:
        meter = 3
    stems = None
    if m := re.search(r"\bonly ([a-z ,&]+)", p):
        keep = {s for s, words in _STEM_WORDS.items() if any(w in m.group(1) for w in words)}
        stems = tuple(s for s in STEMS if s in keep) or None
    removed = {
        s
        for s, words in _STEM_WORDS.items()
        if any(re.search(rf"\b(no|without) {w}\b", p) for w in words)
    }
    if removed:
        stems = tuple(s for s in (stems or STEMS) if s not in removed)
        if not stems:
            raise InvalidInputError(f"the prompt leaves no stems to play: {prompt!r}")
    return Overrides(bpm=bpm, tonic=tonic, mode=mode, meter=meter, stems=stems)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z\-]*", text.lower())


def style_scores(prompt: str) -> dict[str, float]:
    """Keyword relevance of each preset to the prompt (a style named outright scores most)."""
    words = _words(prompt)
    scores = {}
    for name, style in PRESETS.items():
        score = 0.0
        for w in words:
            if w == name or w.replace("-", "") == name:
                score += 3.0
            elif w in style.keywords:
                score += 1.0
            elif any(len(w) > 4 and k.startswith(w[:5]) for k in style.keywords):
                score += 0.5
        scores[name] = score
    return scores


_SCENES = {
    "cinematic": (
        "a tense chase at night",
        "explosions and a hero's moment",
        "a thriller",
        "a battle",
        "a dramatic reveal",
    ),
    "lofi": ("a quiet evening", "rain on the window", "studying in a bedroom", "nostalgia"),
    "electronic": (
        "a nightclub",
        "fast cars and neon lights",
        "a futuristic city",
        "sports highlights",
    ),
    "ambient": (
        "aerial landscapes",
        "the sea and clouds",
        "outer space",
        "a slow nature documentary",
    ),
    "orchestral": (
        "a period drama",
        "ballroom dancing",
        "a castle",
        "a royal ceremony",
        "an old black and white film",
    ),
    "rock": ("skateboarding", "extreme sports", "a road trip", "a rebellious crowd"),
    "hiphop": ("street basketball", "graffiti and urban streets", "a city montage"),
    "acoustic": ("a family picnic", "a wedding", "a travel diary", "a sunny afternoon"),
}


def _semantic_phrases(name: str) -> list[str]:
    """What a style is for, one phrase at a time (a prompt need match only one of them)."""
    return [PRESETS[name].description, *(f"music for {scene}" for scene in _SCENES[name])]


@dataclass(frozen=True)
class StyleChoice:
    style: Style
    prompt: str
    scores: dict[str, float]
    overrides: Overrides


def choose_style(
    prompt: str, *, style: str | None = None, overrides: Overrides | None = None
) -> StyleChoice:
    """The preset the prompt means (or ``style`` by name), with overrides applied.

    Flags (``overrides``) win over values written in the prompt.
    """
    if style is not None and style not in PRESETS:
        raise InvalidInputError(f"unknown style {style!r}; choose one of: {', '.join(PRESETS)}")
    scores = style_scores(prompt)
    ranked = sorted(scores.values(), reverse=True)
    if style is None and ranked[0] - ranked[1] < 1.0:  # keywords unsure: ask the model
        phrases = {f"{n}|{i}": text for n in PRESETS for i, text in enumerate(_semantic_phrases(n))}
        meaning = semantic_scores(prompt, phrases)
        if meaning is not None:  # by meaning (best phrase per style), keywords as a nudge
            best = {n: max(v for k, v in meaning.items() if k.split("|")[0] == n) for n in PRESETS}
            scores = {n: round(best[n] + 0.05 * scores[n], 4) for n in PRESETS}
    name = style or max(PRESETS, key=lambda n: (scores[n], n == DEFAULT_STYLE))
    merged = parse_prompt_overrides(prompt).merged(overrides or Overrides())
    return StyleChoice(PRESETS[name].with_overrides(merged), prompt, scores, merged)
