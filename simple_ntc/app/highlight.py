"""Highlighted words: per-word scores (how much each word moved the prediction) for Gradio's ``HighlightedText``.

A word scorer is any ``(text, text_pair, label) -> [(word, score), ...]`` function, for example
explanations by masking (drop a word, measure the fall of the label's probability). Pass it to
:class:`simple_ntc.app.classifier.ClassifierService` and the page shows the words behind each prediction.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

WordScorer = Callable[[str, "str | None", str], Sequence[tuple[str, float]]]


def highlighted_words(word_scores: Sequence[tuple[str, float]]) -> list[tuple[str, float | None]]:
    """``HighlightedText`` value: each word with its score scaled into [-1, 1] (largest |score| -> 1), spaces between.

    Positive scores (the word supports the label) and negative ones get opposite colours; a space
    between words carries no score, so it is not coloured.
    """
    largest = max((abs(score) for _, score in word_scores), default=0.0) or 1.0
    value: list[tuple[str, float | None]] = []
    for position, (word, score) in enumerate(word_scores):
        if position:
            value.append((" ", None))
        value.append((word, round(score / largest, 4)))
    return value
