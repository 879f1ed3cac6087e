"""The arena plan: the Python mirror of runtime_c/src/arena.c (a test checks they agree).

One 16-byte aligned block; buffers in a fixed order, each start rounded up to 16 bytes:
  h0, h1   int8 [T][d]           hn of the current / next layer (ping-pong; one when 1 layer)
  ho0, ho1 FP16 [T][nh]          their outlier channels (nh = largest hn outlier set)
  row buffers, ROWS = 4 token rows each (the forward pass runs four query rows together):
  x        float [4][d]             x row, attention output, o1, o1 + o2
  r        float [4][max(d,a*d,T)]  q', one score row, conv row, o2
  qb       int8 [4][max(d,a*d)]     quantized q' / a / u / [CLS] row
  qo       float [4][max_outliers]  their outlier channels
  e        int16 [4][T]             softmax numerators (int8 values) of one query row
No T x T buffer: attention runs four query rows at a time; the last layer only the [CLS] row.
"""

from __future__ import annotations

from dataclasses import dataclass

from .format import ALIGN

ROWS = 4                # EBQ_ROWS in runtime_c/src/arena.h


@dataclass
class ArenaPlan:
    T: int
    buffers: list[tuple[str, int, int]]   # (name, offset, bytes)
    total: int


def _up(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_arena(d: int, expansion: int, n_layers: int, max_h_outliers: int, max_outliers: int,
               T: int) -> ArenaPlan:
    wide = max(d, expansion * d)
    sizes = [("h0", T * d)]
    if n_layers > 1:
        sizes.append(("h1", T * d))
    sizes.append(("ho0", T * max_h_outliers * 2))
    if n_layers > 1:
        sizes.append(("ho1", T * max_h_outliers * 2))
    sizes += [("x", ROWS * 4 * d), ("r", ROWS * 4 * max(wide, T)), ("qb", ROWS * wide),
              ("qo", ROWS * 4 * max_outliers), ("e", ROWS * 2 * T)]
    at, bufs = 0, []
    for name, n in sizes:
        bufs.append((name, at, n))
        at = _up(at + n)
    return ArenaPlan(T=T, buffers=bufs, total=at)


def plan_for(mq, T: int) -> ArenaPlan:
    """Plan for a QuantModel at length T."""
    c = mq.config
    return plan_arena(c.d_model, c.expansion, c.n_layers, mq.max_h_outliers(),
                      mq.max_outliers(), T)
