"""``v2m train``, ``v2m styles``, ``v2m encoders``, ``v2m backends``, ``v2m doctor``,
``v2m fonts``: the model's catalogue, what this installation can do, the instruments it plays
and training from the command line."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from v2m.server.cli_options import finite_float
from v2m.server.cli_output import progress_bar


def _train_command(args: argparse.Namespace) -> int:
    from v2m.model.flow.config import PRESETS
    from v2m.model.flow.train import check_training_options, load_examples, train

    check_training_options(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, warmup_steps=args.warmup_steps
    )
    build, config, device = None, PRESETS[args.config], args.device
    if args.base:
        build, config, device = _base_model(args)
    progress, close = progress_bar(not args.quiet)
    try:
        examples = load_examples(
            args.data,
            config,
            cache_dir=Path(args.out) / "cache",
            require_captions=bool(args.base),
            device=device or "cpu",
            progress=progress,
        )
        train(
            examples,
            args.out,
            config=config,
            build=build,
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            device=device,
            gradient_checkpointing=args.gradient_checkpointing,
            save_every=args.save_every,
            warmup_steps=args.warmup_steps,
            cosine_decay=args.cosine_decay,
            progress=progress,
        )
    finally:
        close()
    extends = f" (extends {args.base})" if args.base else ""
    print(f"trained {args.steps} steps on {len(examples)} files; checkpoint in {args.out}{extends}")
    return 0


CPU_BASE_LIMIT = 50_000_000
"""Parameters beyond which fine-tuning on a CPU is refused unless ``--device cpu`` is given."""


def _base_model(args: argparse.Namespace):
    """(build, config, device) for ``v2m train --base``: the base checked, and a large base on
    a machine without a GPU refused with how long it would take."""
    import torch

    from v2m.model.errors import InvalidInputError
    from v2m.model.flow.base_model import (
        KIND,
        BaseFlowConfig,
        BaseFlowModel,
        cpu_fine_tune_hours,
        transformer_parameters,
    )

    resumed = Path(args.out) / "config.json"
    if resumed.is_file() and json.loads(resumed.read_text()).get("kind") == KIND:
        config = BaseFlowConfig.load(resumed)  # resume as it was started
    else:
        config = BaseFlowConfig.for_base(args.base, window_s=args.window_s, lora_rank=args.lora)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    params = transformer_parameters(config.base)
    if device == "cpu" and args.device is None and params > CPU_BASE_LIMIT:
        hours = cpu_fine_tune_hours(
            params, batch_size=args.batch_size, window_frames=config.window_frames, steps=args.steps
        )
        raise InvalidInputError(
            f"this machine has no GPU, and fine-tuning a {params / 1e9:.2f} B-parameter base "
            f"for {args.steps} steps would take about {hours:,.0f} hours on its CPU; run it on "
            "a machine with a CUDA GPU (or give --device cpu to start anyway)"
        )
    return (lambda: BaseFlowModel(config)), config, device


def _styles_command(args: argparse.Namespace) -> int:
    from v2m.model.styles import PRESETS

    for s in PRESETS.values():
        lo, hi = s.bpm_range
        print(f"{s.name:11s} {lo:.0f}-{hi:.0f} bpm  {s.tonic} {s.mode:5s}  {s.description}")
    return 0


def _encoders_command(args: argparse.Namespace) -> int:
    from v2m.model.encoders import list_encoders

    for e in list_encoders():
        weights = "needs --weights DIR" if e.needs_weights else "built in"
        print(f"{e.name:10s} {e.modality:6s} {weights:18s} {e.summary}")
    return 0


def _backends_command(args: argparse.Namespace) -> int:
    from v2m.model.backends import list_backends

    for entry in list_backends():
        backend = entry.factory()
        ok, why = backend.availability()
        state = "available" if ok else f"unavailable: {why}"
        print(f"{entry.name:10s} {backend.device:5s} {entry.summary}")
        print(f"{'':10s} {state}")
        for name, meaning in entry.options.items():
            print(f"{'':10s} --backend-option {name}=...  {meaning}")
    return 0


def _fonts_command(args: argparse.Namespace) -> int:
    from v2m.model.soundfont import font_chain, fonts_dir, prepare_fonts

    if args.action == "prepare":
        progress, close = progress_bar(not args.quiet)
        try:
            lines = prepare_fonts(
                progress=lambda source, done, total: progress(
                    done / total, f"decoding {Path(source).name}"
                )
            )
        finally:
            close()
        for line in lines or [f"no SF3 sets to decode; prepared fonts live in {fonts_dir()}"]:
            print(line)
    chain = font_chain()
    print("instruments play from the first font that has them:" if chain else "no SoundFont")
    for rank, font in enumerate(chain, 1):
        print(f"  {rank}. {font}")
    return 0


def _library_command(args: argparse.Namespace) -> int:
    from v2m.model.errors import InvalidInputError
    from v2m.model.retime.library import find_songs, index_library
    from v2m.model.retime.music import cache_dir

    progress, close = progress_bar(not args.quiet)
    try:
        found = index_library(find_songs(args.folder), progress=progress)
    finally:
        close()
    minutes = sum(t.duration_s for t in found.tracks) / 60
    print(f"{len(found.tracks)} recordings, {minutes:.1f} min of music, indexed in {cache_dir()}")
    for t in found.tracks:
        pulse = f"{t.tempo_bpm:6.1f} bpm" if t.has_beat else "  no steady beat"
        stems = f"  ({len(t.stem_paths)} stems)" if t.stem_paths else ""
        print(f"  {Path(t.path).name[:48]:48s} {t.duration_s:7.1f} s {pulse}{stems}")
    for path, why in found.unreadable:
        print(f"  could not read {path}: {why}")
    if not found.tracks:
        raise InvalidInputError(f"none of the audio files in {args.folder!r} could be read")
    return 0


def _doctor_command(args: argparse.Namespace) -> int:
    from v2m.model.doctor import run_checks

    checks = run_checks()
    area = None
    for check in checks:
        if check.area != area:
            area = check.area
            print(f"{area}:")
        mark = "ok " if check.ok else "-- "
        print(f"  {mark} {check.name:22s} {check.found}")
        if check.fix:
            print(f"  {'':3s} {'':22s} fix: {check.fix}")
    ok = sum(c.ok for c in checks)
    print(f"{ok} found, {len(checks) - ok} not found (optional pieces; fixes above)")
    _print_executor(args.ray or os.environ.get("V2M_RAY", ""))
    return 0


def _print_executor(ray_address: str) -> None:
    """Where a server's jobs would run: this machine, or the Ray cluster's nodes."""
    from v2m.server.executor import LocalExecutor

    if not ray_address:
        node = LocalExecutor().info().nodes[0]
        print(f"executor: local ({node.cpus:g} CPUs, {node.gpus:g} GPUs; --ray ADDRESS: a cluster)")
        return
    from v2m.server.ray_executor import cluster_nodes, connect

    nodes = cluster_nodes(connect(ray_address))
    print(f"executor: ray at {ray_address}, {len(nodes)} node(s)")
    for n in nodes:
        state = "alive" if n.alive else "DEAD"
        print(f"  {n.address:22s} {n.cpus:5g} CPUs {n.gpus:3g} GPUs  {state}")


def add_model_commands(sub) -> None:
    """Register ``train``, ``styles``, ``encoders`` and ``backends`` on the main parser."""
    p = sub.add_parser(
        "train",
        help="train the flow backend on a folder of music (captions in NAME.txt)",
        description="Train the V2M-Zero flow model on music only, or (--base DIR) fine-tune a "
        "pretrained Stable Audio Open base with the curve as a new zero-initialised input: each "
        "file's latents and music event curve are cached, then the rectified-flow loss is "
        "minimised with 10%% text and curve dropout (AdamW; bf16 autocast on a GPU). Re-running "
        "with the same -o resumes.",
    )
    p.add_argument("data", help="folder of audio files (.wav .flac .mp3 ...), NAME.txt captions")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="checkpoint folder")
    p.add_argument("--config", default="tiny", choices=["tiny", "small"], help="model size")
    p.add_argument("--steps", type=int, default=1000, help="total optimizer steps")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument(
        "--lr", type=finite_float, default=1e-4, help="AdamW learning rate (default 1e-4)"
    )
    p.add_argument(
        "--warmup-steps", type=int, default=0, help="linear warmup to --lr over this many steps"
    )
    p.add_argument(
        "--cosine-decay", action="store_true", help="anneal the learning rate to lr/10 by --steps"
    )
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument(
        "--base",
        metavar="DIR",
        help="fine-tune this Stable Audio Open base (diffusers layout: transformer/, vae/, "
        "text_encoder/, tokenizer/, projection_model/); captions required",
    )
    p.add_argument(
        "--lora",
        type=int,
        default=0,
        metavar="RANK",
        help="with --base: train LoRA adapters of this rank on the attention projections "
        "instead of every weight (default 0: full fine-tune)",
    )
    p.add_argument(
        "--window-s",
        type=finite_float,
        help="with --base: seconds of music per training window (default: the base's own)",
    )
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--save-every", type=int, default=500, help="checkpoint period (steps)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_train_command)

    p = sub.add_parser("styles", help="list the style presets")
    p.set_defaults(run=_styles_command)

    p = sub.add_parser("encoders", help="list the feature encoders")
    p.set_defaults(run=_encoders_command)

    p = sub.add_parser("backends", help="list the scoring backends, their state and settings")
    p.set_defaults(run=_backends_command)

    p = sub.add_parser(
        "doctor",
        help="what this installation can do: renderer, fonts, encoders, backends, codecs",
        description="Check the SoundFont renderer and fonts, the encoders and backends, the "
        "preview's codecs and the prompt model; print the fix for each missing piece.",
    )
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="also show the Ray cluster's nodes and resources (auto or HOST:PORT; V2M_RAY)",
    )
    p.set_defaults(run=_doctor_command)

    p = sub.add_parser(
        "library",
        help="index a folder of recordings for the retime backend (analysed once, cached)",
        description="Analyse every audio file under FOLDER (beats, downbeats, accents, event "
        "curve) into the cache ($V2M_CACHE_DIR, default ~/.cache/v2m) and list what was found "
        "and what could not be read.",
    )
    p.add_argument("action", choices=("index",))
    p.add_argument("folder", help="a folder of recordings (or one file)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_library_command)

    p = sub.add_parser(
        "fonts",
        help="list the SoundFont chain; 'prepare' decodes SF3 sets once (set-up runs it)",
        description="Instruments play from the first font in the chain that has them. "
        "'v2m fonts prepare' decodes the system's SF3 sets (MuseScore General) into SF2s in "
        "$V2M_FONT_DIR (default ~/.local/share/v2m/soundfonts), so they load in seconds.",
    )
    p.add_argument("action", nargs="?", choices=("list", "prepare"), default="list")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_fonts_command)
