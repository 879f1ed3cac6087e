"""The reference quantizer (the spec): fold, calibrate outliers, quantize into a QuantModel.

Steps (docs/FORMAT.md has the byte layout):
1. fold: RMSNorm gains, 1/sqrt(d) and the exp(lambda) scalars go into the weights that follow,
   so the runtime works on hn = x * rsqrt(mean(x^2) + eps) without a gain (float64 here).
2. calibrate: run the folded float64 model on calibration text and find, per activation that
   feeds a product, the channels whose magnitude exceeds `threshold` x the row RMS (LLM.int8
   uses 6.0 on normalized hidden states); at most `max_outliers` per set. Those channels are
   held out of the int8 blocks and run in float against FP16 weight columns (outlier tables).
   The static int8 scale of hn is also calibrated here (absmax of the non-outlier channels).
3. quantize: weights to int8 blocks of 32 along the input dimension (whole row when shorter),
   one FP16 scale per block, rounding half away from zero, clamp to +-127, zero scale for an
   all-zero block; embedding tables with one FP16 scale per row; biases stay float32.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..checkpoint import Checkpoint
from ..errors import EmbBertError
from ..model import N_SEGMENTS, RMS_EPS, EmbBertConfig
from .numerics import f16_bits, f16_value

QUANT_VERSION = 1            # bump when the numerics of the scheme change
BLOCK = 32                   # weight block length along the input dimension
LAMBDA_EXP_MAX = 80.0        # exp(80) ~ 5.5e34: beyond it the folded weights overflow float32
DEFAULT_THRESHOLD = 6.0      # LLM.int8 outlier threshold (in units of the row RMS)
F16_MAX = 65504.0

Calib = Sequence[tuple[np.ndarray, np.ndarray]]


@dataclass
class QTensor:
    """A quantized Linear/conv weight: mirror of `ebq_qtensor` in model_format.h.

    q [rows, cols] int8 (outlier columns are 0); scale [rows, n_blocks] FP16 bits;
    outlier_idx [n] sorted input channels; outlier_w [rows, n] FP16 bits (for the depthwise
    conv: [n * expansion, k], the full kernels of the outlier channels); bias [rows] float32.
    """

    q: np.ndarray
    scale: np.ndarray
    block: int
    outlier_idx: np.ndarray
    outlier_w: np.ndarray
    bias: np.ndarray | None

    @property
    def rows(self) -> int:
        return int(self.q.shape[0])

    @property
    def cols(self) -> int:
        return int(self.q.shape[1])

    @property
    def n_blocks(self) -> int:
        return int(self.scale.shape[1])

    @property
    def n_outliers(self) -> int:
        return int(len(self.outlier_idx))

    def scale_f32(self) -> np.ndarray:
        return f16_value(self.scale)

    def outlier_f32(self) -> np.ndarray:
        return f16_value(self.outlier_w)

    def nbytes(self) -> int:
        b = self.q.nbytes + self.scale.nbytes + self.outlier_idx.nbytes + self.outlier_w.nbytes
        return b + (self.bias.nbytes if self.bias is not None else 0)


@dataclass
class QLayer:
    q: QTensor            # [d, d]   query projection (g, 1/sqrt(d) folded; gives q')
    out: QTensor          # [d, d]   output projection (g and lam1 folded)
    dw: QTensor           # [a*d, k] depthwise causal conv (g folded)
    pw: QTensor           # [d, a*d] pointwise projection (-lam2 folded)
    h_scale: np.float32   # static int8 scale of hn (the layer's normalized input)
    h_inv: np.float32     # 1 / h_scale, as stored
    h_outliers: np.ndarray  # channels of hn held out (== q/out/dw outlier_idx)
    u_outliers: np.ndarray  # channels of silu(conv) held out (== pw outlier_idx)


@dataclass
class QuantModel:
    """The quantized model; `logits` runs the integer-exact simulation of the C runtime."""

    config: EmbBertConfig   # max_len = exported max_len
    tok_q: np.ndarray       # [v, rd] int8
    tok_s: np.ndarray       # [v] FP16 bits
    pos_q: np.ndarray       # [max_len, rd] int8
    pos_s: np.ndarray       # [max_len] FP16 bits
    tok_proj: QTensor       # [d, rd]
    pos_proj: QTensor       # [d, rd]
    seg: np.ndarray         # [3, d] float32
    layers: list[QLayer]
    classifier: QTensor     # [C, d]
    x_outliers: np.ndarray  # channels of the final [CLS] row held out (== classifier outliers)
    rms_eps: np.float32 = np.float32(RMS_EPS)
    meta: dict = field(default_factory=dict)

    def logits(self, ids, segs) -> np.ndarray:
        """[num_labels] float32 for one sequence (ids[T], segs[T]), bit-exact with ebq_infer."""
        return self.logits_batch([(ids, segs)])[0]

    def logits_batch(self, seqs: Calib, batch_size: int = 64) -> np.ndarray:
        """[N, num_labels] float32 for many sequences (batched by length; same bits as C)."""
        from .simulate import simulate
        return simulate(self, seqs, batch_size=batch_size)

    def weights_bytes(self) -> int:
        n = self.tok_q.nbytes + self.tok_s.nbytes + self.pos_q.nbytes + self.pos_s.nbytes
        n += self.tok_proj.nbytes() + self.pos_proj.nbytes() + self.seg.nbytes
        for L in self.layers:
            n += L.q.nbytes() + L.out.nbytes() + L.dw.nbytes() + L.pw.nbytes()
        return n + self.classifier.nbytes()

    def max_outliers(self) -> int:
        """Largest outlier set over all activations (sizes the arena's FP16 side buffers)."""
        sets = [self.x_outliers] + [L.h_outliers for L in self.layers] + \
               [L.u_outliers for L in self.layers]
        return max(len(s) for s in sets)

    def max_h_outliers(self) -> int:
        return max(len(L.h_outliers) for L in self.layers)


# ----------------------------------------------------------------------------------- rounding

def round_half_away(x: np.ndarray) -> np.ndarray:
    """Exact round half away from zero (float64)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def quantize_blocks(w: np.ndarray, outliers: np.ndarray | None = None,
                    bias: np.ndarray | None = None, name: str = "weight") -> QTensor:
    """w [rows, cols] float64 -> int8 blocks of BLOCK along cols with FP16 scales.

    Outlier columns are zeroed in the int8 part and kept as FP16 in the outlier table.
    """
    w = np.asarray(w, dtype=np.float64)
    rows, cols = w.shape
    idx = np.asarray([] if outliers is None else outliers, dtype=np.uint16)
    block = min(BLOCK, cols)
    nb = -(-cols // block)
    inner = w.copy()
    if len(idx):
        inner[:, idx] = 0.0
    if np.abs(w).max(initial=0.0) / 127.0 > F16_MAX or np.abs(w).max(initial=0.0) > F16_MAX:
        raise EmbBertError(f"{name}: weights too large for FP16 scales (max |w| "
                           f"{np.abs(w).max():.3g})")
    q = np.zeros((rows, cols), np.int8)
    scale = np.zeros((rows, nb), np.uint16)
    for b in range(nb):
        cs = slice(b * block, min((b + 1) * block, cols))
        amax = np.abs(inner[:, cs]).max(axis=1)
        s16 = f16_bits(amax / 127.0)
        s = f16_value(s16).astype(np.float64)
        ok = s > 0                       # zero (or underflowed) scale -> zero block
        s16 = np.where(ok, s16, 0).astype(np.uint16)
        safe = np.where(ok, s, 1.0)
        qb = np.clip(round_half_away(inner[:, cs] / safe[:, None]), -127, 127)
        q[:, cs] = np.where(ok[:, None], qb, 0).astype(np.int8)
        scale[:, b] = s16
    ow = f16_bits(w[:, idx]) if len(idx) else np.zeros((rows, 0), np.uint16)
    b32 = None if bias is None else np.asarray(bias, dtype=np.float32)
    return QTensor(q=q, scale=scale, block=block, outlier_idx=idx, outlier_w=ow, bias=b32)


def quantize_dwconv(w: np.ndarray, bias: np.ndarray, outliers: np.ndarray,
                    expansion: int) -> QTensor:
    """Depthwise weights [a*d, k]: rows whose input channel (row // a) is an outlier channel go
    whole to the FP16 table ([n * a, k], outlier-major) and are zero in the int8 part."""
    w = np.asarray(w, dtype=np.float64)
    rows = [int(c) * expansion + e for c in outliers for e in range(expansion)]
    inner = w.copy()
    inner[rows, :] = 0.0
    t = quantize_blocks(inner, None, bias, "conv.dw")
    t.outlier_idx = np.asarray(outliers, dtype=np.uint16)
    t.outlier_w = f16_bits(w[rows, :]) if rows else np.zeros((0, w.shape[1]), np.uint16)
    return t


def quantize_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Embedding table [n, rd] -> int8 [n, rd] and one FP16 scale per row (same rounding)."""
    table = np.asarray(table, dtype=np.float64)
    amax = np.abs(table).max(axis=1)
    if amax.max(initial=0.0) > F16_MAX:
        raise EmbBertError("embedding: values too large for FP16 scales")
    s16 = f16_bits(amax / 127.0)
    s = f16_value(s16).astype(np.float64)
    ok = s > 0
    safe = np.where(ok, s, 1.0)
    q = np.clip(round_half_away(table / safe[:, None]), -127, 127)
    q = np.where(ok[:, None], q, 0).astype(np.int8)
    return q, np.where(ok, s16, 0).astype(np.uint16)


# ------------------------------------------------------------------------------------ folding

@dataclass
class Folded:
    """float64 weights with the gains and lambdas folded in (what gets quantized)."""

    cfg: EmbBertConfig
    tok: np.ndarray
    tok_proj: np.ndarray
    pos: np.ndarray
    pos_proj: np.ndarray
    seg: np.ndarray
    layers: list[dict]
    cls_w: np.ndarray
    cls_b: np.ndarray


def fold(ckpt: Checkpoint, max_len: int | None = None) -> Folded:
    cfg = ckpt.config
    L = cfg.max_len if max_len is None else max_len
    sd = {k: v.detach().double().cpu().numpy() for k, v in ckpt.state_dict.items()}
    d, a = cfg.d_model, cfg.expansion
    layers = []
    for i in range(cfg.n_layers):
        p = f"layers.{i}."
        g = sd[p + "norm.weight"]
        dots = [float(np.dot(sd[p + f"lambda_q{j}"], sd[p + f"lambda_k{j}"])) for j in (1, 2)]
        if not all(math.isfinite(x) and x < LAMBDA_EXP_MAX for x in dots):
            raise EmbBertError(f"layer {i}: exp(lambda_q . lambda_k) overflows (dot products "
                               f"{dots[0]:.4g}, {dots[1]:.4g}); the weights are not usable")
        lam1, lam2 = math.exp(dots[0]), math.exp(dots[1])
        rs = 1.0 / math.sqrt(d)
        wq = sd[p + "attn.q.weight"] * g[None, :] * g[:, None] * rs     # q' = q * g / sqrt(d)
        bq = sd[p + "attn.q.bias"] * g * rs
        wo = lam1 * sd[p + "attn.out.weight"] * g[None, :]              # softmax @ (hn g)
        bo = lam1 * sd[p + "attn.out.bias"]
        wdw = sd[p + "conv.dw.weight"][:, 0, :] * np.repeat(g, a)[:, None]
        bdw = sd[p + "conv.dw.bias"]
        wpw = -lam2 * sd[p + "conv.pw.weight"]                          # x = o1 + o2
        bpw = -lam2 * sd[p + "conv.pw.bias"]
        layers.append(dict(wq=wq, bq=bq, wo=wo, bo=bo, wdw=wdw, bdw=bdw, wpw=wpw, bpw=bpw))
    return Folded(cfg=replace(cfg, max_len=L), tok=sd["embed.tok.weight"],
                  tok_proj=sd["embed.tok_proj.weight"], pos=sd["embed.pos.weight"][:L],
                  pos_proj=sd["embed.pos_proj.weight"], seg=sd["embed.seg.weight"],
                  layers=layers, cls_w=sd["classifier.weight"], cls_b=sd["classifier.bias"])


def _silu64(c: np.ndarray) -> np.ndarray:
    return c / (1.0 + np.exp(-np.clip(c, -700, 700)))


def folded_forward(f: Folded, ids: np.ndarray, segs: np.ndarray,
                   capture: dict | None = None) -> np.ndarray:
    """float64 forward of the folded model for one sequence (equals the PyTorch model up to
    rounding); optionally records the activations calibration needs."""
    cfg = f.cfg
    T = len(ids)
    d, k, a = cfg.d_model, cfg.conv_kernel, cfg.expansion
    x = f.tok[ids] @ f.tok_proj.T + f.pos[:T] @ f.pos_proj.T + f.seg[segs]   # [T, d]
    valid = segs != 0
    for i, p in enumerate(f.layers):
        hn = x / np.sqrt((x * x).mean(-1, keepdims=True) + RMS_EPS)        # [T, d]
        q = hn @ p["wq"].T + p["bq"]                                        # [T, d] (q')
        s = q @ hn.T                                                        # [T, T]
        s = np.where(valid[None, :], s, -np.inf)
        if valid.any():
            e = np.exp(s - s.max(-1, keepdims=True))
            att = e / e.sum(-1, keepdims=True)
        else:
            att = np.zeros_like(s)
        o1 = (att @ hn) @ p["wo"].T + p["bo"]                               # [T, d]
        hx = np.repeat(hn, a, axis=1)                                       # [T, a*d]
        hp = np.concatenate([np.zeros((k - 1, a * d)), hx])                 # [k-1+T, a*d]
        c = np.broadcast_to(p["bdw"], (T, a * d)).copy()                     # [T, a*d]
        for j in range(k):
            c += hp[j:j + T] * p["wdw"][:, j]
        u = _silu64(c)                                                      # [T, a*d]
        x = o1 + u @ p["wpw"].T + p["bpw"]                                  # [T, d]
        if capture is not None:
            capture.setdefault(f"hn{i}", []).append(hn)
            capture.setdefault(f"q{i}", []).append(q)
            capture.setdefault(f"u{i}", []).append(u)
    if capture is not None:
        capture.setdefault("x", []).append(x[:1])
    return x[0] @ f.cls_w.T + f.cls_b


# -------------------------------------------------------------------------------- calibration

def outlier_scores(rows: list[np.ndarray]) -> np.ndarray:
    """Per channel: max over rows of |v_c| / rms(v_row)."""
    v = np.concatenate(rows)
    rms = np.sqrt((v * v).mean(-1, keepdims=True))
    return (np.abs(v) / np.maximum(rms, 1e-30)).max(0)


def mse_clip(v: np.ndarray, steps: int = 64) -> float:
    """Clip level of a static int8 scale: the one (of `steps` fractions of the absmax) with the
    least round-and-saturate error over the calibration values. Plain absmax spends most levels
    on a few rare large values; this keeps resolution where the values are."""
    v = np.abs(v[np.isfinite(v)]).astype(np.float64).ravel()
    amax = float(v.max()) if v.size else 0.0
    if not amax > 1e-30:
        return 1.0
    best, best_err = amax, np.inf
    for frac in np.linspace(0.3, 1.0, steps):
        c = amax * frac
        s = c / 127.0
        q = np.minimum(np.floor(v / s + 0.5), 127.0) * s
        err = float(np.mean((q - v) ** 2))
        if err < best_err:
            best, best_err = c, err
    return best


def pick_outliers(score: np.ndarray, threshold: float, max_n: int) -> np.ndarray:
    cand = np.nonzero(score > threshold)[0]
    cand = cand[np.argsort(-score[cand], kind="stable")][:max_n]
    return np.sort(cand).astype(np.uint16)


def random_calibration(cfg: EmbBertConfig, n: int = 32, seed: int = 0, min_len: int = 2,
                       max_len: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random [CLS] a [SEP] (b [SEP]) sequences with segment ids, for tests and smoke runs."""
    rng = np.random.default_rng(seed)
    hi = min(cfg.max_len, max_len or cfg.max_len)
    out = []
    for _ in range(n):
        T = int(rng.integers(min(min_len, hi), hi + 1))
        ids = rng.integers(5, cfg.vocab_size, size=T).astype(np.int64) \
            if cfg.vocab_size > 5 else rng.integers(0, cfg.vocab_size, size=T)
        segs = np.ones(T, np.int64)
        ids[0] = 2
        if T >= 2:
            ids[-1] = 4
        if T >= 5 and rng.random() < 0.5:              # a pair
            cut = int(rng.integers(2, T - 2))
            ids[cut] = 4
            segs[cut + 1:] = 2
        if T >= 4 and rng.random() < 0.25:             # some right padding inside T
            npad = int(rng.integers(1, max(2, T // 4)))
            ids[T - npad:] = 0
            segs[T - npad:] = 0
        out.append((ids % cfg.vocab_size, segs))
    return out


def check_inputs(cfg: EmbBertConfig, ids: np.ndarray, segs: np.ndarray) -> None:
    T = len(ids)
    if len(segs) != T:
        raise EmbBertError(f"ids and segs differ in length ({T} vs {len(segs)})")
    if T == 0:
        raise EmbBertError("empty input: T must be at least 1")
    if T > cfg.max_len:
        raise EmbBertError(f"input of {T} tokens exceeds max_len {cfg.max_len}")
    if ids.min() < 0 or ids.max() >= cfg.vocab_size:
        raise EmbBertError(f"token id out of range [0, {cfg.vocab_size})")
    if segs.min() < 0 or segs.max() >= N_SEGMENTS:
        raise EmbBertError(f"segment id out of range [0, {N_SEGMENTS})")


# ---------------------------------------------------------------------------------- quantize

def check_outlier_options(threshold: float | None, max_outliers: int | None,
                          d_model: int | None = None) -> None:
    """--threshold must be a positive number or inf, --max-outliers 1..d_model."""
    if threshold is not None and not threshold > 0:  # also NaN
        raise EmbBertError(f"--threshold {threshold}: must be a positive number (inf: no "
                           "outliers)")
    if max_outliers is not None:
        top = d_model if d_model is not None else 65535
        if not 1 <= max_outliers <= top:
            raise EmbBertError(f"--max-outliers {max_outliers}: must be in [1, {top}]"
                               + (" (d_model)" if d_model is not None else ""))


def quantize(ckpt: Checkpoint, calib: Calib, *, max_len: int | None = None,
             threshold: float = DEFAULT_THRESHOLD, max_outliers: int | None = None,
             sha256: str = "") -> QuantModel:
    """Checkpoint + calibration sequences [(ids, segs), ...] -> QuantModel.

    max_len: export length (<= config.max_len; truncates the position table).
    threshold: outlier threshold in units of the row RMS (float('inf') disables outliers).
    max_outliers: cap per activation (default max(1, d_model // 32)).
    """
    cfg = ckpt.config
    L = cfg.max_len if max_len is None else int(max_len)
    if not 1 <= L <= cfg.max_len:
        raise EmbBertError(f"--max-len {L} must be in [1, {cfg.max_len}] (the model's max_len)")
    if cfg.d_model > 65535 or cfg.vocab_size > 65536 or cfg.expansion * cfg.d_model > 65535 \
            or cfg.conv_kernel > 65535 or cfg.num_labels > 65535:
        raise EmbBertError("config too large for the C format (uint16 dimensions)")
    d, a = cfg.d_model, cfg.expansion
    check_outlier_options(threshold, max_outliers, d)
    cap = max(1, d // 32) if max_outliers is None else int(max_outliers)
    if not calib:
        raise EmbBertError("calibration set is empty")
    f = fold(ckpt, L)
    cap_all: dict[str, list[np.ndarray]] = {}
    for ids, segs in calib:
        ids = np.asarray(ids, dtype=np.int64)[:L]
        segs = np.asarray(segs, dtype=np.int64)[:L]
        check_inputs(f.cfg, ids, segs)
        folded_forward(f, ids, segs, cap_all)

    layers = []
    for i, p in enumerate(f.layers):
        score = np.maximum(outlier_scores(cap_all[f"hn{i}"]), outlier_scores(cap_all[f"q{i}"]))
        oh = pick_outliers(score, threshold, cap)
        uo = pick_outliers(outlier_scores(cap_all[f"u{i}"]), threshold, cap)
        hn = np.abs(np.concatenate(cap_all[f"hn{i}"]))
        if len(oh):
            hn[:, oh] = 0.0
        amax = mse_clip(hn)
        layers.append(QLayer(
            q=quantize_blocks(p["wq"], oh, p["bq"], f"layers.{i}.attn.q"),
            out=quantize_blocks(p["wo"], oh, p["bo"], f"layers.{i}.attn.out"),
            dw=quantize_dwconv(p["wdw"], p["bdw"], oh, a),
            pw=quantize_blocks(p["wpw"], uo, p["bpw"], f"layers.{i}.conv.pw"),
            h_scale=np.float32(amax / 127.0), h_inv=np.float32(127.0 / amax),
            h_outliers=oh, u_outliers=uo))
    xo = pick_outliers(outlier_scores(cap_all["x"]), threshold, cap)
    tok_q, tok_s = quantize_rows(f.tok)
    pos_q, pos_s = quantize_rows(f.pos)
    meta = {"quant_version": QUANT_VERSION, "threshold": threshold, "max_outliers": cap,
            "calibration_sequences": len(calib), "sha256": sha256,
            "source_max_len": cfg.max_len}
    return QuantModel(
        config=f.cfg, tok_q=tok_q, tok_s=tok_s, pos_q=pos_q, pos_s=pos_s,
        tok_proj=quantize_blocks(f.tok_proj, None, None, "embed.tok_proj"),
        pos_proj=quantize_blocks(f.pos_proj, None, None, "embed.pos_proj"),
        seg=f.seg.astype(np.float32), layers=layers,
        classifier=quantize_blocks(f.cls_w, xo, f.cls_b, "classifier"),
        x_outliers=xo, meta=meta)
