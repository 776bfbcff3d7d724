"""ROUGE-1/2/L/Lsum F1 as an Ignite metric over generated summaries, correct across processes.

Each process adds per-example F1 values into sums and counts them; ``compute`` all-reduces both
(``sync_all_reduce``), so the score is the same as on one process over all examples.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from ignite.exceptions import NotComputableError
from ignite.metrics import Metric
from ignite.metrics.metric import reinit__is_reduced, sync_all_reduce

from .rouge import ALL_TYPES, ROUGE_TYPES, Tokenizer, example_scores, get_tokenizer, make_scorer, prepare_corpus

MEAN_NAME = "rouge_mean"
METRIC_NAMES = (*ALL_TYPES, MEAN_NAME)


class RougeF1(Metric):
    """Mean ROUGE-1/2/L/Lsum F1 x 100 of predictions against their references (mean over references).

    ``update`` takes ``(predictions, references)``: a list of summaries and, for each, a list of
    reference texts. ``compute`` returns ``rouge1``, ``rouge2``, ``rougeL``, ``rougeLsum`` and the
    mean of the first three, ``rouge_mean``; attached to an engine each becomes an entry of ``engine.state.metrics``.
    ``tokenizer`` is ``auto`` (Kiwi when a batch holds Hangul, decided once), ``kiwi``, ``word`` or ``space``.
    """

    required_output_keys = None
    _state_dict_all_req_keys = ("_sums", "_count")

    def __init__(
        self,
        tokenizer: str | Tokenizer = "auto",
        output_transform: Callable = lambda x: x,
        device: str | torch.device = torch.device("cpu"),
    ) -> None:
        self._tokenizer_choice = tokenizer
        self._tokenizer: Tokenizer | None = None if isinstance(tokenizer, str) else tokenizer
        super().__init__(output_transform=output_transform, device=device, skip_unrolling=True,
                         metrics_result_mode="flatten")

    @reinit__is_reduced
    def reset(self) -> None:
        self._sums = torch.zeros(len(ALL_TYPES), dtype=torch.float64, device=self._device)
        self._count = torch.zeros((), dtype=torch.float64, device=self._device)

    def _resolve(self, texts: Sequence[str]) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = get_tokenizer(str(self._tokenizer_choice), texts)
        return self._tokenizer

    @reinit__is_reduced
    def update(self, output: tuple[Sequence[str], Sequence[Sequence[str]]]) -> None:
        predictions, references = output
        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predictions but {len(references)} reference lists")
        tokenizer = self._resolve([*predictions, *(r for refs in references for r in refs)])
        scorer, lookup = make_scorer(tokenizer)
        prepared, prepared_refs = prepare_corpus(lookup, predictions, references)
        for prediction, refs in zip(prepared, prepared_refs):
            mean, _best = example_scores(scorer, prediction, refs)
            self._sums += torch.tensor(mean, dtype=torch.float64, device=self._device)
        self._count += len(predictions)

    @sync_all_reduce("_sums", "_count")
    def compute(self) -> dict[str, float]:
        if self._count.item() == 0:
            raise NotComputableError("RougeF1 must have at least one example before it can be computed.")
        scores = (100.0 * self._sums / self._count).tolist()
        result = dict(zip(ALL_TYPES, scores))
        result[MEAN_NAME] = sum(result[key] for key in ROUGE_TYPES) / len(ROUGE_TYPES)
        return result
