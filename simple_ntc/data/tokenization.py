"""Text -> token ids inside the tool: space, char, Kiwi morphemes, lower-cased words or learned BPE subwords.

The vocabulary is a Hugging Face ``tokenizers`` model (WordLevel for space/char/kiwi/word with
``--min_vocab_freq``/``--max_vocab_size``, BPE for ``bpe``) trained on the training texts. It is
saved with the model as a JSON string, so classify.py tokenizes exactly as training did.
"""
from __future__ import annotations

import bisect
import functools
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

from ..errors import UserError

TOKENIZERS = ("space", "char", "kiwi", "bpe", "word")
PAD, UNK, SEP = "<pad>", "<unk>", "<sep>"  # SEP joins the two texts of a sentence pair
SPACE = "\u2581"  # '▁' marks a word boundary in char and bpe tokens


# Which of Kiwi's built-in dictionaries are loaded (``--kiwi_dicts``): all three is Kiwi's own default and
# what models saved without the setting used; without them Kiwi loads in about a fifth of the time.
KIWI_DICTS = {
    "all": {"load_default_dict": True, "load_typo_dict": True, "load_multi_dict": True},
    "default": {"load_default_dict": True, "load_typo_dict": False, "load_multi_dict": False},
    "none": {"load_default_dict": False, "load_typo_dict": False, "load_multi_dict": False},
}
LEGACY_KIWI_DICTS = "all"
DEFAULT_KIWI_DICTS = "default"  # as accurate on NSMC as "all" and loads in half the time (README, "Start-up")


def kiwi_workers() -> int:
    """Worker threads of Kiwi's batch API: the CPU threads this process may use (OMP_NUM_THREADS), at least 1."""
    limit = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, min(int(limit) if limit.isdigit() and int(limit) > 0 else os.cpu_count() or 1, os.cpu_count() or 1))


@functools.lru_cache(maxsize=2)
def _kiwi(dicts: str = LEGACY_KIWI_DICTS) -> Any:
    from kiwipiepy import Kiwi

    return Kiwi(num_workers=kiwi_workers(), **KIWI_DICTS[dicts])


def kiwi_morphemes(texts: Sequence[str], dicts: str = LEGACY_KIWI_DICTS) -> list[str]:
    """Each text as space-joined Kiwi morphemes (forms), e.g. '짜증나네요' -> '짜증 나 네요'.

    Many texts go through Kiwi's batch API, which spreads them over its worker threads.
    """
    if not texts:
        return []
    results = _kiwi(dicts).tokenize(list(texts))
    return [" ".join(token.form.replace(" ", "_") for token in tokens) for tokens in results]


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each whitespace-separated word of ``text``: the units that explanations mask."""
    return [match.span() for match in re.finditer(r"\S+", text)]


def word_of_offset(text: str, starts: Sequence[int], start: int, end: int) -> int:
    """Index of the word holding the first non-space character of ``text[start:end]``; -1 for none."""
    for position in range(start, max(end, start + 1)):
        if position < len(text) and not text[position].isspace():
            return bisect.bisect_right(starts, position) - 1
    return -1


def _kiwi_words(texts: Sequence[str], dicts: str) -> tuple[list[str], list[list[int]]]:
    """Space-joined Kiwi morphemes of each text (as :func:`kiwi_morphemes`) and the word of each morpheme."""
    morphemes, words = [], []
    for text, tokens in zip(texts, _kiwi(dicts).tokenize(list(texts))):
        starts = [start for start, _ in word_spans(text)]
        morphemes.append(" ".join(token.form.replace(" ", "_") for token in tokens))
        words.append([word_of_offset(text, starts, token.start, token.start + token.len) for token in tokens])
    return morphemes, words


def _new_tokenizer(kind: str) -> Tokenizer:
    if kind == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token=UNK))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        return tokenizer
    tokenizer = Tokenizer(models.WordLevel(unk_token=UNK))
    if kind == "char":
        tokenizer.normalizer = normalizers.Sequence([normalizers.Strip(), normalizers.Replace(Regex(r"\s+"), SPACE)])
        tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    elif kind == "word":  # English and other space-separated languages: lower-cased, punctuation split off
        tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                           pre_tokenizers.Punctuation("isolated")])
    else:  # space, and kiwi after morpheme splitting in Python
        tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tokenizer


class TextTokenizer:
    """Turns raw texts into id sequences of at most ``max_length`` tokens (never empty)."""

    def __init__(self, kind: str, tokenizer: Tokenizer, max_length: int, kiwi_dicts: str = LEGACY_KIWI_DICTS) -> None:
        if kind not in TOKENIZERS:
            raise UserError(f"unknown tokenizer {kind!r}; choose from {', '.join(TOKENIZERS)}")
        if kiwi_dicts not in KIWI_DICTS:
            raise UserError(f"unknown Kiwi dictionaries {kiwi_dicts!r}; choose from {', '.join(KIWI_DICTS)}")
        self.kind = kind
        self.kiwi_dicts = kiwi_dicts
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.tokenizer.enable_truncation(max_length)
        self.pad_id = tokenizer.token_to_id(PAD)
        self.unk_id = tokenizer.token_to_id(UNK)
        self.sep_id = tokenizer.token_to_id(SEP)  # None unless trained for sentence pairs

    @classmethod
    def train(
        cls,
        kind: str,
        texts: Iterable[str],
        max_length: int,
        min_freq: int = 1,
        max_vocab_size: int = 999_999,
        bpe_vocab_size: int = 8000,
        pair: bool = False,
        kiwi_dicts: str = DEFAULT_KIWI_DICTS,
    ) -> "TextTokenizer":
        """Learn the vocabulary of ``kind`` from ``texts`` (with a ``<sep>`` token for sentence pairs)."""
        if kind not in TOKENIZERS:
            raise UserError(f"unknown tokenizer {kind!r}; choose from {', '.join(TOKENIZERS)}")
        tokenizer = _new_tokenizer(kind)
        special = [PAD, UNK, SEP] if pair else [PAD, UNK]
        texts = list(texts)
        if kind == "kiwi":
            texts = kiwi_morphemes(texts, kiwi_dicts)
        if kind == "bpe":
            trainer = trainers.BpeTrainer(vocab_size=bpe_vocab_size, min_frequency=min_freq, special_tokens=special,
                                          show_progress=False)
        else:
            trainer = trainers.WordLevelTrainer(vocab_size=max_vocab_size + len(special), min_frequency=min_freq,
                                                special_tokens=special, show_progress=False)
        tokenizer.train_from_iterator(texts, trainer=trainer)
        return cls(kind, tokenizer, max_length, kiwi_dicts)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text; a text with no known token becomes ``[<unk>]``."""
        if self.kind == "kiwi":
            texts = kiwi_morphemes(texts, self.kiwi_dicts)
        return [encoding.ids or [self.unk_id] for encoding in self.tokenizer.encode_batch(list(texts))]

    def encode_pairs(self, texts: Sequence[str], pairs: Sequence[str]) -> list[list[int]]:
        """``a <sep> b`` for each pair, at most ``max_length`` ids: the longer text loses tokens first."""
        return [self._join(a, b, self.sep_id) for a, b in zip(self.encode(texts), self.encode(pairs))]

    def _join(self, a: list[int], b: list[int], sep: int | None) -> list[int]:
        """``a sep b`` cut to ``max_length``, as :meth:`encode_pairs` cuts a pair (``sep`` stands in for <sep>)."""
        if self.sep_id is None:
            raise UserError("this vocabulary was not trained for sentence pairs (it has no <sep> token)")
        budget = max(self.max_length - 1, 2)
        keep_a = min(len(a), max(budget // 2, budget - len(b)))
        return a[:keep_a] + [sep] + b[:budget - keep_a]

    def encode_words(self, texts: Sequence[str]) -> list[tuple[list[int], list[int]]]:
        """Token ids of each text as :meth:`encode` gives them, and the whitespace word (index) of each token.

        A token outside every word (a char tokenizer's space marker, the ``<unk>`` of an empty text) gets -1.
        """
        words_of_morphemes = None
        if self.kind == "kiwi":
            morphemes, words_of_morphemes = _kiwi_words(texts, self.kiwi_dicts)
            encodings = self.tokenizer.encode_batch(morphemes)
        else:
            encodings = self.tokenizer.encode_batch(list(texts))
        encoded = []
        for i, (text, encoding) in enumerate(zip(texts, encodings)):
            if not encoding.ids:
                encoded.append(([self.unk_id], [-1]))
            elif words_of_morphemes is not None:  # one pre-tokenized "word" per morpheme
                encoded.append((encoding.ids, [words_of_morphemes[i][w] for w in encoding.word_ids]))
            else:
                starts = [start for start, _ in word_spans(text)]
                encoded.append((encoding.ids, [word_of_offset(text, starts, s, e) for s, e in encoding.offsets]))
        return encoded

    def encode_pair_words(self, texts: Sequence[str], pairs: Sequence[str]) -> list[tuple[list[int], list[int]]]:
        """:meth:`encode_pairs` with the word of each token; words of ``b`` are numbered after those of ``a``."""
        joined = []
        for text, (a, word_a), (b, word_b) in zip(texts, self.encode_words(texts), self.encode_words(pairs)):
            shift = len(word_spans(text))
            word_b = [w + shift if w >= 0 else -1 for w in word_b]
            joined.append((self._join(a, b, self.sep_id), self._join(word_a, word_b, -1)))
        return joined

    def tokens(self, text: str) -> list[str]:
        """The tokens of one text (for inspection and tests)."""
        if self.kind == "kiwi":
            text = kiwi_morphemes([text], self.kiwi_dicts)[0]
        return self.tokenizer.encode(text).tokens

    def to_dict(self) -> dict[str, Any]:
        state = {"kind": self.kind, "max_length": self.max_length, "json": self.tokenizer.to_str()}
        if self.kind == "kiwi":
            state["kiwi_dicts"] = self.kiwi_dicts
        return state

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> "TextTokenizer":
        # files saved before the setting existed were tokenized with all of Kiwi's dictionaries
        return cls(state["kind"], Tokenizer.from_str(state["json"]), state["max_length"],
                   state.get("kiwi_dicts", LEGACY_KIWI_DICTS))
