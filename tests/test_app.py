"""app.py: answers like classify.py and summarize.py, its model panel, start-up errors, and the page in a real browser.

The models are trained once through train.py (tiny RNN+CNN ensemble, tiny BART), which also checks that those
trainings write their training curves beside the model. Pair and multi-label models are untrained tiny BERTs:
the page must answer exactly as classify.py does for any weights. The browser test drives Debian's chromium
through Playwright and skips, saying why, only where no browser is installed (``make test`` installs one).
"""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
import torch

from simple_ntc.app.classifier import ClassifierService
from simple_ntc.app.cli import build_parser, main as app_main
from simple_ntc.app.model_panel import classifier_panel, summarizer_panel
from simple_ntc.app.page import build_page, classify_handler, prediction_markdown
from simple_ntc.app.summarizer import SummarizerService
from simple_ntc.classify import format_rows
from simple_ntc.curves import CurveHistory
from simple_ntc.errors import run_cli
from simple_ntc.model_file import save_model_file
from simple_ntc.predict import load_predictor
from tests.conftest import CLASSIFICATION, FIXTURES, ROOT, free_port
from tests.conftest import run_cli as run_root_script
from tests.tiny_bert import build_tiny_bert, corpus_texts

CONFIGS = ROOT / "configs"
SUMMARIES = FIXTURES / "summarization"
TINY_RNN_CNN = ["--word_vec_size", 16, "--hidden_size", 16, "--n_layers", 1, "--n_filters", 8, 8, 8,
                "--batch_size", 32, "--tokenizer", "space", "--lr", 0.01, "--n_epochs", 3, "--verbose", 0]
TINY_BART = ["--d_model", 64, "--encoder_layers", 1, "--decoder_layers", 1, "--attention_heads", 2, "--ffn_dim", 128,
             "--vocab_size", 300, "--dropout", 0, "--max_length", 30, "--num_beams", 2, "--n_epochs", 4,
             "--batch_size", 8, "--lr", 3e-3, "--verbose", 0]
PAIR_LABELS = ["contradiction", "entailment", "neutral"]
MULTI_LABELS = ["여성/가족", "남성", "기타 혐오", "악플/욕설", "clean"]
LINES = ["영상미 너무 재미있어요!", "스토리 돈이 아까워요 ㅠㅠ", "a gorgeous, witty movie", "처음 보는 단어들뿐"]
PAIRS = [("철수는 사과를 좋아한다", "철수는 사과를 싫어한다"), ("the cat sleeps", "a cat is asleep"), ("영희는 빵을 샀다", "")]
KOREAN_DIALOGUE = "#Person1#: 커피 한 잔 주세요.\n#Person2#: 따뜻한 걸로 드릴까요?\n#Person1#: 네, 따뜻한 걸로요."
BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> SimpleNamespace:
    """A tiny RNN+CNN ensemble and a tiny BART summarizer, trained by train.py's pipelines (in this process)."""
    from chat_summarization.train import main as train_summarizer
    from simple_ntc.train import main as train_classifier

    work = tmp_path_factory.mktemp("app-models")
    classifier, summarizer = work / "sentiment.pth", work / "summarizer"
    train_classifier(strings("--model_fn", classifier, "--train_fn", CLASSIFICATION / "sentiment_train.tsv",
                             "--valid_fn", CLASSIFICATION / "sentiment_valid.tsv", "--test_fn",
                             CLASSIFICATION / "sentiment_test.tsv", "--rnn", "--cnn", *TINY_RNN_CNN), CONFIGS)
    train_summarizer(strings("--task", "summarization", "--model_fn", summarizer, "--train_fn",
                             SUMMARIES / "train.csv", "--valid_fn", SUMMARIES / "valid.csv", *TINY_BART), CONFIGS)
    return SimpleNamespace(classifier=classifier, summarizer=summarizer)


def strings(*args: object) -> list[str]:
    return [str(arg) for arg in args]


def run_script(monkeypatch, capsys, script: str, *args: object) -> str:
    """A root CLI run in this process as the shell would run it; its stdout (exit code 0 asserted)."""
    spec = importlib.util.spec_from_file_location(f"_{script}_script", ROOT / f"{script}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", [f"{script}.py", *strings(*args)])
    with pytest.raises(SystemExit) as exit_info:
        run_cli(module.main)
    captured = capsys.readouterr()
    assert exit_info.value.code == 0, captured.err
    return captured.out


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("pretrained") / "tiny-bert",
                           corpus_texts(*FIXTURES.glob("*/*.tsv")), n_layers=1)


def save_untrained_bert(path: Path, tiny_bert: Path, labels: list[str], multi_label: bool, pair: bool) -> Path:
    from simple_ntc.plm.model import load_pretrained
    from simple_ntc.plm.predict import PLMClassifier

    torch.manual_seed(0)
    model, tokenizer, _ = load_pretrained(str(tiny_bert), labels, multi_label)
    thresholds = [0.45, 0.5, 0.55, 0.5, 0.4][:len(labels)]
    predictor = PLMClassifier(model, tokenizer, labels, multi_label, pair, 32, thresholds, source=str(tiny_bert))
    save_model_file(path, {**predictor.to_file_data(), "config": {"train_fn": "made-up.tsv"}, "report": {}})
    return path


@pytest.fixture(scope="module")
def pair_model(tmp_path_factory, tiny_bert) -> Path:
    return save_untrained_bert(tmp_path_factory.mktemp("pair") / "nli.pth", tiny_bert, PAIR_LABELS, False, True)


@pytest.fixture(scope="module")
def multi_label_model(tmp_path_factory, tiny_bert) -> Path:
    return save_untrained_bert(tmp_path_factory.mktemp("multi") / "unsmile.pth", tiny_bert, MULTI_LABELS, True, False)


def classify_py_fields(predictor, line: str, models=None, top_k: int = 1) -> tuple[str, str]:
    """(labels, probabilities) as ``classify.py --output_probs`` prints them for one line."""
    labels, probs, _ = format_rows(predictor, [line], models or predictor.model_names, top_k, True)[0].split("\t", 2)
    return labels, probs


def expected_probs(prediction) -> str:
    table = dict(prediction.probabilities)
    return " ".join(f"{table[label]:.4f}" for label in prediction.predicted)


# --- training writes curves -------------------------------------------------------------------------------

def test_rnn_cnn_and_summarization_training_write_their_curves(trained):
    assert (trained.classifier.parent / "sentiment.curves.png").read_bytes().startswith(b"\x89PNG")
    assert (trained.summarizer.parent / "summarizer.curves.png").read_bytes().startswith(b"\x89PNG")
    for name in ("rnn", "cnn"):
        history = CurveHistory.from_dict(json.loads(
            (trained.classifier.parent / "sentiment.pth.ckpt" / name / "curves.json").read_text(encoding="utf-8")))
        assert history.name == name and len(history.epoch_ends) == 3 and len(history.validations) == 3
    summary_history = CurveHistory.from_dict(json.loads(
        (trained.summarizer.parent / "summarizer.ckpt" / "curves.json").read_text(encoding="utf-8")))
    assert summary_history.valid_metric == "rouge_mean"
    assert {"rouge1", "rouge2", "rougeL", "rouge_mean", "loss"} <= set(summary_history.validations[-1].metrics)


# --- answers ------------------------------------------------------------------------------------------------

def test_ensemble_answers_like_classify_py_for_each_model_choice_and_top_k(trained):
    predictor = load_predictor(trained.classifier)
    for top_k in (1, 2):
        service = ClassifierService(predictor, top_k)
        assert service.model_choices == ["ensemble", "rnn", "cnn"]
        for line in LINES:
            for choice, models in (("ensemble", None), ("rnn", ["rnn"]), ("cnn", ["cnn"])):
                prediction = service.predict(line, model=choice)
                labels, probs = classify_py_fields(predictor, line, models, top_k)
                assert (prediction.label_field, expected_probs(prediction)) == (labels, probs), (line, choice)
                assert sum(p for _, p in prediction.probabilities) == pytest.approx(1.0, abs=1e-5)


def test_pair_and_multi_label_models_answer_like_classify_py(pair_model, multi_label_model):
    pair = ClassifierService(load_predictor(pair_model))
    assert pair.model_choices == ["bert"]
    for text, text_pair in PAIRS:
        labels, probs = classify_py_fields(pair.predictor, f"{text}\t{text_pair}")
        prediction = pair.predict(text, text_pair)
        assert (prediction.label_field, expected_probs(prediction)) == (labels, probs)
    multi = ClassifierService(load_predictor(multi_label_model))
    fields = set()
    for line in LINES:
        prediction = multi.predict(line)
        labels, probs = classify_py_fields(multi.predictor, line)
        assert (prediction.label_field, expected_probs(prediction)) == (labels, probs)
        assert prediction.thresholds == dict(zip(MULTI_LABELS, [0.45, 0.5, 0.55, 0.5, 0.4]))
        fields.add(prediction.label_field)
    assert len(fields) > 1 or "," in fields.pop()  # the lines do not all get one single label


def test_empty_input_gets_no_label():
    service = ClassifierService(SimpleNamespace(pair=False, model_names=["rnn"]))
    assert service.predict("  \n") is None
    assert prediction_markdown(None) == "*Type a text to classify.*"


def test_word_highlighting_plugs_in_with_one_scoring_function(trained):
    predictor = load_predictor(trained.classifier)
    calls = []

    def word_scorer(text, text_pair, label):
        calls.append((text, text_pair, label))
        return [(word, -0.5 if word == "아까워요" else 0.25) for word in text.split()]

    service = ClassifierService(predictor, word_scorer=word_scorer)
    markdown, chart, words = classify_handler(service)("스토리 돈이 아까워요", "ensemble")
    label = service.predict("스토리 돈이 아까워요").label_field
    assert calls[0] == ("스토리 돈이 아까워요", None, label)
    assert words == [("스토리", 0.5), (" ", None), ("돈이", 0.5), (" ", None), ("아까워요", -1.0)]
    assert markdown.startswith(f"**Prediction:** `{label}`") and set(chart) == {"positive", "negative"}
    assert classify_handler(ClassifierService(predictor))("스토리 돈이 아까워요", "ensemble")[2] is None


def page_components(page) -> dict[str, dict]:
    return {c["props"]["elem_id"]: c["props"] for c in page.config["components"] if c["props"].get("elem_id")}


def test_the_page_has_the_parts_of_each_model_kind(trained, pair_model, tmp_path):
    predictor = load_predictor(trained.classifier)
    ensemble = page_components(build_page(ClassifierService(predictor), None, []))
    assert [value for _, value in ensemble["classify-model"]["choices"]] == ["ensemble", "rnn", "cnn"]
    assert ensemble["classify-words"]["visible"] is False and "summarize-dialogue" not in ensemble
    scored = page_components(build_page(ClassifierService(predictor, word_scorer=lambda *_: []), None, []))
    assert scored["classify-words"]["visible"] is True
    pair = page_components(build_page(ClassifierService(load_predictor(pair_model)), None, []))
    assert {"classify-text", "classify-text-pair", "classify-button"} <= set(pair) and "classify-model" not in pair
    summarizer = SummarizerService.load(trained.summarizer, torch.device("cpu"))
    only_summaries = page_components(build_page(None, summarizer, [summarizer_panel(summarizer)]))
    assert {"summarize-dialogue", "summarize-button", "summary"} <= set(only_summaries)
    assert "classify-text" not in only_summaries


# --- model panel --------------------------------------------------------------------------------------------

def test_model_panel_shows_labels_scores_confusion_matrices_and_curves(trained, tmp_path):
    predictor = load_predictor(trained.classifier)
    data = torch.load(trained.classifier, weights_only=True)
    panel = classifier_panel(trained.classifier, data, predictor, tmp_path)
    assert "**Labels (2):** `negative`, `positive`" in panel.description
    assert "RNN + CNN ensemble" in panel.description and "tokenizer `space`" in panel.description
    for split in ("valid", "test"):
        for name in ("rnn", "cnn", "ensemble"):
            accuracy = data["report"][split][name]["accuracy"]
            assert f"| {split} | {name} | 80 | {accuracy:.4f} |" in panel.scores
    assert [(f.caption, f.path.name) for f in panel.confusion] == [
        ("valid / ensemble", "sentiment.valid.confusion.png"), ("test / ensemble", "sentiment.test.confusion.png")]
    assert panel.curves.path == trained.classifier.parent / "sentiment.curves.png"

    alone = shutil.copy(trained.classifier, tmp_path / "moved.pth")  # without the PNGs train.py wrote beside it
    workdir = tmp_path / "drawn"
    workdir.mkdir()
    moved = classifier_panel(alone, data, predictor, workdir)
    assert [f.path for f in moved.confusion] == [workdir / "valid.confusion.png", workdir / "test.confusion.png"]
    assert all(f.path.read_bytes().startswith(b"\x89PNG") for f in moved.confusion)
    assert moved.curves is None and "No training curves beside the model (moved.curves.png)" in moved.curves_note


def test_summarizer_answers_like_summarize_py_and_has_a_panel(trained, tmp_path, monkeypatch, capsys):
    service = SummarizerService.load(trained.summarizer, torch.device("cpu"))
    dialogue = "#Person1#: 숙제 다 했니?\r\n#Person2#: 아직요, 영어 숙제가 남았어요.\r\n"
    assert service.summarize(dialogue) == summarize_py(monkeypatch, capsys, trained.summarizer, dialogue, tmp_path)
    assert service.summarize("  ") is None
    panel = summarizer_panel(service)
    assert "**Generation:** 2 beam(s), at most 30 tokens" in panel.description
    assert panel.curves.path == trained.summarizer.parent / "summarizer.curves.png"
    wider = SummarizerService.load(trained.summarizer, torch.device("cpu"), num_beams=3, max_length=12)
    assert (wider.settings.num_beams, wider.settings.max_length) == (3, 12)


def summarize_py(monkeypatch, capsys, model_dir: Path, dialogue: str, work: Path) -> str:
    """The summary summarize.py writes for one dialogue."""
    source, output = work / "one.csv", work / "one.out.csv"
    with open(source, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([("fname", "dialogue"), ("one", dialogue)])
    run_script(monkeypatch, capsys, "summarize", "--model_fn", model_dir, "--test_fn", source, "--output", output,
               "--no-progress")
    with open(output, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[1][1]


# --- start-up -----------------------------------------------------------------------------------------------

@pytest.fixture
def app_cli(monkeypatch, capsys):
    """Run app.py's main in this process: (exit code, stderr). Only for runs that must stop before serving."""

    def invoke(*args: object) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["app.py", *map(str, args)])
        monkeypatch.setattr("simple_ntc.app.cli.serve", lambda *_: pytest.fail("app.py started serving"))
        with pytest.raises(SystemExit) as exit_info:
            run_cli(lambda: app_main(sys.argv[1:], CONFIGS))
        return exit_info.value.code, capsys.readouterr().err

    return invoke


def assert_one_line(code: int, err: str, expected: str) -> None:
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("app.py: error: ") and expected in err, err


def test_a_missing_or_damaged_model_is_a_one_line_error_at_start_up(app_cli, trained, tmp_path):
    assert_one_line(*app_cli("--model_fn", tmp_path / "none.pth"), f"model file not found: {tmp_path / 'none.pth'}")
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(trained.classifier.read_bytes()[:2000])
    assert_one_line(*app_cli("--model_fn", damaged), f"cannot read model file {damaged}: it is damaged")
    foreign = tmp_path / "foreign.pth"
    torch.save({"weights": torch.zeros(2)}, foreign)
    assert_one_line(*app_cli("--model_fn", foreign), f"{foreign} is not a simple-ntc classifier model file")
    assert_one_line(*app_cli("--summarizer", tmp_path / "none"), f"model directory not found: {tmp_path / 'none'}")
    broken = shutil.copytree(trained.summarizer, tmp_path / "broken-summarizer")
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    assert_one_line(*app_cli("--summarizer", broken), str(broken))


@pytest.mark.parametrize("args, expected", [
    ([], "nothing to serve: give --model_fn (a classifier) and/or --summarizer"),
    (["--port", "70000", "--model_fn", "m.pth"], "--port must be in 1..65535, got 70000"),
    (["--top_k", "0", "--model_fn", "m.pth"], "--top_k must be a positive integer, got 0"),
    (["--threshold", "1.5", "--model_fn", "m.pth"], "--threshold must be in (0, 1), got 1.5"),
    (["--num_beams", "2", "--model_fn", "m.pth"], "--num_beams applies to a summarizer; give --summarizer"),
    (["--model_fn", "m.pth", "--host", "no.such.host.invalid"], "--host no.such.host.invalid: not an address"),
])
def test_flag_mistakes_are_one_line_errors(app_cli, args, expected):
    assert_one_line(*app_cli(*args), expected)


def test_model_and_port_mistakes_are_one_line_errors(app_cli, trained):
    assert_one_line(*app_cli("--model_fn", trained.classifier, "--threshold", "0.3"),
                    "--threshold applies to multi-label models")
    assert_one_line(*app_cli("--model_fn", trained.classifier, "--top_k", "3"), "--top_k 3 exceeds the 2 labels")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_one_line(*app_cli("--model_fn", trained.classifier, "--port", port),
                        f"cannot listen on 127.0.0.1:{port}")


def test_every_flag_has_help_and_a_yaml_default():
    import yaml

    parser = build_parser()
    flags = {a.dest: a for a in parser._actions if a.option_strings and a.dest != "help"}
    assert set(yaml.safe_load((CONFIGS / "app.yaml").read_text(encoding="utf-8"))) == set(flags)
    assert all(action.help and action.help.strip() for action in flags.values())


# --- in a real browser --------------------------------------------------------------------------------------

def find_chromium() -> str:
    """Debian's chromium (or $SIMPLE_NTC_CHROMIUM), driven through Playwright; skip, saying why, without them."""
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                        "(pip install -r requirements-dev.txt)")
    for candidate in (os.environ.get("SIMPLE_NTC_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        path = candidate and shutil.which(candidate)
        if path:
            return path
    pytest.skip("no Chromium browser to drive (Debian: apt-get install chromium; `make test` installs it when it can)")




@pytest.fixture(scope="module")
def served(trained, tmp_path_factory):
    """app.py with both models, in its own process, on a free port of this machine."""
    chromium = find_chromium()
    port = free_port()
    log = tmp_path_factory.mktemp("app-log") / "app.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--model_fn", str(trained.classifier),
                                    "--summarizer", str(trained.summarizer), "--port", str(port)],
                                   cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 180
        while True:
            assert process.poll() is None, log.read_text(encoding="utf-8")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    # the line is printed just after the server starts answering
                    if response.status == 200 and "app.py: serving on" in log.read_text(encoding="utf-8"):
                        break
            except OSError:
                pass
            assert time.time() < deadline, "app.py did not start serving: " + log.read_text(encoding="utf-8")
            time.sleep(0.5)
        assert f"app.py: serving on http://127.0.0.1:{port}" in log.read_text(encoding="utf-8")
        yield SimpleNamespace(url=url, chromium=chromium)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_page_in_a_real_browser_answers_like_the_command_line_tools(served, trained, tmp_path, monkeypatch,
                                                                          capsys):
    from playwright.sync_api import expect, sync_playwright

    line = "영상미 너무 재미있어요!"
    outside = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=served.chromium, args=BROWSER_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda request: outside.append(request.url)
                if urlparse(request.url).scheme in ("http", "https", "ws", "wss")
                and urlparse(request.url).hostname not in ("127.0.0.1", "localhost") else None)
        page.goto(served.url, wait_until="networkidle")

        page.locator("#classify-text textarea").fill(line)
        page.locator("#classify-button").click()
        table = page.locator("#classify-prediction table")
        table.wait_for(timeout=60_000)
        label = page.locator("#classify-prediction p code").first.inner_text()
        cells = [row.locator("td").all_inner_texts() for row in table.locator("tbody tr").all()]
        page.screenshot(path=tmp_path / "classify.png", full_page=True)

        page.get_by_role("tab", name="Summarize").click()
        page.locator("#summarize-dialogue textarea").fill(KOREAN_DIALOGUE)
        page.locator("#summarize-button").click()
        summary_box = page.locator("#summary textarea")
        expect(summary_box).not_to_have_value("", timeout=60_000)
        summary = summary_box.input_value()
        page.screenshot(path=tmp_path / "summarize.png", full_page=True)

        page.get_by_role("tab", name="Model").click()
        expect(page.locator("#panel-classifier")).to_contain_text("negative")
        # the classifier's 2 confusion matrices and its curves (one PNG, a row per model), the summarizer's curves
        expect(page.locator("img")).to_have_count(4, timeout=30_000)
        page.screenshot(path=tmp_path / "model.png", full_page=True)
        browser.close()

    result = run_root_script("classify.py", "--model_fn", trained.classifier, "--output_probs", stdin=line + "\n")
    assert result.returncode == 0, result.stderr
    labels, probs, text = result.stdout.rstrip("\n").split("\t")
    assert text == line and label == labels
    assert dict(cells)[labels] == probs and sorted(dict(cells)) == ["negative", "positive"]
    assert summary == summarize_py(monkeypatch, capsys, trained.summarizer, KOREAN_DIALOGUE, tmp_path)
    assert outside == []  # the page loads nothing from outside the app's server
    for name in ("classify.png", "summarize.png", "model.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
