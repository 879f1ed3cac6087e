"""The reference quantizer (the spec) and the simulation against the fp32 model."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from embbert.errors import EmbBertError
from embbert.model import EmbBertConfig
from embbert.quant import fold, folded_forward, quantize, random_calibration
from embbert.quant.numerics import TOLERANCES, f16_value
from embbert.quant.quantize import quantize_blocks, quantize_rows
from embbert.quant.testing import limit_threads, random_checkpoint

limit_threads()

SMALL = EmbBertConfig(vocab_size=400, max_len=48, d_model=64, reduced_dim=8, n_layers=2,
                      conv_kernel=8, expansion=1, num_labels=3)


def fp32_logits(ckpt, seqs) -> np.ndarray:
    m = ckpt.model()
    with torch.no_grad():
        return np.array([m(torch.as_tensor(i)[None], torch.as_tensor(s)[None])[0].numpy()
                         for i, s in seqs], np.float64)


def agreement(q, ref) -> tuple[float, float, float]:
    cos = (q * ref).sum(1) / (np.linalg.norm(q, axis=1) * np.linalg.norm(ref, axis=1))
    return float(np.abs(q - ref).max()), float(cos.min()), float((q.argmax(1) ==
                                                                  ref.argmax(1)).mean())


def test_folding_matches_pytorch():
    cfg = EmbBertConfig(vocab_size=200, max_len=20, d_model=24, reduced_dim=4, n_layers=3,
                        conv_kernel=5, expansion=2, num_labels=4)
    ck = random_checkpoint(cfg, seed=3)
    seqs = random_calibration(cfg, 12, seed=1, min_len=1)
    f = fold(ck)
    got = np.array([folded_forward(f, i, s) for i, s in seqs])
    np.testing.assert_allclose(got, fp32_logits(ck, seqs), atol=2e-4, rtol=1e-4)


def test_block_quantizer_rounding_clamping_and_zero_scales():
    s = 0.5                                     # an exact FP16 scale: absmax 63.5
    row = np.array([63.5, 0.25, -0.25, 0.75, -0.75, 1.25, -63.5] + [0.0] * 25)
    w = np.stack([row, np.zeros(32), row * 1e-9])
    t = quantize_blocks(w)
    assert t.block == 32 and t.n_blocks == 1
    assert f16_value(t.scale[0, 0]) == s
    assert t.q[0, :7].tolist() == [127, 1, -1, 2, -2, 3, -127]   # half away from zero
    assert t.scale[1, 0] == 0 and not t.q[1].any()               # zero block: zero scale
    assert t.scale[2, 0] == 0 and not t.q[2].any()               # FP16 underflow guarded


def test_blocks_shorter_rows_and_outlier_tables():
    rng = np.random.default_rng(0)
    w = rng.normal(0, 1, (5, 70))
    w[:, 9] *= 50
    t = quantize_blocks(w, np.array([9, 40]))
    assert (t.block, t.n_blocks) == (32, 3)                       # 32 + 32 + 6
    assert not t.q[:, [9, 40]].any()
    np.testing.assert_array_equal(f16_value(t.outlier_w),
                                  w[:, [9, 40]].astype(np.float32).astype(np.float16))
    scales = np.repeat(f16_value(t.scale).astype(np.float64), t.block, axis=1)[:, :70]
    err = np.abs(t.q * scales - np.where(np.isin(np.arange(70), [9, 40]), 0, w)).max()
    assert err <= f16_value(t.scale).max() / 2 + 1e-6
    short = quantize_blocks(rng.normal(0, 1, (3, 16)))
    assert (short.block, short.n_blocks) == (16, 1)
    q, s = quantize_rows(rng.normal(0, 1, (10, 16)))
    assert q.shape == (10, 16) and s.shape == (10,) and np.abs(q).max() == 127


def test_outliers_are_found_and_help():
    ck = random_checkpoint(SMALL, seed=2, outlier_channels=(5, 33))
    cal = random_calibration(SMALL, 32, seed=0)
    test = random_calibration(SMALL, 48, seed=7, min_len=1)
    ref = fp32_logits(ck, test)
    with_o = quantize(ck, cal, max_outliers=4)
    without = quantize(ck, cal, threshold=float("inf"))
    for L in with_o.layers:
        assert {5, 33} <= set(L.h_outliers.tolist()), L.h_outliers
        assert L.q.n_outliers == L.out.n_outliers == L.dw.n_outliers == len(L.h_outliers)
    assert all(len(L.h_outliers) == 0 for L in without.layers)
    e1, c1, _ = agreement(with_o.logits_batch(test), ref)
    e0, c0, _ = agreement(without.logits_batch(test), ref)
    print(f"\nwith outlier tables: max abs {e1:.4f} cos {c1:.5f}; "
          f"without: max abs {e0:.4f} cos {c0:.5f}")
    assert e1 < e0 and c1 > c0


@pytest.mark.parametrize("outliers", [(), (3, 77)])
def test_sim_vs_fp32_default_config(outliers):
    """Default config, trained-like weight scales (no trained checkpoint yet)."""
    cfg = EmbBertConfig()
    ck = random_checkpoint(cfg, seed=1, outlier_channels=outliers)
    mq = quantize(ck, random_calibration(cfg, 32, seed=0, max_len=64))
    test = random_calibration(cfg, 48, seed=9, max_len=64)
    err, cos, agree = agreement(mq.logits_batch(test).astype(np.float64), fp32_logits(ck, test))
    print(f"\ndefault config, outlier channels {outliers}: max abs logit error {err:.4f}, "
          f"min cosine {cos:.5f}, argmax agreement {agree:.3f}, weights "
          f"{mq.weights_bytes()} B, hn outliers {[len(L.h_outliers) for L in mq.layers]}")
    assert cos >= TOLERANCES["sim_vs_fp32_cosine_min"]
    assert agree >= TOLERANCES["sim_vs_fp32_argmax_min"]
    assert mq.weights_bytes() <= 420_000


def test_thousand_sentences_fast():
    cfg = EmbBertConfig()
    mq = quantize(random_checkpoint(cfg, seed=1, outlier_channels=(3,)),
                  random_calibration(cfg, 16, seed=0, max_len=32))
    seqs = random_calibration(cfg, 1000, seed=4, min_len=8, max_len=64)
    t = time.perf_counter()
    out = mq.logits_batch(seqs)
    dt = time.perf_counter() - t
    print(f"\n1000 sentences (8..64 tokens) through the simulation: {dt:.2f} s")
    assert out.shape == (1000, cfg.num_labels) and out.dtype == np.float32
    assert dt < 30


def test_padding_and_batching_do_not_change_bits():
    ck = random_checkpoint(SMALL, seed=4, outlier_channels=(1,))
    mq = quantize(ck, random_calibration(SMALL, 16, seed=0))
    seqs = random_calibration(SMALL, 20, seed=3, min_len=1)
    batched = mq.logits_batch(seqs, batch_size=7)
    single = np.array([mq.logits(i, s) for i, s in seqs])
    assert np.array_equal(batched.view(np.uint32), single.view(np.uint32))
    ids, segs = seqs[0]
    padded = mq.logits(np.concatenate([ids, [0, 0, 0]]), np.concatenate([segs, [0, 0, 0]]))
    assert np.array_equal(padded.view(np.uint32), single[0].view(np.uint32))


def test_max_len_and_input_errors():
    ck = random_checkpoint(SMALL, seed=5)
    mq = quantize(ck, random_calibration(SMALL, 8, seed=0, max_len=20), max_len=20)
    assert mq.config.max_len == 20 and mq.pos_q.shape[0] == 20
    with pytest.raises(EmbBertError, match="exceeds max_len 20"):
        mq.logits(np.full(21, 5), np.ones(21, int))
    with pytest.raises(EmbBertError, match="empty input"):
        mq.logits(np.zeros(0, int), np.zeros(0, int))
    with pytest.raises(EmbBertError, match="token id out of range"):
        mq.logits(np.array([2, 400]), np.array([1, 1]))
    with pytest.raises(EmbBertError, match="segment id"):
        mq.logits(np.array([2, 5]), np.array([1, 3]))
    with pytest.raises(EmbBertError, match="max-len"):
        quantize(ck, random_calibration(SMALL, 2), max_len=49)
    with pytest.raises(EmbBertError, match="calibration set is empty"):
        quantize(ck, [])
