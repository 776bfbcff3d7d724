"""A tiny pretrained-model directory for tests: a BERT built from ``BertConfig`` and a WordPiece tokenizer
trained on the test corpora, written with ``save_pretrained`` as a hub download would look."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertModel, BertTokenizerFast

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def wordpiece_tokenizer(texts: Iterable[str], vocab_size: int = 1000) -> BertTokenizerFast:
    """BERT-style WordPiece; no accent stripping, which would split Hangul into jamo."""
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=vocab_size,
                                                                   special_tokens=SPECIAL_TOKENS))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tokenizer.decoder = decoders.WordPiece()
    # transformers 5 rebuilds a BertTokenizer's normalizer from these arguments when it loads the directory
    return BertTokenizerFast(tokenizer_object=tokenizer, do_lower_case=False, strip_accents=False, unk_token="[UNK]",
                             pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def corpus_texts(*paths: Path) -> list[str]:
    """Every text field of TSV fixtures (all but the first column, or the first of a headered file)."""
    texts = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            texts.extend(field for field in line.split("\t") if field and not field.replace(".", "").isdigit())
    return texts


def build_tiny_bert(directory: Path, texts: Iterable[str], hidden_size: int = 32, n_layers: int = 2,
                    max_positions: int = 64, n_heads: int = 2, dropout: float = 0.0, init_range: float = 0.1,
                    seed: int = 0) -> Path:
    """Write an (untrained) tiny BERT encoder and its tokenizer to ``directory``.

    No dropout and a wider initialization than BERT's 0.02: an untrained model that small then learns
    the fixtures in a few epochs from any seed (at 0.02 it often stalls on a plateau).
    """
    tokenizer = wordpiece_tokenizer(texts)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, num_hidden_layers=n_layers,
                        num_attention_heads=n_heads, intermediate_size=2 * hidden_size,
                        max_position_embeddings=max_positions, pad_token_id=tokenizer.pad_token_id,
                        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
                        initializer_range=init_range)
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
