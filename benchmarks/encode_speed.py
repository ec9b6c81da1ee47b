"""Encoding throughput: SentenceTransformer.encode vs `sct encode` (torch) vs `sct encode` on an ONNX export.

  .venv/bin/python benchmarks/encode_speed.py [--sentences 4000] [--repeats 3] [--batch-size 32]

Same sentences (corpus captions/NLI, or generated text without the data), same batch size, same threads,
runs alternated; sentences/s is the median over repeats. The ONNX export is `sct export-onnx` of the same
model, and its embeddings are compared with the torch model's (max abs difference). Models: the 2-layer
proxy student (all-MiniLM-L6-v2's first 2 layers) and all-MiniLM-L6-v2. Writes
benchmarks/results/encode_speed.json.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from sct.corpus import timing_sentences
from sct.data import write_json_atomic
from sct.encode import embed, load_model
from sct.export import export_onnx
from sct.models import load_student
from sct.provenance import environment

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"proxy-l2": ("sentence-transformers/all-MiniLM-L6-v2", 2), "all-MiniLM-L6-v2": (
    "sentence-transformers/all-MiniLM-L6-v2", None)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "encode_speed.json"))
    args = parser.parse_args()
    text = timing_sentences(args.sentences)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, (model_id, layers) in MODELS.items():
            saved = Path(scratch) / name
            student, _ = load_student(model_id, layers, architecture="as-is" if layers is None else "mean-pooling")
            student.save(str(saved))
            export_onnx(str(saved), Path(scratch) / f"{name}-onnx")
            st_model = load_model(str(saved))
            onnx_model = load_model(str(Path(scratch) / f"{name}-onnx"))
            runs = {
                "sentence_transformers": lambda m=st_model: m.encode(text, batch_size=args.batch_size,
                                                                     convert_to_numpy=True),
                "sct_torch": lambda m=st_model: embed(m, text, args.batch_size),
                "sct_onnx": lambda m=onnx_model: embed(m, text, args.batch_size),
            }  # fmt: skip
            outputs = {key: fn() for key, fn in runs.items()}  # warm-up, and the embeddings compared
            seconds: dict[str, list[float]] = {key: [] for key in runs}
            for _ in range(args.repeats):
                for key, fn in runs.items():
                    started = time.perf_counter()
                    fn()
                    seconds[key].append(time.perf_counter() - started)
            rate = {key: len(text) / statistics.median(s) for key, s in seconds.items()}
            row = {
                "model": name, "source": model_id, "layers": layers, "sentences": len(text),
                "batch_size": args.batch_size, "max_seq_length": st_model.max_seq_length,
                "sentences_per_second": {k: round(v, 1) for k, v in rate.items()},
                "onnx_speedup": round(rate["sct_onnx"] / rate["sentence_transformers"], 2),
                "torch_ratio": round(rate["sct_torch"] / rate["sentence_transformers"], 2),
                "onnx_max_abs_difference": float(np.abs(outputs["sct_onnx"] - outputs["sentence_transformers"]).max()),
            }  # fmt: skip
            rows.append(row)
            print(f"[{name}] {row['sentences_per_second']}", flush=True)
    print("\n| model | ST encode sent/s | sct torch sent/s | sct ONNX sent/s | ONNX speedup | max abs diff |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        s = r["sentences_per_second"]
        print(f"| {r['model']} | {s['sentence_transformers']:.0f} | {s['sct_torch']:.0f} | {s['sct_onnx']:.0f} | "
              f"{r['onnx_speedup']:.2f}x | {r['onnx_max_abs_difference']:.1e} |")  # fmt: skip
    result = {"command": shlex.join(["python", "benchmarks/encode_speed.py", *sys.argv[1:]]),
              "environment": environment(), "threads": torch.get_num_threads(), "rows": rows}  # fmt: skip
    write_json_atomic(args.output, result)
    print(f"\n-> {args.output}")


if __name__ == "__main__":
    main()
