"""EmbBERT-Q in one readable file: the fp32 forward pass of docs/MODEL.md.

Parameter names and layouts are the contract with the exporter and the C runtime; do not rename.
Shape comments: B batch, T tokens, d model width, rd reduced (Nano Embedder) width.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

PAD_ID, UNK_ID, CLS_ID, MASK_ID, SEP_ID = 0, 1, 2, 3, 4
N_SEGMENTS = 3  # 0 = padding, 1 = first sentence (incl. [CLS] and first [SEP]), 2 = second
RMS_EPS = 1.1920929e-07  # float32 machine epsilon, as in the spec


@dataclass
class EmbBertConfig:
    vocab_size: int = 8192
    max_len: int = 256
    d_model: int = 128
    reduced_dim: int = 16
    n_layers: int = 4
    conv_kernel: int = 32
    expansion: int = 1
    num_labels: int = 2

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, int) or isinstance(v, bool):
                raise ValueError(f"config {f.name} must be an integer, got {v!r}")
        checks = {
            "vocab_size": self.vocab_size > SEP_ID,
            "max_len": self.max_len >= 2,
            "d_model": self.d_model >= 1,
            "reduced_dim": self.reduced_dim >= 1,
            "n_layers": self.n_layers >= 1,
            "conv_kernel": self.conv_kernel >= 1,
            "expansion": self.expansion >= 1,
            "num_labels": self.num_labels >= 1,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"config value out of range: {', '.join(bad)}")

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> EmbBertConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        return cls(**d)

    def num_params(self) -> int:
        """Closed-form parameter count of the exported model (no pretraining heads)."""
        v, l, d, rd, k, a, c = (self.vocab_size, self.max_len, self.d_model, self.reduced_dim,
                                self.conv_kernel, self.expansion, self.num_labels)
        embed = v * rd + l * rd + 2 * d * rd + N_SEGMENTS * d
        layer = (d                      # norm gain
                 + 2 * (d * d + d)      # attn q, attn out
                 + a * d * k + a * d    # depthwise conv
                 + d * a * d + d        # pointwise conv
                 + 4 * d)               # lambdas
        return embed + self.n_layers * layer + c * d + c


class RMSNorm(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + RMS_EPS) * self.weight


class NanoEmbedder(nn.Module):
    """Token and position tables of width rd, each projected to d; segment table of width d."""

    def __init__(self, cfg: EmbBertConfig):
        super().__init__()
        self.tok = nn.Embedding(cfg.vocab_size, cfg.reduced_dim, padding_idx=PAD_ID)
        self.tok_proj = nn.Linear(cfg.reduced_dim, cfg.d_model, bias=False)
        self.pos = nn.Embedding(cfg.max_len, cfg.reduced_dim)
        self.pos_proj = nn.Linear(cfg.reduced_dim, cfg.d_model, bias=False)
        self.seg = nn.Embedding(N_SEGMENTS, cfg.d_model)

    def forward(self, ids: torch.Tensor, segs: torch.Tensor) -> torch.Tensor:
        T = ids.shape[1]
        pos = torch.arange(T, device=ids.device)
        x = self.tok_proj(self.tok(ids))                   # [B, T, d]
        x = x + self.pos_proj(self.pos(pos))[None]         # [B, T, d]
        return x + self.seg(segs)                          # [B, T, d]


class EfficientAttention(nn.Module):
    """Single head; keys and values are the normalized input h itself (no K/V projections)."""

    def __init__(self, d: int):
        super().__init__()
        self.q = nn.Linear(d, d)
        self.out = nn.Linear(d, d)

    def forward(self, h: torch.Tensor, key_pad: torch.Tensor) -> torch.Tensor:
        d = h.shape[-1]
        q = self.q(h)                                          # [B, T, d]
        s = q @ h.transpose(1, 2) / math.sqrt(d)               # [B, T, T]
        s = s.masked_fill(key_pad[:, None, :], float("-inf"))  # padded keys never attended
        return self.out(F.softmax(s, dim=-1) @ h)              # [B, T, d]


class ConvSkip(nn.Module):
    """Depthwise causal Conv1D (kernel k, expansion a) -> SiLU -> pointwise Linear."""

    def __init__(self, d: int, k: int, a: int):
        super().__init__()
        self.k = k
        self.dw = nn.Conv1d(d, a * d, k, groups=d)
        self.pw = nn.Linear(a * d, d)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        c = F.pad(h.transpose(1, 2), (self.k - 1, 0))  # [B, d, k-1+T], zeros before t=0
        c = self.dw(c).transpose(1, 2)                  # [B, T, a*d]
        return self.pw(F.silu(c))                       # [B, T, d]


class EncoderLayer(nn.Module):
    def __init__(self, cfg: EmbBertConfig):
        super().__init__()
        d = cfg.d_model
        self.norm = RMSNorm(d)
        self.attn = EfficientAttention(d)
        self.conv = ConvSkip(d, cfg.conv_kernel, cfg.expansion)
        self.lambda_q1 = nn.Parameter(torch.zeros(d))
        self.lambda_k1 = nn.Parameter(torch.zeros(d))
        self.lambda_q2 = nn.Parameter(torch.zeros(d))
        self.lambda_k2 = nn.Parameter(torch.zeros(d))

    def lambdas(self) -> tuple[torch.Tensor, torch.Tensor]:
        lam1 = torch.exp(torch.dot(self.lambda_q1, self.lambda_k1))
        lam2 = torch.exp(torch.dot(self.lambda_q2, self.lambda_k2))
        return lam1, lam2

    def forward(self, x: torch.Tensor, key_pad: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)                 # [B, T, d]
        o1 = self.attn(h, key_pad)       # [B, T, d]
        o2 = self.conv(h)                # [B, T, d]
        lam1, lam2 = self.lambdas()
        return lam1 * o1 - lam2 * o2     # weighted difference, no other residual


class EmbBert(nn.Module):
    """The exported model: embedder, encoder layers and the [CLS] classifier."""

    def __init__(self, cfg: EmbBertConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = NanoEmbedder(cfg)
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.n_layers))
        self.classifier = nn.Linear(cfg.d_model, cfg.num_labels)
        # training-only regularizer (finetune --dropout) on the embedder and layer outputs; not
        # part of the exported forward pass, so not in the config
        self.dropout = 0.0
        self.apply(_init_weights)
        for layer in self.layers:
            for p in (layer.lambda_q1, layer.lambda_k1, layer.lambda_q2, layer.lambda_k2):
                nn.init.normal_(p, std=0.1)

    def check_inputs(self, ids: torch.Tensor, segs: torch.Tensor) -> None:
        if ids.dim() != 2 or ids.shape != segs.shape:
            raise ValueError(f"ids and segs must both be [B, T], got {tuple(ids.shape)} "
                             f"and {tuple(segs.shape)}")
        T = ids.shape[1]
        if T < 1:
            raise ValueError("empty input: T must be at least 1")
        if T > self.cfg.max_len:
            raise ValueError(f"input of {T} tokens exceeds max_len {self.cfg.max_len} "
                             "(truncate it when encoding)")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.cfg.vocab_size):
            raise ValueError(f"token id out of range [0, {self.cfg.vocab_size})")
        if segs.numel() and (int(segs.min()) < 0 or int(segs.max()) >= N_SEGMENTS):
            raise ValueError(f"segment id out of range [0, {N_SEGMENTS})")

    def encode(self, ids: torch.Tensor, segs: torch.Tensor) -> torch.Tensor:
        """Final hidden states x of every position: [B, T, d]."""
        self.check_inputs(ids, segs)
        key_pad = segs == 0                  # [B, T]
        x = F.dropout(self.embed(ids, segs), self.dropout, self.training)  # [B, T, d]
        for layer in self.layers:
            x = F.dropout(layer(x, key_pad), self.dropout, self.training)  # [B, T, d]
        return x

    def forward(self, ids: torch.Tensor, segs: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.encode(ids, segs)[:, 0])   # [B, C] from the [CLS] row


def _init_weights(m: nn.Module) -> None:
    if isinstance(m, (nn.Linear, nn.Conv1d)):
        nn.init.normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Embedding):
        nn.init.normal_(m.weight, std=0.02)
        if m.padding_idx is not None:
            with torch.no_grad():
                m.weight[m.padding_idx].zero_()


class PretrainHeads(nn.Module):
    """MLM (tied to the Nano Embedder) and NSP heads. Used for pretraining only, never exported."""

    def __init__(self, cfg: EmbBertConfig):
        super().__init__()
        d = cfg.d_model
        self.transform = nn.Linear(d, d)
        self.norm = RMSNorm(d)
        self.mlm_bias = nn.Parameter(torch.zeros(cfg.vocab_size))
        self.nsp = nn.Linear(d, 2)
        self.apply(_init_weights)

    def mlm_logits(self, model: EmbBert, x: torch.Tensor) -> torch.Tensor:
        """x: [N, d] hidden states at masked positions -> [N, vocab] via the tied tables."""
        h = self.norm(F.gelu(self.transform(x)))           # [N, d]
        h = h @ model.embed.tok_proj.weight                # [N, rd] (transpose of tok_proj)
        return h @ model.embed.tok.weight.T + self.mlm_bias  # [N, v]

    def nsp_logits(self, x_cls: torch.Tensor) -> torch.Tensor:
        return self.nsp(x_cls)                             # [B, 2]
