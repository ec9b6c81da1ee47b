#!/usr/bin/env bash
# The main job: STS of the 2-layer proxy student, SCT training on a corpus sample, STS again, then the model in use.
# Usage: scripts/demo.sh [RUN_DIR]   (make demo runs it after setting up .venv; the default run is recorded in
# docs/results/demo/, which the README's demo block is generated from)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/demo}
STEPS=${DEMO_STEPS:-400}
# The student and the sample size can be changed (tests run the whole demo on a tiny random model this way);
# DEMO_TRAIN_ARGS is appended to the training command.
MODEL=${DEMO_MODEL:-sentence-transformers/all-MiniLM-L6-v2}
LAYERS=${DEMO_LAYERS:-2}
SAMPLES=${DEMO_SAMPLES:-30000}
SCT=${SCT:-.venv/bin/sct}
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$(dirname "$RUN")"
TIMINGS="$RUN-timings.tsv"
: > "$TIMINGS"
stage() {  # stage NAME COMMAND...: run it and record its wall seconds
    local name=$1 start=$SECONDS
    shift
    "$@"
    printf '%s\t%s\n' "$name" "$((SECONDS - start))" >> "$TIMINGS"
}

echo "== 1/5 training sentences: $SAMPLES from the caption and nli domains of the corpus"
stage "select sentences" $SCT corpus --domains caption,nli --max-samples "$SAMPLES" --seed 1000 --overwrite \
    --output "$RUN-sentences.txt"

echo "== 2/5 STS before training: ${MODEL##*/} cut to its first $LAYERS layers"
stage "evaluate before" $SCT evaluate "$MODEL" --student-layers "$LAYERS" --tasks sts \
    --label "before (${MODEL##*/}, $LAYERS layers)" --output-json "$RUN-sts-before.json"

echo "== 3/5 SCT training: preset minilm-l2, dropout-only views, queues filled from the student, $STEPS steps"
stage "train" $SCT train "$RUN-sentences.txt" --views identical --preset minilm-l2 --queue-init encoder \
    --batch-order length --freeze-word-embeddings --precision bfloat16 --max-steps "$STEPS" \
    --model "$MODEL" --student-layers "$LAYERS" --output-dir "$RUN" --overwrite ${DEMO_TRAIN_ARGS:-}

echo "== 4/5 STS after training (before, after and the difference)"
stage "evaluate after" $SCT evaluate "$RUN" --tasks sts --label "after (SCT, $STEPS steps)" \
    --baseline-json "$RUN-sts-before.json" --output-json "$RUN-sts-after.json"

echo "== 5/5 the model in use: semantic search, untrained and trained student side by side"
stage "search example" $PY scripts/demo_search.py "$RUN" --before "$MODEL" --before-layers "$LAYERS" \
    --output "$RUN-search.json"

echo
echo "time per stage (wall seconds, $(nproc) CPUs):"
awk -F'\t' '{printf "  %-18s %5d s\n", $1, $2; t += $2} END {printf "  %-18s %5d s\n", "total", t}' "$TIMINGS"
echo "model: $RUN (load it with SentenceTransformer(\"$RUN\"); card: $RUN/README.md; curves: $RUN/training_curves.png)"
if [ "$RUN" = runs/demo ]; then  # the default run is the one the README shows
    $PY scripts/update_docs.py --demo-run "$RUN"
    echo "recorded in docs/results/demo/ and the README's demo block"
fi
