"""Text -> token ids inside the tool: space, char, Kiwi morphemes or learned BPE subwords.

The vocabulary is a Hugging Face ``tokenizers`` model (WordLevel for space/char/kiwi with
``--min_vocab_freq``/``--max_vocab_size``, BPE for ``bpe``) trained on the training texts. It is
saved with the model as a JSON string, so classify.py tokenizes exactly as training did.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

from ..errors import UserError

TOKENIZERS = ("space", "char", "kiwi", "bpe")
PAD, UNK = "<pad>", "<unk>"
SPACE = "\u2581"  # '▁' marks a word boundary in char and bpe tokens


@functools.lru_cache(maxsize=1)
def _kiwi() -> Any:
    from kiwipiepy import Kiwi

    return Kiwi()


def kiwi_morphemes(texts: Sequence[str]) -> list[str]:
    """Each text as space-joined Kiwi morphemes (forms), e.g. '짜증나네요' -> '짜증 나 네요'."""
    if not texts:
        return []
    results = _kiwi().tokenize(list(texts))
    return [" ".join(token.form.replace(" ", "_") for token in tokens) for tokens in results]


def _new_tokenizer(kind: str) -> Tokenizer:
    if kind == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token=UNK))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        return tokenizer
    tokenizer = Tokenizer(models.WordLevel(unk_token=UNK))
    if kind == "char":
        tokenizer.normalizer = normalizers.Sequence([normalizers.Strip(), normalizers.Replace(Regex(r"\s+"), SPACE)])
        tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    else:  # space, and kiwi after morpheme splitting in Python
        tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tokenizer


class TextTokenizer:
    """Turns raw texts into id sequences of at most ``max_length`` tokens (never empty)."""

    def __init__(self, kind: str, tokenizer: Tokenizer, max_length: int) -> None:
        if kind not in TOKENIZERS:
            raise UserError(f"unknown tokenizer {kind!r}; choose from {', '.join(TOKENIZERS)}")
        self.kind = kind
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.tokenizer.enable_truncation(max_length)
        self.pad_id = tokenizer.token_to_id(PAD)
        self.unk_id = tokenizer.token_to_id(UNK)

    @classmethod
    def train(
        cls,
        kind: str,
        texts: Iterable[str],
        max_length: int,
        min_freq: int = 1,
        max_vocab_size: int = 999_999,
        bpe_vocab_size: int = 8000,
    ) -> "TextTokenizer":
        """Learn the vocabulary of ``kind`` from ``texts``."""
        if kind not in TOKENIZERS:
            raise UserError(f"unknown tokenizer {kind!r}; choose from {', '.join(TOKENIZERS)}")
        tokenizer = _new_tokenizer(kind)
        special = [PAD, UNK]
        texts = list(texts)
        if kind == "kiwi":
            texts = kiwi_morphemes(texts)
        if kind == "bpe":
            trainer = trainers.BpeTrainer(vocab_size=bpe_vocab_size, min_frequency=min_freq, special_tokens=special,
                                          show_progress=False)
        else:
            trainer = trainers.WordLevelTrainer(vocab_size=max_vocab_size + len(special), min_frequency=min_freq,
                                                special_tokens=special, show_progress=False)
        tokenizer.train_from_iterator(texts, trainer=trainer)
        return cls(kind, tokenizer, max_length)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text; a text with no known token becomes ``[<unk>]``."""
        if self.kind == "kiwi":
            texts = kiwi_morphemes(texts)
        return [encoding.ids or [self.unk_id] for encoding in self.tokenizer.encode_batch(list(texts))]

    def tokens(self, text: str) -> list[str]:
        """The tokens of one text (for inspection and tests)."""
        if self.kind == "kiwi":
            text = kiwi_morphemes([text])[0]
        return self.tokenizer.encode(text).tokens

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "max_length": self.max_length, "json": self.tokenizer.to_str()}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> "TextTokenizer":
        return cls(state["kind"], Tokenizer.from_str(state["json"]), state["max_length"])
