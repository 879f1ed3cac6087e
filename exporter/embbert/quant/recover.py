"""Recovery finetune: straight-through fake quantization of exactly what export produces.

When a task loses too much accuracy after quantization, finetune the fp32 checkpoint for a few
hundred steps through a forward pass that rounds like the exported model: the *folded* weights
(gains, 1/sqrt(d), exp(lambda) inside) to int8 blocks of 32 with FP16 scales, outlier columns in
FP16, hn to the static int8 scale, q'/a/u/[CLS] per row to int8, softmax numerators to 127ths.
Rounding passes the gradient straight through. Outlier sets and hn scales come from a
calibration pass and stay fixed. The result is an ordinary checkpoint (unfolded parameters), so
the exporter and the C runtime do not change; export re-calibrates it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoint import Checkpoint
from ..errors import EmbBertError
from ..model import RMS_EPS, EmbBert
from .quantize import BLOCK, Calib, QuantModel, quantize

Labeled = Sequence[tuple[np.ndarray, np.ndarray, float]]


def _ste(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return x + (q - x).detach()


def _round_away(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


def fq_weight(w: torch.Tensor, outliers: np.ndarray, block: int = BLOCK) -> torch.Tensor:
    """w [rows, cols] -> int8 blocks with FP16 scales (outlier columns FP16), straight-through."""
    rows, cols = w.shape
    bl = min(block, cols)
    nb = -(-cols // bl)
    keep = torch.ones(cols, dtype=w.dtype)
    if len(outliers):
        keep[torch.as_tensor(outliers.astype(np.int64))] = 0
    inner = F.pad(w * keep, (0, nb * bl - cols)).reshape(rows, nb, bl)
    amax = inner.detach().abs().amax(-1, keepdim=True)
    scale = (amax / 127).half().float()
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.where(scale > 0, _round_away(inner / safe).clamp(-127, 127) * scale,
                    torch.zeros_like(inner))
    wq = _ste(inner, q).reshape(rows, nb * bl)[:, :cols]
    return wq + _ste(w * (1 - keep), (w * (1 - keep)).half().float())


def fq_row(v: torch.Tensor, outliers: np.ndarray) -> torch.Tensor:
    """Per-row absmax int8 over the non-outlier channels (outlier channels stay float)."""
    keep = torch.ones(v.shape[-1], dtype=v.dtype)
    if len(outliers):
        keep[torch.as_tensor(outliers.astype(np.int64))] = 0
    inner = v * keep
    amax = inner.detach().abs().amax(-1, keepdim=True)
    scale = torch.where(amax > 0, amax / 127, torch.ones_like(amax))
    return _ste(inner, _round_away(inner / scale).clamp(-127, 127) * scale) + v * (1 - keep)


def fq_static(v: torch.Tensor, scale: float, inv: float, outliers: np.ndarray) -> torch.Tensor:
    """Static int8 scale, rounding v * inv as C does (saturating values beyond the clip)."""
    keep = torch.ones(v.shape[-1], dtype=v.dtype)
    if len(outliers):
        keep[torch.as_tensor(outliers.astype(np.int64))] = 0
    inner = v * keep
    q = _round_away(inner * inv).clamp(-127, 127) * scale
    return _ste(inner, q) + _ste(v * (1 - keep), (v * (1 - keep)).half().float())


def fake_quant_forward(model: EmbBert, mq: QuantModel, ids: torch.Tensor,
                       segs: torch.Tensor) -> torch.Tensor:
    """[B, T] -> [B, C] logits as the exported model computes them (up to float rounding)."""
    cfg = model.cfg
    d, k, a = cfg.d_model, cfg.conv_kernel, cfg.expansion
    e, no = model.embed, np.zeros(0, np.uint16)
    T = ids.shape[1]
    tok = fq_weight(e.tok.weight, no, block=max(cfg.reduced_dim, 1))[ids]
    pos = fq_weight(e.pos.weight[:T], no, block=max(cfg.reduced_dim, 1))
    x = tok @ fq_weight(e.tok_proj.weight, no).T + (pos @ fq_weight(e.pos_proj.weight, no).T)[None]
    x = x + e.seg(segs)                                                      # [B, T, d]
    valid = segs != 0
    for layer, L in zip(model.layers, mq.layers, strict=True):
        g = layer.norm.weight
        lam1, lam2 = layer.lambdas()
        oh, ou = L.h_outliers, L.u_outliers
        rs = 1.0 / math.sqrt(d)
        wq = layer.attn.q.weight * g[None, :] * g[:, None] * rs
        bq = layer.attn.q.bias * g * rs
        wo = lam1 * layer.attn.out.weight * g[None, :]
        wdw = layer.conv.dw.weight[:, 0, :] * g.repeat_interleave(a)[:, None]
        wpw = -lam2 * layer.conv.pw.weight
        hn = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + RMS_EPS)
        h = fq_static(hn, float(L.h_scale), float(L.h_inv), oh)  # [B, T, d]
        q = fq_row(h @ fq_weight(wq, oh).T + bq, oh)
        s = (q @ h.transpose(1, 2)).masked_fill(~valid[:, None, :], float("-inf"))
        p = torch.exp(s - s.amax(-1, keepdim=True).detach())
        E = _ste(p * 127, _round_away(p * 127).clamp(0, 127)) * valid[:, None, :]
        att = fq_row((E @ h) / E.sum(-1, keepdim=True).clamp_min(1e-6), oh)
        o1 = att @ fq_weight(wo, oh).T + lam1 * layer.attn.out.bias
        rows = [int(c) * a + j for c in oh for j in range(a)]
        wdq = fq_weight(wdw, no, block=BLOCK)
        if rows:
            idx = torch.as_tensor(rows)
            wdq = wdq.index_copy(0, idx, _ste(wdw[idx], wdw[idx].half().float()))
        hx = F.pad(h.repeat_interleave(a, dim=-1).transpose(1, 2), (k - 1, 0))  # [B, ad, k-1+T]
        c = F.conv1d(hx, wdq[:, None, :], layer.conv.dw.bias, groups=a * d).transpose(1, 2)
        u = fq_row(F.silu(c), ou)
        x = o1 + u @ fq_weight(wpw, ou).T - lam2 * layer.conv.pw.bias
    xc = fq_row(x[:, 0], mq.x_outliers)
    return xc @ fq_weight(model.classifier.weight, mq.x_outliers).T + model.classifier.bias


def recover(ckpt: Checkpoint, data: Labeled, calib: Calib, *, steps: int = 200,
            lr: float = 1e-4, batch_size: int = 32, seed: int = 0, threshold: float = 6.0,
            max_outliers: int | None = None,
            progress: Callable[[int, float], None] | None = None) -> Checkpoint:
    """Fake-quant finetune of `ckpt` on labeled (ids, segs, label) data; returns a new
    checkpoint (same config, tokenizer, labels, task) with extra["recovered"] recorded."""
    if not data:
        raise EmbBertError("recovery finetune needs labeled training data")
    mq = quantize(ckpt, calib, threshold=threshold, max_outliers=max_outliers)
    model = ckpt.model()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    rng = np.random.default_rng(seed)
    regression = ckpt.config.num_labels == 1
    for step in range(steps):
        idx = rng.choice(len(data), size=min(batch_size, len(data)), replace=False)
        batch = [data[i] for i in idx]
        T = max(len(b[0]) for b in batch)
        ids = torch.zeros(len(batch), T, dtype=torch.long)
        segs = torch.zeros(len(batch), T, dtype=torch.long)
        for r, (i, s, _) in enumerate(batch):
            ids[r, :len(i)] = torch.as_tensor(i)
            segs[r, :len(s)] = torch.as_tensor(s)
        logits = fake_quant_forward(model, mq, ids, segs)
        if regression:
            y = torch.tensor([float(b[2]) for b in batch])
            loss = F.mse_loss(logits[:, 0], y)
        else:
            y = torch.tensor([int(b[2]) for b in batch])
            loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if progress:
            progress(step, float(loss))
    model.eval()
    extra = dict(ckpt.extra)
    extra["recovered"] = {"method": "straight-through fake-quant finetune", "steps": steps,
                          "lr": lr, "batch_size": batch_size, "quant_version": 1}
    return Checkpoint(config=ckpt.config, state_dict={k: v.detach().clone() for k, v in
                                                      model.state_dict().items()},
                      tokenizer=ckpt.tokenizer, labels=list(ckpt.labels), task=ckpt.task,
                      metrics=dict(ckpt.metrics), extra=extra)


def task_training_data(ckpt: Checkpoint, max_len: int, limit: int | None = None) -> list:
    """(ids, segs, label) of the checkpoint's own task training split (needs its tokenizer)."""
    if not (ckpt.tokenizer and ckpt.task and ckpt.task != "pretrain"):
        raise EmbBertError("recovery needs a finetuned checkpoint with a tokenizer and a task")
    from ..data import load_split
    from ..tokenizer import encode_examples, from_json
    examples = load_split(ckpt.task, "train")[:limit]
    n = ckpt.config.num_labels
    if n > 1 and any(not 0 <= int(e.label) < n for e in examples):
        raise EmbBertError(f"{ckpt.task} labels do not fit the checkpoint's {n}-way head")
    seqs = encode_examples(from_json(ckpt.tokenizer), examples, max_len)
    return [(np.asarray(i, np.int64), np.asarray(s, np.int64), e.label)
            for (i, s), e in zip(seqs, examples, strict=True)]
