#!/usr/bin/env bash
# Finetune the pretrained checkpoint on every task (the recipe behind docs/RESULTS.md).
# Resumable: a task whose $OUT/<task>.pt exists is skipped. Run in the background:
#   nohup tools/finetune_all.sh runs/pretrain/pretrained.pt > runs/finetune.log 2>&1 &
# TASKS="imdb" (a space-separated subset) splits the work into lanes that run side by side.
set -euo pipefail
INIT=${1:-models/pretrained.pt}
OUT=${OUT:-runs/tasks}   # 13 x 1.5 MB: not committed (only models/sst2.pt is bundled)
BIN=${BIN:-.venv/bin}
mkdir -p "$OUT"
# task epochs lr batch
RECIPES="
sst2 4 5e-4 32
snips 8 5e-4 32
nlu 30 1e-3 32
emotion 8 5e-4 32
limit 6 5e-4 32
ag_news 10 5e-4 32
cyberbullying 5 5e-4 32
cola 8 3e-4 32
mrpc 10 3e-4 16
rte 10 3e-4 16
stsb 10 5e-4 16
wnli 5 1e-4 16
imdb 4 5e-4 32
"
echo "$RECIPES" | while read -r task epochs lr bs; do
  [ -n "$task" ] || continue
  if [ -n "${TASKS:-}" ] && [[ " $TASKS " != *" $task "* ]]; then continue; fi
  if [ -f "$OUT/$task.pt" ]; then echo "skip $task (done)"; continue; fi
  echo "=== $task: $epochs epochs, lr $lr, batch $bs ($(date -u +%H:%M:%S))"
  "$BIN/embbert-train" finetune --task "$task" --init "$INIT" --out "$OUT/$task.pt" \
    --epochs "$epochs" --lr "$lr" --batch-size "$bs" --threads "${THREADS:-2}"
done
echo "all tasks done; table: $BIN/python tools/results_table.py $OUT --quantized"
