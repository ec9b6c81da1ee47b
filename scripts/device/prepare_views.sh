#!/usr/bin/env bash
# Prepare .gpu/ (git-ignored, carried to the device) for the view-method comparison:
# the 2-layer proxy in float16 (fits the 64 MiB transfer), the STS data, gzipped pairs, and wheels.
# Needs the views built first:
#   sct corpus --max-samples 30000 --seed 2000 -o runs/cmp/sentences.txt
#   sct views runs/cmp/sentences.txt --method M -o runs/cmp/pairs-M.tsv   (M: dropout bt bt-neural ...;
#   bt-overlap50: --method bt --min-overlap 0.5)
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx "/.gpu/" .git/info/exclude || echo "/.gpu/" >> .git/info/exclude
grep -qx "/.whl/" .git/info/exclude || echo "/.whl/" >> .git/info/exclude
mkdir -p .gpu/data/senteval/SICK .whl
.venv/bin/python -c "
from sct.models import load_student
model, _ = load_student('sentence-transformers/all-MiniLM-L6-v2', layers=2)
model.half().save('.gpu/minilm-l2')"
cp -r ../shared/data/senteval/STS .gpu/data/senteval/
cp ../shared/data/senteval/SICK/SICK_test_annotated.txt .gpu/data/senteval/SICK/
for m in dropout bt bt-neural neural-original synonym same-bt bt-overlap50; do
    gzip -c "runs/cmp/pairs-$m.tsv" > ".gpu/pairs-$m.tsv.gz"
done
cp scripts/device/views_runs.json .gpu/runs.json
cp scripts/device/views_runs_rest.json .gpu/runs2.json
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 sentence-transformers==6.2.0
du -sh .gpu .whl
