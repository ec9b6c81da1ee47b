"""Does bfloat16 pay on this CPU? The encoder's matrix products and one training step, float32 against bfloat16.

  .venv/bin/python benchmarks/bf16_path.py [--steps 3] [--batch-size 64]

`--precision bfloat16` (and `--teacher-precision bfloat16`) falls back to float32 where the CPU has no native
bfloat16 arithmetic (sct.precision). This measures why, on the machine it runs on: the best GFLOP/s of the 2-layer
student's product shapes in each dtype, and the median seconds of one forward + backward of the student on real
corpus batches (max_seq_length 32) under float32 and under CPU bf16 autocast, interleaved step by step so that load
hits both alike. Writes benchmarks/results/bf16_path.json (one entry per CPU model and verdict, so a run on a
machine with native bfloat16 is kept beside one without).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch
from step_parts import matmul_gflops  # the sibling benchmark's rate of the encoder's product shapes

from sct.data import write_json_atomic
from sct.models import load_student
from sct.precision import fast_bfloat16
from sct.provenance import cpu_model, environment

ROOT = Path(__file__).resolve().parents[1]
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "bf16_path.json"))
    args = parser.parse_args()
    from sct.corpus import timing_sentences

    torch.manual_seed(0)
    model = load_student("sentence-transformers/all-MiniLM-L6-v2", 2, architecture="mean-pooling")[0]
    model.max_seq_length = 32
    model.train()
    sentences = timing_sentences(args.batch_size * (args.steps + 1))
    batches = [sentences[i : i + args.batch_size] for i in range(0, len(sentences), args.batch_size)]
    d = model.get_embedding_dimension()
    tokens = 2 * args.batch_size * 16
    rates = {name: round(matmul_gflops(tokens, d, dtype), 1) for name, dtype in DTYPES.items()}
    step_samples: dict[str, list[float]] = {name: [] for name in DTYPES}
    for i, texts in enumerate(batches):  # the first batch warms both up and is not counted
        features = model.preprocess(texts + texts)
        for name, dtype in DTYPES.items():
            started = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype is torch.bfloat16):
                embeddings = model(dict(features))["sentence_embedding"]
            embeddings.float().pow(2).sum().backward()
            model.zero_grad(set_to_none=True)
            if i:
                step_samples[name].append(time.perf_counter() - started)
        print(f"step {i + 1}/{len(batches)}", flush=True)
    steps = {name: round(statistics.median(s), 4) for name, s in step_samples.items()}
    entry = {
        "cpu": cpu_model() or "unknown CPU",
        "fast_bfloat16": fast_bfloat16("cpu"),
        "matmul_gflops": rates,
        "forward_backward_seconds": steps,
        "bfloat16_over_float32_step": round(steps["bfloat16"] / steps["float32"], 2),
        "batch_size": args.batch_size,
        "timed_steps": args.steps,
        "command": shlex.join(["python", "benchmarks/bf16_path.py", *sys.argv[1:]]),
        "environment": environment(),
        "threads": torch.get_num_threads(),
    }
    output = Path(args.output)
    earlier = json.loads(output.read_text())["machines"] if output.is_file() else []
    kept = [e for e in earlier if (e["cpu"], e["fast_bfloat16"]) != (entry["cpu"], entry["fast_bfloat16"])]
    write_json_atomic(output, {"machines": [*kept, entry]})
    print(json.dumps({k: entry[k] for k in ("cpu", "fast_bfloat16", "matmul_gflops", "forward_backward_seconds")}))
    print(f"-> {output}")


if __name__ == "__main__":
    main()
