"""Checkpoints: ``config.json`` + ``model.safetensors`` (+ ``train_state.pt`` to resume).

Two kinds share the layout: a model trained from scratch (``FlowModel``, every weight saved)
and a fine-tuned Stable Audio base (``config.json`` says ``kind: stable-audio`` and names the
base; only what training changed is saved — ``model.flow.base_model``). ``load_checkpoint``
reads either."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from v2m.model.errors import WeightsNotFoundError
from v2m.model.flow.config import FlowConfig
from v2m.model.flow.dit import CurveDiT
from v2m.model.flow.text import ByteTextEncoder


class FlowModel(nn.Module):
    """The network and its (trainable) text encoder, saved and loaded together."""

    def __init__(self, config: FlowConfig):
        super().__init__()
        self.config = config
        self.dit = CurveDiT(config)
        self.text = ByteTextEncoder(config.text_dim)

    def encode_text(self, prompts: list[str]):
        return self.text(prompts)


def save_checkpoint(model: nn.Module, folder: str | Path, *, train_state: dict | None = None):
    """Write atomically enough for a crash between files to leave the old checkpoint usable:
    weights under a temporary name, then renamed."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.config.save(folder / "config.json")
    saved = model.checkpoint_state() if hasattr(model, "checkpoint_state") else model.state_dict()
    state = {k: v.detach().contiguous().cpu() for k, v in saved.items()}
    tmp = folder / "model.safetensors.partial"
    save_file(state, str(tmp))
    tmp.replace(folder / "model.safetensors")
    if train_state is not None:
        tmp = folder / "train_state.pt.partial"
        torch.save(train_state, tmp)
        tmp.replace(folder / "train_state.pt")


def load_checkpoint(folder: str | Path, *, device: str = "cpu"):
    """The model in ``folder`` — a ``FlowModel``, or a ``BaseFlowModel`` over the base its
    config names; WeightsNotFoundError says what to put where."""
    folder = Path(folder)
    if not (folder / "config.json").is_file() or not (folder / "model.safetensors").is_file():
        raise WeightsNotFoundError(
            f"no flow checkpoint in {str(folder)!r}: it needs config.json and model.safetensors "
            "(make one with `v2m train DATA -o DIR`)"
        )
    from v2m.model.flow.base_model import KIND, BaseFlowConfig, BaseFlowModel

    state = load_file(str(folder / "model.safetensors"))
    if json.loads((folder / "config.json").read_text()).get("kind") == KIND:
        model = BaseFlowModel(BaseFlowConfig.load(folder / "config.json"))
        model.load_checkpoint_state(state, source=str(folder / "model.safetensors"))
    else:
        model = FlowModel(FlowConfig.load(folder / "config.json"))
        model.load_state_dict(state)
    return model.to(device).eval()


class CheckpointCache:
    """Loaded checkpoints kept between requests: a server answering many requests reads the
    weights once. Keyed by folder and device; a checkpoint whose files changed (size or
    modification time — a new `v2m train` run) is read again. ``loads`` counts reads."""

    def __init__(self, *, capacity: int = 2):
        self.capacity = capacity
        self.loads = 0
        self._models: dict[tuple[str, str], tuple[tuple, FlowModel]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _stamp(folder: Path) -> tuple:
        files = ("config.json", "model.safetensors")
        return tuple((s.st_size, s.st_mtime_ns) for s in ((folder / n).stat() for n in files))

    def get(self, folder: str | Path, *, device: str = "cpu") -> FlowModel:
        """The model in ``folder`` on ``device``, loaded at most once while unchanged."""
        folder = Path(folder).resolve()
        key = (str(folder), device)
        with self._lock:
            try:
                stamp = self._stamp(folder)
            except OSError:
                stamp = None  # load_checkpoint says what is missing
            cached = self._models.get(key)
            if cached is not None and stamp is not None and cached[0] == stamp:
                return cached[1]
            model = load_checkpoint(folder, device=device)
            self.loads += 1
            self._models.pop(key, None)
            self._models[key] = (stamp, model)
            while len(self._models) > self.capacity:  # the least recently loaded goes
                self._models.pop(next(iter(self._models)))
            return model


CHECKPOINTS = CheckpointCache()
"""The process's checkpoint cache (the flow backend loads through it)."""
