#!/usr/bin/env bash
# Finetune the pretrained checkpoint on every task (the recipe behind docs/RESULTS.md).
# Resumable: a finished run is skipped, an interrupted one (OUT.state.pt) resumes. Run it
# in the background:
#   nohup tools/finetune_all.sh runs/pretrain/pretrained.pt > runs/finetune.log 2>&1 &
# TASKS="imdb" (a space-separated subset) splits the work into lanes that run side by side.
# Seeds: the recipe's count (3 where a run takes under 10 minutes on one thread), or SEEDS=n
# for every task. One seed writes $OUT/<task>.pt, n seeds $OUT/<task>.seed0.pt .. seed<n-1>.pt;
# tools/results_table.py reports their mean +- sd. INT8=1 also writes each run's int8 metrics
# ($OUT/<run>.int8.json) right after it, so the table needs no second pass. EXTRA="..." is
# appended to every finetune command (later options win, e.g. EXTRA="--epochs 1 --limit 64").
set -euo pipefail
INIT=${1:-models/pretrained.pt}
OUT=${OUT:-runs/tasks}   # 14 tasks x 1.5 MB per seed: not committed
BIN=${BIN:-.venv/bin}
mkdir -p "$OUT"
# task epochs lr batch seeds [more finetune options] (why: docs/RESULTS.md, distillation)
RECIPES="
sst2 4 5e-4 32 3
snips 8 5e-4 32 3
nlu_scenario 10 1e-3 32 3 --teacher bow
nlu 30 1e-3 32 3 --teacher bow
emotion 8 5e-4 32 3
limit 6 5e-4 32 3
ag_news 10 5e-4 32 3 --teacher bow
cyberbullying 5 5e-4 32 1
cola 8 3e-4 32 3
mrpc 10 3e-4 16 3
rte 10 3e-4 16 3
stsb 10 5e-4 16 3
wnli 5 1e-4 16 3
imdb 4 5e-4 32 1 --teacher bow --windows
"
echo "$RECIPES" | while read -r task epochs lr bs seeds more; do
  [ -n "$task" ] || continue
  if [ -n "${TASKS:-}" ] && [[ " $TASKS " != *" $task "* ]]; then continue; fi
  n=${SEEDS:-$seeds}
  # windowed recipes (long texts): int8 on the C runtime (the same bits, ~9x faster per
  # window), and also the paper's first-max_len-tokens score for the table
  windows=0; if [[ " ${more:-} " == *" --windows "* ]]; then windows=1; fi
  engine=sim; if [ "$windows" = 1 ]; then engine=c; fi
  for ((s = 0; s < n; s++)); do
    if [ "$n" -eq 1 ]; then out="$OUT/$task.pt"; else out="$OUT/$task.seed$s.pt"; fi
    if [ -f "$out" ]; then echo "skip $out (done)"; continue; fi
    resume=""   # an interrupted run (killed lane, session end) continues from its last epoch
    if [ -f "$out.state.pt" ]; then resume="--resume"; fi
    echo "=== $task seed $s: $epochs epochs, lr $lr, batch $bs ${more:-} $resume ($(date -u +%H:%M:%S))"
    # shellcheck disable=SC2086  # $more and $EXTRA are lists of options
    "$BIN/embbert-train" finetune --task "$task" --init "$INIT" --out "$out" --seed "$s" \
      --epochs "$epochs" --lr "$lr" --batch-size "$bs" --threads "${THREADS:-2}" ${more:-} \
      ${EXTRA:-} $resume
    if [ "${INT8:-0}" = 1 ]; then
      "$BIN/embbert-eval" "$out" --quantized --engine $engine --json "${out%.pt}.int8.json"
    fi
    if [ "$windows" = 1 ]; then
      "$BIN/embbert-eval" "$out" --no-windows --json "${out%.pt}.head.json"
    fi
  done
done
echo "all tasks done; table: $BIN/python tools/results_table.py $OUT --quantized"
