"""How fast the teacher cache is built, and what a lower-precision teacher costs in STS.

  .venv/bin/pip install -c constraints.txt -e ".[openvino]"
  .venv/bin/python benchmarks/teacher_cache.py [--sentences 4096] [--teacher sentence-transformers/all-mpnet-base-v2]

The cache is built through the code distillation uses (`sct.teacher.teacher_embeddings`, a fresh cache folder each
time, max_seq_length 32 as the distill presets) for the same corpus sentences: at --teacher-precision float32 (the
default) and bfloat16 (torch autocast; an explicit option, part of the cache key). For reference, not an option of
sct: the same texts through the teacher's `sct export-onnx` graph with onnxruntime (float32) and with OpenVINO's CPU
plugin (at the precision it picks for this CPU). Rate: texts per wall second of the whole build, the teacher's load
and fingerprint included (encoding only, for the reference rows), alternated over --repeats and the median taken.
Agreement: the lowest cosine between a row and the float32 cache's row. Score: the teacher's STS avg (seven tasks,
`sct evaluate`'s harness) in bfloat16, measured here; in float32, read from docs/results/distill/teacher-sts.json
(encoding the STS sets in float32 takes about ten minutes). Writes benchmarks/results/teacher_cache.json (docs/cpu-
budget.md's table is generated from it).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from sct.corpus import timing_sentences
from sct.data import find_data_root, write_json_atomic
from sct.encode import load_model
from sct.evaluation.suite import resolve_tasks, run_tasks
from sct.export import OnnxEncoder, export_onnx
from sct.provenance import environment
from sct.teacher import teacher_embeddings

ROOT = Path(__file__).resolve().parents[1]
MAX_SEQ_LENGTH = 32
TEACHER_STS = ROOT / "docs" / "results" / "distill" / "teacher-sts.json"


def _build(texts: list[str], teacher: str, precision: str) -> tuple[float, np.ndarray]:
    """Seconds to build a fresh cache of ``texts`` at ``precision``, and its rows in the order of ``texts``."""
    pairs = [(t, t) for t in texts]
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        cached = teacher_embeddings(pairs, teacher, cache, MAX_SEQ_LENGTH, precision=precision)
        seconds = time.perf_counter() - started
        rows = np.asarray(cached.lookup(np.arange(len(pairs)))[0])
    return seconds, rows


def _encode(encoder: OnnxEncoder, texts: list[str]) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    rows = encoder.encode(texts, batch_size=64, normalize_embeddings=True)
    return time.perf_counter() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--teacher", default="sentence-transformers/all-mpnet-base-v2")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "teacher_cache.json"))
    args = parser.parse_args()
    texts = sorted(timing_sentences(args.sentences), key=len)
    _build(texts[:64], args.teacher, "float32")  # warm-up: the teacher's files read once
    with tempfile.TemporaryDirectory() as scratch:
        export_onnx(args.teacher, Path(scratch) / "onnx", max_seq_length=MAX_SEQ_LENGTH)
        reference = {"onnxruntime_float32": OnnxEncoder(Path(scratch) / "onnx"),
                     "openvino": OnnxEncoder(Path(scratch) / "onnx", runtime="openvino")}  # fmt: skip
        for encoder in reference.values():
            encoder.encode(texts[:64], batch_size=64)
        seconds: dict[str, list[float]] = {}
        rows: dict[str, np.ndarray] = {}
        for _ in range(args.repeats):
            for precision in ("float32", "bfloat16"):
                took, rows[precision] = _build(texts, args.teacher, precision)
                seconds.setdefault(precision, []).append(took)
            for name, encoder in reference.items():
                took, rows[name] = _encode(encoder, texts)
                seconds.setdefault(name, []).append(took)
            print({k: round(len(texts) / statistics.median(v), 1) for k, v in seconds.items()}, flush=True)
    base = rows["float32"]
    forms = {}
    for name, took in seconds.items():
        rate = len(texts) / statistics.median(took)
        forms[name] = {"texts_per_second": round(rate, 1),
                       "speedup_over_float32": round(rate / (len(texts) / statistics.median(seconds["float32"])), 2),
                       "min_cosine_to_float32": round(float(np.sum(rows[name] * base, axis=1).min()), 6)}  # fmt: skip
    teacher = load_model(args.teacher)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16 = run_tasks(teacher, find_data_root(), resolve_tasks("sts"))
    fp32 = json.loads(TEACHER_STS.read_text())
    if f" {args.teacher} " in f" {fp32['command']} ":  # the recorded float32 score is this teacher's
        forms["float32"]["sts_avg"] = fp32["avg"]
        forms["float32"]["sts_source"] = f"{TEACHER_STS.relative_to(ROOT)} ({fp32['command']})"
    forms["bfloat16"]["sts_avg"] = bf16["avg"]
    forms["bfloat16"]["sts_source"] = "measured here (torch autocast bfloat16, batch 128)"
    import openvino

    result = {"command": shlex.join(["python", "benchmarks/teacher_cache.py", *sys.argv[1:]]),
              "environment": environment(), "threads": torch.get_num_threads(), "teacher": args.teacher,
              "texts": len(texts), "max_seq_length": MAX_SEQ_LENGTH, "repeats": args.repeats,
              "openvino_inference_precision":
                  openvino.Core().get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name(),
              "forms": forms}  # fmt: skip
    write_json_atomic(args.output, result)
    print(json.dumps(forms, indent=1))
    print(f"-> {args.output}")


if __name__ == "__main__":
    main()
