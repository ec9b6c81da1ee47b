#!/usr/bin/env bash
# The main job: STS of the 2-layer proxy student, SCT training on a corpus sample, STS again.
# Usage: scripts/demo.sh [RUN_DIR]   (make demo runs it after setting up .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/demo}
STEPS=${DEMO_STEPS:-400}
SCT=.venv/bin/sct
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$(dirname "$RUN")"

echo "== 1/4 training sentences: 30,000 from the caption and nli domains of the corpus"
$SCT corpus --domains caption,nli --max-samples 30000 --seed 1000 --output "$RUN-sentences.txt"

echo "== 2/4 STS before training: all-MiniLM-L6-v2 cut to its first 2 layers"
$SCT evaluate sentence-transformers/all-MiniLM-L6-v2 --student-layers 2 --tasks sts \
    --label "before (all-MiniLM-L6-v2, 2 layers)" --output-json "$RUN-sts-before.json"

echo "== 3/4 SCT training: preset minilm-l2, dropout-only views, $STEPS steps"
$SCT train "$RUN-sentences.txt" --views identical --preset minilm-l2 --max-steps "$STEPS" \
    --output-dir "$RUN" --overwrite

echo "== 4/4 STS after training (before, after and the difference)"
$SCT evaluate "$RUN" --tasks sts --label "after (SCT, $STEPS steps)" \
    --baseline-json "$RUN-sts-before.json" --output-json "$RUN-sts-after.json"
echo "run: $RUN (model, training_log.jsonl, training_curves.png, run_summary.json)"
