"""MLM (15%, 80/10/10) + NSP pretraining, resumable, single process or torchrun + DDP."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .. import checkpoint
from ..errors import EmbBertError
from ..model import EmbBert, EmbBertConfig, PretrainHeads
from ..tokenizer import TextEncoder, from_json, train_tokenizer
from .corpus import TokenStream, corpus_documents, make_batch
from .util import (
    init_distributed,
    lr_at,
    make_optimizer,
    resolve_device,
    seed_everything,
    set_lr,
    weights_digest,
)


@dataclass
class PretrainOptions:
    out: Path
    steps: int | None = None            # schedule length; fixed by the first invocation
    batch_size: int = 64
    seq_len: int = 128
    lr: float = 1e-3
    warmup: int = 1000
    weight_decay: float = 0.01
    seed: int = 0
    device: str = "cpu"
    ckpt_every: int = 500
    resume: bool = False
    tokenizer: Path | None = None
    limit_lines: int | None = None      # small corpora for tests
    config: dict = field(default_factory=dict)
    rank_digest: bool = False
    stop_at: int | None = None          # end this invocation at that step (resume later)
    long_every: int = 0                 # every Nth step runs at max_len (trains late positions)
    eval_every: int = 2000              # held-out MLM/NSP accuracy every N steps (0: never)
    compile: bool = False               # torch.compile the training step (same objective)


class PretrainModel(nn.Module):
    """Encoder + pretraining heads behind one forward, so DDP can wrap them together."""

    def __init__(self, cfg: EmbBertConfig):
        super().__init__()
        self.model = EmbBert(cfg)
        self.heads = PretrainHeads(cfg)
        self.model.classifier.requires_grad_(False)  # task head: unused until finetuning

    def forward(self, ids, segs, mlm_labels, nsp_labels):
        x = self.model.encode(ids, segs)                            # [B, T, d]
        sel = mlm_labels >= 0                                       # [B, T]
        mlm = self.heads.mlm_logits(self.model, x[sel])             # [N, v]
        mlm_loss = F.cross_entropy(mlm, mlm_labels[sel])
        nsp = self.heads.nsp_logits(x[:, 0])                        # [B, 2]
        nsp_loss = F.cross_entropy(nsp, nsp_labels)
        with torch.no_grad():
            mlm_acc = (mlm.argmax(-1) == mlm_labels[sel]).float().mean()
            nsp_acc = (nsp.argmax(-1) == nsp_labels).float().mean()
        return mlm_loss + nsp_loss, {"mlm": mlm_loss.detach(), "nsp": nsp_loss.detach(),
                                     "mlm_acc": mlm_acc, "nsp_acc": nsp_acc}


def _tokenizer(opts: PretrainOptions, vocab_size: int, is_main: bool, world: int) -> TextEncoder:
    path = opts.out / "tokenizer.json"
    if opts.tokenizer is not None:
        if not opts.tokenizer.is_file():
            raise EmbBertError(f"{opts.tokenizer}: no such tokenizer file")
        return from_json(opts.tokenizer.read_text())
    if is_main and not path.is_file():
        tok = train_tokenizer(corpus_documents(limit_lines=opts.limit_lines), vocab_size)
        path.write_text(tok.to_str())
    if world > 1:
        dist.barrier()
    return from_json(path.read_text())


DEFAULT_SCHEDULE = {"steps": 20000, "warmup": 1000, "lr": 1e-3}
HELDOUT_EVERY = 200      # every 200th document is held out: never trained on, used for eval
EVAL_BATCHES = 16        # fixed held-out batches (64 sequences each) per evaluation
EVAL_RANK = 1_000_003    # batch-stream id of the held-out batches (training uses 0..world-1)


def _schedule(opts: PretrainOptions, state: dict | None) -> dict:
    """The lr schedule is fixed by the run's first invocation and stored in its state: a resumed
    stage may only stop earlier (--stop-at), never stretch or shrink the cosine it is on."""
    asked = {"steps": opts.steps, "warmup": opts.warmup, "lr": opts.lr}
    if state is None or "schedule" not in state:  # a new run (or a state from before this rule)
        return {k: DEFAULT_SCHEDULE[k] if v is None else v for k, v in asked.items()}
    fixed = state["schedule"]
    for k, v in asked.items():
        if v is not None and v != fixed[k]:
            raise EmbBertError(f"--resume: this run's schedule was fixed at its start "
                               f"(--{k} {fixed[k]}); drop --{k}, use --stop-at to end a stage "
                               f"early, or start a new run in another --out")
    return dict(fixed)


def _streams(opts: PretrainOptions, enc: TextEncoder, dd) -> tuple[TokenStream, TokenStream]:
    """(training stream, held-out stream). Every rank builds the same ones (rank 0 caches)."""
    cache = opts.out / "cache"
    tag = json.dumps({"limit": opts.limit_lines})
    docs = lambda: corpus_documents(limit_lines=opts.limit_lines)  # noqa: E731
    if dd.main:
        stream = TokenStream.cached(enc, docs, cache, tag)
    if dd.world > 1:
        dist.barrier()
    if not dd.main:
        stream = TokenStream.cached(enc, docs, cache, tag)
    return stream.split(HELDOUT_EVERY)


@torch.no_grad()
def heldout_accuracy(net: PretrainModel, held: TokenStream, vocab_size: int, seq_len: int,
                     seed: int, device: torch.device) -> dict[str, float]:
    """Masked-word and NSP accuracy on fixed batches of held-out documents."""
    net.eval()
    hits = {"mlm_acc": 0.0, "nsp_acc": 0.0}
    counts = {"mlm_acc": 0, "nsp_acc": 0}
    for i in range(EVAL_BATCHES):
        b = make_batch(held, vocab_size, 64, seq_len, seed, i, EVAL_RANK)
        b = {k: v.to(device) for k, v in b.items()}
        _, parts = net(b["ids"], b["segs"], b["mlm_labels"], b["nsp_labels"])
        n = {"mlm_acc": int((b["mlm_labels"] >= 0).sum()), "nsp_acc": len(b["nsp_labels"])}
        for k in hits:
            hits[k] += float(parts[k]) * n[k]
            counts[k] += n[k]
    net.train()
    return {f"heldout_{k}": hits[k] / max(1, counts[k]) for k in hits}


def run(opts: PretrainOptions) -> Path:
    dd = init_distributed(opts.device)
    device = resolve_device(opts.device, dd)
    opts.out.mkdir(parents=True, exist_ok=True)
    state_path = opts.out / "state.pt"
    state = None
    if opts.resume:
        if not state_path.is_file():
            raise EmbBertError(f"--resume: no {state_path} to resume from")
        state = checkpoint.load_train_state(state_path)
        cfg = EmbBertConfig.from_dict(state["config"])
        enc = from_json(state["tokenizer"])
    else:
        cfg = EmbBertConfig(**{"num_labels": 2, **opts.config})
        enc = _tokenizer(opts, cfg.vocab_size, dd.main, dd.world)
        if enc.vocab_size != cfg.vocab_size:
            cfg = EmbBertConfig(**{**cfg.to_dict(), "vocab_size": enc.vocab_size})
    if opts.seq_len > cfg.max_len:
        raise EmbBertError(f"--seq-len {opts.seq_len} exceeds max_len {cfg.max_len}")
    sched = _schedule(opts, state)
    if opts.stop_at is not None and opts.stop_at <= (int(state["step"]) if state else 0):
        raise EmbBertError(f"--stop-at {opts.stop_at}: the run is already at step "
                           f"{int(state['step']) if state else 0}")

    seed_everything(opts.seed)
    net = PretrainModel(cfg).to(device)
    opt = make_optimizer(list(net.named_parameters()), sched["lr"], opts.weight_decay)
    step = 0
    if state is not None:
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["optimizer"])
        step = int(state["step"])
    stream, held = _streams(opts, enc, dd)
    train_net = net
    if dd.world > 1:
        train_net = nn.parallel.DistributedDataParallel(net)
    if opts.compile:
        train_net = torch.compile(train_net)

    total = sched["steps"]
    end = min(total, opts.stop_at or total)
    if dd.main:
        print(f"pretraining {cfg.num_params():,} parameters (+ heads) on {len(stream):,} tokens "
              f"({len(held):,} held out); step {step} -> {end} of a {total}-step schedule, "
              f"batch {opts.batch_size} x {dd.world} ranks, seq_len {opts.seq_len}, "
              f"device {device}", flush=True)
    bar = tqdm(total=total, initial=step, disable=not dd.main, dynamic_ncols=True,
               mininterval=5.0)
    t0, tokens_done = time.time(), 0
    net.train()
    stats: dict[str, float] = dict(state.get("heldout", {})) if state else {}
    while step < end:
        set_lr(opt, lr_at(step, total, sched["warmup"], sched["lr"]))
        T, B = opts.seq_len, opts.batch_size
        if opts.long_every and step % opts.long_every == opts.long_every - 1:
            T, B = cfg.max_len, max(1, opts.batch_size * opts.seq_len // cfg.max_len)
        b = make_batch(stream, cfg.vocab_size, B, T, opts.seed, step, dd.rank)
        b = {k: v.to(device) for k, v in b.items()}
        loss, parts = train_net(b["ids"], b["segs"], b["mlm_labels"], b["nsp_labels"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        tokens_done += int((b["segs"] > 0).sum()) * dd.world
        tok_s = tokens_done / max(1e-9, time.time() - t0)
        stats.update({k: float(v) for k, v in parts.items()})
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", mlm_acc=f"{stats['mlm_acc']:.3f}",
                        nsp_acc=f"{stats['nsp_acc']:.2f}", tok_s=f"{tok_s:.0f}", refresh=False)
        if dd.main and opts.eval_every and len(held) and (step % opts.eval_every == 0 or
                                                          step == total):
            stats.update(heldout_accuracy(net, held, cfg.vocab_size, opts.seq_len, opts.seed,
                                          device))
            _log_eval(opts.out, step, stats, tok_s, opt.param_groups[0]["lr"])
        if dd.main and (step % opts.ckpt_every == 0 or step == end):
            _save(opts, net, opt, cfg, enc, step, stats, sched)
    bar.close()
    if opts.rank_digest:
        (opts.out / f"digest-rank{dd.rank}.txt").write_text(weights_digest(net) + "\n")
    if dd.world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return opts.out / "pretrained.pt"


def _log_eval(out: Path, step: int, stats: dict[str, float], tok_s: float, lr: float) -> None:
    row = {"step": step, "lr": lr, "tokens_per_s": round(tok_s),
           **{k: round(v, 4) for k, v in stats.items()}}
    tqdm.write(json.dumps(row))
    with open(out / "eval.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")


def _save(opts: PretrainOptions, net: PretrainModel, opt, cfg: EmbBertConfig, enc: TextEncoder,
          step: int, stats: dict[str, float], sched: dict) -> None:
    heldout = {k: v for k, v in stats.items() if k.startswith("heldout_")}
    state = {"config": cfg.to_dict(), "tokenizer": enc.to_json(), "net": net.state_dict(),
             "optimizer": opt.state_dict(), "step": step, "schedule": sched, "heldout": heldout}
    tmp = opts.out / "state.pt.tmp"
    torch.save(state, tmp)
    tmp.replace(opts.out / "state.pt")
    recipe = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}
    recipe.update(sched)
    ck = checkpoint.Checkpoint(
        config=cfg, state_dict=net.model.state_dict(), tokenizer=enc.to_json(), labels=[],
        task="pretrain", metrics={"step": step, **stats},
        extra={"recipe": recipe, "data": "pretrain/imdb_unsup + pretrain/nltk (incl. brown: "
               "non-commercial, reuters: research only) + task training texts"})
    checkpoint.save(ck, opts.out / "pretrained.pt")
