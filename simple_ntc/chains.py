"""``classify.py --model_fn keywords.pth --aspect_model sentiment.pth``: keyword -> sentiment chains.

The first model is multi-label (the keywords a text talks about); the second is a sentence-pair model
that classifies ``(text, keyword)`` into a sentiment. Each line prints ``keyword:sentiment ...``, keywords
in the order of their probability; ``--output_probs`` adds ``keyword_p:sentiment_p`` per pair.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import UserError
from .explain import Explanation, explain
from .predict import Predictor, is_regression, predict_proba


def check_chain(keywords: Predictor, aspects: Predictor) -> None:
    """The keyword model must be multi-label on single texts; the aspect model a single-label pair model."""
    if not keywords.multi_label or keywords.pair or is_regression(keywords):
        raise UserError("--aspect_model chains a multi-label keyword model (--model_fn, single texts) with a "
                        "sentence-pair model; this --model_fn is not multi-label on single texts")
    if not aspects.pair or aspects.multi_label or is_regression(aspects):
        raise UserError("--aspect_model must be a single-label sentence-pair model (trained on "
                        "'sentiment<TAB>text<TAB>keyword' rows)")


@dataclass
class ChainedLine:
    """The keywords of a line, each with its sentiment and both probabilities (and, if asked, the words behind it)."""

    keywords: list[str] = field(default_factory=list)
    keyword_probs: list[float] = field(default_factory=list)
    sentiments: list[str] = field(default_factory=list)
    sentiment_probs: list[float] = field(default_factory=list)
    explanations: list[Explanation] = field(default_factory=list)

    def labels(self) -> str:
        return " ".join(f"{k}:{s}" for k, s in zip(self.keywords, self.sentiments))

    def probs(self) -> str:
        return " ".join(f"{k:.4f}:{s:.4f}" for k, s in zip(self.keyword_probs, self.sentiment_probs))


def chain(keywords: Predictor, aspects: Predictor, texts: Sequence[str], keyword_models: Sequence[str],
          explain_words: bool = False, batch_size: int = 64) -> list[ChainedLine]:
    """Keywords of every text, then the sentiment of each (text, keyword) pair, in one batch per model."""
    lines = [ChainedLine() for _ in texts]
    if not texts:
        return lines
    probs = predict_proba(keywords, texts, None, keyword_models)  # |probs| = (len(texts), n_keywords)
    pairs: list[tuple[int, str]] = []
    for line, p in zip(lines, probs):
        for k in p.argsort(descending=True).tolist():
            if p[k] >= keywords.thresholds[k]:
                line.keywords.append(keywords.labels[k])
                line.keyword_probs.append(float(p[k]))
    pairs = [(i, keyword) for i, line in enumerate(lines) for keyword in line.keywords]
    if not pairs:
        return lines
    pair_texts, pair_keywords = [texts[i] for i, _ in pairs], [k for _, k in pairs]
    sentiment = predict_proba(aspects, pair_texts, pair_keywords)  # |sentiment| = (len(pairs), n_sentiments)
    best = sentiment.argmax(dim=1).tolist()
    explanations = (explain(aspects, pair_texts, pair_keywords, [[b] for b in best], batch_size=batch_size,
                            pair_words=False) if explain_words else None)
    for n, ((i, keyword), b) in enumerate(zip(pairs, best)):
        lines[i].sentiments.append(aspects.labels[b])
        lines[i].sentiment_probs.append(float(sentiment[n, b]))
        if explanations is not None:
            lines[i].explanations.append(Explanation(keyword, explanations[n][0].words, explanations[n][0].scores))
    return lines
