"""classify.py --explain / --explain_top_k / --explain_html: word-masking attributions for every model kind."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from simple_ntc.data.tokenization import TextTokenizer
from simple_ntc.ensemble import ensemble_probabilities
from simple_ntc.errors import UserError
from simple_ntc.explain import explain, format_explanations, masker_for
from simple_ntc.predict import RNNCNNClassifier, load_predictor, predict_proba
from tests.conftest import CLASSIFICATION, assert_one_line_error, run_cli

TEXTS = ["영상미 너무 재미있어요!", "영상미 돈이 아까워요", "스토리 기대 이상이었어요 ㅠㅠ"]


@pytest.fixture(scope="module")
def ensemble_file(tmp_path_factory):
    """RNN + CNN + TF-IDF members in one file (char tokens: several subwords per word)."""
    path = tmp_path_factory.mktemp("explain") / "ens.pth"
    result = run_cli("train.py", "--model_fn", path, "--train_fn", CLASSIFICATION / "sentiment_train.tsv",
                     "--valid_fn", CLASSIFICATION / "sentiment_valid.tsv", "--rnn", "--cnn", "--linear",
                     "--n_epochs", 2, "--word_vec_size", 16, "--hidden_size", 16, "--n_filters", 8, 8,
                     "--window_sizes", 2, 3, "--tokenizer", "char", "--verbose", 0, "--gpu_id", -1)
    assert result.returncode == 0, result.stderr
    return path


def masked_probability(predictor, text: str, masked: int, label: int, models) -> float:
    """The label's probability with one word masked, through the masker (keep matrix with one 0)."""
    n = len(text.split())
    keep = torch.ones(1, n)
    keep[0, masked] = 0
    probs = masker_for(predictor).prepare([text], None, [n], models)(keep)
    return float(ensemble_probabilities(predictor, probs)[0, label])  # the file's weights, as classify.py


@pytest.mark.parametrize("models", [["rnn"], ["cnn"], ["rnn", "cnn"], ["rnn", "cnn", "linear"]])
def test_scores_are_the_probability_drop_of_masking_each_word(ensemble_file, models):
    predictor = load_predictor(ensemble_file)
    probs = predict_proba(predictor, TEXTS, None, models)
    targets = [[int(p.argmax())] for p in probs]
    found = explain(predictor, TEXTS, None, targets, models, batch_size=2)
    for text, p, (label,), (explanation,) in zip(TEXTS, probs, targets, found):
        assert explanation.words == text.split()
        for j in range(len(explanation.words)):
            drop = float(p[label]) - masked_probability(predictor, text, j, label, models)
            assert explanation.scores[j] == pytest.approx(drop, abs=1e-5)


class KeywordModel(nn.Module):
    """log-softmax of (3 * #good - 3 * #bad, 0): 'good' supports label 0, 'bad' opposes it."""

    def __init__(self, good: int, bad: int) -> None:
        super().__init__()
        self.good, self.bad = good, bad

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        score = 3.0 * ((x == self.good).sum(1) - (x == self.bad).sum(1)).float()  # |score| = (batch_size,)
        return torch.log_softmax(torch.stack([score, torch.zeros_like(score)], dim=1), dim=-1)


def keyword_predictor() -> RNNCNNClassifier:
    tokenizer = TextTokenizer.train("space", ["good bad the film was a plot"], 32)
    model = KeywordModel(tokenizer.tokenizer.token_to_id("good"), tokenizer.tokenizer.token_to_id("bad"))
    return RNNCNNClassifier(tokenizer, ["pos", "neg"], {"cnn": model})


def test_the_decisive_word_comes_first_and_a_contrary_word_scores_negative():
    predictor = keyword_predictor()
    (explanation,), = explain(predictor, ["the film was good but the plot bad"], None, [[0]])
    top = explanation.top(3)
    assert top[0][0] == "good" and top[0][1] > 0.3
    assert explanation.scores[explanation.words.index("bad")] < -0.2
    assert all(abs(s) < 1e-6 for w, s in zip(explanation.words, explanation.scores) if w not in ("good", "bad"))
    text = format_explanations([explanation], 2, False)
    assert text.split(" ")[0].startswith("good=0.") and len(text.split(" ")) == 2


def test_regression_and_onnx_predictors_are_refused_in_one_line():
    predictor = keyword_predictor()
    predictor.regression = True
    with pytest.raises(UserError, match="--regression"):
        masker_for(predictor)
    with pytest.raises(UserError, match="--backend torch"):
        masker_for(object())


def test_bert_single_pair_and_multi_label_mask_every_subword_of_a_word(tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from simple_ntc.plm.predict import PLMClassifier
    from tests.tiny_bert import build_tiny_bert

    directory = build_tiny_bert(tmp_path / "bert", TEXTS * 5 + ["keyword 배우"], seed=1)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    for pair, multi in ((False, False), (True, False), (False, True)):
        torch.manual_seed(0)
        model = AutoModelForSequenceClassification.from_pretrained(directory, num_labels=3)
        predictor = PLMClassifier(model, tokenizer, ["a", "b", "c"], multi_label=multi, pair=pair)
        pairs = ["배우 keyword"] * len(TEXTS) if pair else None
        probs = predict_proba(predictor, TEXTS, pairs)
        targets = [[0, 2]] * len(TEXTS) if multi else [[int(p.argmax())] for p in probs]
        found = explain(predictor, TEXTS, pairs, targets, batch_size=2)
        for i, text in enumerate(TEXTS):
            words = text.split() + (pairs[i].split() if pair else [])
            for explanation, label in zip(found[i], targets[i]):
                assert explanation.words == words
                for j, word in enumerate(words):  # the masked text: every subword token of word j is [MASK]
                    encoded = tokenizer(text, pairs[i] if pair else None, return_offsets_mapping=True)
                    ids = torch.tensor([encoded["input_ids"]])
                    side_text = text if j < len(text.split()) else pairs[i]
                    start = sum(len(w) + 1 for w in words[:j]) if j < len(text.split()) else \
                        sum(len(w) + 1 for w in words[len(text.split()):j])
                    sides = encoded.sequence_ids()
                    for t, ((s, e), side) in enumerate(zip(encoded["offset_mapping"], sides)):
                        in_side = side == (0 if side_text is text else 1)
                        if in_side and s < start + len(word) and e > start and side_text[s:e].strip():
                            ids[0, t] = tokenizer.mask_token_id
                    with torch.inference_mode():
                        logits = model(input_ids=ids, token_type_ids=torch.tensor([encoded["token_type_ids"]])).logits
                    p = torch.sigmoid(logits) if multi else torch.softmax(logits, -1)
                    drop = float(probs[i, label] - p[0, label])
                    assert explanation.scores[j] == pytest.approx(drop, abs=1e-5)
        if multi:
            line = format_explanations(found[0], 2, True)
            assert line.startswith("a:") and ";c:" in line and line.count(",") == 2


def test_explain_column_html_page_and_one_line_errors(ensemble_file, tmp_path):
    page = tmp_path / "page.html"
    stdin = "영상미 너무 <재미>있어요!\n\n영상미 돈이 아까워요\n"
    result = run_cli("classify.py", "--model_fn", ensemble_file, "--explain", "--explain_top_k", 2,
                     "--output_probs", "--top_k", 2, "--explain_html", page, stdin=stdin)
    assert result.returncode == 0, result.stderr
    rows = result.stdout.rstrip("\n").split("\n")
    assert len(rows) == 3 and rows[1] == "\t\t\t"
    labels, probs, explanation, text = rows[0].split("\t")
    assert len(labels.split()) == 2 and len(probs.split()) == 2 and text == "영상미 너무 <재미>있어요!"
    pairs = [item.rsplit("=", 1) for item in explanation.split(" ")]
    assert len(pairs) == 2 and all(w in text.split() for w, _ in pairs)
    assert float(pairs[0][1]) >= float(pairs[1][1])
    html = page.read_text(encoding="utf-8")
    assert "&lt;재미&gt;있어요!" in html and "아까워요" in html and "http" not in html.lower().replace("http-equiv", "")
    assert html.count("class='line'") == 3
    plain = run_cli("classify.py", "--model_fn", ensemble_file, "--output_probs", "--top_k", 2, stdin=stdin)
    assert [row.split("\t")[:2] for row in plain.stdout.rstrip("\n").split("\n")] == \
        [row.split("\t")[:2] for row in rows]  # the explanation column changes no other column
    assert_one_line_error(run_cli("classify.py", "--model_fn", ensemble_file, "--explain", "--explain_top_k", 0,
                                  stdin="x\n"), "--explain_top_k must be a positive integer")
    assert_one_line_error(run_cli("classify.py", "--model_fn", ensemble_file, "--explain_html", tmp_path,
                                  stdin="x\n"), "--explain_html")


@pytest.mark.parametrize("kind", ["space", "char", "word", "bpe", "kiwi"])
def test_every_token_maps_to_its_whitespace_word_and_ids_match_the_model_input(kind):
    texts = ["Hello, World! it's  fine", "  짜증나네요 정말 ㅋㅋ", "", "스토리 기대 이상이었어요 ㅠㅠ"]
    tokenizer = TextTokenizer.train(kind, texts * 3, 12, bpe_vocab_size=60, pair=True)
    encoded = tokenizer.encode_words(texts)
    assert [ids for ids, _ in encoded] == tokenizer.encode(texts)
    for text, (ids, words) in zip(texts, encoded):
        assert all(-1 <= w < len(text.split()) for w in words) and len(ids) == len(words)
        assert sorted(set(words) - {-1}) == sorted(set(words) - {-1})[:len(text.split())]
    assert [w for w in encoded[1][1] if w >= 0][0] == 0 and max(encoded[1][1]) == 2  # 짜증나네요 / 정말 / ㅋㅋ
    pairs = tokenizer.encode_pair_words(texts, texts[::-1])
    assert [ids for ids, _ in pairs] == tokenizer.encode_pairs(texts, texts[::-1])
    ids, words = pairs[0]  # 4 words, then the 4 words of the last text
    assert words[ids.index(tokenizer.sep_id)] == -1 and max(words) >= 4  # the second text's words come after
