"""The copy mechanism (--copy_attention, on by default for the embedded BART): a proper distribution that
copies only the dialogue's own tokens, the same scores step by step as in one forward, a loss for ``labels``,
and a model that saves and loads. tests/test_summarization_reads_input.py checks what it does for training."""
from __future__ import annotations


import pytest
import torch
from transformers import DynamicCache

from chat_summarization.copy_attention import CopyBartConfig, CopyBartForConditionalGeneration
from chat_summarization.generate import BeamSearchCache

PAD, BOS, EOS = 1, 0, 2


def tiny_copy_model(seed: int = 0) -> CopyBartForConditionalGeneration:
    torch.manual_seed(seed)
    config = CopyBartConfig(vocab_size=40, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                            decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                            max_position_embeddings=32, pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS,
                            decoder_start_token_id=EOS, forced_eos_token_id=EOS)
    return CopyBartForConditionalGeneration(config).eval()


SOURCES = torch.tensor([[BOS, 5, 6, 7, 8, EOS], [BOS, 9, 10, EOS, PAD, PAD]])
MASK = (SOURCES != PAD).long()


def test_logits_are_a_distribution_that_can_only_copy_real_dialogue_tokens():
    model = tiny_copy_model()
    with torch.no_grad():
        model.copy_head.gate.bias.fill_(-30.0)  # gate ~ 0: copy only
        logits = model(input_ids=SOURCES, attention_mask=MASK, decoder_input_ids=torch.tensor([[EOS, BOS]] * 2)).logits
    probabilities = logits.exp()  # |probabilities| = (2, 2, vocab_size)
    assert torch.allclose(probabilities.sum(-1), torch.ones(2, 2), atol=1e-5)
    second = probabilities[1].sum(0)  # the second dialogue holds BOS, 9, 10, EOS and padding
    assert second[[BOS, 9, 10, EOS]].sum() == pytest.approx(2.0, abs=1e-4)
    assert second[PAD] < 1e-6 and second[5] < 1e-6  # padding and the other dialogue's tokens are never copied


def test_labels_give_the_mean_negative_log_likelihood():
    model = tiny_copy_model()
    labels = torch.tensor([[BOS, 5, EOS], [BOS, 9, -100]])
    with torch.no_grad():
        out = model(input_ids=SOURCES, attention_mask=MASK, labels=labels)
    picked = out.logits.gather(-1, labels.clamp(min=0)[..., None])[..., 0][labels != -100]
    assert out.loss.item() == pytest.approx(-picked.mean().item(), rel=1e-5)


@pytest.mark.parametrize("num_beams", [1, 3])
def test_step_by_step_decoding_scores_what_a_whole_forward_scores(num_beams):
    model = tiny_copy_model(seed=1)
    extra = ({"past_key_values": BeamSearchCache(DynamicCache(config=model.config), DynamicCache(config=model.config))}
             if num_beams > 1 else {})
    with torch.no_grad():
        out = model.generate(input_ids=SOURCES, attention_mask=MASK, num_beams=num_beams, max_new_tokens=6,
                             do_sample=False, output_logits=True, return_dict_in_generate=True, **extra)
        if num_beams == 1:
            steps = torch.stack(out.logits, 1)  # |steps| = (2, generated, vocab_size)
            whole = model(input_ids=SOURCES, attention_mask=MASK, decoder_input_ids=out.sequences[:, :-1]).logits
            assert torch.allclose(steps, whole[:, -steps.size(1):], atol=1e-4)
    assert out.sequences.shape[0] == 2


def test_a_saved_copy_model_loads_as_one_and_scores_the_same(tmp_path):
    from transformers import AutoModelForSeq2SeqLM

    from chat_summarization.model import model_from_config  # registers the copy models with the Auto classes

    model = tiny_copy_model(seed=2)
    model.save_pretrained(tmp_path)
    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path).eval()
    decoder_inputs = torch.tensor([[EOS, BOS, 5]] * 2)
    with torch.no_grad():
        expected = model(input_ids=SOURCES, attention_mask=MASK, decoder_input_ids=decoder_inputs).logits
        got = loaded(input_ids=SOURCES, attention_mask=MASK, decoder_input_ids=decoder_inputs).logits
    assert type(loaded) is CopyBartForConditionalGeneration and torch.equal(got, expected)
    assert type(model_from_config(loaded.config)) is CopyBartForConditionalGeneration


@pytest.mark.parametrize("layer_norm, model_type", [("post", "copy_bart"), ("pre", "copy_mbart")])
def test_the_embedded_copy_models_save_and_summarize_after_loading(tmp_path, layer_norm, model_type):
    from dataclasses import asdict

    from chat_summarization.dataset import Dialogue
    from chat_summarization.generate import GenerationSettings, summarize_dialogues
    from chat_summarization.model import BartSize, SummarizerInfo, load_summarizer, model_from_config
    from chat_summarization.model import save_summarizer, small_bart_config
    from chat_summarization.tokenizer import train_bpe_tokenizer

    texts = ["#Person1#: 사과 주세요. #Person2#: 여기 있어요.", "#Person1#이 사과를 산다."] * 5
    tokenizer = train_bpe_tokenizer(texts, 120, tags=["#Person1#", "#Person2#"])
    torch.manual_seed(0)
    size = BartSize(16, 1, 1, 2, 32, 0.0, layer_norm=layer_norm, copy_attention=True)
    model = model_from_config(small_bart_config(tokenizer, size, 64)).eval()
    assert model.config.model_type == model_type
    settings = GenerationSettings(num_beams=2, max_length=8)
    save_summarizer(model, tokenizer, tmp_path / "sum", SummarizerInfo(64, 16, asdict(settings), [], "embedded"))
    loaded = load_summarizer(tmp_path / "sum")
    assert type(loaded.model) is type(model)
    dialogues = [Dialogue("a", texts[0], ()), Dialogue("b", "#Person2#: 안녕하세요.", ())]
    summaries = [summarize_dialogues(m, tokenizer, dialogues, settings, 2, 64, torch.device("cpu"), progress=False)
                 for m in (model, loaded.model)]
    assert summaries[0] == summaries[1] and len(summaries[0]) == 2
