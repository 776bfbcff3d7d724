"""A model file is data: a crafted one cannot write files when it is merely loaded."""
from __future__ import annotations

import pytest
import torch

from simple_ntc.errors import UserError
from simple_ntc.model_file import save_model_file
from simple_ntc.plm.model import load_pretrained
from simple_ntc.plm.predict import PLMClassifier
from simple_ntc.predict import load_predictor
from tests.tiny_bert import build_tiny_bert

TEXTS = ["a good movie", "a bad movie", "good acting", "bad plot"]


@pytest.fixture(scope="module")
def plm_file_data(tmp_path_factory):
    directory = build_tiny_bert(tmp_path_factory.mktemp("tiny") / "bert", TEXTS, hidden_size=8, n_layers=1)
    model, tokenizer, _ = load_pretrained(str(directory), ["neg", "pos"], False, False)
    return PLMClassifier(model, tokenizer, ["neg", "pos"], False, False, 16, [0.5, 0.5], torch.device("cpu"), 8,
                         "tiny").to_file_data()


def test_an_honest_bert_model_file_loads_and_predicts(tmp_path, plm_file_data):
    save_model_file(tmp_path / "m.pth", plm_file_data)
    predictor = load_predictor(tmp_path / "m.pth")
    assert len(predictor.probabilities(["a good movie"], None)) == 1


@pytest.mark.parametrize("name", ["../../pwned.json", "ABSOLUTE", "sub/dir.json", ".bashrc"])
def test_crafted_tokenizer_file_names_are_a_one_line_error_and_write_nothing(tmp_path, plm_file_data, name):
    target = tmp_path / "pwned.json"
    name = str(target) if name == "ABSOLUTE" else name
    crafted = {**plm_file_data, "tokenizer_files": {**plm_file_data["tokenizer_files"], name: "{}"}}
    save_model_file(tmp_path / "crafted.pth", crafted)
    with pytest.raises(UserError, match="not a plain file name") as error:
        load_predictor(tmp_path / "crafted.pth")
    assert "\n" not in str(error.value)
    assert not target.exists()
