"""Serving backends: ONNX fp32 equals PyTorch within 1e-4, int8 keeps the labels; export.py and classify.py flags."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from simple_ntc.data.tokenization import TextTokenizer
from simple_ntc.errors import UserError
from simple_ntc.export import main as export_main
from simple_ntc.model_file import load_model_file, save_model_file
from simple_ntc.models import build_model
from simple_ntc.predict import RNNCNNClassifier, load_predictor, predict_proba
from simple_ntc.serving.agreement import FP32_TOLERANCE, compare
from simple_ntc.serving.backends import load_for_serving
from simple_ntc.serving.onnx_export import export_graphs
from simple_ntc.serving.onnx_predict import onnx_predictor, read_graphs
from tests.conftest import CLASSIFICATION, FIXTURES, ROOT, assert_one_line_error, run_cli
from tests.tiny_bert import build_tiny_bert, corpus_texts

LABELS = ["negative", "positive"]
CONFIG_DIR = ROOT / "configs"


def read_tsv(name):
    rows = [line.split("\t") for line in (CLASSIFICATION / name).read_text(encoding="utf-8").splitlines()]
    return [r[1] for r in rows], [LABELS.index(r[0]) for r in rows]


TRAIN, TEST = read_tsv("sentiment_train.tsv"), read_tsv("sentiment_test.tsv")
# the test fixture plus texts shorter than the CNN's widest window, unknown words and English
TEXTS = TEST[0] + ["최고", "a", "완전 completely unknown words", "스토리 " * 40]


def fit_briefly(probs_of, model: nn.Module, batches, epochs: int, lr: float) -> None:
    """A few epochs of a plain loop: decisive probabilities, so int8 label checks do not hinge on ties."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for inputs, y in batches:
            optimizer.zero_grad()
            nn.functional.nll_loss(probs_of(model, inputs), y).backward()
            optimizer.step()
    model.eval()


@pytest.fixture(scope="module")
def rnn_cnn_file(tmp_path_factory):
    torch.manual_seed(0)
    tokenizer = TextTokenizer.train("space", TRAIN[0], max_length=64)
    common = {"input_size": tokenizer.vocab_size, "word_vec_size": 16, "n_classes": 2, "pad_id": tokenizer.pad_id}
    models = {"rnn": build_model("rnn", {**common, "hidden_size": 16, "n_layers": 2}),
              "cnn": build_model("cnn", {**common, "window_sizes": [3, 4, 5], "n_filters": [8, 8, 8]})}
    predictor = RNNCNNClassifier(tokenizer, LABELS, models)
    ids, y = tokenizer.encode(TRAIN[0]), torch.tensor(TRAIN[1])
    batches = [(predictor_batch(predictor, ids[i:i + 32]), y[i:i + 32]) for i in range(0, len(ids), 32)]
    for model in models.values():
        fit_briefly(lambda m, b: m(*b), model, batches, epochs=4, lr=0.01)
    path = tmp_path_factory.mktemp("rnn_cnn") / "sentiment.pth"
    save_model_file(path, predictor.to_file_data())
    return path


def predictor_batch(predictor, rows):
    from simple_ntc.data.dataset import pad_rows

    return pad_rows(rows, predictor.tokenizer.pad_id), torch.tensor([len(r) for r in rows])


@pytest.fixture(scope="module")
def plm_file(tmp_path_factory):
    from simple_ntc.plm.model import load_pretrained
    from simple_ntc.plm.predict import PLMClassifier

    work = tmp_path_factory.mktemp("plm")
    tiny = build_tiny_bert(work / "tiny-bert", corpus_texts(*FIXTURES.glob("*/*.tsv")))
    torch.manual_seed(0)
    model, tokenizer, _ = load_pretrained(str(tiny), LABELS, multi_label=False)
    predictor = PLMClassifier(model, tokenizer, LABELS, batch_size=32)
    features, y = predictor.encode(TRAIN[0]), torch.tensor(TRAIN[1])
    batches = [(predictor.collate([(j, f, None) for j, f in enumerate(features[i:i + 16])])["inputs"], y[i:i + 16])
               for i in range(0, len(features), 16)]
    fit_briefly(lambda m, inputs: torch.log_softmax(m(**inputs).logits, -1), model, batches, epochs=3, lr=3e-3)
    path = work / "sentiment_bert.pth"
    save_model_file(path, predictor.to_file_data())
    return path


def assert_int8_keeps_labels(reference, int8, texts, labels):
    """Labels equal wherever fp32 is not a near-tie (>= 99% overall), accuracy within 0.5 point."""
    expected, actual = predict_proba(reference, texts), predict_proba(int8, texts)
    decisive = (expected.max(dim=-1).values - 0.5).abs() > 0.05
    same = expected.argmax(-1) == actual.argmax(-1)
    assert bool(same[decisive].all()) and float(same.float().mean()) >= 0.99
    y = torch.tensor(labels)
    accuracy = [float((p.argmax(-1) == y).float().mean()) for p in (expected, actual)]
    assert accuracy[0] > 0.75  # trained: a meaningful check of int8
    assert abs(accuracy[0] - accuracy[1]) <= 0.005 + 1 / len(labels)  # one line of 80 at most


def test_onnx_fp32_equals_pytorch_within_1e4_for_rnn_and_cnn(rnn_cnn_file):
    reference = load_predictor(rnn_cnn_file)
    candidate = onnx_predictor(export_graphs(load_model_file(rnn_cnn_file), rnn_cnn_file), rnn_cnn_file)
    assert candidate.model_names == ["rnn", "cnn"]
    expected, actual = reference.probabilities(TEXTS), candidate.probabilities(TEXTS)
    for name in ("rnn", "cnn"):
        assert (expected[name] - actual[name]).abs().max() < FP32_TOLERANCE


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_int8_keeps_the_fp32_labels_for_rnn_and_cnn(rnn_cnn_file, backend):
    reference = load_predictor(rnn_cnn_file)
    int8 = load_for_serving(rnn_cnn_file, backend, "int8")
    assert_int8_keeps_labels(reference, int8, TEST[0], TEST[1])
    if backend == "torch":  # the layers really are int8
        assert type(int8.models["rnn"].rnn).__module__ == "torch.ao.nn.quantized.dynamic.modules.rnn"
        assert int8.models["cnn"].generator.weight().dtype == torch.qint8


def test_bert_onnx_fp32_within_1e4_and_int8_keeps_labels(plm_file):
    reference = load_predictor(plm_file)
    fp32 = load_for_serving(plm_file, "onnxruntime")
    assert compare(reference, fp32, TEXTS).max_abs_diff < FP32_TOLERANCE
    for backend in ("torch", "onnxruntime"):
        assert_int8_keeps_labels(reference, load_for_serving(plm_file, backend, "int8"), TEST[0], TEST[1])


def test_pair_and_multi_label_bert_graphs_keep_inputs_thresholds_and_probabilities(tmp_path):
    from simple_ntc.plm.model import load_pretrained
    from simple_ntc.plm.predict import PLMClassifier

    tiny = build_tiny_bert(tmp_path / "tiny", corpus_texts(CLASSIFICATION / "sentiment_train.tsv"))
    labels = ["a", "b", "c"]
    model, tokenizer, _ = load_pretrained(str(tiny), labels, multi_label=True)
    saved = PLMClassifier(model, tokenizer, labels, multi_label=True, pair=True, thresholds=[0.3, 0.5, 0.7])
    path = tmp_path / "pairs.pth"
    save_model_file(path, saved.to_file_data())
    reference, candidate = load_predictor(path), load_for_serving(path, "onnxruntime")
    assert (candidate.multi_label, candidate.pair, candidate.thresholds) == (True, True, [0.3, 0.5, 0.7])
    assert "token_type_ids" in candidate.input_names
    pairs = TEXTS[::-1]
    assert compare(reference, candidate, TEXTS, pairs).max_abs_diff < FP32_TOLERANCE
    swapped = predict_proba(candidate, pairs, TEXTS)  # the second text matters: it is a pair model
    assert (swapped - predict_proba(candidate, TEXTS, pairs)).abs().max() > 1e-3


def test_export_cli_writes_a_directory_that_classify_runs_like_pytorch(rnn_cnn_file, tmp_path):
    output = tmp_path / "out" / "sentiment.onnx"
    result = run_cli("export.py", "--model_fn", rnn_cnn_file, "--output", output, "--quantize", "int8")
    assert result.returncode == 0, result.stderr
    assert "ONNX fp32 vs PyTorch: max |p - p_fp32| =" in result.stdout and "ONNX int8 vs PyTorch fp32" in result.stdout
    assert sorted(p.name for p in output.iterdir()) == ["cnn.onnx", "rnn.onnx"]
    graphs = read_graphs(output)
    assert [g.metadata["quantized"] for g in graphs] == ["int8", "int8"]
    assert graphs[0].metadata["labels"] == LABELS and graphs[0].metadata["tokenizer"]["kind"] == "space"
    lines = ["이 영화 정말 최고예요", "", "스토리 너무 지루해요", "최고"]
    stdin = "".join(line + "\n" for line in lines)
    onnx_run = run_cli("classify.py", "--model_fn", output, "--output_probs", stdin=stdin)
    torch_run = run_cli("classify.py", "--model_fn", rnn_cnn_file, "--output_probs", stdin=stdin)
    assert onnx_run.returncode == 0, onnx_run.stderr
    onnx_rows, torch_rows = onnx_run.stdout.splitlines(), torch_run.stdout.splitlines()
    assert [r.split("\t")[0] for r in onnx_rows] == [r.split("\t")[0] for r in torch_rows]
    assert [r.split("\t", 2)[2] for r in onnx_rows] == lines and onnx_rows[1] == "\t\t"


def test_export_and_serving_mistakes_are_one_line_errors(rnn_cnn_file, tmp_path):
    (tmp_path / "a_file.onnx").write_text("not a graph")
    assert_one_line_error(run_cli("export.py", "--model_fn", rnn_cnn_file, "--output", tmp_path / "a_file.onnx"),
                          "exports to a directory of <model>.onnx files")
    assert_one_line_error(run_cli("classify.py", "--model_fn", tmp_path / "a_file.onnx", stdin="x\n"),
                          "cannot read ONNX model")
    other = tmp_path / "other.pth"
    save_model_file(other, {"kind": "linear", "labels": LABELS})
    with pytest.raises(UserError, match=r"ONNX export does not support 'linear' models \(supported: rnn_cnn, plm\)"):
        export_main(["--model_fn", str(other), "--output", str(tmp_path / "o.onnx")], CONFIG_DIR)
    for backend in ("torch", "onnxruntime"):
        feature = "--quantize int8 with --backend torch" if backend == "torch" else "--backend onnxruntime"
        with pytest.raises(UserError, match=f"{feature} does not support 'linear' models"):
            load_for_serving(other, backend, "int8")
    graphs = export_graphs(load_model_file(rnn_cnn_file), rnn_cnn_file)
    (tmp_path / "cnn.onnx").write_bytes(graphs[1].onnx_bytes)
    with pytest.raises(UserError, match="is an ONNX export: run it with --backend onnxruntime"):
        load_for_serving(tmp_path / "cnn.onnx", "torch")
    assert load_for_serving(tmp_path / "cnn.onnx").model_names == ["cnn"]  # the backend follows the file
    with pytest.raises(UserError, match="holds other files"):
        export_main(["--model_fn", str(rnn_cnn_file), "--output", str(tmp_path)], CONFIG_DIR)


def test_int8_keeps_the_linear_member_and_onnx_refuses_what_it_cannot_serve(tmp_path):
    from simple_ntc.train import main as train_main

    model_fn = tmp_path / "joint.pth"
    train_main(["--model_fn", str(model_fn), "--train_fn", str(CLASSIFICATION / "sentiment_train.tsv"),
                "--valid_fn", str(CLASSIFICATION / "sentiment_valid.tsv"), "--cnn", "--linear", "--tokenizer", "space",
                "--word_vec_size", "16", "--n_filters", "8", "8", "--window_sizes", "3", "4", "--n_epochs", "2",
                "--verbose", "0"], CONFIG_DIR)
    fp32, int8 = load_predictor(model_fn), load_for_serving(model_fn, "torch", "int8")
    assert int8.model_names == fp32.model_names and len(fp32.model_names) == 2  # the CNN and the TF-IDF member
    linear = [name for name in fp32.model_names if name != "cnn"]
    assert torch.equal(int8.probabilities(TEXTS, None, linear)[linear[0]],
                       fp32.probabilities(TEXTS, None, linear)[linear[0]])
    with pytest.raises(UserError, match=r"joint.pth: --backend onnxruntime does not serve the --linear \(TF-IDF\) member"):
        load_for_serving(model_fn, "onnxruntime")
    data = load_model_file(model_fn)
    transformer = tmp_path / "transformer.pth"
    save_model_file(transformer, {**data, "members": [], "models": {**data["models"], "transformer": {}}})
    for backend, quantize in [("torch", "int8"), ("onnxruntime", "none")]:
        with pytest.raises(UserError, match="does not support the --transformer model yet; use --backend torch"):
            load_for_serving(transformer, backend, quantize)
    regression = tmp_path / "regression.pth"
    save_model_file(regression, {**data, "members": [], "regression": True})
    with pytest.raises(UserError, match="--backend onnxruntime does not support --regression models yet"):
        load_for_serving(regression, "onnxruntime")
    result = run_cli("export.py", "--model_fn", regression, "--output", tmp_path / "out")
    assert_one_line_error(result, "ONNX export does not support --regression models yet")


@pytest.mark.parametrize("backend, quantize", [("torch", "none"), ("torch", "int8"), ("onnxruntime", "none")])
def test_every_backend_applies_the_saved_ensemble_weights(rnn_cnn_file, tmp_path, backend, quantize):
    weighted = tmp_path / "weighted.pth"
    save_model_file(weighted, {**load_model_file(rnn_cnn_file), "ensemble_weights": {"rnn": 0.0, "cnn": 1.0}})
    predictor = load_for_serving(weighted, backend, quantize)
    assert predictor.ensemble_weights == {"rnn": 0.0, "cnn": 1.0}
    cnn_alone = predictor.probabilities(TEXTS, None, ["cnn"])["cnn"]
    assert torch.allclose(predict_proba(predictor, TEXTS), cnn_alone, atol=1e-6)
    if backend == "onnxruntime":  # the weights travel inside export.py's graphs too
        output = tmp_path / "weighted.onnx"
        assert run_cli("export.py", "--model_fn", weighted, "--output", output).returncode == 0
        assert torch.allclose(predict_proba(load_for_serving(output), TEXTS), cnn_alone, atol=1e-4)


def test_classify_serves_an_rnn_cnn_export_without_importing_torch(rnn_cnn_file, tmp_path):
    """A stand-in ``torch`` that cannot be imported: the export still classifies, as PyTorch does."""
    weighted = tmp_path / "weighted.pth"
    save_model_file(weighted, {**load_model_file(rnn_cnn_file), "ensemble_weights": {"rnn": 0.25, "cnn": 0.75}})
    output = tmp_path / "weighted.onnx"
    assert run_cli("export.py", "--model_fn", weighted, "--output", output).returncode == 0
    blocked = tmp_path / "blocked" / "torch"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('torch is blocked by this test')\n")
    lines = ["이 영화 정말 최고예요", "", "스토리 너무 지루해요", "최고", "a"]
    stdin = "".join(line + "\n" for line in lines)
    without = run_cli("classify.py", "--model_fn", output, "--top_k", 2, "--output_probs", stdin=stdin,
                      env={"PYTHONPATH": str(blocked.parent)})
    assert without.returncode == 0, without.stderr
    with_torch = run_cli("classify.py", "--model_fn", weighted, "--top_k", 2, "--output_probs", stdin=stdin)
    rows, expected = [r.split("\t") for r in without.stdout.splitlines()], [r.split("\t") for r in with_torch.stdout.splitlines()]
    assert [r[0] for r in rows] == [r[0] for r in expected] and [r[2] for r in rows] == lines
    for row, reference in zip(rows, expected):
        assert [float(p) for p in row[1].split()] == pytest.approx([float(p) for p in reference[1].split()], abs=2e-4)
    # the same stand-in stops the paths that need PyTorch, so the check above is not vacuous
    assert "torch is blocked" in run_cli("classify.py", "--model_fn", weighted, stdin=stdin,
                                         env={"PYTHONPATH": str(blocked.parent)}).stderr


def test_batches_side_by_side_on_several_threads_give_the_same_probabilities(rnn_cnn_file):
    from simple_ntc.serving.onnx_numpy import NumpyRNNCNNClassifier

    graphs = export_graphs(load_model_file(rnn_cnn_file), rnn_cnn_file)
    one = NumpyRNNCNNClassifier(graphs, batch_size=3, threads=1)
    two = NumpyRNNCNNClassifier(graphs, batch_size=3, threads=2)
    assert one.runner.pool is None and two.runner.pool is not None
    expected, actual = one.numpy_probabilities(TEXTS), two.numpy_probabilities(TEXTS)
    reference = load_predictor(rnn_cnn_file).probabilities(TEXTS)
    for name in ("rnn", "cnn"):
        assert (expected[name] == actual[name]).all()  # each batch runs on one thread either way
        assert abs(actual[name] - reference[name].numpy()).max() < FP32_TOLERANCE


def test_a_bert_graph_runs_its_batches_side_by_side_with_the_same_probabilities(plm_file):
    from simple_ntc.serving.onnx_predict import OnnxPLMClassifier

    graph = export_graphs(load_model_file(plm_file), plm_file)[0]
    threads = torch.get_num_threads()
    try:  # the predictor takes PyTorch's thread count, as classify.py sets it
        torch.set_num_threads(1)
        one = OnnxPLMClassifier(graph, batch_size=2)
        torch.set_num_threads(2)
        two = OnnxPLMClassifier(graph, batch_size=2)
    finally:
        torch.set_num_threads(threads)
    assert one.runner.pool is None and two.runner.pool is not None
    texts = TEST[0][:7]  # four batches, the last one short
    expected, actual = one.probabilities(texts)[one.name], two.probabilities(texts)[two.name]
    assert torch.equal(expected, actual)  # each batch runs on one thread either way, in input order
    reference = load_predictor(plm_file).probabilities(texts)
    assert (actual - next(iter(reference.values()))).abs().max() < FP32_TOLERANCE


def test_classify_serves_a_bert_export_through_onnx_runtime_like_pytorch(plm_file, tmp_path):
    """Not an RNN/CNN export: classify.py reads the graph once and hands it to the PyTorch-side ONNX predictor."""
    output = tmp_path / "bert.onnx"
    assert run_cli("export.py", "--model_fn", plm_file, "--output", output).returncode == 0
    stdin = "".join(text + "\n" for text in TEST[0][:6])
    onnx_run = run_cli("classify.py", "--model_fn", output, "--output_probs", stdin=stdin)
    torch_run = run_cli("classify.py", "--model_fn", plm_file, "--output_probs", stdin=stdin)
    assert onnx_run.returncode == 0, onnx_run.stderr
    rows, expected = [r.split("\t") for r in onnx_run.stdout.splitlines()], [r.split("\t") for r in torch_run.stdout.splitlines()]
    assert [r[0] for r in rows] == [r[0] for r in expected] and [r[2] for r in rows] == TEST[0][:6]
    assert [float(r[1]) for r in rows] == pytest.approx([float(r[1]) for r in expected], abs=2e-4)
