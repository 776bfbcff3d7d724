"""ROUGE-1/2/L and ROUGE-Lsum F1 by ``rouge_score``, with our tokenizers and several references per summary.

``rouge_score``'s default tokenizer keeps only ``[a-z0-9]``, so Korean text scores 0 even when
identical. Its ``RougeScorer`` is given one of ours instead: Kiwi morphemes for Korean (the default
whenever the text holds Hangul) or words. ROUGE-L is the LCS of the whole texts (``rougeL``);
ROUGE-Lsum is the summary-level LCS over sentences (``rougeLsum``; sentences from Kiwi for Korean).
With several references a summary gets the mean over its references (as the competition scored)
and the best of them; the final score is the mean of the ROUGE-1/2/L F1 values times 100
(ROUGE-Lsum is an extra figure).
"""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from rouge_score import rouge_scorer
from rouge_score import tokenizers as rouge_tokenizers

from simple_ntc.errors import UserError

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")  # the final score is their mean
LSUM = "rougeLsum"
ALL_TYPES = (*ROUGE_TYPES, LSUM)
ROUGE_NAMES = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L", LSUM: "ROUGE-Lsum"}
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


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[str]]:
    """Sentences of each text: Kiwi's sentence splitter for the Kiwi tokenizer, else a split after . ! ?."""
    if tokenizer.name == "kiwi":
        nonblank = [text for text in texts if text.strip()]
        split = iter(kiwi().split_into_sents(nonblank)) if nonblank else iter(())
        return [[s.text for s in next(split)] if text.strip() else [] for text in texts]
    return [[s for s in _SENTENCE_END.split(text.strip()) if s] for text in texts]


class LookupTokenizer(rouge_tokenizers.Tokenizer):
    """``rouge_score`` tokenizer backed by one of ours, tokenizing whole batches ahead (Kiwi is far faster so).

    ``prepare`` tokenizes texts and their sentences; ``rougeLsum`` text is the sentences joined by
    newlines (rouge_score's convention), and the joined text tokenizes as the original did.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.name = tokenizer.name
        self._tokens: dict[str, list[str]] = {}

    def prepare(self, texts: Sequence[str]) -> list[str]:
        """Tokenize ``texts`` in one batch; return them as sentence-per-line texts to score."""
        sentences = split_sentences(self.tokenizer, texts)
        joined = ["\n".join(parts) for parts in sentences]
        pieces = [text for text in {*texts, *(s for parts in sentences for s in parts)} if text not in self._tokens]
        self._tokens.update(zip(pieces, self.tokenizer.tokenize_many(pieces)))
        for text, line_text in zip(texts, joined):
            self._tokens[line_text] = self._tokens[text]
        return joined

    def tokenize(self, text: str) -> list[str]:
        if text not in self._tokens:
            self._tokens[text] = self.tokenizer.tokenize_many([text])[0]
        return self._tokens[text]


def make_scorer(tokenizer: Tokenizer, rouge_types: Sequence[str] = ALL_TYPES) -> tuple[
        rouge_scorer.RougeScorer, LookupTokenizer]:
    """A ``rouge_score`` scorer using ``tokenizer``, and the lookup to ``prepare`` texts with first."""
    lookup = LookupTokenizer(tokenizer)
    return rouge_scorer.RougeScorer(list(rouge_types), tokenizer=lookup), lookup


def pair_scores(scorer: rouge_scorer.RougeScorer, prediction: str, reference: str) -> tuple[float, ...]:
    """F1 of each of the scorer's ROUGE types, for one prepared prediction against one prepared reference."""
    scores = scorer.score(reference, prediction)
    return tuple(scores[key].fmeasure for key in scorer.rouge_types)


def example_scores(scorer: rouge_scorer.RougeScorer, prediction: str,
                   references: Sequence[str]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean over references and best reference (per ROUGE type) of one prepared prediction."""
    per_reference = [pair_scores(scorer, prediction, reference) for reference in references]
    mean = tuple(sum(column) / len(per_reference) for column in zip(*per_reference))
    best = tuple(max(column) for column in zip(*per_reference))
    return mean, best


def prepare_corpus(lookup: LookupTokenizer, predictions: Sequence[str],
                   references: Sequence[Sequence[str]]) -> tuple[list[str], list[list[str]]]:
    """Predictions and references tokenized in one pass, returned as the texts to hand the scorer."""
    flat = [ref for refs in references for ref in refs]
    texts = lookup.prepare([*predictions, *flat])
    prepared, ref_flat = texts[:len(predictions)], iter(texts[len(predictions):])
    return prepared, [[next(ref_flat) for _ in refs] for refs in references]


@dataclass
class RougeReport:
    """Corpus ROUGE F1 x 100, averaged over examples."""

    count: int
    references: int  # most references of any example
    tokenizer: str
    mean: dict[str, float]  # mean over references, ROUGE-1/2/L
    best: dict[str, float]  # best reference
    lsum_mean: float = 0.0  # ROUGE-Lsum (sentence-split LCS), an extra figure outside ``final``
    lsum_best: float = 0.0

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
                lines.append(f"{ROUGE_NAMES[key]:10} {self.mean[key]:9.2f} {self.best[key]:9.2f}")
            lines.append(f"{ROUGE_NAMES[LSUM]:10} {self.lsum_mean:9.2f} {self.lsum_best:9.2f}")
            lines.append(f"{'final':10} {self.final:9.2f} {self.final_best:9.2f}")
        else:
            for key in ROUGE_TYPES:
                lines.append(f"{ROUGE_NAMES[key]:10} {self.mean[key]:6.2f}")
            lines.append(f"{ROUGE_NAMES[LSUM]:10} {self.lsum_mean:6.2f}")
            lines.append(f"{'final':10} {self.final:6.2f}")
        return "\n".join(lines)


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
    scorer, lookup = make_scorer(tokenizer)
    prepared, prepared_refs = prepare_corpus(lookup, predictions, references)
    sums_mean, sums_best = [0.0] * len(ALL_TYPES), [0.0] * len(ALL_TYPES)
    for prediction, refs in zip(prepared, prepared_refs):
        mean, best = example_scores(scorer, prediction, refs)
        sums_mean = [s + v for s, v in zip(sums_mean, mean)]
        sums_best = [s + v for s, v in zip(sums_best, best)]
    n = len(predictions)
    mean = {k: 100 * s / n for k, s in zip(ALL_TYPES, sums_mean)}
    best = {k: 100 * s / n for k, s in zip(ALL_TYPES, sums_best)}
    return RougeReport(
        count=n,
        references=max(len(refs) for refs in references),
        tokenizer=tokenizer.name,
        mean={k: mean[k] for k in ROUGE_TYPES},
        best={k: best[k] for k in ROUGE_TYPES},
        lsum_mean=mean[LSUM],
        lsum_best=best[LSUM],
    )
