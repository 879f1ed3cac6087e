"""The EmbBERT-Q forward pass of model.py rewritten in TensorFlow for TensorFlow Lite (Micro).

Needs `tensorflow` (`make bench-peers` installs tensorflow-cpu); imported only by peers.py.
TFLite wants static shapes, so the graph is built for one fixed length T and a batch of one;
inputs ids[1, T], segs[1, T] int32, output logits[1, C]. Same order and names as model.py.

Deployment rewrites, all exact in fp32 (a check in peers.py holds them to ~1e-4 of PyTorch):
- E_pos[0:T] @ W_posproj^T is a constant for a fixed T: folded into one [T, d] table.
- lam1 and -lam2 are folded into attn.out and conv.pw (our exporter folds them too), so the
  layer ends in one ADD.
- Key masking without -inf (int8 has none, and a huge additive bias would wreck the scale of
  the score tensor): padded keys get the score `floor`, a per-layer constant far (MASK_MARGIN)
  below every real score row's maximum, via s * m + floor * (1 - m). Both terms keep the
  score tensor's int8 range close to the real scores' range.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import tensorflow as tf

from ..model import RMS_EPS, EmbBertConfig

MASK_MARGIN = 20.0   # exp(-20) ~ 2e-9: padded keys weigh nothing, even 250 of them

# One thread: the machine is shared (and the model is tiny). Must run before TF starts up.
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)


def _np(sd: dict, key: str) -> np.ndarray:
    return sd[key].detach().cpu().numpy().astype(np.float32)


def make_forward(sd: dict, cfg: EmbBertConfig, T: int, floors: list[float]):
    """A tf.function (ids[1, T], segs[1, T] int32) -> logits[1, C] with the weights as
    constants. floors: the masked-key score of each layer (mask_floors in peers.py)."""
    d, k, a = cfg.d_model, cfg.conv_kernel, cfg.expansion
    tok = tf.constant(_np(sd, "embed.tok.weight"))                          # [v, rd]
    tok_proj = tf.constant(_np(sd, "embed.tok_proj.weight").T)              # [rd, d]
    pos = tf.constant(_np(sd, "embed.pos.weight")[:T] @ _np(sd, "embed.pos_proj.weight").T)
    seg = tf.constant(_np(sd, "embed.seg.weight"))                          # [3, d]
    keep = tf.constant([[0.0], [1.0], [1.0]])                               # segs 0 = padding
    layers = []
    for i in range(cfg.n_layers):
        p = f"layers.{i}."
        lam1 = math.exp(float(_np(sd, p + "lambda_q1") @ _np(sd, p + "lambda_k1")))
        lam2 = math.exp(float(_np(sd, p + "lambda_q2") @ _np(sd, p + "lambda_k2")))
        dw = _np(sd, p + "conv.dw.weight")[:, 0, :]                         # [a*d, k]
        layers.append({
            "g": tf.constant(_np(sd, p + "norm.weight")),
            "wq": tf.constant(_np(sd, p + "attn.q.weight").T),
            "bq": tf.constant(_np(sd, p + "attn.q.bias")),
            "wo": tf.constant(lam1 * _np(sd, p + "attn.out.weight").T),
            "bo": tf.constant(lam1 * _np(sd, p + "attn.out.bias")),
            # depthwise filter [1, k, d, a]: output channel c*a + e reads input channel c
            "wdw": tf.constant(dw.reshape(d, a, k).transpose(2, 0, 1)[None]),
            "bdw": tf.constant(_np(sd, p + "conv.dw.bias")),
            "wpw": tf.constant(-lam2 * _np(sd, p + "conv.pw.weight").T),
            "bpw": tf.constant(-lam2 * _np(sd, p + "conv.pw.bias")),
            "floor": tf.constant([[floors[i]], [0.0], [0.0]]),
        })
    w_cls = tf.constant(_np(sd, "classifier.weight").T)
    b_cls = tf.constant(_np(sd, "classifier.bias"))
    spec = [tf.TensorSpec([1, T], tf.int32, name="ids"), tf.TensorSpec([1, T], tf.int32,
                                                                       name="segs")]

    @tf.function(input_signature=spec)
    def forward(ids, segs):
        ids, segs = tf.reshape(ids, [T]), tf.reshape(segs, [T])
        x = tf.matmul(tf.gather(tok, ids), tok_proj) + pos + tf.gather(seg, segs)   # [T, d]
        m = tf.reshape(tf.gather(keep, segs), [1, T])                               # [1, T] keys
        for L in layers:
            h = x * tf.math.rsqrt(tf.reduce_mean(x * x, -1, keepdims=True) + RMS_EPS) * L["g"]
            q = tf.matmul(h, L["wq"]) + L["bq"]                                     # [T, d]
            s = tf.matmul(q, h, transpose_b=True) * (1.0 / math.sqrt(d))           # [T, T]
            s = s * m + tf.reshape(tf.gather(L["floor"], segs), [1, T])             # masked keys
            o1 = tf.matmul(tf.matmul(tf.nn.softmax(s, -1), h), L["wo"]) + L["bo"]  # [T, d]
            c = tf.pad(h, [[k - 1, 0], [0, 0]])[None, None]                         # [1,1,k-1+T,d]
            c = tf.nn.depthwise_conv2d(c, L["wdw"], [1, 1, 1, 1], "VALID")          # [1,1,T,a*d]
            c = tf.reshape(c, [T, a * d]) + L["bdw"]
            o2 = tf.matmul(c * tf.sigmoid(c), L["wpw"]) + L["bpw"]                  # [T, d]
            x = o1 + o2                     # lam1 * o1 - lam2 * o2, lambdas folded
        return tf.matmul(x[0:1], w_cls) + b_cls                                     # [1, C]

    return forward


def to_tflite_int8(forward, rep: Callable[[], Iterable[list[np.ndarray]]]) -> bytes:
    """Full-integer int8 TFLite flatbuffer (int32 ids/segs in, int8 logits out), calibrated on
    the representative dataset rep() (yields [ids[1, T], segs[1, T]] int32)."""
    holder = tf.Module()
    holder.forward = forward
    conv = tf.lite.TFLiteConverter.from_concrete_functions([forward.get_concrete_function()],
                                                           holder)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_output_type = tf.int8
    return conv.convert()
