"""Which words support a decision: the drop of the label's probability when each word is masked.

Captum's :class:`~captum.attr.FeatureAblation` does the ablation: its input is a (lines, words) matrix of
ones (the words kept), each column is one feature (a word, every subword token of it together), the
baseline is 0 (masked); all lines of a batch have one word masked at a time, several masked variants per
model call. A request is one (line, label) pair: multi-label models explain each predicted label.
Requests are sorted by their number of words and batched, so the masked variants of similar lines go
through the model together.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..ensemble import ensemble_probabilities
from ..predict import Predictor
from .masking import Masker, masker_for


@dataclass
class Explanation:
    """The words of one line and, for one label, the drop of its probability when each word is masked."""

    label: str
    words: list[str]
    scores: list[float]  # one per word; negative: masking the word raises the label's probability

    def top(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` words with the highest scores, strongest first (ties: earlier word first)."""
        order = sorted(range(len(self.words)), key=lambda j: -self.scores[j])[:k]
        return [(self.words[j], self.scores[j]) for j in order]


def line_words(text: str, pair: str | None, pair_words: bool) -> list[str]:
    """The units of masking of a line: its whitespace words (then those of its second text)."""
    return text.split() + (pair.split() if pair is not None and pair_words else [])


def explain(
    predictor: Predictor, texts: Sequence[str], pairs: Sequence[str] | None, targets: Sequence[Sequence[int]],
    models: Sequence[str] | None = None, batch_size: int = 64, pair_words: bool = True,
    masker: Masker | None = None,
) -> list[list[Explanation]]:
    """For line i and each label index of ``targets[i]``, the score of every word of the line.

    ``pair_words=False`` explains only the first text of a pair (the second, e.g. a keyword, stays).
    """
    from captum.attr import FeatureAblation

    masker = masker or masker_for(predictor)
    models = list(models or predictor.model_names)
    words = [line_words(t, pairs[i] if pairs is not None else None, pair_words) for i, t in enumerate(texts)]
    requests = [(i, label) for i, labels in enumerate(targets) for label in labels]
    requests.sort(key=lambda r: -len(words[r[0]]))  # similar lengths together: little padding per batch
    scores: dict[tuple[int, int], list[float]] = {}
    for start in range(0, len(requests), batch_size):
        batch = requests[start:start + batch_size]
        lines = [i for i, _ in batch]
        n_words = max(1, max(len(words[i]) for i in lines))
        forward = masker.prepare([texts[i] for i in lines], [pairs[i] for i in lines] if pairs is not None else None,
                                 [len(words[i]) for i in lines], models)
        ablation = FeatureAblation(lambda keep: ensemble_probabilities(predictor, forward(keep)))
        keep = torch.ones(len(batch), n_words)  # |keep| = (batch, n_words)
        attributions = ablation.attribute(keep, baselines=0.0, target=[label for _, label in batch],
                                          feature_mask=torch.arange(n_words).unsqueeze(0),
                                          perturbations_per_eval=max(1, batch_size // len(batch)))
        for row, (i, label) in enumerate(batch):
            scores[i, label] = attributions[row, :len(words[i])].tolist()
    return [[Explanation(predictor.labels[label], words[i], scores[i, label]) for label in labels]
            for i, labels in enumerate(targets)]


def format_explanations(explanations: Sequence[Explanation], top_k: int, multi: bool) -> str:
    """``word=score word=score`` (strongest first); ``multi``: ``label:word=score,...;label:...``."""
    def words(explanation: Explanation, sep: str) -> str:
        return sep.join(f"{word}={score:.4f}" for word, score in explanation.top(top_k))

    if not multi:
        return words(explanations[0], " ") if explanations else ""
    return ";".join(f"{e.label}:{words(e, ',')}" for e in explanations)
