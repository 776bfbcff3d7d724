"""Tokenizers: speaker/PII tags as never-split tokens, the embedded byte-level BPE, tag-preserving decoding.

Tags such as ``#Person1#`` or ``#PhoneNumber#`` are found in the data and added as special tokens,
so a tokenizer never splits them. They are part of the summaries, so decoding removes only the
control tokens (``<s>``, ``</s>``, ``<pad>``, ...) and keeps the tags.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AddedToken, PreTrainedTokenizerBase, PreTrainedTokenizerFast

TAG_PATTERN = re.compile(r"#\w+#")
BOS, PAD, EOS, UNK, MASK = "<s>", "<pad>", "</s>", "<unk>", "<mask>"
CONTROL_TOKENS = (BOS, PAD, EOS, UNK, MASK)  # ids 0..4, as in BART


def find_tags(texts: Iterable[str]) -> list[str]:
    """Every ``#Tag#`` in ``texts``, sorted."""
    return sorted({tag for text in texts for tag in TAG_PATTERN.findall(text)})


def add_tags(tokenizer: PreTrainedTokenizerBase, tags: Sequence[str]) -> list[str]:
    """Add the tags the tokenizer does not know yet as special (never split) tokens; return them."""
    vocab = tokenizer.get_vocab()
    new = [tag for tag in tags if tag not in vocab]
    if new:
        tokenizer.add_tokens([AddedToken(tag, special=True, normalized=False, lstrip=False, rstrip=False)
                              for tag in new])
    return new


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int, tags: Sequence[str] = ()) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer (as BART's) trained on ``texts``; it adds ``<s> ... </s>`` around a text."""
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=list(CONTROL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    backend.train_from_iterator(texts, trainer)
    bos_id, eos_id = backend.token_to_id(BOS), backend.token_to_id(EOS)
    backend.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}", pair=f"{BOS} $A {EOS} {EOS} $B {EOS}",
        special_tokens=[(BOS, bos_id), (EOS, eos_id)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token=BOS, eos_token=EOS, pad_token=PAD,
                                        unk_token=UNK, mask_token=MASK)
    add_tags(tokenizer, tags)
    return tokenizer


def control_token_ids(tokenizer: PreTrainedTokenizerBase) -> set[int]:
    """Ids of special tokens that are not text (bos, eos, pad, unk, mask, ...); tags are not among them."""
    tags = set(TAG_PATTERN.findall(" ".join(tokenizer.get_added_vocab())))
    return {i for token, i in zip(tokenizer.all_special_tokens, tokenizer.all_special_ids) if token not in tags}


class SummaryDecoder:
    """Token ids -> summary text without control tokens, keeping ``#Tag#`` tokens.

    Byte-level tokens that do not form whole UTF-8 characters (an undertrained model may write
    them) would decode to U+FFFD; those replacement characters are dropped.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self.tokenizer = tokenizer
        self.skip = control_token_ids(tokenizer)

    def __call__(self, sequences: Iterable[Sequence[int]]) -> list[str]:
        texts = []
        for ids in sequences:
            kept = [int(i) for i in ids if int(i) not in self.skip]
            text = self.tokenizer.decode(kept, skip_special_tokens=False, clean_up_tokenization_spaces=False)
            texts.append(text.replace("\ufffd", "").strip())
        return texts
