"""Text encoders for the flow model: ``encode(prompts) -> (float[B, T, D], bool[B, T])``."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from v2m.model.errors import WeightsNotFoundError

MAX_TOKENS = 64


class ByteTextEncoder(nn.Module):
    """A small learned embedding of the prompt's UTF-8 bytes (trained with the model; no
    weights to download). Good enough to tell styles apart at toy scale."""

    def __init__(self, dim: int, *, max_tokens: int = MAX_TOKENS):
        super().__init__()
        self.max_tokens = max_tokens
        self.embed = nn.Embedding(257, dim)
        self.pos = nn.Parameter(torch.zeros(1, max_tokens, dim))

    def forward(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        device = self.pos.device
        ids = torch.full((len(prompts), self.max_tokens), 256, dtype=torch.long)
        mask = torch.zeros(len(prompts), self.max_tokens, dtype=torch.bool)
        for i, text in enumerate(prompts):
            data = list(text.encode("utf-8")[: self.max_tokens]) or [32]
            ids[i, : len(data)] = torch.tensor(data)
            mask[i, : len(data)] = True
        ids, mask = ids.to(device), mask.to(device)
        return self.embed(ids) + self.pos, mask


class T5TextEncoder(nn.Module):
    """A frozen T5 encoder and its tokenizer read from a local folder (never downloaded)."""

    def __init__(self, folder: str | Path, *, tokenizer_folder: str | Path | None = None):
        """``tokenizer_folder``: where the tokenizer is, when not beside the model (a
        diffusers pipeline keeps it in ``tokenizer/``)."""
        super().__init__()
        from transformers import AutoTokenizer, T5EncoderModel

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise WeightsNotFoundError(
                f"no T5 text encoder in {str(folder)!r}: put a T5 encoder saved with "
                "save_pretrained (config.json + weights + tokenizer files) there"
            )
        self.tokenizer = AutoTokenizer.from_pretrained(
            tokenizer_folder or folder, local_files_only=True
        )
        self.model = T5EncoderModel.from_pretrained(folder, local_files_only=True).eval()
        self.model.requires_grad_(False)

    @property
    def dim(self) -> int:
        return self.model.config.d_model

    @torch.no_grad()
    def forward(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.tokenizer(
            prompts,
            padding="max_length",
            truncation=True,
            max_length=MAX_TOKENS,
            return_tensors="pt",
        ).to(self.model.device)
        hidden = self.model(**tokens).last_hidden_state
        return hidden, tokens.attention_mask.bool()
