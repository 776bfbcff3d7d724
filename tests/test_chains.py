"""classify.py --aspect_model: a multi-label keyword model chained with a (text, keyword) sentiment model."""
from __future__ import annotations

import random

import pytest

from simple_ntc.predict import load_predictor, predict_proba
from tests.conftest import assert_one_line_error, run_cli

ASPECTS = {"배우": ("연기가", "배우가"), "음악": ("음악이", "노래가"), "스토리": ("이야기가", "스토리가")}
OPINIONS = {"positive": ("최고", "좋다"), "negative": ("별로", "지루하다")}


def synthetic(n: int, seed: int) -> list[tuple[dict[str, str], str]]:
    """Texts about one or two aspects, each with its own sentiment."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        chosen = rng.sample(sorted(ASPECTS), rng.choice((1, 2)))
        sentiments = {a: rng.choice(sorted(OPINIONS)) for a in chosen}
        text = " ".join(f"{rng.choice(ASPECTS[a])} {rng.choice(OPINIONS[s])}" for a, s in sentiments.items())
        rows.append((sentiments, text))
    return rows


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("chains")
    rows = synthetic(240, 0)
    keywords, pairs = root / "keywords.tsv", root / "pairs.tsv"
    keywords.write_text("".join(f"{','.join(s)}\t{t}\n" for s, t in rows), encoding="utf-8")
    pairs.write_text("".join(f"{v}\t{t}\t{a}\n" for s, t in rows for a, v in s.items()), encoding="utf-8")
    common = ("--verbose", 0, "--gpu_id", -1)
    first = run_cli("train.py", "--model_fn", root / "keywords.pth", "--train_fn", keywords, "--multi_label",
                    "--linear", *common)
    second = run_cli("train.py", "--model_fn", root / "sentiment.pth", "--train_fn", pairs, "--cnn", "--n_epochs", 2,
                     "--word_vec_size", 16, "--n_filters", 8, 8, "--window_sizes", 1, 2, "--tokenizer", "space",
                     *common)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    return root / "keywords.pth", root / "sentiment.pth"


def test_chain_prints_keyword_sentiment_pairs_as_the_two_models_predict_them(models):
    keywords_fn, sentiment_fn = models
    texts = [t for _, t in synthetic(6, 1)]
    stdin = "\n".join(texts[:3] + [""] + texts[3:]) + "\n"
    result = run_cli("classify.py", "--model_fn", keywords_fn, "--aspect_model", sentiment_fn, "--output_probs",
                     "--explain", "--explain_top_k", 1, stdin=stdin)
    assert result.returncode == 0, result.stderr
    rows = result.stdout.rstrip("\n").split("\n")
    assert len(rows) == 7 and rows[3] == "\t\t\t"
    assert sum(bool(row.split("\t")[0]) for row in rows) >= 4  # the keyword model finds keywords
    keywords, aspects = load_predictor(keywords_fn), load_predictor(sentiment_fn)
    probs = predict_proba(keywords, texts)
    for row, text, p in zip(rows[:3] + rows[4:], texts, probs):
        labels, chain_probs, explanation, echoed = row.split("\t")
        assert echoed == text
        expected = [keywords.labels[k] for k in p.argsort(descending=True).tolist() if p[k] >= 0.5]
        found = [pair.split(":") for pair in labels.split(" ")] if labels else []
        assert [k for k, _ in found] == expected
        if expected:
            sentiment = predict_proba(aspects, [text] * len(expected), expected)
            assert [s for _, s in found] == [aspects.labels[int(q.argmax())] for q in sentiment]
            assert [float(x.split(":")[1]) for x in chain_probs.split(" ")] == \
                pytest.approx([float(q.max()) for q in sentiment], abs=1e-4)
            parts = explanation.split(";")
            assert [part.split(":", 1)[0] for part in parts] == expected
            assert all(part.split(":", 1)[1].rsplit("=", 1)[0] in text.split() for part in parts)


def test_chain_needs_a_multi_label_model_then_a_pair_model(models):
    keywords_fn, sentiment_fn = models
    assert_one_line_error(run_cli("classify.py", "--model_fn", sentiment_fn, "--aspect_model", sentiment_fn,
                                  stdin="x\n"), "not multi-label")
    assert_one_line_error(run_cli("classify.py", "--model_fn", keywords_fn, "--aspect_model", keywords_fn,
                                  stdin="x\n"), "sentence-pair model")
