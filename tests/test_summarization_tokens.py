"""Tokenization with BOS/EOS, never-split tags, label padding with -100, label shifting and batching."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from transformers import AutoTokenizer

from chat_summarization.dataset import read_dialogues
from chat_summarization.features import (
    IGNORE_INDEX,
    Collator,
    SequenceFormat,
    SummarizationDataset,
    encode,
    sorted_loader,
    training_loader,
)
from chat_summarization.generate import GenerationSettings, generate_ids, summarize_dialogues
from chat_summarization.model import BartSize, model_from_config, small_bart_config
from chat_summarization.tokenizer import SummaryDecoder, add_tags, find_tags, train_bpe_tokenizer
from chat_summarization.training import summarization_loss

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "summarization"
DIALOGUES = read_dialogues(FIXTURES / "train.csv", need_summary=True)
TEXTS = [text for d in DIALOGUES for text in (d.dialogue, *d.summaries)]
TAGS = find_tags(TEXTS)


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer(TEXTS, vocab_size=400, tags=TAGS)


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(0)
    return model_from_config(small_bart_config(tokenizer, BartSize(32, 1, 1, 2, 64, 0.0), 256)).eval()


def test_tags_are_found_in_the_data():
    assert TAGS == ["#Address#", "#Person1#", "#Person2#", "#PhoneNumber#"]


def test_tags_are_single_tokens_and_text_round_trips(tokenizer):
    for tag in TAGS:
        assert tokenizer.tokenize(tag) == [tag]
    text = "#Person1#: 주소는 #Address#예요, 전화는 #PhoneNumber#!\n#Person2#: 네."
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_tokens_to_ids("#Person1#") == ids[0]
    assert SummaryDecoder(tokenizer)([ids]) == [text]


def test_tokenizer_saved_and_reloaded_keeps_tags_and_control_tokens(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    text = DIALOGUES[3].dialogue
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert (loaded.bos_token, loaded.eos_token, loaded.pad_token) == ("<s>", "</s>", "<pad>")
    assert add_tags(loaded, ["#Person1#", "#Email#"]) == ["#Email#"]
    assert loaded.tokenize("#Email#") == ["#Email#"]


def test_decoder_drops_control_tokens_and_broken_bytes_but_keeps_tags(tokenizer):
    body = tokenizer("#Person2#는 간다.", add_special_tokens=False)["input_ids"]
    ids = [tokenizer.eos_token_id, tokenizer.bos_token_id, *body, tokenizer.eos_token_id, tokenizer.pad_token_id]
    assert SummaryDecoder(tokenizer)([ids]) == ["#Person2#는 간다."]
    lone_byte = tokenizer.convert_tokens_to_ids(tokenizer.tokenize("간")[0][:1])  # first byte of a Hangul syllable
    assert SummaryDecoder(tokenizer)([[*body, lone_byte]]) == ["#Person2#는 간다."]


def test_sources_and_targets_carry_bos_and_eos_even_when_truncated(tokenizer):
    fmt = SequenceFormat.of(tokenizer, decoder_start_token_id=tokenizer.eos_token_id)  # BART: decoder starts at </s>
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    (source,) = encode(tokenizer, [DIALOGUES[0].dialogue], 10, fmt, target=False)
    assert len(source) == 10 and source[0] == bos and source[-1] == eos
    (target,) = encode(tokenizer, ["간다."], 64, fmt, target=True)
    assert target == [bos, *tokenizer("간다.", add_special_tokens=False)["input_ids"], eos]
    starts_at_bos = SequenceFormat.of(tokenizer, decoder_start_token_id=bos)
    (target,) = encode(tokenizer, ["간다."], 64, starts_at_bos, target=True)
    assert target[0] != bos and target[-1] == eos


def test_batches_pad_per_batch_with_minus_100_labels(tokenizer):
    fmt = SequenceFormat.of(tokenizer, tokenizer.eos_token_id)
    dataset = SummarizationDataset(DIALOGUES, tokenizer, fmt, max_source_length=64, max_target_length=32)
    batch = Collator(fmt.pad_id)([dataset[1], dataset[4]])
    lengths = [len(dataset.sources[1]), len(dataset.sources[4])]
    assert batch["input_ids"].shape == (2, max(lengths))  # the batch's longest, not a global maximum
    for row, length in enumerate(lengths):
        assert batch["attention_mask"][row].tolist() == [1] * length + [0] * (max(lengths) - length)
        assert batch["input_ids"][row, length:].eq(fmt.pad_id).all()
    target_lengths = [len(dataset.targets[1]), len(dataset.targets[4])]
    short = target_lengths.index(min(target_lengths))
    assert batch["labels"][short, min(target_lengths):].eq(IGNORE_INDEX).all()
    assert batch["labels"][short, :min(target_lengths)].tolist() == dataset.targets[[1, 4][short]]
    assert batch["index"].tolist() == [1, 4]
    assert batch["references"] == [list(DIALOGUES[1].summaries), list(DIALOGUES[4].summaries)]


def test_loss_shifts_labels_right_from_the_decoder_start_and_ignores_padding(tokenizer, model):
    fmt = SequenceFormat.of(tokenizer, model.config.decoder_start_token_id)
    dataset = SummarizationDataset(DIALOGUES[:3], tokenizer, fmt, 64, 32)
    batch = Collator(fmt.pad_id)([dataset[i] for i in range(3)])
    labels = batch["labels"]
    decoder_input_ids = torch.full_like(labels, fmt.pad_id)
    decoder_input_ids[:, 0] = model.config.decoder_start_token_id
    decoder_input_ids[:, 1:] = labels[:, :-1].masked_fill(labels[:, :-1] == IGNORE_INDEX, fmt.pad_id)
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   decoder_input_ids=decoder_input_ids).logits  # |logits| = (3, target_length, vocab_size)
    real = labels != IGNORE_INDEX
    expected = nn.functional.cross_entropy(logits[real], labels[real])
    out = summarization_loss(model, batch)
    torch.testing.assert_close(out.loss, expected)
    assert 0.0 <= float(out.accuracy) <= 1.0


def test_training_batches_group_similar_lengths(tokenizer):
    fmt = SequenceFormat.of(tokenizer, tokenizer.eos_token_id)
    dataset = SummarizationDataset(DIALOGUES, tokenizer, fmt, 512, 64)
    loader = training_loader(dataset, batch_size=4, seed=0, pad_id=fmt.pad_id)
    batches = list(loader)
    assert sorted(i for b in batches for i in b["index"].tolist()) == list(range(len(DIALOGUES)))
    padding = sum(int((b["attention_mask"] == 0).sum()) for b in batches)
    unsorted = sum(max(dataset.lengths[j] for j in range(i, min(i + 4, 12))) * min(4, 12 - i)
                   - sum(dataset.lengths[i:i + 4]) for i in range(0, 12, 4))
    assert padding <= unsorted


def test_beam_search_cache_gives_the_stock_results(tokenizer, model):
    fmt = SequenceFormat.of(tokenizer, model.config.decoder_start_token_id)
    dataset = SummarizationDataset(DIALOGUES[:6], tokenizer, fmt, 128)
    batch = next(iter(sorted_loader(dataset, 6, fmt.pad_id, distributed=False)))
    settings = GenerationSettings(num_beams=3, max_length=12)
    with torch.inference_mode():
        ours = generate_ids(model, batch, settings)
        stock = model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                               **settings.generate_kwargs())
    assert torch.equal(ours, stock)


class EchoModel(nn.Module):
    """Stands in for a summarizer: its "summary" is the first tokens of its own dialogue."""

    def __init__(self, decoder_start_token_id: int) -> None:
        super().__init__()
        self.config = SimpleNamespace(decoder_start_token_id=decoder_start_token_id, is_encoder_decoder=False)
        self.batch_widths: list[int] = []

    def generate(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_settings) -> torch.Tensor:
        self.batch_widths.append(input_ids.size(1))
        return input_ids[:, :6]


def test_sorted_batches_return_summaries_in_input_order(tokenizer):
    echo = EchoModel(tokenizer.eos_token_id)
    summaries = summarize_dialogues(echo, tokenizer, DIALOGUES, GenerationSettings(), batch_size=5,
                                    max_source_length=512, device=torch.device("cpu"), progress=False)
    first_tokens = [tokenizer(d.dialogue, add_special_tokens=False)["input_ids"][:5] for d in DIALOGUES]
    assert summaries == SummaryDecoder(tokenizer)(first_tokens)
    assert len(set(summaries)) == len(DIALOGUES)
    assert echo.batch_widths == sorted(echo.batch_widths, reverse=True)  # longest batch first
