"""The fp32 reference model: parameter count, padding invariance, shapes, input checks."""

import pytest
import torch
from embbert.model import EmbBert, EmbBertConfig

from .conftest import TINY


def test_default_param_count_matches_formula():
    cfg = EmbBertConfig()
    m = EmbBert(cfg)
    n = sum(p.numel() for p in m.parameters())
    # embed: v*rd + l*rd + 2*d*rd + 3*d; layer: d + 2(d^2+d) + a*d*k + a*d + d*a*d + d + 4d
    v, l, d, rd, k, a, c = 8192, 256, 128, 16, 32, 1, 2
    formula = (v * rd + l * rd + 2 * d * rd + 3 * d
               + 4 * (d + 2 * (d * d + d) + a * d * k + a * d + d * a * d + d + 4 * d)
               + c * d + c)
    print(f"default EmbBERT-Q parameters: {n:,} (formula {formula:,})")
    assert n == formula == cfg.num_params() == 357_506


@pytest.mark.parametrize("cfg", [TINY, dict(TINY, expansion=2, conv_kernel=1, n_layers=1)])
def test_param_count_formula_other_configs(cfg):
    c = EmbBertConfig(**cfg)
    assert sum(p.numel() for p in EmbBert(c).parameters()) == c.num_params()


def test_state_dict_names_are_the_spec():
    names = set(EmbBert(EmbBertConfig(**TINY)).state_dict())
    expected = {"embed.tok.weight", "embed.tok_proj.weight", "embed.pos.weight",
                "embed.pos_proj.weight", "embed.seg.weight", "classifier.weight",
                "classifier.bias"}
    for i in range(TINY["n_layers"]):
        expected |= {f"layers.{i}.{n}" for n in [
            "norm.weight", "attn.q.weight", "attn.q.bias", "attn.out.weight", "attn.out.bias",
            "conv.dw.weight", "conv.dw.bias", "conv.pw.weight", "conv.pw.bias",
            "lambda_q1", "lambda_k1", "lambda_q2", "lambda_k2"]}
    assert names == expected


def _random_input(cfg, T, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, cfg.vocab_size, (1, T), generator=g)
    ids[0, 0] = 2
    segs = torch.ones_like(ids)
    return ids, segs


def test_right_padding_does_not_change_cls_logits():
    torch.manual_seed(1)
    cfg = EmbBertConfig(**TINY)
    m = EmbBert(cfg).eval()
    ids, segs = _random_input(cfg, 10)
    ids[0, 9] = 4
    segs[0, 6:] = 2
    ref = m(ids, segs)
    for pad in (1, 7, cfg.max_len - 10):
        pids = torch.cat([ids, torch.zeros(1, pad, dtype=ids.dtype)], 1)
        psegs = torch.cat([segs, torch.zeros(1, pad, dtype=segs.dtype)], 1)
        torch.testing.assert_close(m(pids, psegs), ref, rtol=1e-5, atol=1e-6)


def test_padding_changes_nothing_but_real_tokens_do():
    """Guard against a test that cannot fail: a different token changes the logits."""
    torch.manual_seed(1)
    cfg = EmbBertConfig(**TINY)
    m = EmbBert(cfg).eval()
    ids, segs = _random_input(cfg, 10)
    other = ids.clone()
    other[0, 5] = (other[0, 5] + 1) % cfg.vocab_size
    assert not torch.allclose(m(ids, segs), m(other, segs))


@pytest.mark.parametrize("T", [1, TINY["max_len"]])
def test_shapes_at_extreme_lengths(T):
    cfg = EmbBertConfig(**TINY)
    m = EmbBert(cfg).eval()
    ids, segs = _random_input(cfg, T)
    x = m.encode(ids, segs)
    assert x.shape == (1, T, cfg.d_model)
    assert m(ids, segs).shape == (1, cfg.num_labels)


def test_default_config_max_len_shapes():
    cfg = EmbBertConfig()
    m = EmbBert(cfg).eval()
    ids, segs = _random_input(cfg, cfg.max_len)
    assert m(ids, segs).shape == (1, 2)


def test_too_long_input_is_refused():
    cfg = EmbBertConfig(**TINY)
    m = EmbBert(cfg)
    ids, segs = _random_input(cfg, cfg.max_len + 1)
    with pytest.raises(ValueError, match="exceeds max_len"):
        m(ids, segs)


@pytest.mark.parametrize("bad,match", [(-1, "token id"), (TINY["vocab_size"], "token id")])
def test_out_of_range_ids_are_refused(bad, match):
    cfg = EmbBertConfig(**TINY)
    ids, segs = _random_input(cfg, 5)
    ids[0, 2] = bad
    with pytest.raises(ValueError, match=match):
        EmbBert(cfg)(ids, segs)


def test_bad_config_values():
    with pytest.raises(ValueError):
        EmbBertConfig(d_model=0)
    with pytest.raises(ValueError, match="unknown config keys"):
        EmbBertConfig.from_dict({"d_model": 8, "heads": 2})


def test_finetune_dropout_is_training_only():
    torch.manual_seed(0)
    model = EmbBert(EmbBertConfig(**TINY))
    ids = torch.randint(5, TINY["vocab_size"], (2, 9))
    segs = torch.ones_like(ids)
    model.eval()
    ref = model(ids, segs)
    model.dropout = 0.3
    assert torch.equal(model(ids, segs), ref)      # eval: the exported forward, untouched
    model.train()
    assert not torch.allclose(model(ids, segs), ref)
