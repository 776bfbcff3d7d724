"""ROUGE-1/2/L F1 with a pluggable tokenizer and several references per summary.

``rouge_score``'s default tokenizer keeps only ``[a-z0-9]``, so Korean text scores 0 even when
identical. Here text is tokenized first, by Kiwi morphemes for Korean (the default whenever the
text holds Hangul) or by words, and n-gram/LCS F1 is computed on the tokens, exactly as
``rouge_score`` does on pre-tokenized text. With several references a summary gets the mean over
its references (as the competition scored) and the best of them; the final score is the mean of
the three F1 values times 100.
"""
from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from simple_ntc.errors import UserError

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
ROUGE_NAMES = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L"}
TOKENIZERS = ("auto", "kiwi", "word", "space")

_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_TAG = re.compile(r"(#\w+#)")  # speaker / PII tags such as #Person1#, #PhoneNumber#
_WORD = re.compile(r"#\w+#|\w+")
# Kiwi part-of-speech tags of punctuation and symbols (dropped, like rouge_score drops non-alphanumerics);
# letters (SL), hanja (SH) and numbers (SN) stay.
_KIWI_PUNCTUATION = {"SF", "SP", "SS", "SSO", "SSC", "SE", "SO", "SW", "SB"}


class Tokenizer(Protocol):
    name: str

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]: ...


class SpaceTokenizer:
    """Whitespace split, for text that is already tokenized."""

    name = "space"

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        return [text.split() for text in texts]


class WordTokenizer:
    """Lower-cased words (any script) and whole ``#Tag#`` tokens; punctuation dropped."""

    name = "word"

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        return [_WORD.findall(text.lower()) for text in texts]


@functools.lru_cache(maxsize=1)
def kiwi():
    """The Kiwi analyzer, loaded once per process (it takes a second or two)."""
    from kiwipiepy import Kiwi

    return Kiwi()


class KiwiTokenizer:
    """Korean morphemes from Kiwi, lower-cased; ``#Tag#`` tokens kept whole; punctuation dropped."""

    name = "kiwi"

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        pieces = [_TAG.split(text) for text in texts]  # odd positions are tags
        plain = [piece for parts in pieces for i, piece in enumerate(parts) if i % 2 == 0 and piece.strip()]
        analyzed = iter(kiwi().tokenize(plain)) if plain else iter(())
        tokens: list[list[str]] = []
        for parts in pieces:
            out: list[str] = []
            for i, piece in enumerate(parts):
                if i % 2:
                    out.append(piece.lower())
                elif piece.strip():
                    out.extend(t.form.lower() for t in next(analyzed) if t.tag not in _KIWI_PUNCTUATION)
            tokens.append(out)
        return tokens


def has_hangul(texts: Sequence[str]) -> bool:
    return any(_HANGUL.search(text) for text in texts)


def get_tokenizer(name: str, texts: Sequence[str] = ()) -> Tokenizer:
    """``kiwi``, ``word``, ``space``, or ``auto``: Kiwi when ``texts`` hold Hangul, else words."""
    if name == "auto":
        name = "kiwi" if has_hangul(texts) else "word"
    if name == "kiwi":
        return KiwiTokenizer()
    if name == "word":
        return WordTokenizer()
    if name == "space":
        return SpaceTokenizer()
    raise UserError(f"unknown ROUGE tokenizer {name!r}; choose from {', '.join(TOKENIZERS)}")


def _f1(overlap: int, predicted: int, reference: int) -> float:
    precision = overlap / predicted if predicted else 0.0
    recall = overlap / reference if reference else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def ngram_f1(prediction: Sequence[str], reference: Sequence[str], n: int) -> float:
    """ROUGE-N F1: clipped n-gram overlap."""
    pred = Counter(tuple(prediction[i:i + n]) for i in range(len(prediction) - n + 1))
    ref = Counter(tuple(reference[i:i + n]) for i in range(len(reference) - n + 1))
    overlap = sum((pred & ref).values())
    return _f1(overlap, sum(pred.values()), sum(ref.values()))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def lcs_f1(prediction: Sequence[str], reference: Sequence[str]) -> float:
    """ROUGE-L F1: longest common subsequence (summary-level, not ROUGE-Lsum)."""
    return _f1(lcs_length(prediction, reference), len(prediction), len(reference))


def pair_scores(prediction: Sequence[str], reference: Sequence[str]) -> tuple[float, float, float]:
    """(ROUGE-1, ROUGE-2, ROUGE-L) F1 of one tokenized prediction against one tokenized reference."""
    return ngram_f1(prediction, reference, 1), ngram_f1(prediction, reference, 2), lcs_f1(prediction, reference)


def example_scores(
    prediction: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean over references and best reference (per ROUGE type) of one tokenized prediction."""
    per_reference = [pair_scores(prediction, reference) for reference in references]
    mean = tuple(sum(column) / len(per_reference) for column in zip(*per_reference))
    best = tuple(max(column) for column in zip(*per_reference))
    return mean, best


@dataclass
class RougeReport:
    """Corpus ROUGE F1 x 100, averaged over examples."""

    count: int
    references: int  # most references of any example
    tokenizer: str
    mean: dict[str, float]  # mean over references
    best: dict[str, float]  # best reference

    @property
    def final(self) -> float:
        """The competition's final score: mean of ROUGE-1/2/L F1 (mean over references)."""
        return sum(self.mean.values()) / len(self.mean)

    @property
    def final_best(self) -> float:
        return sum(self.best.values()) / len(self.best)

    def format(self) -> str:
        lines = [f"{self.count} summaries, {self.references} reference(s) each at most, tokenizer: {self.tokenizer}"]
        if self.references > 1:
            lines.append(f"{'':8} {'mean-ref':>9} {'best-ref':>9}")
            for key in ROUGE_TYPES:
                lines.append(f"{ROUGE_NAMES[key]:8} {self.mean[key]:9.2f} {self.best[key]:9.2f}")
            lines.append(f"{'final':8} {self.final:9.2f} {self.final_best:9.2f}")
        else:
            for key in ROUGE_TYPES:
                lines.append(f"{ROUGE_NAMES[key]:8} {self.mean[key]:6.2f}")
            lines.append(f"{'final':8} {self.final:6.2f}")
        return "\n".join(lines)


def tokenize_corpus(
    tokenizer: Tokenizer, predictions: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[list[list[str]], list[list[list[str]]]]:
    """Tokenize predictions and references in one pass (Kiwi is fastest on one large batch)."""
    flat = [ref for refs in references for ref in refs]
    tokens = tokenizer.tokenize_many([*predictions, *flat])
    pred_tokens, ref_flat = tokens[:len(predictions)], iter(tokens[len(predictions):])
    return pred_tokens, [[next(ref_flat) for _ in refs] for refs in references]


def score_corpus(
    predictions: Sequence[str], references: Sequence[Sequence[str]], tokenizer: str | Tokenizer = "auto"
) -> RougeReport:
    """ROUGE of ``predictions[i]`` against every text in ``references[i]``."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} reference lists")
    if not predictions:
        raise UserError("nothing to score: no summaries")
    if any(not refs for refs in references):
        raise ValueError("every prediction needs at least one reference")
    if isinstance(tokenizer, str):
        tokenizer = get_tokenizer(tokenizer, [*predictions, *(r for refs in references for r in refs)])
    pred_tokens, ref_tokens = tokenize_corpus(tokenizer, predictions, references)
    sums_mean, sums_best = [0.0] * 3, [0.0] * 3
    for prediction, refs in zip(pred_tokens, ref_tokens):
        mean, best = example_scores(prediction, refs)
        sums_mean = [s + v for s, v in zip(sums_mean, mean)]
        sums_best = [s + v for s, v in zip(sums_best, best)]
    n = len(predictions)
    return RougeReport(
        count=n,
        references=max(len(refs) for refs in references),
        tokenizer=tokenizer.name,
        mean={k: 100 * s / n for k, s in zip(ROUGE_TYPES, sums_mean)},
        best={k: 100 * s / n for k, s in zip(ROUGE_TYPES, sums_best)},
    )
