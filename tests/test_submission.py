"""classify.py --test_fn ... --id_col ... --output submission.csv, as a Kaggle user runs it."""
from __future__ import annotations

import csv

import pytest

from simple_ntc.classify import main as classify_main
from simple_ntc.errors import UserError
from simple_ntc.predict import load_predictor, predict_proba
from simple_ntc.submission import TestRows as SubmissionRows
from simple_ntc.submission import prediction_table
from tests.conftest import FIXTURES, ROOT, assert_one_line_error, run_cli

BREADTH, PLM = FIXTURES / "breadth", FIXTURES / "plm"
TEST = BREADTH / "news_test.csv"


def linear_model(model_fn, train_fn, valid_fn, *extra):
    """A --linear model trains in about a second: enough to test what is written."""
    result = run_cli("train.py", "--model_fn", model_fn, "--train_fn", train_fn, "--valid_fn", valid_fn, "--linear",
                     "--verbose", 0, *extra)
    assert result.returncode == 0, result.stderr
    return model_fn


@pytest.fixture(scope="module")
def news_model(tmp_path_factory):
    return linear_model(tmp_path_factory.mktemp("news") / "news.pth", BREADTH / "news_train.tsv",
                        BREADTH / "news_valid.tsv")


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_submission_has_every_row_in_input_order_with_the_predicted_label(news_model, tmp_path):
    out = tmp_path / "sub" / "submission.csv"
    result = run_cli("classify.py", "--model_fn", news_model, "--test_fn", TEST, "--id_col", "id", "--output", out)
    assert result.returncode == 0, result.stderr
    rows = read_csv(out)
    test_rows = read_csv(TEST)
    assert rows[0] == ["id", "label"]
    assert [r[0] for r in rows[1:]] == [r[0] for r in test_rows[1:]]  # every id, in input order (q12 has no text)
    predictor = load_predictor(news_model)
    probs = predict_proba(predictor, [r[1] for r in test_rows[1:]])
    assert [r[1] for r in rows[1:]] == [predictor.labels[i] for i in probs.argmax(dim=-1).tolist()]
    assert rows[1][1] == "business" and rows[2][1] == "science"  # a quoted text with commas is one field
    assert f"Wrote 13 rows to {out}" in result.stderr


def test_label_col_names_the_output_column_and_text_col_picks_the_text(news_model, tmp_path):
    test = tmp_path / "test.tsv"
    test.write_text("key\tnote\theadline\n7\tx\tNASA discover a distant planet.\n3\ty\tChelsea win the championship!\n",
                    encoding="utf-8")
    out = tmp_path / "s.csv"
    result = run_cli("classify.py", "--model_fn", news_model, "--test_fn", test, "--id_col", "key", "--text_col",
                     "headline", "--label_col", "topic", "--output", out)
    assert result.returncode == 0, result.stderr
    assert read_csv(out) == [["key", "topic"], ["7", "science"], ["3", "sports"]]
    assert_one_line_error(run_cli("classify.py", "--model_fn", news_model, "--test_fn", test, "--id_col", "key",
                                  "--output", out), f"{test}:1: name the text column(s) with --text_col")


def test_pair_model_reads_both_columns(tmp_path):
    model_fn = linear_model(tmp_path / "nli.pth", PLM / "nli_train.tsv", PLM / "nli_valid.tsv")
    pairs = [line.split("\t") for line in (PLM / "nli_valid.tsv").read_text(encoding="utf-8").splitlines()[:5]]
    test = tmp_path / "test.csv"
    with open(test, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["id", "premise", "hypothesis"], *[[i, a, b] for i, (_, a, b) in
                                                                         enumerate(pairs)]])
    out = tmp_path / "s.csv"
    result = run_cli("classify.py", "--model_fn", model_fn, "--test_fn", test, "--id_col", "id", "--output", out)
    assert result.returncode == 0, result.stderr  # the two columns besides the id are the pair
    predictor = load_predictor(model_fn)
    probs = predict_proba(predictor, [a for _, a, _ in pairs], [b for _, _, b in pairs])
    assert [r[1] for r in read_csv(out)[1:]] == [predictor.labels[i] for i in probs.argmax(dim=-1).tolist()]


def test_multi_label_as_space_separated_labels_or_one_column_per_label(tmp_path):
    for split in ("train", "valid"):  # label names without spaces, as space-separated output needs
        text = (PLM / f"labels_{split}.tsv").read_text(encoding="utf-8").replace("기타 혐오", "기타혐오")
        (tmp_path / f"{split}.tsv").write_text(text, encoding="utf-8")
    model_fn = linear_model(tmp_path / "labels.pth", tmp_path / "train.tsv", tmp_path / "valid.tsv", "--multi_label")
    predictor = load_predictor(model_fn)
    texts = [line.split("\t")[1] for line in (tmp_path / "valid.tsv").read_text(encoding="utf-8").splitlines()[:6]]
    test = tmp_path / "test.csv"
    with open(test, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["id", "text"], *[[f"t{i}", text] for i, text in enumerate(texts)]])
    on = predict_proba(predictor, texts) >= 0.5
    joined, columns = tmp_path / "joined.csv", tmp_path / "columns.csv"
    assert run_cli("classify.py", "--model_fn", model_fn, "--test_fn", test, "--id_col", "id",
                   "--output", joined).returncode == 0
    assert run_cli("classify.py", "--model_fn", model_fn, "--test_fn", test, "--id_col", "id",
                   "--output", columns, "--multi_label_output", "columns").returncode == 0
    spaced = read_csv(joined)
    assert spaced[0] == ["id", "labels"]
    assert [set(r[1].split()) for r in spaced[1:]] == [
        {label for label, flag in zip(predictor.labels, row) if flag} for row in on.tolist()]
    assert any(len(r[1].split()) > 1 for r in spaced[1:])
    assert read_csv(columns) == [["id", *predictor.labels],
                                 *[[f"t{i}", *[str(int(f)) for f in row]] for i, row in enumerate(on.tolist())]]
    predictor.labels[0] = "기타 혐오"  # a name with a space would make space-separated labels ambiguous
    with pytest.raises(UserError, match="contains a space.*--multi_label_output columns"):
        prediction_table(predictor, SubmissionRows(["t0"], texts[:1], None), predictor.model_names, None)


def test_mistakes_fail_before_writing_and_never_leave_a_partial_file(news_model, tmp_path):
    out = tmp_path / "submission.csv"
    out.write_text("a good earlier submission\n", encoding="utf-8")
    cases = [
        (["--test_fn", TEST, "--output", out], "--test_fn needs --id_col"),
        (["--test_fn", TEST, "--id_col", "id"], "--test_fn needs --output"),
        (["--output", out], "--output and --id_col write a submission: give --test_fn too"),
        (["--test_fn", TEST, "--id_col", "nope", "--text_col", "text", "--output", out],
         f"{TEST}:1: no column 'nope' in the header; columns are: id, text"),
        (["--test_fn", TEST, "--id_col", "id", "--output", tmp_path], "--output is a directory"),
        (["--test_fn", TEST, "--id_col", "id", "--output", TEST], "would overwrite an input file"),
    ]
    assert_one_line_error(run_cli("classify.py", "--model_fn", news_model, *cases[0][0]), cases[0][1])
    for args, expected in cases[1:]:  # the same errors in-process (the one-line format is checked above)
        with pytest.raises(UserError) as error:
            classify_main(["--model_fn", str(news_model), *map(str, args)], ROOT / "configs")
        assert expected in str(error.value)
    short = tmp_path / "short.csv"
    short.write_text("id,text,extra\n1,fine,x\n2\n", encoding="utf-8")
    with pytest.raises(UserError, match=f"{short}:3: expected 3 columns as in the header, found 1"):
        classify_main(["--model_fn", str(news_model), "--test_fn", str(short), "--id_col", "id", "--text_col", "text",
                       "--output", str(out)], ROOT / "configs")
    assert out.read_text(encoding="utf-8") == "a good earlier submission\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
