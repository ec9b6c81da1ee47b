#!/usr/bin/env bash
# On a lent GPU machine (the device tool): run `sct sweep runs` on a spec, results to $OUT.
# Usage (from the repo root, with .gpu and .whl carried): bash scripts/device/run_compare.sh SPEC NAME COMMIT SECONDS
# The machine has torch, transformers and pyarrow; .whl brings datasets, dill, multiprocess and
# sentence-transformers (see prepare_views.sh). SCT_COMMIT records the commit, since no .git travels.
set -u
SPEC=$1 NAME=$2 COMMIT=$3 SECONDS_LIMIT=$4
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false SCT_COMMIT="$COMMIT"
nvidia-smi -L
python3 -c "import torch, transformers, sentence_transformers, datasets; print(torch.__version__, transformers.__version__, sentence_transformers.__version__, datasets.__version__, torch.cuda.is_available())" || exit 1
timeout "$SECONDS_LIMIT" python3 -m sct sweep runs "$SPEC" --output "$OUT/$NAME.json" --work-dir /tmp/cmp --data-dir .gpu/data
rc=$?
cp /tmp/cmp/log.txt "$OUT/$NAME-log.txt" 2>/dev/null
exit $rc
