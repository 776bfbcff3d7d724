"""Consensus voting between prediction files: per fname, the candidate closest to the others.

For each fname every candidate is scored by its mean ROUGE (mean of ROUGE-1/2/L F1) against the
other candidates; the highest wins, the earlier file on ties. ROUGE F1 is symmetric, so at least
three candidates are needed for a vote to mean anything.
"""
from __future__ import annotations

from collections.abc import Sequence

from rouge_score.rouge_scorer import RougeScorer

from .rouge import ROUGE_TYPES, Tokenizer, make_scorer, pair_scores

MIN_CANDIDATES = 3


def consensus_index(candidates: Sequence[str], scorer: RougeScorer) -> int:
    """Index of the candidate with the highest mean ROUGE-1/2/L against the other candidates."""
    best_index, best_score = 0, float("-inf")
    for i, candidate in enumerate(candidates):
        others = [pair_scores(scorer, candidate, other) for j, other in enumerate(candidates) if j != i]
        score = sum(sum(scores) / len(scores) for scores in others) / len(others)
        if score > best_score:
            best_index, best_score = i, score
    return best_index


def vote(candidates_per_row: Sequence[Sequence[str]], tokenizer: Tokenizer) -> list[int]:
    """For each row of candidate texts (one per file), the index of the winning file."""
    scorer, lookup = make_scorer(tokenizer, ROUGE_TYPES)
    prepared = iter(lookup.prepare([text for row in candidates_per_row for text in row]))
    return [consensus_index([next(prepared) for _ in row], scorer) for row in candidates_per_row]
