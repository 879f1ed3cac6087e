"""embbert-train: pretrain (MLM + NSP), finetune on a task, train a tokenizer."""

from __future__ import annotations

from pathlib import Path

import click
import torch

from ..errors import EmbBertError
from .common import check_writable, one_line_errors

CONFIG_KEYS = ("vocab_size", "max_len", "d_model", "reduced_dim", "n_layers", "conv_kernel",
               "expansion")


def config_options(fn):
    """--d-model, --n-layers, ... override the paper defaults (for experiments and tiny tests)."""
    for key in reversed(CONFIG_KEYS):
        fn = click.option(f"--{key.replace('_', '-')}", key, type=int, default=None,
                          help=f"model {key} (default: paper value)")(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Train EmbBERT-Q models in PyTorch.

    \b
    Example:
      embbert-train pretrain --out runs/pretrain --steps 60000
      embbert-train finetune --task sst2 --init runs/pretrain/pretrained.pt --out models/sst2.pt
    """


@main.command()
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="schedule length [default: 20000]; fixed when the run starts")
@click.option("--batch-size", type=int, default=64, show_default=True, help="per process")
@click.option("--seq-len", type=int, default=128, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="peak learning rate [default: 0.001]; fixed when the run starts")
@click.option("--warmup", type=click.IntRange(min=0), default=None,
              help="warmup steps [default: 1000]; fixed when the run starts")
@click.option("--weight-decay", type=float, default=0.01, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--ckpt-every", type=int, default=500, show_default=True)
@click.option("--resume", is_flag=True, help="continue from OUT/state.pt")
@click.option("--tokenizer", type=click.Path(path_type=Path), default=None,
              help="tokenizer.json to use (default: train one into OUT)")
@click.option("--limit-lines", type=int, default=None, help="use only N lines per source (tests)")
@click.option("--threads", type=int, default=None, help="torch CPU threads per process")
@click.option("--rank-digest", is_flag=True, help="write each rank's weight digest (DDP check)")
@click.option("--stop-at", type=click.IntRange(min=1), default=None,
              help="end this stage at this step (checkpointed); continue with --resume")
@click.option("--eval-every", type=click.IntRange(min=0), default=2000, show_default=True,
              help="held-out masked-word and NSP accuracy every N steps -> OUT/eval.jsonl")
@click.option("--compile", "compile_", is_flag=True,
              help="torch.compile the training step (about 2x faster on CPU, ~1 min to start)")
@click.option("--long-every", type=int, default=0, show_default=True,
              help="every Nth step uses max_len sequences (0: never)")
@config_options
@one_line_errors
def pretrain(out, steps, batch_size, seq_len, lr, warmup, weight_decay, seed, device, ckpt_every,
             resume, tokenizer, limit_lines, threads, rank_digest, long_every, stop_at,
             eval_every, compile_, **cfg) -> None:
    """Masked-LM (15%, 80/10/10) + next-sentence pretraining on ../shared/data/pretrain.

    \b
    Example (resumable; the schedule is fixed by the first command, each later stage
    continues it with --resume and may end early with --stop-at):
      embbert-train pretrain --out runs/pretrain --steps 100000 --stop-at 30000
      embbert-train pretrain --out runs/pretrain --resume --stop-at 60000
      torchrun --nproc_per_node 2 -m embbert.cli.train pretrain --out runs/ddp --steps 100
    """
    from ..train.pretrain import PretrainOptions, run

    check_writable(out, "--out", directory=True)
    if threads:
        torch.set_num_threads(threads)
    opts = PretrainOptions(out=out, steps=steps, batch_size=batch_size, seq_len=seq_len, lr=lr,
                           warmup=warmup, weight_decay=weight_decay, seed=seed, device=device,
                           ckpt_every=ckpt_every, resume=resume, tokenizer=tokenizer,
                           limit_lines=limit_lines, rank_digest=rank_digest,
                           long_every=long_every, stop_at=stop_at, eval_every=eval_every,
                           compile=compile_, config={k: v for k, v in cfg.items() if v is not None})
    path = run(opts)
    click.echo(f"pretrained checkpoint: {path}")
    click.echo(f"next: embbert-train finetune --task sst2 --init {path} --out models/sst2.pt")


@main.command()
@click.option("--task", required=True, help="task name (sst2, imdb, ...)")
@click.option("--init", "init", type=click.Path(path_type=Path), default=None,
              help="pretrained checkpoint (default: train from scratch)")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="output model.pt")
@click.option("--epochs", type=int, default=5, show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--lr", type=float, default=5e-4, show_default=True)
@click.option("--warmup-frac", type=float, default=0.06, show_default=True)
@click.option("--weight-decay", type=float, default=0.01, show_default=True)
@click.option("--dropout", type=click.FloatRange(0.0, 0.9), default=0.0, show_default=True,
              help="dropout on the embedder and layer outputs while training (not exported)")
@click.option("--emb-dropout", type=click.FloatRange(0.0, 0.9), default=0.0, show_default=True,
              help="dropout on the embedder output only (replaces --dropout there)")
@click.option("--label-smoothing", type=click.FloatRange(0.0, 0.5), default=0.0,
              show_default=True)
@click.option("--teacher", multiple=True,
              help="distil from soft targets: 'bow' (the bag-of-words baseline, out-of-fold) or "
                   "a finetuned model.pt of the task; repeat for an ensemble (their mean)")
@click.option("--teacher-weight", type=click.FloatRange(0.0, 1.0), default=0.5,
              show_default=True, help="weight of the teacher's term in the loss")
@click.option("--teacher-temp", type=click.FloatRange(min=0.0, min_open=True), default=2.0,
              show_default=True, help="softmax temperature of teacher and student in that term")
@click.option("--seq-len", type=int, default=None,
              help="truncate training/eval inputs to this many tokens (default: max_len)")
@click.option("--windows", is_flag=True,
              help="texts longer than max_len: train on a random max_len window each epoch and "
                   "score the mean logits of windows covering the whole text (single texts)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--limit", type=int, default=None, help="use only N training rows (tests)")
@click.option("--threads", type=int, default=None, help="torch CPU threads")
@click.option("--tokenizer", type=click.Path(path_type=Path), default=None,
              help="tokenizer.json when training from scratch without --init")
@click.option("--resume", is_flag=True,
              help="continue an interrupted run from OUT.state.pt (saved after every epoch)")
@config_options
@one_line_errors
def finetune(task, init, out, epochs, batch_size, lr, warmup_frac, weight_decay, dropout,
             emb_dropout, label_smoothing, teacher, teacher_weight, teacher_temp, seq_len,
             windows, seed, device, limit, threads, tokenizer, resume, **cfg) -> None:
    """Finetune on a task's [CLS] row; keep the epoch with the best metric on the selection
    split (dev when dev is not the reported split, else a fixed 10% of train).

    \b
    Example:
      embbert-train finetune --task sst2 --init models/pretrained.pt --out models/sst2.pt
      embbert-train finetune --task ag_news --init models/pretrained.pt --out ag.pt --teacher bow
    """
    from ..train.finetune import FinetuneOptions, run
    from ..train.finetune_state import state_path

    check_writable(out, "--out")  # before any work, not after the last epoch
    if threads:
        torch.set_num_threads(threads)
    opts = FinetuneOptions(task=task, init=init, out=out, epochs=epochs, batch_size=batch_size,
                           lr=lr, warmup_frac=warmup_frac, weight_decay=weight_decay,
                           dropout=dropout, emb_dropout=emb_dropout,
                           label_smoothing=label_smoothing, teacher=tuple(teacher),
                           teacher_weight=teacher_weight, teacher_temp=teacher_temp,
                           max_len=seq_len, windows=windows, seed=seed, device=device,
                           limit=limit, tokenizer=tokenizer, resume=resume,
                           config={k: v for k, v in cfg.items() if v is not None})
    if not resume and state_path(out).exists():
        raise EmbBertError(f"{state_path(out)} holds an unfinished run: continue it with "
                           "--resume, or remove it to start again")
    try:
        ck = run(opts)
    except KeyboardInterrupt:
        done = " (nothing saved yet)" if not state_path(out).exists() else \
            f"; continue with the same command and --resume (state: {state_path(out)})"
        click.echo(f"interrupted{done}", err=True)
        raise SystemExit(130) from None
    click.echo(f"wrote {out}: " + ", ".join(f"{k} {v:.4f}" for k, v in ck.metrics.items()
                                             if isinstance(v, float)))
    click.echo(f"next: embbert-eval {out} --task {task}   or   "
               f"embbert-export {out} --board qemu-m4")


@main.command("tokenizer")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="tokenizer.json")
@click.option("--vocab-size", type=int, default=8192, show_default=True)
@click.option("--limit-lines", type=int, default=None)
@one_line_errors
def tokenizer_cmd(out, vocab_size, limit_lines) -> None:
    """Train the lower-case WordPiece tokenizer on the pretraining corpus + task training texts."""
    from ..tokenizer import train_tokenizer
    from ..train.corpus import corpus_documents

    check_writable(out, "--out")

    tok = train_tokenizer(corpus_documents(limit_lines=limit_lines), vocab_size)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(tok.to_str())
    click.echo(f"wrote {out} ({tok.get_vocab_size()} tokens)")


if __name__ == "__main__":
    main()
