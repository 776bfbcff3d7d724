"""Denoising examples (BART text infilling on the training dialogues): masks, pieces, marker, targets."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from chat_summarization.dataset import Dialogue
from chat_summarization.denoise import DENOISE_MARKER, DenoisingMix, add_denoise_marker, dialogue_pieces, infill
from chat_summarization.features import SequenceFormat, SummarizationDataset
from chat_summarization.tokenizer import SummaryDecoder, train_bpe_tokenizer

MASK = 4


def test_infill_hides_about_the_requested_share_in_spans_and_keeps_the_rest_in_order():
    generator = np.random.default_rng(0)
    ids = list(range(100, 300))  # 200 distinct tokens
    hidden, masks = 0, 0
    for _ in range(50):
        out = infill(ids, 0.3, MASK, generator)
        kept = [t for t in out if t != MASK]
        assert kept == sorted(kept) and set(kept) <= set(ids)  # the unmasked tokens, in order
        assert all(not (a == MASK and b == MASK) for a, b in zip(out, out[1:]))  # one mask per span
        hidden += len(ids) - len(kept)
        masks += out.count(MASK)
    assert 0.27 < hidden / (50 * len(ids)) <= 0.3
    assert 2.0 < hidden / masks < 4.5  # spans, not single tokens (Poisson mean 3)


def test_infill_of_nothing_to_hide_returns_the_piece():
    assert infill([7, 8, 9], 0.0, MASK, np.random.default_rng(0)) == [7, 8, 9]


def test_dialogue_pieces_cut_each_dialogue_without_its_control_tokens():
    fmt = SequenceFormat(bos_id=0, eos_id=2, pad_id=1, target_bos=True)
    sources = [[0, *range(10, 30), 2], [0, 5, 6, 2]]  # 20 tokens; a dialogue shorter than a useful piece
    assert dialogue_pieces(sources, fmt, 10) == [list(range(10, 20)), list(range(20, 30))]


@pytest.fixture()
def mix():
    dialogues = [Dialogue(f"d{i}", f"#Person1#: 오늘 {i}번 버스를 타고 시장에 갔어요. 사과와 배를 샀어요.\n"
                                    f"#Person2#: 얼마였어요? 저도 내일 {i}시에 갈게요.",
                          (f"#Person1#은 {i}번 버스로 시장에 갔다.",)) for i in range(6)]
    tokenizer = train_bpe_tokenizer([d.dialogue for d in dialogues] + [d.summaries[0] for d in dialogues], 400,
                                    ["#Person1#", "#Person2#"])
    marker = add_denoise_marker(tokenizer)
    fmt = SequenceFormat.of(tokenizer, tokenizer.eos_token_id)  # BART: the decoder starts from </s>
    summaries = SummarizationDataset(dialogues, tokenizer, fmt, 128, 16)
    return tokenizer, marker, fmt, summaries, DenoisingMix(summaries, fmt, marker, tokenizer.mask_token_id,
                                                           ratio=1.0, mask_share=0.3, max_target_length=16, seed=0)


def test_denoising_items_follow_the_summaries_with_the_marker_masks_and_the_original_piece(mix):
    tokenizer, marker, fmt, summaries, dataset = mix
    assert len(dataset) == 2 * len(summaries)  # ratio 1: as many pieces as dialogues
    assert [dataset[i] for i in range(len(summaries))] == [summaries[i] for i in range(len(summaries))]
    assert all(marker not in item["source"] for item in summaries)  # summaries get plain sources
    torch.manual_seed(0)
    for index in range(len(summaries), len(dataset)):
        item = dataset[index]
        piece = dataset.pieces[index - len(summaries)]
        assert item["source"][:2] == [fmt.bos_id, marker] and item["source"][-1] == fmt.eos_id
        assert tokenizer.mask_token_id in item["source"]
        assert item["target"] == [fmt.bos_id, *piece, fmt.eos_id]  # the piece written back, unmasked
        assert len(item["target"]) <= 16 and len(item["source"]) <= dataset.lengths[index]


def test_masks_change_between_reads_and_follow_the_torch_seed(mix):
    *_, summaries, dataset = mix
    index = len(summaries)
    torch.manual_seed(1)
    first = [dataset[index]["source"] for _ in range(5)]
    torch.manual_seed(1)
    assert [dataset[index]["source"] for _ in range(5)] == first
    assert len({tuple(source) for source in first}) > 1


def test_the_marker_is_a_control_token_that_decoding_drops(mix):
    tokenizer, marker, *_ = mix
    assert add_denoise_marker(tokenizer) == marker and tokenizer.convert_ids_to_tokens(marker) == DENOISE_MARKER
    ids = tokenizer("#Person1#은 갔다.", add_special_tokens=False)["input_ids"]
    assert SummaryDecoder(tokenizer)([[marker, *ids]]) == ["#Person1#은 갔다."]


def test_encoder_mlm_positions_skip_padding_and_control_tokens_and_hit_about_the_rate():
    from chat_summarization.training import encoder_mlm_positions

    torch.manual_seed(0)
    ids = torch.randint(10, 200, (32, 50))
    ids[:, 0], ids[:, 1] = 0, 7  # bos, a marker
    attention_mask = torch.ones_like(ids)
    attention_mask[:, 40:] = 0  # padding
    masked = encoder_mlm_positions(ids, attention_mask, 0.15, keep_ids=(0, 7))
    assert not masked[:, :2].any() and not masked[:, 40:].any()
    assert 0.12 < masked[:, 2:40].float().mean() < 0.18


def test_encoder_mlm_adds_a_loss_in_training_only():
    from chat_summarization.model import BartSize, model_from_config, small_bart_config
    from chat_summarization.training import summarization_loss

    tokenizer = train_bpe_tokenizer(["가나다라 마바사 아자차카 타파하"] * 4, 300)
    model = model_from_config(small_bart_config(tokenizer, BartSize(32, 1, 1, 2, 64, 0.0), 64))
    torch.manual_seed(0)
    batch = {"input_ids": torch.randint(5, len(tokenizer), (4, 20)), "attention_mask": torch.ones(4, 20, dtype=torch.long),
             "labels": torch.randint(5, len(tokenizer), (4, 6))}
    plain = summarization_loss(model, batch, mask_id=tokenizer.mask_token_id).loss.item()
    with_mlm = summarization_loss(model, batch, mask_id=tokenizer.mask_token_id, encoder_mlm=0.3).loss.item()
    assert with_mlm > plain + 3.0  # an untrained model pays about log(vocab) per masked source token on top
    model.eval()
    assert summarization_loss(model, batch, mask_id=tokenizer.mask_token_id, encoder_mlm=0.3).loss.item() == \
        pytest.approx(summarization_loss(model, batch, mask_id=tokenizer.mask_token_id).loss.item())
