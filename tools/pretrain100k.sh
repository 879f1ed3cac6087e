#!/usr/bin/env bash
# One stage of the 100k-step pretraining run (docs/TRAINING.md). The schedule (100k steps, peak
# lr 1e-3, 1000 warmup) is fixed by the first stage and stored in the state; every later stage
# continues it exactly with --resume. Extra arguments go to embbert-train (e.g. --stop-at 40000).
# The run lives in runs/pretrain100k (not tracked); training/pretrain100k/ holds the committed
# state between sessions: this script starts from it when the run folder has no state yet.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=runs/pretrain100k
SAVED=training/pretrain100k
mkdir -p "$RUN"
if [ ! -f "$RUN/state.pt" ] && [ -f "$SAVED/state.pt" ]; then
  cp "$SAVED/state.pt" "$RUN/state.pt"
  [ -f "$SAVED/eval.jsonl" ] && cp "$SAVED/eval.jsonl" "$RUN/eval.jsonl"
fi
if [ -f "$RUN/state.pt" ]; then
  ARGS=(--resume)
else
  .venv/bin/python -c "from embbert import checkpoint as c; \
open('$RUN/tokenizer.json', 'w').write(c.load('models/pretrained.pt').tokenizer)"
  ARGS=(--steps 100000 --lr 1e-3 --warmup 1000 --tokenizer "$RUN/tokenizer.json")
fi
export OMP_NUM_THREADS=1
exec .venv/bin/embbert-train pretrain --out "$RUN" "${ARGS[@]}" --batch-size 32 --seq-len 128 \
  --long-every 10 --ckpt-every 500 --eval-every 2000 --threads 1 --compile "$@"
