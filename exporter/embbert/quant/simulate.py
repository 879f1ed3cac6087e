"""Integer-exact simulation of the C runtime (runtime_c/src/forward.c), vectorised with numpy.

Same order of operations as the C kernels, float32 everywhere the C code uses float, integer
products computed exactly (in float64, |acc| < 2^53) and then rounded to float32 like C's
(float)int32. Sequences are batched by length; right padding inside a batch is masked exactly
(it adds E = 0 weights and +-0 terms), so every row gets the bits ebq_infer computes at its
real length T.
"""

from __future__ import annotations

import numpy as np

from .numerics import ONE, Q127, exp_f32, f16_bits, f16_value, f32, quant_row, sat_i8, silu_f32
from .quantize import Calib, QLayer, QTensor, QuantModel, check_inputs

F0 = np.float32(0.0)


def linear(xq: np.ndarray, xs: np.ndarray, xo: np.ndarray, w: QTensor) -> np.ndarray:
    """ebq_linear_q8: xq [..., cols] int8 (scale xs [...]) + outliers xo [..., n] -> [..., rows]."""
    x64 = xq.astype(np.float64)
    q64 = w.q.astype(np.float64)
    ws = w.scale_f32()
    y = np.zeros(xq.shape[:-1] + (w.rows,), np.float32)
    for b in range(w.n_blocks):
        cs = slice(b * w.block, min((b + 1) * w.block, w.cols))
        acc = (x64[..., cs] @ q64[:, cs].T).astype(np.float32)        # exact int -> float32
        y = y + acc * ws[:, b]
    y = y * f32(xs)[..., None]
    wo = w.outlier_f32()
    for k in range(w.n_outliers):
        y = y + xo[..., k:k + 1] * wo[:, k]
    if w.bias is not None:
        y = y + w.bias
    return y.astype(np.float32)


def rmsnorm_q8(x: np.ndarray, eps: np.float32, L: QLayer) -> tuple[np.ndarray, np.ndarray]:
    """ebq_rmsnorm_q8: x [..., d] float32 -> H int8 (static scale) and FP16 outlier bits."""
    d = x.shape[-1]
    ss = np.zeros(x.shape[:-1], np.float32)
    for c in range(d):                                   # sequential sum, as in C
        ss = ss + x[..., c] * x[..., c]
    ms = ss / np.float32(d)
    r = ONE / np.sqrt(ms + eps)
    hn = x * r[..., None]
    H = sat_i8(hn * L.h_inv)
    o = L.h_outliers
    if len(o):
        H[..., o] = 0
    return H, f16_bits(hn[..., o])


def layer(mq: QuantModel, L: QLayer, H: np.ndarray, Ho: np.ndarray, valid: np.ndarray,
          rows: int) -> np.ndarray:
    """One encoder layer for the first `rows` query rows: H [B, T, d] int8, Ho [B, T, n] FP16
    bits, valid [B, T] key mask -> x [B, rows, d] float32."""
    cfg = mq.config
    d, k, a = cfg.d_model, cfg.conv_kernel, cfg.expansion
    B, T, _ = H.shape
    oh = L.h_outliers
    ho = f16_value(Ho)                                        # [B, T, n]
    sh = L.h_scale
    Hr, hor = H[:, :rows], ho[:, :rows]

    # attention: q' = hn Wq''^T + b, one score row per query, softmax weights as int8
    q = linear(Hr, np.full((B, rows), sh, np.float32), hor, L.q)   # [B, rows, d]
    Q, sq, qo = quant_row(q, oh)
    qs = sq * sh                                              # [B, rows]
    acc = (Q.astype(np.float64) @ H.astype(np.float64).transpose(0, 2, 1)).astype(np.float32)
    s = acc * qs[..., None]                                   # [B, rows, T]
    for m in range(len(oh)):
        s = s + qo[..., m:m + 1] * ho[:, None, :, m]
    vm = np.broadcast_to(valid[:, None, :], s.shape)
    with np.errstate(invalid="ignore", over="ignore"):
        mx = np.max(np.where(vm, s, -np.inf), axis=-1)          # [B, rows]
        e = exp_f32(np.where(vm, s - mx[..., None], F0))
    E = np.where(vm, sat_i8(e * Q127), 0).astype(np.int8)       # [B, rows, T]
    Z = E.astype(np.int32).sum(-1)                               # [B, rows]
    acc = (E.astype(np.float64) @ H.astype(np.float64)).astype(np.float32)  # [B, rows, d]
    live = Z > 0
    Zf = np.where(live, Z, 1).astype(np.float32)
    az = np.where(live, sh / Zf, F0).astype(np.float32)
    att = acc * az[..., None]
    if len(oh):
        Ef = E.astype(np.float32)
        for m, c in enumerate(oh):
            ao = np.zeros((B, rows), np.float32)
            for j in range(T):                                   # sequential over keys
                ao = ao + Ef[..., j] * ho[:, None, j, m]
            att[..., c] = np.where(live, ao / Zf, F0)
    A, sa, ao = quant_row(att, oh)
    o1 = linear(A, sa, ao, L.out)                                # [B, rows, d]

    # causal depthwise conv over the int8 hn, SiLU, pointwise
    ch_in = np.arange(a * d) // a
    Hp = np.concatenate([np.zeros((B, k - 1, d), np.int8), H[:, :rows]], axis=1)[..., ch_in]
    ws = L.dw.scale_f32()
    wq = L.dw.q.astype(np.int32)
    c = np.zeros((B, rows, a * d), np.float32)
    for b in range(L.dw.n_blocks):
        acc_i = np.zeros((B, rows, a * d), np.int32)
        for j in range(b * L.dw.block, min((b + 1) * L.dw.block, k)):
            acc_i += wq[:, j] * Hp[:, j:j + rows].astype(np.int32)
        c = c + acc_i.astype(np.float32) * ws[:, b]
    c = c * sh
    c = c + L.dw.bias
    if len(oh):
        hop = np.concatenate([np.zeros((B, k - 1, len(oh)), np.float32), hor], axis=1)
        wo = L.dw.outlier_f32()
        for m, ch0 in enumerate(oh):
            for e_ in range(a):
                row = int(ch0) * a + e_
                w = wo[m * a + e_]
                co = np.zeros((B, rows), np.float32)
                for j in range(k):                               # skipped rows add +-0
                    co = co + w[j] * hop[:, j:j + rows, m]
                c[..., row] = co + L.dw.bias[row]
    u = silu_f32(c)
    U, su, uo = quant_row(u, L.u_outliers)
    o2 = linear(U, su, uo, L.pw)
    return (o1 + o2).astype(np.float32)


def forward_batch(mq: QuantModel, ids: np.ndarray, segs: np.ndarray) -> np.ndarray:
    """ids, segs [B, T] (right padded with segs = 0 beyond each length) -> logits [B, C]."""
    B, T = ids.shape
    pos = np.arange(T)
    tok = linear(mq.tok_q[ids], f16_value(mq.tok_s)[ids], np.zeros((B, T, 0), np.float32),
                 mq.tok_proj)
    pp = linear(mq.pos_q[pos], f16_value(mq.pos_s)[pos], np.zeros((T, 0), np.float32),
                mq.pos_proj)
    x = (tok + pp[None]) + mq.seg[segs]                           # [B, T, d]
    valid = segs != 0
    H, Ho = rmsnorm_q8(x, mq.rms_eps, mq.layers[0])
    n = len(mq.layers)
    for i, L in enumerate(mq.layers):
        last = i == n - 1
        x = layer(mq, L, H, Ho, valid, 1 if last else T)
        if not last:
            H, Ho = rmsnorm_q8(x, mq.rms_eps, mq.layers[i + 1])
    Xq, xs, xo = quant_row(x[:, 0], mq.x_outliers)
    return linear(Xq, xs, xo, mq.classifier)


def simulate(mq: QuantModel, seqs: Calib, batch_size: int = 64) -> np.ndarray:
    seqs = [(np.asarray(i, dtype=np.int64), np.asarray(s, dtype=np.int64)) for i, s in seqs]
    for ids, segs in seqs:
        check_inputs(mq.config, ids, segs)
    out = np.zeros((len(seqs), mq.config.num_labels), np.float32)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i][0]))
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        T = max(len(seqs[i][0]) for i in idx)
        ids = np.zeros((len(idx), T), np.int64)
        segs = np.zeros((len(idx), T), np.int64)
        for r, i in enumerate(idx):
            n = len(seqs[i][0])
            ids[r, :n], segs[r, :n] = seqs[i]
        with np.errstate(over="ignore", invalid="ignore"):
            out[idx] = forward_batch(mq, ids, segs)
    return out
