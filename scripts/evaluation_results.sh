#!/usr/bin/env bash
# The documented evaluation results: every task with data here for all-MiniLM-L6-v2, and `sct report` on the
# existing 2-layer proxy distillation runs (runs/distill/*, made by scripts/distill_runs.json).
set -euo pipefail
cd "$(dirname "$0")/.."
sct=.venv/bin/sct
$sct evaluate sentence-transformers/all-MiniLM-L6-v2 --tasks all \
    --output-json docs/results/evaluation/all-minilm-l6-v2.json
$sct evaluate sentence-transformers/all-MiniLM-L6-v2 --student-layers 2 --tasks sts,nli,useb \
    --label "untrained: all-MiniLM-L6-v2 first 2 layers" --output-json docs/results/report/untrained-l2.json
runs=("runs/distill/L_SCT + L_CD (joint)" runs/distill/L_ConGen runs/distill/L_CKD)
for run in "${runs[@]}"; do
    $sct evaluate "$run" --tasks sts,nli,useb
    cp "$run/evaluation.json" "docs/results/report/$(basename "$run" | tr ' +()' '-p__').json"
done
$sct report docs/results/report/untrained-l2.json "${runs[@]}" \
    -o docs/results/report/report.md --json docs/results/report/report.json
