"""embbert-eval --quantized --engine c: the C runtime built for this machine gives the
simulation's logits bit for bit, across its process chunks, and refuses to score when it
does not."""

from __future__ import annotations

import numpy as np
import pytest
from embbert.bench import c_engine
from embbert.errors import EmbBertError
from embbert.model import EmbBertConfig
from embbert.quant import quantize, random_calibration
from embbert.quant.testing import random_checkpoint

CFG = dict(vocab_size=300, max_len=40, d_model=64, reduced_dim=16, n_layers=2, conv_kernel=8,
           expansion=1, num_labels=3)


@pytest.fixture(scope="module")
def mq():
    cfg = EmbBertConfig(**CFG)
    ck = random_checkpoint(cfg, seed=4, outlier_channels=(3,))
    return quantize(ck, random_calibration(cfg, 16, seed=4), sha256="e4" * 32)


def test_same_bits_as_the_simulation_across_chunks(mq, monkeypatch):
    monkeypatch.setattr(c_engine, "CHUNK", 7)             # several ebq_run processes
    seqs = random_calibration(mq.config, 30, seed=8, min_len=1)
    seqs.append((np.r_[2, np.arange(5, 43), 4][:40], np.ones(40, int)))   # max_len
    with c_engine.c_logits_fn(mq) as logits:
        got = logits(seqs)
    want = mq.logits_batch(seqs)
    assert got.shape == (31, 3) and np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_a_runtime_that_disagrees_is_an_error(mq):
    seqs = random_calibration(mq.config, 5, seed=9, min_len=1)
    with c_engine.c_logits_fn(mq) as logits:
        mq.classifier.bias = mq.classifier.bias + np.float32(0.5)   # the simulation moves on
        try:
            with pytest.raises(EmbBertError, match="not bit-exact with the simulation"):
                logits(seqs)
        finally:
            mq.classifier.bias = mq.classifier.bias - np.float32(0.5)


def test_an_out_of_range_token_is_a_named_error(mq):
    with c_engine.c_logits_fn(mq) as logits, pytest.raises(EmbBertError, match="C runtime"):
        logits([(np.array([2, 299, 9999, 4]), np.ones(4, int))])
