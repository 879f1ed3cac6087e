"""Multiply-accumulates of one inference, counted analytically from the config and the real T.

Counts what runtime_c/src/forward.c executes for an unpadded input of T tokens (the bench never
sends padding, so every key is attended). d = d_model, rd = reduced_dim, a = expansion,
k = conv_kernel, N = n_layers, C = num_labels; R = rows a layer computes (T, but 1 in the last
layer: only the [CLS] row reaches the logits):

    embed       T * 2 * d * rd                    tok_proj + pos_proj per token
    rmsnorm     N * T * d                         sum of squares (N-1 of them after a layer)
    per layer:  R * d * d                         attn.q
                R * T * d                         scores q . h_j   (one query row at a time)
                R * T * d                         softmax(s) @ h
                R * d * d                         attn.out
                a * d * sum_{t<R} min(k, t + 1)   causal depthwise conv (taps before row 0 are
                                                  skipped, not multiplied by zero)
                R * a * d * d                     conv.pw
    classifier  C * d

`dense_macs` is the convention of the TFLite Micro anchor in docs/MODEL.md (every layer computes
all T rows, all k taps, no RMSNorm): 18.1 M / 44.6 M / 122.7 M at T = 64 / 128 / 256 for the
default config. Softmax, SiLU, exp and quantization are elementwise and not counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _cfg(cfg: Any) -> dict[str, int]:
    keys = ("d_model", "reduced_dim", "n_layers", "conv_kernel", "expansion", "num_labels")
    if isinstance(cfg, Mapping):
        return {k: int(cfg[k]) for k in keys}
    return {k: int(getattr(cfg, k)) for k in keys}


def _conv_taps(rows: int, k: int) -> int:
    """sum_{t < rows} min(k, t + 1)."""
    if rows <= k:
        return rows * (rows + 1) // 2
    return k * (k + 1) // 2 + (rows - k) * k


def macs_breakdown(cfg: Any, T: int, *, last_layer_cls_only: bool = True,
                   causal_taps: bool = True, rmsnorm: bool = True) -> dict[str, int]:
    """MACs by part for one input of T tokens (cfg: EmbBertConfig or a dict like INFO's)."""
    c = _cfg(cfg)
    d, rd, N, k, a, C = (c["d_model"], c["reduced_dim"], c["n_layers"], c["conv_kernel"],
                         c["expansion"], c["num_labels"])
    parts = {"embed": T * 2 * d * rd, "rmsnorm": N * T * d if rmsnorm else 0,
             "attn.q+out": 0, "attn.scores+sum": 0, "conv.dw": 0, "conv.pw": 0,
             "classifier": C * d}
    for layer in range(N):
        R = 1 if (last_layer_cls_only and layer == N - 1) else T
        parts["attn.q+out"] += 2 * R * d * d
        parts["attn.scores+sum"] += 2 * R * T * d
        parts["conv.dw"] += a * d * (_conv_taps(R, k) if causal_taps else R * k)
        parts["conv.pw"] += R * a * d * d
    return parts


def runtime_macs(cfg: Any, T: int) -> int:
    """MACs the C runtime performs for T tokens (the formula in the module docstring)."""
    return sum(macs_breakdown(cfg, T).values())


def dense_macs(cfg: Any, T: int) -> int:
    """MACs of a fixed-shape int8 graph (the TFLite Micro anchor's convention)."""
    return sum(macs_breakdown(cfg, T, last_layer_cls_only=False, causal_taps=False,
                              rmsnorm=False).values())
