"""BART's text infilling on the training dialogues, mixed into summarization training.

A seq2seq model trained from scratch on a few hundred dialogues collapses: its decoder learns to
write one generic summary long before its cross-attention learns where to look. Denoising examples
cannot be solved that way: the source is a piece of a training dialogue with about ``mask_share`` of
its tokens hidden in spans (each span replaced by one ``<mask>``, span lengths Poisson(3), as in
BART), and the target is the same piece unmasked, so most of the target has to be copied from the
encoder. A marker token after ``<s>`` tells the model which task it is doing; summarization sources
carry none, so summarize.py feeds plain dialogues and the marker never reaches a summary.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from transformers import PreTrainedTokenizerBase

from .features import SequenceFormat, SummarizationDataset

DENOISE_MARKER = "<denoise>"
MEAN_SPAN = 3.0  # Poisson mean of the masked span lengths (BART)
MIN_PIECE = 8  # shorter leftover pieces of a dialogue are not used


def add_denoise_marker(tokenizer: PreTrainedTokenizerBase) -> int:
    """Add the task marker as a special (control) token when missing; return its id."""
    if DENOISE_MARKER not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [DENOISE_MARKER]})
    return tokenizer.convert_tokens_to_ids(DENOISE_MARKER)


def infill(ids: Sequence[int], mask_share: float, mask_id: int, generator: np.random.Generator) -> list[int]:
    """``ids`` with spans covering about ``mask_share`` of the tokens replaced by one ``mask_id`` each.

    Spans start at random positions and have Poisson(3) lengths (at least 1); spans never merge into
    one longer mask, so the count of masks in the result is the count of spans.
    """
    n = len(ids)
    budget = int(round(mask_share * n))
    masked = np.zeros(n, dtype=bool)
    for _ in range(4 * n):  # enough tries to spend the budget; a nearly full piece may stop a bit short
        if budget <= 0:
            break
        length = min(max(1, int(generator.poisson(MEAN_SPAN))), budget)
        start = int(generator.integers(0, max(1, n - length + 1)))
        span = slice(max(0, start - 1), min(n, start + length + 1))  # a free token either side
        if masked[span].any():
            continue
        masked[start:start + length] = True
        budget -= length
    out: list[int] = []
    for i, token in enumerate(ids):
        if not masked[i]:
            out.append(int(token))
        elif i == 0 or not masked[i - 1]:
            out.append(mask_id)
    return out


def dialogue_pieces(sources: Sequence[Sequence[int]], fmt: SequenceFormat, length: int) -> list[list[int]]:
    """Consecutive pieces of at most ``length`` tokens of each encoded dialogue (control tokens stripped)."""
    control = {fmt.bos_id, fmt.eos_id}
    pieces = []
    for source in sources:
        text = [t for t in source if t not in control]
        for start in range(0, len(text), length):
            piece = text[start:start + length]
            if len(piece) >= MIN_PIECE:
                pieces.append(piece)
    return pieces


class DenoisingMix(Dataset):
    """The summarization examples followed by ``ratio`` x as many denoising examples.

    The pieces (of at most ``max_target_length`` tokens with their control tokens) are drawn once
    with ``seed``; their masks are drawn anew every time an example is read, so each epoch hides
    other spans. Items are those of :class:`SummarizationDataset` (``source``, ``target``, ...).
    """

    def __init__(self, summaries: SummarizationDataset, fmt: SequenceFormat, marker_id: int, mask_id: int,
                 ratio: float, mask_share: float, max_target_length: int, seed: int) -> None:
        if summaries.targets is None:
            raise ValueError("denoising needs a training dataset (with targets)")
        self.summaries, self.fmt = summaries, fmt
        self.marker_id, self.mask_id, self.mask_share = marker_id, mask_id, mask_share
        room = max_target_length - (2 if fmt.target_bos else 1)
        pieces = dialogue_pieces(summaries.sources, fmt, room)
        order = np.random.default_rng(seed).permutation(len(pieces))
        count = min(len(pieces), int(round(ratio * len(summaries))))
        self.pieces = [pieces[i] for i in sorted(order[:count])]

    def _wrap(self, piece: list[int], target: bool) -> list[int]:
        bos = [self.fmt.bos_id] if self.fmt.bos_id is not None and (self.fmt.target_bos or not target) else []
        eos = [self.fmt.eos_id] if self.fmt.eos_id is not None else []
        return bos + ([] if target else [self.marker_id]) + list(piece) + eos

    @property
    def sources(self) -> list[list[int]]:
        """Sources as batching sees them: a denoising source uncorrupted (its longest possible form)."""
        return self.summaries.sources + [self._wrap(p, target=False) for p in self.pieces]

    @property
    def targets(self) -> list[list[int]]:
        return self.summaries.targets + [self._wrap(p, target=True) for p in self.pieces]

    @property
    def lengths(self) -> list[int]:
        return [len(s) for s in self.sources]

    def __len__(self) -> int:
        return len(self.summaries) + len(self.pieces)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if index < len(self.summaries):
            return self.summaries[index]
        piece = self.pieces[index - len(self.summaries)]
        # one NumPy generator per read, seeded from torch's RNG (seeded, saved and restored by the engine)
        generator = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))
        corrupted = infill(piece, self.mask_share, self.mask_id, generator)
        return {"index": index, "source": self._wrap(corrupted, target=False),
                "target": self._wrap(piece, target=True), "references": []}
