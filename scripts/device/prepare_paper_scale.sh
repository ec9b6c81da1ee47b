#!/usr/bin/env bash
# Prepare .gpu/ and .whl/ (git-ignored, carried to the device) for scripts/device/paper_scale.sh, within the 64 MiB
# a device call carries: all-MiniLM-L6-v2 in float16 (the teacher, and cut to 2 layers the student), the training
# sentences and the held-out sentences for the queues (leakage guard applied here, where every evaluation set is),
# the STS data as one archive, and the wheels the device lacks.
#   bash scripts/device/prepare_paper_scale.sh  ->  then, on the device:
#   run(command="tar xzf .gpu/data.tar.gz -C .gpu && OUT=$OUT SCT_COMMIT=<commit> bash scripts/device/paper_scale.sh",
#       carry=[".gpu", ".whl"], timeout_s=560)
set -euo pipefail
cd "$(dirname "$0")/../.."
TRAIN=${TRAIN:-136000}  # caption + nli has about 268k: the rest (about 132k) is held out for queues of 65,536
grep -qx "/.gpu/" .git/info/exclude || echo "/.gpu/" >> .git/info/exclude
grep -qx "/.whl/" .git/info/exclude || echo "/.whl/" >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/data/senteval/SICK .whl
.venv/bin/python -c "
from sentence_transformers import SentenceTransformer
from sct.models import resolve_model
path = resolve_model('sentence-transformers/all-MiniLM-L6-v2').location  # the offline packaged copy
SentenceTransformer(path, device='cpu').half().save('.gpu/all-minilm-l6-v2')"
.venv/bin/sct corpus --max-samples 300000 --seed 1000 --overwrite -o /tmp/paper-domain.txt
head -n "$TRAIN" /tmp/paper-domain.txt | gzip -9 > .gpu/sentences.txt.gz
tail -n +"$((TRAIN + 1))" /tmp/paper-domain.txt | gzip -9 > .gpu/held-out.txt.gz
tmp=$(mktemp -d)
mkdir -p "$tmp/data/senteval/SICK"
cp -r ../shared/data/senteval/STS "$tmp/data/senteval/"
cp ../shared/data/senteval/SICK/SICK_test_annotated.txt "$tmp/data/senteval/SICK/"
tar czf .gpu/data.tar.gz -C "$tmp" data
rm -rf "$tmp" .gpu/data
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 \
    "sentence-transformers==$(grep -i '^sentence-transformers==' constraints.txt | cut -d= -f3)"
du -sh .gpu .whl
total=$(du -cb .gpu .whl | tail -1 | cut -f1)
[ "$total" -lt $((64 * 1024 * 1024)) ] || { echo "carried inputs are $total bytes, over 64 MiB" >&2; exit 1; }
