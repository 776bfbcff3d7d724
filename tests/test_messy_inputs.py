"""Messy files a newcomer meets first: BOMs, stray line breaks, bad bytes, odd labels, bad output paths."""
from __future__ import annotations

import os
import shutil

import pytest

from simple_ntc.atomic import atomic_open
from simple_ntc.data.corpus import CorpusFormat, read_corpus
from simple_ntc.data.splits import load_splits
from simple_ntc.errors import UserError
from tests.conftest import CLASSIFICATION, assert_one_line_error, run_cli

TRAIN = CLASSIFICATION / "sentiment_train.tsv"
VALID = CLASSIFICATION / "sentiment_valid.tsv"
TEST = CLASSIFICATION / "sentiment_test.tsv"
TINY = ["--cnn", "--word_vec_size", 8, "--n_filters", 4, 4, 4, "--n_epochs", 1, "--verbose", 0, "--tokenizer", "space"]
HEADERLESS = CorpusFormat()


def write(path, text: str | bytes):
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.fixture(scope="module")
def model_fn(tmp_path_factory):
    """A tiny CNN trained with a test file named ``test.tsv`` (its heatmap: ``m.test.confusion.png``)."""
    directory = tmp_path_factory.mktemp("messy")
    test_fn = shutil.copy(TEST, directory / "test.tsv")
    result = run_cli("train.py", "--model_fn", directory / "m.pth", "--train_fn", TRAIN, "--valid_fn", VALID,
                     "--test_fn", test_fn, *TINY)
    assert result.returncode == 0, result.stderr
    return directory / "m.pth"


# -- byte-order marks ------------------------------------------------------------------------------

def test_a_bom_never_becomes_part_of_a_label_or_a_column_name(tmp_path):
    headerless = write(tmp_path / "bom.tsv", "\ufeff1\t좋아요\n0\t싫어요\n1\t최고\n0\t별로\n")
    corpus = read_corpus(headerless, HEADERLESS)
    assert [e.labels for e in corpus.examples] == [("1",), ("0",), ("1",), ("0",)]
    splits = load_splits(str(headerless), HEADERLESS, valid_fn=str(headerless))
    assert splits.labels == ["0", "1"]
    headered = write(tmp_path / "bom.csv", "\ufeffdocument,label\n좋아요,1\n싫어요,0\n")
    corpus = read_corpus(headered, CorpusFormat(text_col="document", label_col="label"))
    assert [(e.text, e.label) for e in corpus.examples] == [("좋아요", "1"), ("싫어요", "0")]


def test_classify_drops_a_bom_on_stdin_and_eval_fn_reads_a_bom_file(model_fn, tmp_path):
    result = run_cli("classify.py", "--model_fn", model_fn, stdin="\ufeff정말 최고예요\n별로예요\n")
    assert result.returncode == 0, result.stderr
    assert [line.split("\t")[1] for line in result.stdout.splitlines()] == ["정말 최고예요", "별로예요"]
    labeled = write(tmp_path / "bom_eval.tsv", "\ufeff" + TEST.read_text(encoding="utf-8"))
    result = run_cli("classify.py", "--model_fn", model_fn, "--eval_fn", labeled)
    assert result.returncode == 0, result.stderr
    assert "== bom_eval / cnn: n=80 accuracy=" in result.stdout


# -- every data error names file:line --------------------------------------------------------------

def test_invalid_utf8_is_reported_at_its_line_and_column(tmp_path):
    rows = [f"1\t좋은 영화 {i}\n".encode() for i in range(600)]
    rows[499] = b"0\tabc \xff def\n"
    tsv = write(tmp_path / "latin.tsv", b"".join(rows))
    with pytest.raises(UserError, match=rf"^{tsv}:500: not UTF-8 text \(invalid start byte at column 7\)"):
        read_corpus(tsv, HEADERLESS)
    csv_file = write(tmp_path / "latin.csv", b"text,label\n" + b"ok,1\n" * 10 + b"\"multi\nline \xe9\",0\n")
    with pytest.raises(UserError, match=rf"^{csv_file}:13: not UTF-8 text"):
        read_corpus(csv_file, CorpusFormat(text_col="text", label_col="label"))


def test_a_tab_inside_a_text_names_its_line(tmp_path):
    rows = TRAIN.read_text(encoding="utf-8").splitlines()[:40]
    rows[6] = "positive\t배우 연기가\t정말 좋아요"
    corpus = write(tmp_path / "tabs.tsv", "\n".join(rows) + "\n")
    assert_one_line_error(run_cli("train.py", "--model_fn", tmp_path / "m.pth", "--train_fn", corpus, *TINY),
                          f"{corpus}:7: 3 tab-separated columns, but {corpus}:1 has 2; every row is label<TAB>text")


def test_skip_bad_lines_also_skips_valid_rows_with_an_unknown_label(tmp_path):
    valid = write(tmp_path / "valid.tsv", "positive\t좋아요\nneutral\t그냥 그래요\nnegative\t싫어요\n")
    with pytest.raises(UserError, match=rf"^{valid}:2: label 'neutral' does not occur in .*--skip_bad_lines"):
        load_splits(str(TRAIN), HEADERLESS, valid_fn=str(valid))
    logged = []
    splits = load_splits(str(TRAIN), HEADERLESS, valid_fn=str(valid), skip_bad_lines=True, log=logged.append)
    assert [e.text for e in splits.valid] == ["좋아요", "싫어요"]
    assert logged == [f"Skipped 1 malformed row(s) of {valid} (first: line 2: label 'neutral' does not occur in "
                      f"{TRAIN})"]


def test_training_data_with_a_single_label_is_a_one_line_error(tmp_path):
    one = write(tmp_path / "one.tsv", "".join(f"1\t문장 {i}\n" for i in range(30)))
    result = run_cli("train.py", "--model_fn", tmp_path / "m.pth", "--train_fn", one, *TINY)
    assert_one_line_error(result, f"{one}: the training rows have only the label '1'; a classifier needs at "
                          "least two labels")
    assert "Warning" not in result.stderr and not (tmp_path / "m.pth").exists()


# -- classify.py: output line N answers input line N ------------------------------------------------

def test_line_break_characters_inside_a_line_do_not_break_the_output(model_fn):
    lines = ["좋아요\r정말", "별로\u2028예요", "최고\u0085입니다", "그냥\u2029그래요", "보통\x0b이에요"]
    result = run_cli("classify.py", "--model_fn", model_fn, stdin="".join(line + "\n" for line in lines))
    assert result.returncode == 0, result.stderr
    output = result.stdout.splitlines()  # str.splitlines breaks on every one of those characters
    assert len(output) == len(lines)
    assert [row.split("\t")[1] for row in output] == ["좋아요 정말", "별로 예요", "최고 입니다", "그냥 그래요", "보통 이에요"]


def test_every_line_with_invalid_utf8_is_reported(model_fn):
    result = run_cli("classify.py", "--model_fn", model_fn, stdin=b"good\n\xffbad one\nfine\nbad \xfe two\n")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 4
    warnings = [line for line in result.stderr.splitlines() if "invalid UTF-8" in line]
    assert [w.split("stdin:")[1].split(":")[0] for w in warnings] == ["2", "4"]


# -- paths and files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("where, expected", [
    ("directory", "is a directory; give a file name"),
    ("under_file", "is a file, not a directory"),
    ("unwritable", "cannot create files in /proc"),
])
def test_bad_model_fn_fails_at_start_up(tmp_path, where, expected):
    model_fn = {"directory": tmp_path, "under_file": write(tmp_path / "a.txt", "x") / "x.pth",
                "unwritable": "/proc/simple-ntc-test/x.pth"}[where]
    result = run_cli("train.py", "--model_fn", model_fn, "--train_fn", TRAIN, *TINY)
    assert_one_line_error(result, expected)
    assert "Vocabulary" not in result.stdout  # nothing was trained


def test_classify_names_directories_and_damaged_files(tmp_path):
    assert_one_line_error(run_cli("classify.py", "--model_fn", tmp_path, stdin="x\n"),
                          f"{tmp_path} is a directory, not a model file")
    summarizer = tmp_path / "sum"
    summarizer.mkdir()
    write(summarizer / "summarization_config.json", "{}")
    assert_one_line_error(run_cli("classify.py", "--model_fn", summarizer, stdin="x\n"),
                          f"{summarizer} is a summarizer directory, not a classifier model file: use summarize.py")
    damaged = write(tmp_path / "damaged.pth", b"PK\x03\x04" + b"\0" * 64)
    result = run_cli("classify.py", "--model_fn", damaged, stdin="x\n")
    assert_one_line_error(result, f"cannot read model file {damaged}: it is damaged")
    assert "(" not in result.stderr.split("damaged")[1]  # no cryptic error number


def test_atomic_files_get_the_permissions_of_an_ordinary_open(tmp_path):
    previous = os.umask(0o022)
    try:
        with atomic_open(tmp_path / "out.txt") as handle:
            handle.write("x")
        os.umask(0o027)
        with atomic_open(tmp_path / "private.txt") as handle:
            handle.write("x")
    finally:
        os.umask(previous)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private.txt").stat().st_mode & 0o777 == 0o640


def test_eval_fn_never_replaces_the_heatmaps_of_training(model_fn):
    trained = model_fn.with_name("m.test.confusion.png")
    before = trained.read_bytes()
    os.utime(trained, (0, 0))
    result = run_cli("classify.py", "--model_fn", model_fn, "--eval_fn", model_fn.with_name("test.tsv"))
    assert result.returncode == 0, result.stderr
    assert trained.read_bytes() == before and trained.stat().st_mtime == 0
    assert model_fn.with_name("m.eval.test.confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_train_help_names_every_task():
    result = run_cli("train.py", "--help")
    assert result.returncode == 0
    description = result.stdout.split("options:")[0]
    for task in ("RNN", "CNN", "--bert", "--task summarization"):
        assert task in description, task
