"""A summarizer directory is replaced whole: a crash while saving leaves the old one intact."""
from __future__ import annotations

from dataclasses import asdict

import pytest

from chat_summarization.generate import GenerationSettings
from chat_summarization.model import BartSize, SummarizerInfo, load_summarizer, model_from_config, save_summarizer
from chat_summarization.model import small_bart_config
from chat_summarization.tokenizer import train_bpe_tokenizer

TEXTS = ["#Person1#: hello there. #Person2#: hi, how are you?", "they talk about the weather and lunch"] * 5


def test_a_crash_while_saving_keeps_the_old_summarizer_whole_and_a_new_save_replaces_it(tmp_path, monkeypatch):
    tokenizer = train_bpe_tokenizer(TEXTS, 120, tags=[])
    info = SummarizerInfo(32, 16, asdict(GenerationSettings(num_beams=1)), [], "embedded")
    directory = tmp_path / "sum"
    save_summarizer(model_from_config(small_bart_config(tokenizer, BartSize(16, 1, 1, 2, 32, 0.0), 64)), tokenizer,
                    directory, info)
    before = {p.name: p.read_bytes() for p in directory.iterdir()}

    wider = model_from_config(small_bart_config(tokenizer, BartSize(24, 1, 1, 2, 32, 0.0), 64))
    monkeypatch.setattr(type(tokenizer), "save_pretrained", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        save_summarizer(wider, tokenizer, directory, info)
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before  # no new weights beside the old config
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sum"]  # no half-written sibling left behind
    monkeypatch.undo()

    save_summarizer(wider, tokenizer, directory, info)
    assert load_summarizer(directory).model.config.d_model == 24
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sum"]
