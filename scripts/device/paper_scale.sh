#!/usr/bin/env bash
# The paper-scale run in one command, for a lent GPU (issue: when a GPU is lent). From the repo root, with .gpu/ and
# .whl/ carried (made by scripts/device/prepare_paper_scale.sh):
#
#   OUT=... SCT_COMMIT=<commit> bash scripts/device/paper_scale.sh            # on the device, at most ~9 minutes
#   SCALE=tiny OUT=/tmp/dry bash scripts/device/paper_scale.sh                 # the CPU dry run (make device-dry-run)
#
# Stages: install the carried wheels; the 2-layer student cut from the carried all-MiniLM-L6-v2; the paper-domain
# sentences (caption + nli, leakage guard on) with dropout-only views; the teacher cache (all-MiniLM-L6-v2 in
# bfloat16: all-mpnet-base-v2 in float16 is 220 MB, over the 64 MiB a device call carries); then SimCSE, SCT at
# k 16,384 and 65,536 (queues filled from the student) and distillation (L_SCT + L_CD, L_CD; teacher queues filled
# from the teacher) at the paper's batch 128 with mixed precision, each for one epoch or its time budget, STS-B dev
# every 64 steps, the best checkpoint kept; each run scored on the seven STS tasks. Every finished run's results
# JSON is written to $OUT as soon as it exists (a run cut short still returns what finished), the best students in
# float16 under $OUT/models, and $OUT/stages.tsv times each stage (the dry run prints the projected device time).
set -uo pipefail
SCALE=${SCALE:-full}
OUT=${OUT:?set OUT to the folder results go to}
GPU=.gpu
mkdir -p "$OUT"
STAGES="$OUT/stages.tsv"
: > "$STAGES"
stage() {  # stage NAME COMMAND...: run it, record its wall seconds and exit status
    local name=$1 start=$SECONDS
    shift
    "$@"
    local rc=$?
    printf '%s\t%s\t%s\n' "$name" "$((SECONDS - start))" "$rc" >> "$STAGES"
    return $rc
}

if [ "$SCALE" = tiny ]; then  # the CPU dry run: a few steps over a few hundred sentences, the same commands
    PY=${PY:-.venv/bin/python}
    SENTENCES=400 BATCH=16 QUEUES="64 256" EPOCH_STEPS=4 BUDGET_MIN=1 EVAL_STEPS=2 TASKS=STS-B DATA=""
else
    PY=python3
    SENTENCES=136000 BATCH=128 QUEUES="16384 65536" EPOCH_STEPS=1063 BUDGET_MIN=1.1 EVAL_STEPS=64 TASKS=sts
    DATA="--data-dir $GPU/data"
    stage "install wheels" python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD/src
    nvidia-smi -L
fi
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
SCT="$PY -m sct"
WORK=${WORK:-/tmp/paper-scale}
mkdir -p "$WORK" "$OUT/models"
TEACHER=$GPU/all-minilm-l6-v2
[ -d "$TEACHER" ] || TEACHER=sentence-transformers/all-MiniLM-L6-v2  # the dry run's installed copy
if [ -f "$GPU/sentences.txt.gz" ]; then  # prepared on the CPU, where every evaluation set is for the leakage guard
    gzip -dc "$GPU/sentences.txt.gz" | head -n "$SENTENCES" > "$WORK/sentences.txt"
    gzip -dc "$GPU/held-out.txt.gz" > "$WORK/held-out.txt"
else
    stage "sentences" $SCT corpus --max-samples "$((SENTENCES + 1000))" --seed 1000 --overwrite -o "$WORK/all.txt" || exit 1
    head -n "$SENTENCES" "$WORK/all.txt" > "$WORK/sentences.txt"
    tail -n +"$((SENTENCES + 1))" "$WORK/all.txt" > "$WORK/held-out.txt"
fi

COMMON=(--model "$TEACHER" --student-layers 2 --views identical --batch-size "$BATCH" --max-seq-length 32
        --max-steps "$EPOCH_STEPS" --time-budget "$BUDGET_MIN" --eval-steps "$EVAL_STEPS" --patience 0
        --batch-order length --warmup-ratio 0.01 --seed 1000 --queue-init-file "$WORK/held-out.txt" --overwrite)
# shellcheck disable=SC2206
[ -n "$DATA" ] && COMMON+=($DATA)
run() {  # run NAME COMMAND ARGS...: train, score, copy the results to $OUT at once
    local name=$1 command=$2
    shift 2
    stage "train $name" $SCT "$command" "$WORK/sentences.txt" -o "$WORK/$name" "${COMMON[@]}" "$@" || return 1
    # shellcheck disable=SC2086
    stage "score $name" $SCT evaluate "$WORK/$name" --tasks "$TASKS" --label "$name" \
        --output-json "$OUT/$name.json" $DATA || return 1
    cp "$WORK/$name/run_summary.json" "$OUT/$name-summary.json"
    cp "$WORK/$name/training_log.jsonl" "$OUT/$name-log.jsonl"
}

run simcse train --objective simcse --learning-rate 5e-4
for k in $QUEUES; do
    run "sct-k$k" train --queue-size "$k" --queue-init encoder --learning-rate 1e-4 \
        --reference-temperature 0.03 --online-temperature 0.04
done
DISTILL=(--teacher "$TEACHER" --teacher-precision bfloat16 --teacher-queue-init teacher --queue-size "${QUEUES##* }"
         --learning-rate 1e-4 --reference-temperature 0.04 --online-temperature 0.05)
run "sct-cd" distill "${DISTILL[@]}" --queue-init encoder
run "cd" distill "${DISTILL[@]}" --sct-weight 0

best=$($PY - "$OUT" <<'EOF'
import json, sys
from pathlib import Path
runs = [p for p in Path(sys.argv[1]).glob("*.json") if not p.stem.endswith("-summary")]
scores = {p.stem: json.loads(p.read_text())["avg"] for p in runs}
print(max(scores, key=scores.get) if scores else "")
EOF
)
if [ -n "$best" ]; then  # the best student in float16 (and the best self-supervised one, if different)
    stage "save best" $PY -c "
import sys
from sentence_transformers import SentenceTransformer
SentenceTransformer(sys.argv[1], device='cpu').half().save(sys.argv[2])" "$WORK/$best" "$OUT/models/$best"
fi
echo "stage seconds (exit status):"
awk -F'\t' '{printf "  %-22s %6d s (%s)\n", $1, $2, $3; t += $2} END {printf "  %-22s %6d s\n", "total", t}' "$STAGES"
if [ "$SCALE" = tiny ]; then
    runs=$(grep -c "^train " "$STAGES")
    echo "projected device time: $runs runs x ${BUDGET_MIN} min budget + teacher cache + scoring: about" \
        "$(awk -v r="$runs" -v b=1.1 'BEGIN {printf "%.1f", r * b + 1.5}') minutes (limit 9)"
fi
