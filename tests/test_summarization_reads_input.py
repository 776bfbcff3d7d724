"""The default recipe makes a from-scratch BART read its dialogues: a matched-vs-shuffled loss gap on made-up data.

Made-up dialogues name an item and a place; their summaries repeat both, so a model can only lower
its loss on them by reading the dialogue. Eight dialogues pair an item and a place in a way no training
dialogue does. A tiny embedded BART trained with the defaults of configs/summarization.yaml (with its
copy mechanism) must summarize them correctly and lose clearly more per token on shuffled
dialogue-summary pairs than on matched ones; the same BART without copying, trained as long, collapses
to one summary for all eight (measured: gap 2.2 against 0.0, 8 of 8 right against none).
"""
from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest
import torch

from chat_summarization.dataset import Dialogue, read_dialogues
from chat_summarization.denoise import DENOISE_MARKER
from chat_summarization.features import Collator, SequenceFormat, SummarizationDataset
from chat_summarization.model import load_summarizer
from chat_summarization.training import shuffled_labels, token_losses
from chat_summarization.features import IGNORE_INDEX

ROOT = Path(__file__).resolve().parents[1]
ITEMS = ["사과", "포도", "수박", "딸기", "감자", "양파", "우유", "두부"]
PLACES = ["시장", "마트", "학교", "은행", "공원", "병원"]
TINY = ["--d_model", "64", "--encoder_layers", "1", "--decoder_layers", "1", "--attention_heads", "2",
        "--ffn_dim", "128", "--vocab_size", "400", "--num_beams", "1", "--max_length", "24", "--batch_size", "8",
        "--verbose", "0"]


def made_up_dialogues() -> list[Dialogue]:
    rows = []
    for n, (item, place) in enumerate(itertools.product(ITEMS, PLACES)):
        dialogue = (f"#Person1#: 안녕하세요. 오늘 {place}에 가서 {item}을 사려고 해요.\n"
                    f"#Person2#: {place}에는 {item}이 많아요. 저도 같이 갈게요.")
        rows.append(Dialogue(f"d{n}", dialogue, (f"#Person1#은 {place}에서 {item}을 산다.",)))
    return rows


def write_csv(path: Path, dialogues: list[Dialogue]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["fname", "dialogue", "summary"])
        writer.writerows([d.fname, d.dialogue, d.summaries[0]] for d in dialogues)
    return path


def shuffle_gap(model_dir: Path, dialogues: list[Dialogue]) -> float:
    """Loss per summary token with each summary beside another dialogue, minus with its own."""
    summarizer = load_summarizer(model_dir)
    model, tokenizer = summarizer.model.eval(), summarizer.tokenizer
    fmt = SequenceFormat.of(tokenizer, model.config.decoder_start_token_id)
    dataset = SummarizationDataset(dialogues, tokenizer, fmt, 128, 32)
    batch = Collator(fmt.pad_id)([dataset[i] for i in range(len(dataset))])
    labels, shuffled = batch["labels"], shuffled_labels(batch["labels"])
    with torch.no_grad():
        matched_loss = float(token_losses(model, batch, labels)[0]) / int((labels != IGNORE_INDEX).sum())
        shuffled_loss = float(token_losses(model, batch, shuffled)[0]) / int((shuffled != IGNORE_INDEX).sum())
    return shuffled_loss - matched_loss


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    dialogues = made_up_dialogues()
    # each item once in a new pairing (item i with place i mod 6); every item and place is also trained on
    held_out = [dialogues[i * len(PLACES) + i % len(PLACES)] for i in range(len(ITEMS))]
    train = [d for d in dialogues if d not in held_out]
    root = tmp_path_factory.mktemp("reads_input")
    return write_csv(root / "train.csv", train), held_out, root


def train(root: Path, name: str, train_fn: Path, epochs: int, *extra: str) -> Path:
    from chat_summarization.train import main

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        main(["--task", "summarization", "--model_fn", str(root / name), "--train_fn", str(train_fn), *TINY,
              "--n_epochs", str(epochs), *extra], ROOT / "configs")
    finally:
        torch.set_num_threads(threads)
    return root / name


def test_made_up_data_round_trips(data):
    train_fn, held_out, _ = data
    assert len(read_dialogues(train_fn, need_summary=True)) == 40 and len(held_out) == 8


def summaries_of(model_dir: Path, dialogues: list[Dialogue]) -> list[str]:
    from chat_summarization.generate import summarize_dialogues

    summarizer = load_summarizer(model_dir)
    return summarize_dialogues(summarizer.model, summarizer.tokenizer, dialogues, summarizer.info.generation_settings,
                               8, 128, torch.device("cpu"), progress=False)


def test_the_default_recipe_summarizes_dialogues_it_never_saw(data):
    train_fn, held_out, root = data
    model_dir = train(root, "defaults", train_fn, 10)
    assert load_summarizer(model_dir).model.config.model_type == "copy_bart"
    summaries = summaries_of(model_dir, held_out)
    right = sum(text.strip() == d.summaries[0] for d, text in zip(held_out, summaries))
    assert right >= 6, summaries
    assert shuffle_gap(model_dir, held_out) > 0.5


def test_without_copying_the_same_training_writes_one_summary_for_all(data):
    train_fn, held_out, root = data
    model_dir = train(root, "no_copy", train_fn, 10, "--no-copy_attention")
    assert load_summarizer(model_dir).model.config.model_type == "bart"
    assert len(set(summaries_of(model_dir, held_out))) <= 2
    assert shuffle_gap(model_dir, held_out) < 0.05


def test_the_auxiliary_tasks_train_and_their_marker_never_reaches_a_summary(data):
    train_fn, held_out, root = data
    model_dir = train(root, "auxiliary", train_fn, 4, "--denoise_ratio", "1", "--encoder_mlm", "0.15")
    summarizer = load_summarizer(model_dir)
    assert DENOISE_MARKER in summarizer.tokenizer.get_vocab()
    assert summarizer.model.get_input_embeddings().num_embeddings == len(summarizer.tokenizer)
    summaries = summaries_of(model_dir, held_out)
    assert len(summaries) == len(held_out) and not any(DENOISE_MARKER in text for text in summaries)
