"""Pretraining corpus: documents -> one flat token stream, and MLM + NSP batches drawn from it.

Batches are a pure function of (seed, step, rank), so a resumed or distributed run sees exactly
the data an uninterrupted single run would.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data import NLTK_RANGES, TASKS, load_split, pretrain_files, read_lines
from ..model import CLS_ID, MASK_ID, SEP_ID
from ..tokenizer import TextEncoder

N_SPECIAL = SEP_ID + 1  # ids below this are special tokens, never masked or sampled


def corpus_documents(include_tasks: bool = True, limit_lines: int | None = None) -> list[str]:
    """Every pretraining document as one string: IMDb unsup reviews, NLTK corpora (one document
    per corpus, lines kept as running text), and the task *training* texts (never dev/test)."""
    imdb, nltk = pretrain_files()
    docs = read_lines(imdb)[:limit_lines]
    lines = read_lines(nltk)
    for _, first, last in NLTK_RANGES:
        chunk = lines[first - 1:last][:limit_lines]
        # Chunks of 200 lines keep documents long enough for next-sentence pairs while the
        # tokenizer still sees them as separate strings.
        docs += [" ".join(chunk[i:i + 200]) for i in range(0, len(chunk), 200)]
    if include_tasks:
        for name in TASKS:
            for ex in load_split(name, "train")[:limit_lines]:
                docs.append(ex.text_a if ex.text_b is None else f"{ex.text_a} {ex.text_b}")
    return docs


@dataclass
class TokenStream:
    tokens: np.ndarray      # [N] uint16, all documents back to back
    doc_starts: np.ndarray  # [D] int64, start offset of each document
    doc_ends: np.ndarray    # [D] int64

    @classmethod
    def build(cls, enc: TextEncoder, docs: list[str], batch: int = 2048) -> TokenStream:
        pieces: list[np.ndarray] = []
        for i in range(0, len(docs), batch):
            pieces += [np.asarray(p, dtype=np.uint16) for p in enc.pieces(docs[i:i + batch])]
        pieces = [p for p in pieces if len(p) > 0]
        lengths = np.array([len(p) for p in pieces], dtype=np.int64)
        ends = np.cumsum(lengths)
        return cls(np.concatenate(pieces), ends - lengths, ends)

    @classmethod
    def cached(cls, enc: TextEncoder, docs_fn, cache_dir: Path, tag: str) -> TokenStream:
        key = hashlib.sha256((enc.to_json() + tag).encode()).hexdigest()[:16]
        path = cache_dir / f"stream-{key}.npz"
        if path.is_file():
            z = np.load(path)
            return cls(z["tokens"], z["doc_starts"], z["doc_ends"])
        s = cls.build(enc, docs_fn())
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, tokens=s.tokens, doc_starts=s.doc_starts, doc_ends=s.doc_ends)
        tmp.replace(path)
        return s

    def __len__(self) -> int:
        return len(self.tokens)

    def split(self, every: int) -> tuple[TokenStream, TokenStream]:
        """(the rest, every `every`-th document): a held-out stream training never samples."""
        held = np.zeros(len(self.doc_starts), dtype=bool)
        held[::every] = True
        return self._subset(~held), self._subset(held)

    def _subset(self, keep: np.ndarray) -> TokenStream:
        lengths = self.doc_ends - self.doc_starts          # documents lie back to back
        tokens = self.tokens[np.repeat(keep, lengths)]
        ends = np.cumsum(lengths[keep])
        return TokenStream(tokens, ends - lengths[keep], ends)


def _span(stream: TokenStream, rng: np.random.Generator, n: int) -> tuple[np.ndarray, int]:
    """Up to n tokens from a random position, not crossing its document end."""
    p = int(rng.integers(0, len(stream.tokens)))
    d = int(np.searchsorted(stream.doc_starts, p, side="right") - 1)
    end = min(p + n, int(stream.doc_ends[d]))
    return stream.tokens[p:end], end


def make_batch(stream: TokenStream, vocab_size: int, batch_size: int, seq_len: int, seed: int,
               step: int, rank: int = 0, mask_prob: float = 0.15) -> dict[str, torch.Tensor]:
    """One MLM + NSP batch: [CLS] A [SEP] B [SEP], B follows A half of the time."""
    rng = np.random.default_rng([seed, step, rank])
    ids = np.zeros((batch_size, seq_len), dtype=np.int64)
    segs = np.zeros((batch_size, seq_len), dtype=np.int64)
    nsp = np.zeros(batch_size, dtype=np.int64)
    budget = seq_len - 3
    for i in range(batch_size):
        # BERT: 10% of examples are shorter, so short inputs are seen in pretraining too.
        total = budget if rng.random() >= 0.1 else int(rng.integers(2, budget + 1))
        a, a_end = _span(stream, rng, int(rng.integers(1, total)))
        b = np.zeros(0, dtype=np.uint16)
        if rng.random() < 0.5:
            d = int(np.searchsorted(stream.doc_starts, a_end - 1, side="right") - 1)
            b = stream.tokens[a_end:min(a_end + total - len(a), int(stream.doc_ends[d]))]
            nsp[i] = 1 if len(b) else 0
        if len(b) == 0:
            b, _ = _span(stream, rng, total - len(a))
        row = np.concatenate([[CLS_ID], a, [SEP_ID], b, [SEP_ID]]).astype(np.int64)
        ids[i, :len(row)] = row
        segs[i, :len(a) + 2] = 1
        segs[i, len(a) + 2:len(row)] = 2
    # Masked LM, 15% of real tokens: 80% [MASK], 10% random token, 10% unchanged.
    candidates = ids >= N_SPECIAL
    chosen = candidates & (rng.random(ids.shape) < mask_prob)
    labels = np.where(chosen, ids, -100)
    r = rng.random(ids.shape)
    inputs = ids.copy()
    inputs[chosen & (r < 0.8)] = MASK_ID
    rand_tok = chosen & (r >= 0.8) & (r < 0.9)
    inputs[rand_tok] = rng.integers(N_SPECIAL, vocab_size, size=int(rand_tok.sum()))
    return {"ids": torch.from_numpy(inputs), "segs": torch.from_numpy(segs),
            "mlm_labels": torch.from_numpy(labels), "nsp_labels": torch.from_numpy(nsp)}
