"""Random checkpoints for tests and measurements while no trained model exists."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from ..checkpoint import Checkpoint, save
from ..model import EmbBert, EmbBertConfig


def random_checkpoint(cfg: EmbBertConfig, seed: int = 0, realistic: bool = True,
                      outlier_channels: Sequence[int] = (), outlier_gain: float = 8.0,
                      task: str = "sst2") -> Checkpoint:
    """EmbBert(cfg) with a fixed seed. realistic=True rescales the weights to trained-like
    magnitudes (unit-variance activations, gains ~1, exp(lambda) ~ 0.5..2, non-zero biases)
    instead of the std-0.02 initialisation; outlier_channels get `outlier_gain` x larger
    embedding projections, the systematic outlier features LLM.int8 describes."""
    torch.manual_seed(seed)
    m = EmbBert(cfg)
    if realistic:
        g = torch.Generator().manual_seed(seed + 1)
        with torch.no_grad():
            for name, p in m.named_parameters():
                if name.endswith("norm.weight"):
                    p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
                elif "lambda" in name:
                    p.copy_(torch.randn(p.shape, generator=g) * (0.6 / math.sqrt(p.numel())))
                elif name.endswith("bias"):
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
                elif name.startswith("embed.") and p.dim() == 2 and "proj" not in name:
                    p.copy_(torch.randn(p.shape, generator=g))
                elif p.dim() >= 2:
                    fan_in = p[0].numel()
                    p.copy_(torch.randn(p.shape, generator=g) * (1.5 / math.sqrt(fan_in)))
            for c in outlier_channels:
                m.embed.tok_proj.weight[c] *= outlier_gain
                m.embed.pos_proj.weight[c] *= outlier_gain
                for layer in m.layers:   # keep them alive through the layers, as trained
                    layer.attn.out.weight[c] *= outlier_gain / 2
                    layer.conv.pw.weight[c] *= outlier_gain / 2
    labels = [f"label{i}" for i in range(cfg.num_labels)]
    return Checkpoint(config=cfg, state_dict=m.state_dict(), tokenizer="", labels=labels,
                      task=task)


def save_random_checkpoint(cfg: EmbBertConfig, path: str | os.PathLike, **kw) -> Path:
    save(random_checkpoint(cfg, **kw), path)
    return Path(path)


def limit_threads(n: int = 1) -> None:
    """One thread for torch and numpy's OpenBLAS: the matrices here are small and extra threads
    only fight each other (and any training job sharing the machine's cores)."""
    import ctypes
    import glob

    import numpy as np
    torch.set_num_threads(n)
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "*openblas*"))
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for sym in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads"):
            fn = getattr(lib, sym, None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int]
                fn(n)
                break
