"""Finetune on a task's [CLS] row; keep the epoch with the best metric on the task's selection
split (dev when dev is not the reported split, else a held-out slice of train)."""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .. import checkpoint
from ..data import get_task, load_labels, load_split, selection_split, spaced
from ..errors import EmbBertError
from ..model import EmbBert, EmbBertConfig
from ..tokenizer import assemble, encode_examples, from_json, pad_batch
from . import finetune_state as ft_state
from .evaluate import example_logits, fp32_logits, score
from .teacher import distill_loss, soft_targets
from .util import lr_at, make_optimizer, seed_everything, set_lr


@dataclass
class FinetuneOptions:
    task: str
    out: Path
    init: Path | None = None
    epochs: int = 5
    batch_size: int = 32
    lr: float = 5e-4
    warmup_frac: float = 0.06
    weight_decay: float = 0.01
    dropout: float = 0.0        # on the embedder and layer outputs, training only
    emb_dropout: float = 0.0    # on the embedder output only (overrides dropout there)
    label_smoothing: float = 0.0
    teacher: tuple[str, ...] = ()   # "bow" and/or finetuned model.pt files (their mean)
    teacher_weight: float = 0.5
    teacher_temp: float = 2.0
    max_len: int | None = None
    windows: bool = False       # long texts: train on a random window, score the window mean
    seed: int = 0
    device: str = "cpu"
    limit: int | None = None
    tokenizer: Path | None = None
    config: dict = field(default_factory=dict)
    resume: bool = False        # continue from OUT.state.pt (written after every epoch)


def _start(opts: FinetuneOptions, num_labels: int) -> tuple[EmbBert, str]:
    """Model with a fresh classifier for the task, from --init or from scratch."""
    if opts.init is not None:
        base = checkpoint.load(opts.init)
        if opts.config:
            raise EmbBertError("config options apply only when training from scratch")
        cfg = EmbBertConfig(**{**base.config.to_dict(), "num_labels": num_labels})
        model = EmbBert(cfg)
        sd = {k: v for k, v in base.state_dict.items() if not k.startswith("classifier.")}
        model.load_state_dict(sd, strict=False)
        return model, base.tokenizer
    if opts.tokenizer is None or not opts.tokenizer.is_file():
        raise EmbBertError("training from scratch needs --tokenizer tokenizer.json (or --init)")
    tok = opts.tokenizer.read_text()
    enc = from_json(tok)
    cfg = EmbBertConfig(**{**opts.config, "vocab_size": enc.vocab_size, "num_labels": num_labels})
    return EmbBert(cfg), tok


def run(opts: FinetuneOptions) -> checkpoint.Checkpoint:
    task = get_task(opts.task)
    labels = load_labels(task)
    num_labels = 1 if task.regression else len(labels)
    seed_everything(opts.seed)
    model, tok_json = _start(opts, num_labels)
    model.dropout, model.emb_dropout = opts.dropout, opts.emb_dropout
    cfg = model.cfg
    max_len = min(opts.max_len or cfg.max_len, cfg.max_len)
    enc = from_json(tok_json)
    device = torch.device(opts.device)
    model.to(device)

    train, dev = selection_split(task.name)
    select_split = task.select_split
    if opts.limit:
        train, dev = spaced(train, opts.limit), spaced(dev, max(opts.limit // 4, 8))
    soft = (torch.from_numpy(soft_targets(opts.teacher, task.name, train, dev, opts.teacher_temp))
            if opts.teacher else None)
    if opts.windows and task.pair:
        raise EmbBertError(f"--windows applies to single-text tasks; {task.name} has pairs")
    # with windows the sequences are drawn from the pieces at the start of every epoch
    train_pieces = enc.pieces([e.text_a for e in train]) if opts.windows else None
    train_seqs = encode_examples(enc, train, max_len) if train_pieces is None else []
    y = torch.tensor([e.label for e in train], dtype=torch.float32 if task.regression
                     else torch.long)

    def logits_of(examples):
        return example_logits(lambda seqs: fp32_logits(model, seqs), enc, examples, max_len,
                              opts.windows)

    opt = make_optimizer(list(model.named_parameters()), opts.lr, opts.weight_decay)
    steps_per_epoch = (len(train) + opts.batch_size - 1) // opts.batch_size
    total = steps_per_epoch * opts.epochs
    warmup = max(1, int(total * opts.warmup_frac))
    rng = np.random.default_rng(opts.seed)
    best, best_state, best_epoch, history = -np.inf, None, -1, []
    step, t0, start, earlier = 0, time.time(), 0, 0.0
    if opts.resume:
        p = ft_state.restore(ft_state.load(opts), model, opt, rng)
        best, best_state, best_epoch, history = p.best, p.best_state, p.best_epoch, p.history
        step, start, earlier = p.step, p.epoch, p.seconds
        print(f"{task.name}: resuming after epoch {start} of {opts.epochs}", flush=True)
    for epoch in range(start, opts.epochs):
        model.train()
        if train_pieces is not None:
            train_seqs = _random_windows(train_pieces, max_len, rng)
        batches = _shuffled_length_batches(train_seqs, opts.batch_size, rng)
        bar = tqdm(batches, desc=f"{task.name} epoch {epoch + 1}/{opts.epochs}",
                   dynamic_ncols=True, mininterval=5.0)
        for idx in bar:
            set_lr(opt, lr_at(step, total, warmup, opts.lr, floor_frac=0.0))
            ids, segs = pad_batch([train_seqs[i] for i in idx])
            out = model(torch.from_numpy(ids).to(device), torch.from_numpy(segs).to(device))
            target = y[idx].to(device)
            loss = (F.mse_loss(out[:, 0], target) if task.regression
                    else distill_loss(out, target, None if soft is None else soft[idx].to(device),
                                      opts.teacher_weight, opts.teacher_temp,
                                      opts.label_smoothing))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            bar.set_postfix(loss=f"{loss.item():.4f}")
        m = score(task.name, logits_of(dev), dev)
        history.append({"epoch": epoch + 1, **m})
        print(f"{task.name} epoch {epoch + 1}: {select_split} " +
              ", ".join(f"{k} {v:.4f}" for k, v in m.items()), flush=True)
        if m[task.metric] > best:
            best, best_epoch = m[task.metric], epoch + 1
            best_state = copy.deepcopy(model.state_dict())
        ft_state.save(opts, model, opt, rng, ft_state.Progress(
            epoch + 1, step, best, best_epoch, best_state, history,
            earlier + time.time() - t0), cfg.to_dict(), tok_json)
    model.load_state_dict(best_state)
    model.eval()
    metrics = {f"{select_split}_{k}": v for k, v in history[best_epoch - 1].items()
               if k != "epoch"}
    metrics["epoch"] = float(best_epoch)
    if task.eval_split != select_split:
        ev = load_split(task.name, task.eval_split)
        if opts.limit:
            ev = spaced(ev, max(opts.limit // 4, 8))
        m = score(task.name, logits_of(ev), ev)
        metrics.update({f"{task.eval_split}_{k}": v for k, v in m.items()})
    recipe = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}
    ck = checkpoint.Checkpoint(
        config=cfg, state_dict={k: v.cpu() for k, v in model.state_dict().items()},
        tokenizer=tok_json, labels=labels, task=task.name, metrics=metrics,
        extra={"recipe": recipe, "history": history,
               "train_seconds": earlier + time.time() - t0,
               "selected_on": select_split})
    checkpoint.save(ck, opts.out)
    ft_state.finish(opts)
    return ck


def _random_windows(pieces: list[list[int]], max_len: int, rng: np.random.Generator):
    """One window per text for this epoch, at a random offset where the text is longer than
    max_len: every part of a long review is seen over the epochs."""
    budget = max_len - 2
    starts = [int(rng.integers(0, len(p) - budget + 1)) if len(p) > budget else 0
              for p in pieces]
    return [assemble(p[s:s + budget], None, max_len) for p, s in zip(pieces, starts, strict=True)]


def _shuffled_length_batches(seqs, batch_size: int, rng: np.random.Generator) -> list[list[int]]:
    """Shuffle, then sort within pools of 50 batches so padding stays small; shuffle batches."""
    perm = rng.permutation(len(seqs))
    pool = batch_size * 50
    batches: list[list[int]] = []
    for i in range(0, len(perm), pool):
        chunk = sorted(perm[i:i + pool].tolist(), key=lambda j: len(seqs[j][0]))
        batches += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches
