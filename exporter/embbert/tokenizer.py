"""Lower-case WordPiece tokenizer (HF `tokenizers`) and the [CLS] a [SEP] b [SEP] encoding.

The tokenizer JSON travels inside every checkpoint, so a model is never separated from the
vocabulary it was trained with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from .errors import EmbBertError
from .model import CLS_ID, MASK_ID, PAD_ID, SEP_ID, UNK_ID

if TYPE_CHECKING:
    from .data import Example

SPECIALS = {"[PAD]": PAD_ID, "[UNK]": UNK_ID, "[CLS]": CLS_ID, "[MASK]": MASK_ID, "[SEP]": SEP_ID}


def train_tokenizer(texts: Iterable[str], vocab_size: int = 8192) -> Tokenizer:
    """Train a lower-case WordPiece vocabulary; special ids are fixed as in the spec."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    # BertNormalizer deletes control characters (the data keeps some, see SOURCES.md).
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=True, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=2,
                                        special_tokens=list(SPECIALS), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    check_specials(tok)
    return tok


def check_specials(tok: Tokenizer) -> None:
    for name, want in SPECIALS.items():
        if tok.token_to_id(name) != want:
            raise EmbBertError(f"tokenizer: {name} has id {tok.token_to_id(name)}, "
                               f"spec needs {want}")


def from_json(js: str) -> TextEncoder:
    if not js:
        raise EmbBertError("checkpoint carries no tokenizer")
    try:
        tok = Tokenizer.from_str(js)
    except Exception as e:
        raise EmbBertError(f"checkpoint tokenizer is not valid tokenizers JSON ({e})") from e
    check_specials(tok)
    return TextEncoder(tok)


class TextEncoder:
    """Turns text (or a text pair) into (ids, segs) as the model and the device expect them."""

    def __init__(self, tok: Tokenizer):
        self.tok = tok

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    def to_json(self) -> str:
        return self.tok.to_str()

    def pieces(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens."""
        return [e.ids for e in self.tok.encode_batch(list(texts), add_special_tokens=False)]

    def encode(self, a: str, b: str | None = None, max_len: int = 256,
               truncate: bool = True) -> tuple[list[int], list[int]]:
        pa = self.pieces([a])[0]
        pb = self.pieces([b])[0] if b is not None else None
        return assemble(pa, pb, max_len, truncate)

    def encode_batch(self, a: Sequence[str], b: Sequence[str] | None = None, max_len: int = 256,
                     truncate: bool = True) -> list[tuple[list[int], list[int]]]:
        pa = self.pieces(a)
        pb = self.pieces(b) if b is not None else [None] * len(pa)
        return [assemble(x, y, max_len, truncate) for x, y in zip(pa, pb, strict=True)]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode(list(ids))


def assemble(a: list[int], b: list[int] | None, max_len: int,
             truncate: bool = True) -> tuple[list[int], list[int]]:
    """[CLS] a [SEP] (b [SEP]); segs 1 up to and including the first [SEP], 2 after."""
    n_special = 3 if b is not None else 2
    budget = max_len - n_special
    total = len(a) + (len(b) if b is not None else 0)
    if total > budget:
        if not truncate:
            raise EmbBertError(f"input is {total + n_special} tokens, longer than max_len "
                               f"{max_len} (ask for truncation to cut it)")
        a, b = truncate_pair(a, b, budget)
    ids = [CLS_ID, *a, SEP_ID]
    segs = [1] * len(ids)
    if b is not None:
        ids += [*b, SEP_ID]
        segs += [2] * (len(b) + 1)
    return ids, segs


def truncate_pair(a: list[int], b: list[int] | None, budget: int):
    """Longest-first truncation (BERT's rule): drop tokens from the end of the longer text."""
    if b is None:
        return a[:max(budget, 0)], None
    la, lb = len(a), len(b)
    while la + lb > budget:
        if la >= lb:
            la -= 1
        else:
            lb -= 1
    return a[:la], b[:lb]


def pad_batch(seqs: Sequence[tuple[list[int], list[int]]],
              length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad to the longest (or given) length: ids 0 = [PAD], segs 0 = padding."""
    T = length or max(len(ids) for ids, _ in seqs)
    ids = np.zeros((len(seqs), T), dtype=np.int64)
    segs = np.zeros((len(seqs), T), dtype=np.int64)
    for i, (x, s) in enumerate(seqs):
        ids[i, :len(x)] = x
        segs[i, :len(s)] = s
    return ids, segs


def window_starts(n: int, budget: int) -> list[int]:
    """Where the windows of a text of n pieces start: back to back, the last one aligned to the
    end (so it is full), one window when the text fits."""
    if budget < 1:
        raise EmbBertError(f"windows need room for at least one token (budget {budget})")
    starts = list(range(0, max(n - budget, 0) + 1, budget))
    if starts[-1] + budget < n:
        starts.append(n - budget)
    return starts


def encode_windows(enc: TextEncoder, examples: Sequence[Example], max_len: int
                   ) -> tuple[list[tuple[list[int], list[int]]], np.ndarray]:
    """Single texts cut into max_len windows instead of truncated: the sequences, and for each
    the index of the example it came from (average the logits per example: window_mean)."""
    if examples and examples[0].text_b is not None:
        raise EmbBertError("windows apply to single-text tasks only (pairs are truncated)")
    seqs, owner = [], []
    budget = max_len - 2
    for i, p in enumerate(enc.pieces([e.text_a for e in examples])):
        for s in window_starts(len(p), budget):
            seqs.append(assemble(p[s:s + budget], None, max_len))
            owner.append(i)
    return seqs, np.asarray(owner, dtype=np.int64)


def window_mean(logits: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Mean of the window logits of each of the n examples: float32 sums in window order, then
    one division, as the device computes it (bit for bit)."""
    out = np.zeros((n, logits.shape[1]), dtype=np.float32)
    np.add.at(out, owner, np.asarray(logits, dtype=np.float32))
    return out / np.bincount(owner, minlength=n).astype(np.float32)[:, None]


def encode_examples(enc: TextEncoder, examples: Sequence[Example], max_len: int
                    ) -> list[tuple[list[int], list[int]]]:
    """Tokenize task examples; texts longer than max_len are truncated (longest first for
    pairs)."""
    a = [e.text_a for e in examples]
    b = [e.text_b or "" for e in examples] if examples and examples[0].text_b is not None else None
    return enc.encode_batch(a, b, max_len=max_len, truncate=True)
