"""Beam search without reordering the cross-attention cache writes exactly what stock generate() writes."""
from __future__ import annotations

import torch
from transformers import BartConfig, BartForConditionalGeneration

from chat_summarization.generate import GenerationSettings, generate_ids


def test_beam_search_cache_gives_the_same_summaries_as_stock_generate():
    torch.manual_seed(0)
    config = BartConfig(vocab_size=60, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                        decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64,
                        max_position_embeddings=64, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                        decoder_start_token_id=2, forced_eos_token_id=2)
    model = BartForConditionalGeneration(config).eval()
    input_ids = torch.randint(3, 60, (5, 12))
    input_ids[3:, 8:] = 1  # two padded dialogues
    batch = {"input_ids": input_ids, "attention_mask": (input_ids != 1).long()}
    for settings in (GenerationSettings(num_beams=4, max_length=20),
                     GenerationSettings(num_beams=3, max_length=15, no_repeat_ngram_size=2, length_penalty=1.5)):
        with torch.inference_mode():
            ours = generate_ids(model, batch, settings)
            stock = model.generate(**batch, **settings.generate_kwargs())
        assert torch.equal(ours, stock)
