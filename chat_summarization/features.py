"""Dialogues -> token ids -> padded batches.

Sources are ``[bos] dialogue [eos]`` truncated to ``max_source_length``; targets are
``summary [eos]`` (with a leading ``bos`` when the decoder does not start from ``bos``, as in BART
whose decoder starts from ``</s>`` and first writes ``<s>``). Batches are padded to their own
longest sequence; labels are padded with -100 so the loss ignores padding. The model shifts labels
right (prepending ``decoder_start_token_id``) to make its decoder inputs.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset
from transformers import PreTrainedTokenizerBase

from simple_ntc.data.batching import BucketBatchSampler
from simple_ntc.data.dataset import bucketed_loader, pad_rows

from .dataset import Dialogue

IGNORE_INDEX = -100


@dataclass(frozen=True)
class SequenceFormat:
    """Which control tokens wrap sources and targets for a given tokenizer and decoder."""

    bos_id: int | None
    eos_id: int | None
    pad_id: int
    target_bos: bool

    @classmethod
    def of(cls, tokenizer: PreTrainedTokenizerBase, decoder_start_token_id: int | None) -> "SequenceFormat":
        bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
        if pad is None:
            raise ValueError("the tokenizer has neither a pad nor an eos token")
        return cls(bos, eos, pad, target_bos=bos is not None and decoder_start_token_id != bos)


def encode(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int, fmt: SequenceFormat, target: bool
) -> list[list[int]]:
    """Token ids of ``texts`` with the control tokens of ``fmt``, at most ``max_length`` long."""
    prefix = [fmt.bos_id] if fmt.bos_id is not None and (fmt.target_bos or not target) else []
    suffix = [fmt.eos_id] if fmt.eos_id is not None else []
    room = max_length - len(prefix) - len(suffix)
    if room < 1:
        raise ValueError(f"max_length {max_length} leaves no room for text")
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return [prefix + x[:room] + suffix for x in ids]


class SummarizationDataset(Dataset):
    """Encoded dialogues, their encoded first reference (when training) and all reference texts."""

    def __init__(
        self,
        dialogues: Sequence[Dialogue],
        tokenizer: PreTrainedTokenizerBase,
        fmt: SequenceFormat,
        max_source_length: int,
        max_target_length: int | None = None,
    ) -> None:
        self.fnames = [d.fname for d in dialogues]
        self.references = [list(d.summaries) for d in dialogues]
        self.sources = encode(tokenizer, [d.dialogue for d in dialogues], max_source_length, fmt, target=False)
        self.targets = None
        if max_target_length is not None:
            self.targets = encode(tokenizer, [d.summaries[0] for d in dialogues], max_target_length, fmt, target=True)

    @property
    def lengths(self) -> list[int]:
        return [len(s) for s in self.sources]

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = {"index": index, "source": self.sources[index], "references": self.references[index]}
        if self.targets is not None:
            item["target"] = self.targets[index]
        return item


class Collator:
    """Pad a list of dataset items to the batch's longest sequence."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        sources = [item["source"] for item in items]
        input_ids = pad_rows(sources, self.pad_id)  # |input_ids| = (batch_size, source_length)
        lengths = torch.tensor([len(s) for s in sources])
        # By length, not by pad id: pad may equal eos (e.g. GPT-style tokenizers).
        attention_mask = (torch.arange(input_ids.size(1)) < lengths[:, None]).long()  # |attention_mask| = |input_ids|
        batch: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "index": torch.tensor([item["index"] for item in items]),
            "references": [item["references"] for item in items],
        }
        if "target" in items[0]:
            # |labels| = (batch_size, target_length)
            batch["labels"] = pad_rows([item["target"] for item in items], IGNORE_INDEX)
        return batch


def training_loader(dataset: SummarizationDataset, batch_size: int, seed: int, pad_id: int,
                    num_workers: int = 0) -> DataLoader:
    """Shuffled, length-bucketed batches (split across processes when distributed)."""
    sampler = BucketBatchSampler(dataset.lengths, batch_size, shuffle=True, seed=seed)
    return bucketed_loader(dataset, sampler, Collator(pad_id), seed, num_workers)


def sorted_loader(dataset: SummarizationDataset, batch_size: int, pad_id: int, num_workers: int = 0,
                  distributed: bool = True) -> DataLoader:
    """Batches of similar lengths, longest first (``index`` restores the input order)."""
    sampler = BucketBatchSampler(dataset.lengths, batch_size, shuffle=False,
                                 **({} if distributed else {"num_replicas": 1, "rank": 0}))
    return bucketed_loader(dataset, sampler, Collator(pad_id), num_workers=num_workers)
