"""The quantized model's logits from the C runtime itself, built for this machine: the same bits
as the simulation (tests check it on every kernel set), ~9x faster than numpy on long inputs
(IMDb windows of 256 tokens: 3.9 vs 35 ms each, one thread). `embbert-eval --quantized --engine
c`. It lives in bench/, not quant/, because it exports and builds (later stages).

    with c_logits_fn(mq) as logits_fn:     # export (host board) + build in a temp dir
        logits = logits_fn(seqs)          # [N, C] float32, bit-exact with mq.logits_batch

Every call first checks a few of its sequences against the simulation, bit for bit, so a
compiler that breaks the numerics is an error, not a silently different score.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import EmbBertError
from ..quant.quantize import QuantModel

CHUNK = 2048        # sequences per ebq_run process (~4 s at T = 256)
CHECKED = 16        # sequences per call recomputed by the simulation
Seq = tuple[Sequence[int], Sequence[int]]


@contextmanager
def c_logits_fn(mq: QuantModel, cflags: str = "-march=native"
                ) -> Iterator[Callable[[Sequence[Seq]], np.ndarray]]:
    from ..boards import load_board
    from ..cbuild import board_kernels, build_run, run_model
    from ..export.exporter import export_quantized

    with tempfile.TemporaryDirectory(prefix="ebq-eval-") as tmp:
        gen, build = Path(tmp) / "gen", Path(tmp) / "build"
        export_quantized(mq, load_board("host"), gen, sha256=mq.meta.get("sha256", ""),
                         tokenizer="off")
        exe = build_run(gen, build, kernels=board_kernels("host"), cflags=cflags)

        def logits(seqs: Sequence[Seq]) -> np.ndarray:
            out = np.zeros((len(seqs), mq.config.num_labels), np.float32)
            for start in range(0, len(seqs), CHUNK):
                part = seqs[start:start + CHUNK]
                rc, rows, err = run_model(exe, part, timeout=600)
                bad = [r for r in rows if isinstance(r, tuple)]
                if rc != 0 or bad or len(rows) != len(part):
                    why = bad[0][2] if bad else (err.strip().splitlines() or ["no output"])[-1]
                    raise EmbBertError(f"C runtime failed on sequences {start}.."
                                       f"{start + len(part) - 1}: {why}")
                out[start:start + len(part)] = np.stack(rows)
            check = np.linspace(0, len(seqs) - 1, min(CHECKED, len(seqs))).astype(int)
            want = mq.logits_batch([seqs[i] for i in check])
            if not np.array_equal(out[check].view(np.uint32), want.view(np.uint32)):
                raise EmbBertError(f"the C runtime built with {cflags!r} is not bit-exact with "
                                   "the simulation here; use --engine sim")
            return out

        yield logits
