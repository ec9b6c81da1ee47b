"""Throughput of `sct views` (both views, cold cache) on corpus sentences, per method and worker count.

  .venv/bin/python benchmarks/views_speed.py [--sentences 10000] [--workers 1 2] [--methods bt bt-neural]

Prints a table and writes benchmarks/results/views_speed.json (machine, commit, settings, sentences/s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from sct.corpus import select_sentences
from sct.data import find_data_root
from sct.provenance import environment
from sct.views import build_views

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=10000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--methods", nargs="+", default=["bt", "bt-neural"])
    parser.add_argument("--chunk-size", type=int, default=8000)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "views_speed.json"))
    args = parser.parse_args()
    root = find_data_root()
    sentences, _ = select_sentences(
        root.corpus, domains={"caption", "nli"}, min_words=3, max_words=64, max_samples=args.sentences, seed=7,
        guard_root=None,
    )  # fmt: skip
    rows = []
    for method in args.methods:
        for workers in args.workers:
            with tempfile.TemporaryDirectory() as cache:
                started = time.perf_counter()
                _, _, stats = build_views(
                    sentences, method, workers=workers, chunk_size=args.chunk_size, cache_dir=Path(cache)
                )
                seconds = time.perf_counter() - started
            rows.append(
                {
                    "method": method,
                    "workers": workers,
                    "chunk_size": args.chunk_size,
                    "sentences": len(sentences),
                    "seconds": round(seconds, 2),
                    "sentences_per_second": round(len(sentences) / seconds, 1),
                    "failed_kept": stats.failed_kept,
                }
            )
            print(f"{method}, workers {workers}: {len(sentences)} sentences in {seconds:.1f} s "
                  f"= {len(sentences) / seconds:.0f}/s")  # fmt: skip
    result = {
        "command": "python benchmarks/views_speed.py "
        + " ".join(
            f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in vars(args).items()
            if k != "output"
        ),
        "environment": environment(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "rows": rows,
    }  # fmt: skip
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("| method | workers | sentences | seconds | sentences/s |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['method']} | {row['workers']} | {row['sentences']} | {row['seconds']} | "
              f"{row['sentences_per_second']} |")  # fmt: skip


if __name__ == "__main__":
    main()
