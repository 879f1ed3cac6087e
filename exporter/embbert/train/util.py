"""Pieces shared by pretraining and finetuning: optimizer, schedule, seeding, distributed setup."""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def make_optimizer(params: list[nn.Parameter] | list[tuple[str, nn.Parameter]], lr: float,
                   weight_decay: float) -> torch.optim.AdamW:
    """AdamW; no weight decay on vectors (biases, norm gains, lambdas)."""
    decay, no_decay = [], []
    for _, p in params:  # frozen parameters stay listed (they get no grad) so states resume
        (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.98), eps=1e-6)


def lr_at(step: int, total: int, warmup: int, peak: float, floor_frac: float = 0.1) -> float:
    """Linear warmup, then cosine decay to floor_frac * peak at `total`."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor_frac + (1 - floor_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> Dist:
    """torchrun sets WORLD_SIZE/RANK; gloo on CPU, nccl on CUDA. Single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    backend = "nccl" if device == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda":
        torch.cuda.set_device(local)
    return Dist(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=local)


def resolve_device(device: str, d: Dist) -> torch.device:
    if device == "cuda":
        if not torch.cuda.is_available():
            from ..errors import EmbBertError
            raise EmbBertError("--device cuda asked but no CUDA device is available")
        return torch.device("cuda", d.local_rank)
    return torch.device("cpu")


def weights_digest(module: nn.Module) -> str:
    """sha256 over every parameter's bytes, in name order (to compare DDP ranks)."""
    import hashlib

    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
