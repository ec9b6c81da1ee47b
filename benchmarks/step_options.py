"""The remaining step options on this CPU: torch.compile, the thread count, and a dev set encoded once.

  .venv/bin/python benchmarks/step_options.py [--steps 6] [--batch-size 64]

The encoder's share of one SCT step of the 2-layer student (online forward of both views with grad, reference
forward without, backward), on real corpus batches in length-bucketed order with the word embeddings frozen,
float32 (the fastest step on a CPU without a bfloat16 path), in each variant:
  eager, the threads torch picks (the default); eager, one thread; torch.compile (inductor, dynamic shapes).
Variants are interleaved step by step so that load hits each alike; torch.compile's first steps (compilation)
are timed apart. Each variant's embeddings of one batch are compared with eager's (the largest absolute
difference), since a variant that computes the same function leaves STS-B dev where it is.

The dev evaluation: sentence-transformers' EmbeddingSimilarityEvaluator (what `sct train` runs: each column
encoded on its own) against the same evaluator with each distinct dev sentence encoded once, on the same model,
warmed up, then alternating: median seconds per evaluation and both Spearman scores. (At the commit that made the
committed results, this second evaluator was `sct train`'s own; it saved too little to keep, and lives here now.)
Writes benchmarks/results/step_options.json.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from step_parts import batches_for, corpus_pairs  # the sibling benchmark's corpus batches

from sct.data import write_json_atomic
from sct.models import load_student
from sct.provenance import environment
from sct.training import freeze_word_embeddings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_THREADS = torch.get_num_threads()


def student():
    torch.manual_seed(0)
    model = load_student("sentence-transformers/all-MiniLM-L6-v2", 2, architecture="mean-pooling")[0]
    model.max_seq_length = 32
    freeze_word_embeddings(model)
    model.train()
    return model


class Variant:
    def __init__(self, threads: int, compiled: bool) -> None:
        self.threads, self.model = threads, student()
        self.forward = torch.compile(self.model, dynamic=True) if compiled else self.model

    def step(self, texts: list[str]) -> float:
        """One encoder step's seconds (no optimizer step: every variant keeps the initial weights)."""
        torch.set_num_threads(self.threads)
        try:
            started = time.perf_counter()
            features = dict(self.model.preprocess(texts + texts))
            online = self.forward(dict(features))["sentence_embedding"]
            with torch.no_grad():  # the reference pass: the same encoder, no graph (compiled too where it is)
                self.forward(dict(features))
            online.pow(2).sum().backward()
            self.model.zero_grad(set_to_none=True)
            return time.perf_counter() - started
        finally:
            torch.set_num_threads(DEFAULT_THREADS)


def once_encoded_evaluator():
    """sentence-transformers' EmbeddingSimilarityEvaluator with the two columns sharing one encode of their
    distinct sentences (the score is the evaluator's own: its similarity and correlation code run unchanged)."""
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    class OnceEncoded(EmbeddingSimilarityEvaluator):
        rows: dict | None = None

        def __call__(self, model, output_path=None, epoch=-1, steps=-1):
            unique = list(dict.fromkeys([*self.sentences1, *self.sentences2]))
            self.rows = dict(zip(unique, super().embed_inputs(model, unique), strict=True))
            try:
                return super().__call__(model, output_path, epoch, steps)
            finally:
                self.rows = None

        def embed_inputs(self, model, sentences, **kwargs):
            if self.rows is None or kwargs or isinstance(sentences, str):
                return super().embed_inputs(model, sentences, **kwargs)
            return np.stack([self.rows[s] for s in sentences])

    return OnceEncoded


def dev_evaluations(model, repeats: int) -> dict:
    """sentence-transformers' evaluator against sct's (each distinct sentence encoded once), on the same model:
    one untimed warm-up call each, then ``repeats`` timed calls each, alternating."""
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    from sct.evaluation.sts import load_dev_set

    dev = load_dev_set(None, None)
    evaluators = {
        kind: cls(dev.sentences1, dev.sentences2, [s / 5 for s in dev.scores], batch_size=128,
                  main_similarity="cosine", name="dev", write_csv=False)
        for kind, cls in (("evaluator", EmbeddingSimilarityEvaluator), ("encoded_once", once_encoded_evaluator()))
    }  # fmt: skip
    model.eval()
    seconds: dict[str, list[float]] = {kind: [] for kind in evaluators}
    scores: dict[str, float] = {}
    for repeat in range(repeats + 1):
        for kind, evaluator in evaluators.items():
            started = time.perf_counter()
            scores[kind] = evaluator(model)["dev_spearman_cosine"]
            if repeat:
                seconds[kind].append(time.perf_counter() - started)
    plain, once = (statistics.median(seconds[k]) for k in evaluators)
    unique = len(set(dev.sentences1) | set(dev.sentences2))
    return {"sentences": len(dev.sentences1) + len(dev.sentences2), "unique_sentences": unique,
            "evaluator_seconds": round(plain, 3), "evaluator_spearman": round(100 * scores["evaluator"], 4),
            "encoded_once_seconds": round(once, 3), "encoded_once_spearman": round(100 * scores["encoded_once"], 4),
            "speedup": round(plain / once, 3), "repeats": repeats}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (torch.compile compiles here)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--dev-repeats", type=int, default=3, help="timed dev evaluations of each evaluator")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "step_options.json"))
    args = parser.parse_args()
    batches = batches_for(corpus_pairs(20000), args.batch_size, True, args.warmup + args.steps)
    variants = {
        f"eager, {DEFAULT_THREADS} threads (default)": Variant(DEFAULT_THREADS, compiled=False),
        "eager, 1 thread": Variant(1, compiled=False),
        f"torch.compile, {DEFAULT_THREADS} threads": Variant(DEFAULT_THREADS, compiled=True),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    warmup: dict[str, float] = dict.fromkeys(variants, 0.0)
    difference: dict[str, float] = {}
    for i, texts in enumerate(batches):
        for name, variant in variants.items():
            seconds = variant.step(texts)
            if i < args.warmup:
                warmup[name] += seconds
            else:
                samples[name].append(seconds)
        print(f"step {i + 1}/{len(batches)}", flush=True)
    eager = next(iter(variants.values()))
    with torch.no_grad():  # eval mode: no dropout, so every variant computes the same function of the same weights
        for variant in variants.values():
            variant.model.eval()
        reference = eager.model(dict(eager.model.preprocess(batches[0])))["sentence_embedding"]
        for name, variant in variants.items():
            torch.set_num_threads(variant.threads)
            out = variant.forward(dict(variant.model.preprocess(batches[0])))["sentence_embedding"]
            torch.set_num_threads(DEFAULT_THREADS)
            difference[name] = float((out - reference).abs().max())
    base = statistics.median(samples[next(iter(variants))])
    rows = [{"variant": name, "step_seconds": round(statistics.median(s), 4),
             "speedup": round(base / statistics.median(s), 2), "warmup_seconds": round(warmup[name], 2),
             "max_abs_difference_to_eager": difference[name]} for name, s in samples.items()]  # fmt: skip
    dev = dev_evaluations(student(), args.dev_repeats)
    for row in rows:
        print(row)
    print(dev)
    command = shlex.join(["python", "benchmarks/step_options.py", *sys.argv[1:]])
    write_json_atomic(args.output, {"command": command, "environment": environment(), "threads": DEFAULT_THREADS,
                                    "batch_size": args.batch_size, "warmup_steps": args.warmup,
                                    "timed_steps": args.steps, "rows": rows, "dev_evaluation": dev})  # fmt: skip
    print(f"-> {args.output}")


if __name__ == "__main__":
    main()
