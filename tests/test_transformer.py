"""--transformer (a small encoder from scratch) and --tokenizer word, alone and in one file with RNN and --linear."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from simple_ntc.data.tokenization import TextTokenizer
from simple_ntc.models import TransformerClassifier, build_model
from simple_ntc.predict import load_predictor
from simple_ntc.errors import UserError
from simple_ntc.train import main as train_main
from tests.conftest import FIXTURES, ROOT, assert_one_line_error, run_cli

NEWS = FIXTURES / "breadth"
TINY = ["--word_vec_size", 16, "--hidden_size", 16, "--n_layers", 1, "--n_heads", 2, "--ff_size", 32,
        "--batch_size", 32, "--verbose", 1, "--tokenizer", "word", "--lr", 0.01]


@pytest.mark.parametrize("positions, pooling", [("learned", "mean"), ("sinusoidal", "cls")])
def test_padding_is_masked_so_a_text_scores_the_same_alone_and_in_a_padded_batch(positions, pooling):
    torch.manual_seed(0)
    model = TransformerClassifier(50, 12, 16, 3, n_layers=2, n_heads=4, ff_size=32, max_length=20,
                                  positions=positions, pooling=pooling).eval()
    short, long = torch.tensor([5, 6, 7]), torch.arange(3, 15)
    alone = model(short[None], torch.tensor([3]))
    batch = torch.stack([long, torch.cat([short, torch.zeros(9, dtype=torch.long)])])
    together = model(batch, torch.tensor([12, 3]))
    assert torch.allclose(alone[0], together[1], atol=1e-5)
    assert torch.allclose(together.exp().sum(dim=-1), torch.ones(2), atol=1e-5)  # log-probabilities
    rebuilt = build_model("transformer", model.init_kwargs)
    rebuilt.load_state_dict(model.state_dict())
    assert torch.equal(rebuilt.eval()(batch, torch.tensor([12, 3])), together)


def test_regression_output_is_one_unbounded_value():
    model = TransformerClassifier(20, 8, 8, 1, n_layers=1, n_heads=2, ff_size=16, regression=True).eval()
    with torch.no_grad():
        model.generator.bias.fill_(7.0)
    assert model(torch.tensor([[3, 4]]), torch.tensor([2])).shape == (1, 1)
    assert model(torch.tensor([[3, 4]]), torch.tensor([2])).item() > 5  # no log-softmax


def test_word_tokenizer_lowercases_and_splits_punctuation_off():
    tokenizer = TextTokenizer.train("word", ["Stocks RALLY, officials say!", "It's (Reuters) news..."], 32, 1)
    assert tokenizer.tokens("STOCKS rally, officials say!") == ["stocks", "rally", ",", "officials", "say", "!"]
    assert tokenizer.tokens("It's (Reuters)") == ["it", "'", "s", "(", "reuters", ")"]
    assert tokenizer.tokens("Ｒｅｕｔｅｒｓ") == ["reuters"]  # NFKC folds full-width letters


@pytest.fixture(scope="module")
def english_model(tmp_path_factory):
    model_fn = tmp_path_factory.mktemp("news") / "news.pth"
    result = run_cli("train.py", "--model_fn", model_fn, "--train_fn", NEWS / "news_train.tsv", "--valid_fn",
                     NEWS / "news_valid.tsv", "--rnn", "--transformer", "--linear", *TINY, "--n_epochs", 6)
    assert result.returncode == 0, result.stderr
    return model_fn, result.stdout


def test_transformer_rnn_and_linear_share_one_file_and_one_report(english_model):
    model_fn, stdout = english_model
    data = torch.load(model_fn, weights_only=True)
    assert set(data["models"]) == {"rnn", "transformer"} and data["tokenizer"]["kind"] == "word"
    assert [member["kind"] for member in data["members"]] == ["linear"]
    assert data["models"]["transformer"]["kwargs"]["n_heads"] == 2
    assert set(data["report"]["valid"]) == {"rnn", "transformer", "linear", "ensemble"}
    assert data["report"]["valid"]["ensemble"]["accuracy"] >= 0.9  # the fixture's words decide the topic
    assert data["report"]["valid"]["transformer"]["accuracy"] >= 0.75
    table = stdout[stdout.index("\nmodel ") + 1:].splitlines()
    assert [line.split()[0] for line in table[1:5]] == ["rnn", "transformer", "linear", "ensemble"]
    assert "linear (= baseline)" in stdout and "Training TRANSFORMER" in stdout


def test_classify_serves_each_member_and_the_drop_flags(english_model):
    model_fn, _ = english_model
    lines = ["NASA DISCOVERS a distant planet!", "Chelsea win the championship (Reuters)"]
    result = run_cli("classify.py", "--model_fn", model_fn, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    assert [row.split("\t") for row in result.stdout.splitlines()] == [["science", lines[0]], ["sports", lines[1]]]
    predictor = load_predictor(model_fn)
    assert predictor.model_names == ["rnn", "transformer", "linear"]
    only_linear = run_cli("classify.py", "--model_fn", model_fn, "--drop_rnn", "--drop_transformer", "--output_probs",
                          stdin=lines[0] + "\n")
    linear = predictor.probabilities(lines[:1], None, ["linear"])["linear"][0]
    assert only_linear.stdout.split("\t")[1] == f"{linear.max():.4f}"
    assert_one_line_error(run_cli("classify.py", "--model_fn", model_fn, "--drop_rnn", "--drop_transformer",
                                  "--drop_linear", stdin="x\n"), "every model of the file")


@pytest.mark.parametrize("extra, expected", [
    (["--hidden_size", "10", "--n_heads", "4"], r"--transformer needs --hidden_size \(10\) divisible by --n_heads \(4\)"),
    (["--multi_label"], "--multi_label needs --bert or --linear alone"),
    (["--ff_size", "0"], "--ff_size must be a positive integer, got 0"),
])
def test_bad_transformer_flags_are_user_errors(tmp_path, extra, expected):
    argv = ["--model_fn", str(tmp_path / "m.pth"), "--train_fn", str(NEWS / "news_train.tsv"), "--transformer", *extra]
    with pytest.raises(UserError, match=expected):
        train_main(argv, ROOT / "configs")


def test_ensemble_weights_chosen_on_valid_are_saved_reported_and_served(english_model):
    """The weights minimize the valid log loss, travel in the file, and every path uses the weighted mean."""
    from simple_ntc.data.corpus import CorpusFormat, read_corpus
    from simple_ntc.ensemble import one_hot, validation_loss
    from simple_ntc.evaluate import evaluate
    from simple_ntc.predict import predict_proba

    model_fn, stdout = english_model
    data = torch.load(model_fn, weights_only=True)
    predictor = load_predictor(model_fn)
    if "Ensemble: a plain mean (weights fitted on valid" in stdout:  # they scored below the plain mean on valid
        assert "ensemble_weights" not in data and not hasattr(predictor, "ensemble_weights")
        return
    weights = data["ensemble_weights"]
    assert list(weights) == ["rnn", "transformer", "linear"] and sum(weights.values()) == pytest.approx(1, abs=1e-3)
    assert "Ensemble weights (chosen on valid" in stdout
    assert predictor.ensemble_weights == weights
    valid = read_corpus(NEWS / "news_valid.tsv", CorpusFormat()).examples
    texts = [e.text for e in valid]
    probs = predictor.probabilities(texts)
    weighted = sum(weights[name] * p for name, p in probs.items()) / sum(weights.values())
    assert torch.allclose(predict_proba(predictor, texts), weighted, atol=1e-6)
    assert evaluate(predictor, valid)["ensemble"]["accuracy"] == data["report"]["valid"]["ensemble"]["accuracy"]
    targets = one_hot([predictor.labels.index(e.label) for e in valid], len(predictor.labels))
    stacked = torch.stack(list(probs.values())).numpy()
    fitted = validation_loss(np.array(list(weights.values())), stacked, targets, "single_label")
    assert fitted <= validation_loss(np.full(3, 1 / 3), stacked, targets, "single_label") + 1e-6
    line = "NASA DISCOVERS a distant planet!"
    served = run_cli("classify.py", "--model_fn", model_fn, "--output_probs", stdin=line + "\n")
    assert served.stdout.split("\t")[1] == f"{predict_proba(predictor, [line])[0].max():.4f}"
