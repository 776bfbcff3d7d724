"""ROUGE: Korean tokenization, agreement with rouge_score on pre-tokenized text, multi-reference, voting."""
from __future__ import annotations

import random

import ignite.distributed as idist
import pytest
from ignite.engine import Engine
from rouge_score import rouge_scorer

from chat_summarization.baselines import baseline_summaries, lead
from chat_summarization.dataset import Dialogue
from chat_summarization.metrics import RougeF1
from chat_summarization.rouge import (
    ROUGE_TYPES,
    KiwiTokenizer,
    make_scorer,
    SpaceTokenizer,
    get_tokenizer,
    score_corpus,
    split_sentences,
)
from chat_summarization.vote import consensus_index, vote
from tests.conftest import free_port

KOREAN = "#Person2#는 숨쉬기에 어려움을 겪는다. 의사는 #Person1#에게 이에 대해 묻는다."


class WhitespaceTokenizer:
    """rouge_score tokenizer for text that is already tokenized."""

    def tokenize(self, text: str) -> list[str]:
        return text.split()


def rouge_score_reference(predictions, references):
    """Mean-over-references and best-reference F1 x 100 computed by rouge_score itself."""
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=WhitespaceTokenizer())
    mean = {k: 0.0 for k in ("rouge1", "rouge2", "rougeL")}
    best = dict(mean)
    for prediction, refs in zip(predictions, references):
        per_ref = [scorer.score(ref, prediction) for ref in refs]
        multi = scorer.score_multi(refs, prediction)
        for key in mean:
            mean[key] += sum(s[key].fmeasure for s in per_ref) / len(per_ref)
            best[key] += multi[key].fmeasure
    n = len(predictions)
    return {k: 100 * v / n for k, v in mean.items()}, {k: 100 * v / n for k, v in best.items()}


def test_identical_korean_strings_score_100_where_rouge_scores_default_gives_0():
    report = score_corpus([KOREAN], [[KOREAN]])
    assert report.tokenizer == "kiwi"
    assert report.mean == {"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0} and report.lsum_mean == 100.0
    assert report.final == 100.0
    plain = "의사는 환자에게 묻는다."
    assert score_corpus([plain], [[plain]]).final == 100.0
    # The trap: rouge_score's default tokenizer keeps only [a-z0-9], so Korean text has no tokens.
    assert rouge_scorer.RougeScorer(["rouge1"]).score(plain, plain)["rouge1"].fmeasure == 0.0


def test_korean_scores_are_never_zero_for_overlapping_text():
    report = score_corpus(["의사는 환자에게 묻는다."], [["의사가 환자에게 질문한다."]])
    assert 0 < report.mean["rouge1"] < 100


def test_kiwi_keeps_tags_whole_lowercases_and_drops_punctuation():
    tokens = KiwiTokenizer().tokenize_many(["#Person1#은 Mr. Smith에게 3번 묻고, \"폐\" 전문의를 만났다!"])[0]
    assert tokens[:2] == ["#person1#", "은"]
    assert "smith" in tokens and "3" in tokens and "폐" in tokens
    assert not {",", "!", '"', "."} & set(tokens)


def test_auto_tokenizer_chooses_kiwi_for_hangul_and_words_for_english():
    assert get_tokenizer("auto", ["hello", "안녕"]).name == "kiwi"
    assert get_tokenizer("auto", ["Hello, #Person1#!"]).tokenize_many(["Hello, #Person1#!"]) == [["hello", "#person1#"]]


def random_text(rng: random.Random, vocab: list[str]) -> str:
    return " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 12)))


def test_multi_reference_mean_and_best_match_rouge_score_on_pretokenized_text():
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(8)]
    predictions = [random_text(rng, vocab) for _ in range(40)]
    references = [[random_text(rng, vocab) for _ in range(rng.randint(1, 3))] for _ in range(40)]
    report = score_corpus(predictions, references, tokenizer="space")
    mean, best = rouge_score_reference(predictions, references)
    assert report.mean == pytest.approx(mean, abs=1e-9)
    assert report.best == pytest.approx(best, abs=1e-9)
    assert report.references == 3
    assert report.final == pytest.approx(sum(mean.values()) / 3)


def test_korean_scores_match_rouge_score_on_the_same_kiwi_tokens():
    predictions = ["#Person1#은 따뜻한 커피를 주문한다.", "#Person2#는 영어 숙제를 끝낸다."]
    references = [["#Person1#이 따뜻한 커피 한 잔을 시킨다.", "#Person1#은 커피를 주문한다."],
                  ["#Person2#는 저녁 전에 영어 숙제를 끝내야 한다."]]
    kiwi = KiwiTokenizer()
    joined = lambda texts: [" ".join(tokens) for tokens in kiwi.tokenize_many(texts)]  # noqa: E731
    mean, best = rouge_score_reference(joined(predictions), [joined(refs) for refs in references])
    report = score_corpus(predictions, references)
    assert report.mean == pytest.approx(mean, abs=1e-9)
    assert report.best == pytest.approx(best, abs=1e-9)
    assert report.best["rouge1"] > report.mean["rouge1"]


def test_report_prints_mean_and_best_columns_for_several_references():
    report = score_corpus(["a b c"], [["a b c", "x y z"]], tokenizer="space")
    assert report.format().splitlines() == [
        "1 summaries, 2 reference(s) each at most, tokenizer: space",
        "          mean-ref  best-ref",
        "ROUGE-1        50.00    100.00",
        "ROUGE-2        50.00    100.00",
        "ROUGE-L        50.00    100.00",
        "ROUGE-Lsum     50.00    100.00",
        "final          50.00    100.00",
    ]


def test_rouge_lsum_is_rouge_scores_sentence_level_lcs_and_differs_from_rouge_l():
    prediction = "a b c. d e f."
    reference = "d e f. a b c."
    report = score_corpus([prediction], [[reference]], tokenizer="word")
    scorer = rouge_scorer.RougeScorer(["rougeL", "rougeLsum"])
    expected = scorer.score("d e f.\na b c.", "a b c.\nd e f.")
    assert report.mean["rougeL"] == pytest.approx(100 * expected["rougeL"].fmeasure) == pytest.approx(50.0)
    assert report.lsum_mean == pytest.approx(100 * expected["rougeLsum"].fmeasure) == pytest.approx(100.0)
    assert report.final == pytest.approx((100 + 80 + 50) / 3)  # ROUGE-Lsum stays outside the final score


def test_korean_sentences_come_from_kiwi():
    assert split_sentences(KiwiTokenizer(), [KOREAN, ""]) == [
        ["#Person2#는 숨쉬기에 어려움을 겪는다.", "의사는 #Person1#에게 이에 대해 묻는다."], []]
    report = score_corpus([KOREAN], [[KOREAN]])
    assert report.lsum_mean == 100.0


def test_ignite_metric_equals_corpus_scores_over_batches():
    predictions = ["a b c d", "a x", "q r s", "b c"]
    references = [["a b c"], ["a b", "x y"], ["q s"], ["d e"]]
    batches = [(predictions[:3], references[:3]), (predictions[3:], references[3:])]
    engine = Engine(lambda _engine, batch: batch)
    RougeF1("space").attach(engine, "rouge")
    state = engine.run(batches)
    report = score_corpus(predictions, references, tokenizer="space")
    assert state.metrics["rouge1"] == pytest.approx(report.mean["rouge1"])
    assert state.metrics["rougeL"] == pytest.approx(report.mean["rougeL"])
    assert state.metrics["rouge_mean"] == pytest.approx(report.final)
    assert "rouge" not in state.metrics  # flattened: only the named scores


PREDICTIONS = ["a b c d", "a x", "q r s", "b c", "e f", "a"]
REFERENCES = [["a b c"], ["a b", "x y"], ["q s"], ["d e"], ["e f g"], ["b"]]


def _score_my_half(local_rank: int) -> None:
    rank, world = idist.get_rank(), idist.get_world_size()
    metric = RougeF1("space")
    metric.reset()
    metric.update((PREDICTIONS[rank::world], REFERENCES[rank::world]))
    result = metric.compute()
    expected = score_corpus(PREDICTIONS, REFERENCES, tokenizer="space")
    assert result["rouge1"] == pytest.approx(expected.mean["rouge1"])
    assert result["rouge_mean"] == pytest.approx(expected.final)


def test_metric_all_reduces_sums_and_counts_across_two_processes():
    with idist.Parallel(backend="gloo", nproc_per_node=2, master_addr="127.0.0.1", master_port=free_port()) as parallel:
        parallel.run(_score_my_half)


def test_vote_picks_the_consensus_candidate_and_the_first_on_ties():
    scorer, lookup = make_scorer(SpaceTokenizer(), ROUGE_TYPES)
    outlier, middle, near = lookup.prepare(["x y z w", "a b c d", "a b c e"])
    assert consensus_index([outlier, middle, near], scorer) == 1
    assert consensus_index([middle, middle, middle], scorer) == 0
    assert vote([["x y z w", "a b c d", "a b c e"], ["s", "s", "t"]], SpaceTokenizer()) == [1, 0]


def test_baselines_lead2_and_template():
    dialogue = Dialogue("d", "#Person1#: 안녕하세요.\n\n#Person2#: 네, 안녕하세요.\n#Person1#: 잘 지냈어요?")
    assert lead(dialogue.dialogue) == "#Person1#: 안녕하세요. #Person2#: 네, 안녕하세요."
    assert baseline_summaries("template", [dialogue, dialogue], "고정 문장.") == ["고정 문장.", "고정 문장."]
