"""Dialogue files in, submission files out: formats, quoting, multi-reference rows and exact errors."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from chat_summarization.dataset import (
    compare_fnames,
    merge_references,
    parse_rows,
    read_dialogues,
    read_summaries,
)
from chat_summarization.output import write_summaries
from simple_ntc.atomic import atomic_open
from simple_ntc.errors import UserError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "summarization"


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_fixture_csv_keeps_multiline_dialogues_commas_and_quotes():
    dialogues = read_dialogues(FIXTURES / "train.csv", need_summary=True)
    assert [d.fname for d in dialogues] == [f"train_{i}" for i in range(12)]
    first = dialogues[0]
    assert first.dialogue.splitlines() == [
        "#Person1#: 안녕하세요, 오늘 날씨가 정말 좋네요.",
        "#Person2#: 네, 산책하기 딱 좋은 날이에요.",
        "#Person1#: 같이 공원에 갈까요?",
        "#Person2#: 좋아요, 점심 먹고 가요.",
    ]
    assert first.summaries == ("#Person1#과 #Person2#는 점심 후에 공원에 산책하러 가기로 한다.",)
    assert first.topic == "산책"
    assert '영화 "기생충" 봤어요?' in dialogues[5].dialogue
    assert dialogues[3].where == f"{FIXTURES / 'train.csv'}:12"


def test_crlf_inside_quoted_fields_and_as_line_ends(tmp_path):
    path = write(tmp_path / "crlf.csv",
                 'fname,dialogue,summary\r\n'
                 'a,"#Person1#: 안녕\r\n#Person2#: 네, 안녕하세요",인사한다.\r\n'
                 'b,"#Person1#: 가요\r#Person2#: 그래요",  간다. \r\n')
    a, b = read_dialogues(path, need_summary=True)
    assert a.dialogue == "#Person1#: 안녕\n#Person2#: 네, 안녕하세요"
    assert b.dialogue == "#Person1#: 가요\n#Person2#: 그래요"
    assert b.summaries == ("간다.",)
    assert b.where.endswith(":4")


def test_test_file_without_summary_reads_but_cannot_train():
    dialogues = read_dialogues(FIXTURES / "test.csv")
    assert [d.summaries for d in dialogues] == [()] * 4
    with pytest.raises(UserError) as error:
        read_dialogues(FIXTURES / "test.csv", need_summary=True, what="training file")
    assert str(error.value) == (f"{FIXTURES / 'test.csv'}:1: no summary column (expected summary or "
                                "summary1..summaryN) in fname, dialogue")


def test_json_lines_with_several_references():
    dialogues = read_dialogues(FIXTURES / "dev_en.jsonl", need_summary=True)
    assert [d.fname for d in dialogues] == ["en_0", "en_1", "en_2"]
    assert dialogues[0].dialogue.startswith("#Person1#: Could you book a table")
    assert dialogues[0].summaries == ("#Person1# asks #Person2# to book a table for two at seven tonight.",
                                      "#Person2# books a table for #Person1# at 7 pm.")
    references = read_summaries(FIXTURES / "dev_en.jsonl")
    assert references["en_2"] == ("#Person2# tells #Person1# the museum is closed on Mondays.",
                                  "The museum is closed on Mondays, #Person2# says.")


def test_summary_columns_are_ordered_numerically(tmp_path):
    path = write(tmp_path / "multi.csv", "fname,summary10,summary2,dialogue\nx,ten,two,d\n")
    assert read_dialogues(path)[0].summaries == ("two", "ten")


@pytest.mark.parametrize("content, message", [
    ("fname,dialogue,summary\na,hi,s\nb,hi\n", "{path}:3: expected 3 fields (fname,dialogue,summary), got 2"),
    ('fname,dialogue,summary\na,"line one\nline two",s\nb,x,y,z\n',
     "{path}:4: expected 3 fields (fname,dialogue,summary), got 4"),
    ("fname,text,summary\na,hi,s\n", "{path}:1: missing column 'dialogue' (columns: fname, text, summary)"),
    ("fname,dialogue,summary\na,hi,s\na,again,s\n", "{path}:3: duplicate fname 'a' (first on line 2)"),
    ("fname,dialogue,summary\na,hi,s\n,hi,s\n", "{path}:3: empty fname"),
    ("fname,dialogue,summary\na,hi,s\nb,hi,\n", "{path}:3: no summary for fname 'b'"),
    ("fname,dialogue,summary\na,,s\n", "{path}:2: empty dialogue for fname 'a'"),
    ('fname,dialogue,summary\na,"never closed,s\n', "{path}:2: malformed CSV: unexpected end of data"),
    ("", "{path}: empty file, expected a header line such as fname,dialogue,summary"),
    ("fname,dialogue,summary\n", "{path}: no rows after the header"),
])
def test_malformed_csv_rows_are_file_line_errors(tmp_path, content, message):
    path = write(tmp_path / "bad.csv", content)
    with pytest.raises(UserError) as error:
        read_dialogues(path, need_summary=True)
    assert str(error.value) == message.format(path=path)


@pytest.mark.parametrize("content, message", [
    ('{"fname": "a", "dialogue": "hi"}\n{"fname": "b", "dialogue": \n', "{path}:2: invalid JSON: Expecting value"),
    ('{"fname": "a"}\n', "{path}:1: missing key 'dialogue'"),
    ('["a", "b"]\n', "{path}:1: expected a JSON object, got list"),
    ('{"fname": "a", "dialogue": ["x"]}\n', "{path}:1: 'dialogue' must be a string, got list"),
])
def test_malformed_json_lines_are_file_line_errors(tmp_path, content, message):
    path = write(tmp_path / "bad.jsonl", content)
    with pytest.raises(UserError) as error:
        read_dialogues(path)
    assert str(error.value) == message.format(path=path)


def test_missing_and_non_utf8_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match=r"^test file not found: .*nope\.csv$"):
        read_dialogues(tmp_path / "nope.csv", what="test file")
    path = tmp_path / "latin1.csv"
    path.write_bytes("fname,dialogue\na,caf\xe9\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"latin1\.csv:2: not UTF-8 text"):
        read_dialogues(path)


def test_row_ranges_select_data_rows():
    assert parse_rows("0:400", "--train_rows") == slice(0, 400)
    assert parse_rows("400:", "--valid_rows") == slice(400, None)
    assert parse_rows(None, "--valid_rows") is None
    rows = read_dialogues(FIXTURES / "train.csv", parse_rows("10:", "--train_rows"))
    assert [d.fname for d in rows] == ["train_10", "train_11"]
    with pytest.raises(UserError) as error:
        parse_rows("first 10", "--train_rows")
    assert str(error.value) == "--train_rows expects START:END rows (e.g. 0:400 or 400:), got 'first 10'"
    with pytest.raises(UserError, match=r"the selected rows 20: are empty \(the file has 12 rows\)"):
        read_dialogues(FIXTURES / "train.csv", parse_rows("20:", "--train_rows"))


def test_reference_files_merge_by_fname_and_mismatches_name_the_fnames(tmp_path):
    merged = merge_references([("valid.csv", read_summaries(FIXTURES / "valid.csv")),
                               ("valid_other.csv", read_summaries(FIXTURES / "valid_other.csv"))])
    assert merged["dev_0"] == ("#Person1#은 따뜻한 커피를 주문한다.", "#Person1#이 따뜻한 커피 한 잔을 시킨다.")
    partial = write(tmp_path / "partial.csv", "fname,summary\ndev_0,a\ndev_9,b\n")
    with pytest.raises(UserError) as error:
        merge_references([("valid.csv", read_summaries(FIXTURES / "valid.csv")),
                          ("partial.csv", read_summaries(partial))])
    assert str(error.value) == ("partial.csv lacks 3 fname(s) of valid.csv: dev_1, dev_2, dev_3; "
                                "partial.csv has 1 fname(s) not in valid.csv: dev_9")


def test_long_lists_of_missing_fnames_are_shortened():
    with pytest.raises(UserError) as error:
        compare_fnames([f"d{i}" for i in range(8)], [], "ref.csv", "pred.csv")
    assert str(error.value) == "pred.csv lacks 8 fname(s) of ref.csv: d0, d1, d2, d3, d4, ... (8 in all)"


def test_empty_predictions_are_kept_but_empty_references_are_errors(tmp_path):
    path = write(tmp_path / "p.csv", "fname,summary\na,\nb,text\n")
    assert read_summaries(path, role="prediction") == {"a": ("",), "b": ("text",)}
    with pytest.raises(UserError, match=r"p\.csv:2: empty reference summary for fname 'a'"):
        read_summaries(path, role="reference")


def test_submission_csv_quotes_commas_quotes_and_newlines(tmp_path):
    rows = [("a", 'plain'), ("b", 'with, comma'), ("c", 'say "hi"'), ("d", "two\nlines"), ("e", "cr\r\nlf"),
            ("f", "")]
    path = tmp_path / "out" / "output.csv"
    assert write_summaries(path, rows) == 6
    text = path.read_text(encoding="utf-8")
    assert text.startswith("fname,summary\na,plain\nb,\"with, comma\"\nc,\"say \"\"hi\"\"\"\n")
    with open(path, encoding="utf-8", newline="") as handle:
        assert [tuple(r) for r in csv.reader(handle)] == [("fname", "summary"), *rows]


def test_output_is_atomic_an_error_leaves_no_partial_file(tmp_path):
    path = tmp_path / "output.csv"
    path.write_text("fname,summary\nold,kept\n", encoding="utf-8")

    def rows():
        yield "a", "first"
        raise RuntimeError("generation failed")

    with pytest.raises(RuntimeError):
        write_summaries(path, rows())
    assert path.read_text(encoding="utf-8") == "fname,summary\nold,kept\n"
    assert os.listdir(tmp_path) == ["output.csv"]  # no temporary file left behind
    with pytest.raises(UserError, match="output is a directory"):
        with atomic_open(tmp_path):
            pass
