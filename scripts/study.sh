#!/usr/bin/env bash
# The reproduction study (issue #8, docs/reproduction.md): every self-supervised row at one budget, the best
# student of each kind saved with its model card (runs/best), then the docs.
#   bash scripts/study.sh [SPEC ...]     (default: all specs, in the order below; finished rows are kept)
# Each spec is scripts/study/SPEC.json, run by `sct sweep runs` into results/study/SPEC.json (--resume:
# an interrupted or extended study continues where it stopped). The distillation half is
# scripts/distill_runs.json at the same budget (docs/results/distill/compare.json; distill-l2 reruns it with
# k 128, distill-ablations-l2 is Table 6 on that setting); the view methods are
# docs/results/views/compare.json (400 steps on a GPU); views-l2 reruns its Table 4 rows at the study's
# budget. Needs `make setup` and the data in ../shared/data (or $SCT_DATA).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=(table2-l2 queue-l2 grid-l2 ablations-l2 seeds-l2 table2-l1 table2-l3 distill-l2 views-l2
    budget-l2 distill-ablations-l2 seeds-l1 seeds-l3 temps-l2)

# the views of 30,000 paper-domain corpus sentences (translations are cached)
mkdir -p runs/cmp
[ -s runs/cmp/sentences.txt ] || $PY -m sct corpus --max-samples 30000 --seed 2000 -o runs/cmp/sentences.txt
for method in bt-neural dropout bt synonym same-bt; do
    [ -s "runs/cmp/pairs-$method.tsv" ] || $PY -m sct views runs/cmp/sentences.txt --method "$method" \
        -o "runs/cmp/pairs-$method.tsv"
done

for spec in "${specs[@]}"; do
    $PY -m sct sweep runs "scripts/study/$spec.json" --output "results/study/$spec.json" \
        --work-dir "runs/study/$spec" --resume
done
$PY scripts/save_best.py runs/best
$PY scripts/update_docs.py
