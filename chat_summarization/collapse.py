"""Does the summarizer read its input? Distinct summaries, matched-vs-shuffled loss, token-weighted loss.

A seq2seq model trained from scratch on a few hundred dialogues can collapse: its encoder output
stops varying and the decoder writes one generic sentence for every dialogue, while ROUGE still
looks like a template baseline. Two signs show it: few distinct summaries, and a teacher-forced
loss that hardly changes when each summary is paired with another dialogue of the batch
(``shuffle_gap``: shuffled minus matched loss, in nats per token; near 0 means the input is ignored).
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence

import ignite.distributed as idist
import torch
from ignite.exceptions import NotComputableError
from ignite.metrics import Metric
from ignite.metrics.metric import reinit__is_reduced, sync_all_reduce

MIN_DISTINCT_SHARE = 1 / 3  # fewer distinct summaries than a third of the dialogues: generic text
MIN_SHUFFLE_GAP = 0.05  # nats per token; a model that reads its input loses far more on mismatched pairs


def _text_hash(text: str) -> int:
    """A 63-bit hash of ``text``, the same in every process (``hash()`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little") >> 1


class DistinctShare(Metric):
    """Share (``distinct``) and number (``distinct_summaries``) of distinct generated summaries."""

    required_output_keys = None

    def __init__(self, output_transform: Callable = lambda x: x, device: str | torch.device = "cpu") -> None:
        super().__init__(output_transform=output_transform, device=device, skip_unrolling=True,
                         metrics_result_mode="flatten")

    @reinit__is_reduced
    def reset(self) -> None:
        self._hashes: list[int] = []

    @reinit__is_reduced
    def update(self, output: Sequence[str]) -> None:
        self._hashes.extend(_text_hash(text.strip()) for text in output)

    def compute(self) -> dict[str, float]:
        hashes = torch.tensor(self._hashes, dtype=torch.int64, device=self._device)
        if idist.get_world_size() > 1:  # shards may differ in size: pad with -1 (hashes are >= 0), gather, drop
            longest = int(idist.all_reduce(torch.tensor(hashes.numel(), device=self._device), op="MAX"))
            padded = torch.full((longest,), -1, dtype=torch.int64, device=self._device)
            padded[:hashes.numel()] = hashes
            gathered = idist.all_gather(padded)  # |gathered| = (world_size * longest,)
            hashes = gathered[gathered >= 0]
        if hashes.numel() == 0:
            raise NotComputableError("DistinctShare must have at least one summary before it can be computed.")
        distinct = int(torch.unique(hashes).numel())
        return {"distinct": distinct / hashes.numel(), "distinct_summaries": float(distinct)}


class TokenWeightedLoss(Metric):
    """Validation loss per summary token over all batches (not a mean of per-batch means)."""

    required_output_keys = None
    _state_dict_all_req_keys = ("_sum", "_tokens")

    def __init__(self, output_transform: Callable = lambda x: x, device: str | torch.device = "cpu") -> None:
        super().__init__(output_transform=output_transform, device=device, skip_unrolling=True)

    @reinit__is_reduced
    def reset(self) -> None:
        self._sum = torch.zeros((), dtype=torch.float64, device=self._device)
        self._tokens = torch.zeros((), dtype=torch.float64, device=self._device)

    @reinit__is_reduced
    def update(self, output: tuple[float, int]) -> None:
        loss_sum, tokens = output
        self._sum += float(loss_sum)
        self._tokens += int(tokens)

    @sync_all_reduce("_sum", "_tokens")
    def compute(self) -> float:
        if self._tokens.item() == 0:
            raise NotComputableError("TokenWeightedLoss must have at least one token before it can be computed.")
        return (self._sum / self._tokens).item()


class InputDependence(Metric):
    """``shuffle_gap``: loss per token on shuffled dialogue-summary pairs minus on matched pairs.

    ``update`` takes ``(matched_sum, matched_tokens, shuffled)`` where ``shuffled`` is
    ``(loss_sum, tokens)`` of the batch's summaries beside other dialogues, or None for a batch of one.
    """

    required_output_keys = None
    _state_dict_all_req_keys = ("_sums",)

    def __init__(self, output_transform: Callable = lambda x: x, device: str | torch.device = "cpu") -> None:
        super().__init__(output_transform=output_transform, device=device, skip_unrolling=True)

    @reinit__is_reduced
    def reset(self) -> None:
        # matched loss sum, matched tokens, shuffled loss sum, shuffled tokens
        self._sums = torch.zeros(4, dtype=torch.float64, device=self._device)

    @reinit__is_reduced
    def update(self, output: tuple[float, int, tuple[float, int] | None]) -> None:
        matched_sum, matched_tokens, shuffled = output
        if shuffled is not None:
            self._sums += torch.tensor([matched_sum, matched_tokens, *shuffled], dtype=torch.float64,
                                       device=self._device)

    @sync_all_reduce("_sums")
    def compute(self) -> float:
        matched_sum, matched_tokens, shuffled_sum, shuffled_tokens = self._sums.tolist()
        if not matched_tokens or not shuffled_tokens:  # only batches of one dialogue: nothing to shuffle
            return math.nan
        return shuffled_sum / shuffled_tokens - matched_sum / matched_tokens


def collapse_warning(metrics: Mapping[str, float]) -> str | None:
    """A plain-words warning when the validation summaries do not depend on their dialogues, else None."""
    distinct, count, gap = metrics.get("distinct"), metrics.get("distinct_summaries"), metrics.get("shuffle_gap")
    few_distinct = distinct is not None and count is not None and distinct < MIN_DISTINCT_SHARE
    low_gap = gap is not None and not math.isnan(gap) and gap < MIN_SHUFFLE_GAP
    reasons = []
    if few_distinct:
        total = round(count / distinct) if distinct else 0
        reasons.append(f"only {int(count)} distinct summaries for {total} dialogues")
    if low_gap:
        reasons.append(f"its loss hardly changes when each summary is paired with another dialogue "
                       f"(shuffle_gap={gap:.3f} nats per token)")
    if not reasons:
        return None
    if not few_distinct:  # different summaries, but the teacher-forced loss hardly needs the dialogue
        return (f"WARNING: the summaries barely depend on the dialogues ({reasons[0]}): the model mostly writes "
                "what its training summaries share; treat its ROUGE as close to a template's")
    return ("WARNING: the summaries do not depend on the dialogues (" + "; ".join(reasons) + "): the model "
            "writes generic text, and its ROUGE is that of a template, not of a summarizer")


def identical_share_warning(summaries: Sequence[str], where: str) -> str | None:
    """summarize.py's warning when most of its summaries are one and the same text."""
    if len(summaries) < 2:
        return None
    counts: dict[str, int] = {}
    for text in summaries:
        counts[text.strip()] = counts.get(text.strip(), 0) + 1
    text, most = max(counts.items(), key=lambda item: item[1])
    if most * 2 <= len(summaries):
        return None
    shown = text if len(text) <= 80 else text[:77] + "..."
    return (f"warning: {most} of the {len(summaries)} summaries in {where} are the same text ({shown!r}): "
            "the model does not read its input (collapsed); compare with summarize.py --baseline lead2")
