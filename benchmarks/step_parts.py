"""One SCT training step of the 2-layer student, split into its parts, beside its FLOP bound.

  .venv/bin/python benchmarks/step_parts.py [--steps 6] [--batch-sizes 64 128] [--queue-size 16384]

For each variant (the speed options of `sct train`) and batch size, over the same real corpus batches:
  collate (tokenise both views), online forward (both views, one merged encoder call, with grad),
  reference forward (its own pass, no grad), head + objective, backward, optimizer (AdamW over what
  trains), and the STS-B dev evaluation amortised over the 64 steps between evaluations.
Variants: fp32 random batches (today's default), --batch-order length, --freeze-word-embeddings,
--precision bfloat16, and all three. Variants are interleaved step by step, so load hits each alike.

The bound: the step's matrix-product FLOPs on the batch's real tokens (no padding: encoder layers
forward + backward for the online pass, forward for the reference pass, the head, the objective's six
B x (k+B) x d products) at the best GFLOP/s this machine's matmul reaches on the encoder's product
shapes in that precision, timed in the same run. Writes benchmarks/results/step_parts.json.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from sct.batching import length_bucketed_batches
from sct.data import write_json_atomic
from sct.losses import SCTLoss, reference_embeddings
from sct.models import load_student
from sct.objective import cross_view_loss
from sct.provenance import environment
from sct.training import freeze_word_embeddings

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("collate", "online_forward", "reference_forward", "head_objective", "backward", "optimizer")
VARIANTS = {
    "fp32, random batches (default)": {},
    "length-bucketed batches": {"length": True},
    "frozen word embeddings": {"freeze": True},
    "bf16 autocast": {"bf16": True},
    "all three": {"length": True, "freeze": True, "bf16": True},
}
EVAL_STEPS = 64


def corpus_pairs(n: int) -> list[str]:
    """The study's sentences (caption + nli corpus domains); their lengths are what bucketing works on."""
    from sct.corpus import select_sentences
    from sct.data import find_data_root

    picked, _ = select_sentences(find_data_root().corpus, domains={"caption", "nli"}, min_words=3, max_words=64,
                                 max_samples=n, seed=2000, guard_root=None)  # fmt: skip
    return picked


def batches_for(sentences: list[str], batch: int, length: bool, count: int) -> list[list[str]]:
    if length:
        order = length_bucketed_batches([len(s) for s in sentences], batch, seed=0, drop_last=True)
    else:
        perm = torch.randperm(len(sentences), generator=torch.Generator().manual_seed(0)).tolist()
        order = [perm[i : i + batch] for i in range(0, len(perm) - batch + 1, batch)]
    return [[sentences[i] for i in b] for b in order[:count]]


class Variant:
    """A student, its SCTLoss and AdamW as `sct train` builds them with these options."""

    def __init__(self, options: dict, k: int) -> None:
        torch.manual_seed(0)
        self.model = load_student("sentence-transformers/all-MiniLM-L6-v2", 2, architecture="mean-pooling")[0]
        self.model.max_seq_length = 32
        if options.get("freeze"):
            freeze_word_embeddings(self.model)
        self.loss = SCTLoss(self.model, queue_size=k, online_temperature=0.04, reference_temperature=0.03)
        trainable = [p for p in [*self.model.parameters(), *self.loss.head.parameters()] if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=1e-4, eps=1e-6, weight_decay=0.01)
        self.bf16 = bool(options.get("bf16"))
        self.model.train()

    def autocast(self):
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16)

    def step(self, texts: list[str]) -> tuple[dict[str, float], int, int]:
        """Run one step, timing each part; returns (seconds per part, real tokens, padded tokens)."""
        times = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            times[name] = now - clock
            clock = now

        features = self.model.preprocess(texts + texts)  # both views in one merged call, as embed_columns does
        mask = features["attention_mask"]
        lap("collate")
        with self.autocast():
            embeddings = self.model(dict(features))["sentence_embedding"]
        lap("online_forward")
        with self.autocast():
            references = reference_embeddings(self.model, [dict(features)])[0]
        lap("reference_forward")
        with self.autocast():
            online = F.normalize(self.loss.head(embeddings), dim=1)
        b = len(texts)
        loss = cross_view_loss(online[:b], online[b:], references[:b], references[b:], self.loss.queue_1.embeddings,
                               self.loss.queue_2.embeddings, 0.04, 0.03)  # fmt: skip
        lap("head_objective")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        lap("backward")
        self.optimizer.step()
        self.loss.queue_1.enqueue(references[:b])
        self.loss.queue_2.enqueue(references[b:])
        lap("optimizer")
        return times, int(mask.sum()), int(mask.numel())


def dev_seconds(variant: Variant) -> float:
    """One STS-B dev evaluation as `sct train` runs it (sentence-transformers' evaluator, batch 128)."""
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    from sct.evaluation.sts import load_dev_set

    dev = load_dev_set(None, None)
    scores = [s / 5 for s in dev.scores]
    evaluator = EmbeddingSimilarityEvaluator(
        dev.sentences1, dev.sentences2, scores, batch_size=128, main_similarity="cosine", name="dev", write_csv=False
    )
    started = time.perf_counter()
    evaluator(variant.model)
    variant.model.train()
    return time.perf_counter() - started


def matmul_gflops(tokens: int, d: int, dtype: torch.dtype, repeats: int = 10) -> float:
    """The best rate of the encoder's product shapes (tokens x d times d x d, d x 4d, 4d x d) in ``dtype``."""
    best = 0.0
    for inner, outer in ((d, d), (d, 4 * d), (4 * d, d)):
        a, b = torch.randn(tokens, inner, dtype=dtype), torch.randn(inner, outer, dtype=dtype)
        out = torch.empty(tokens, outer, dtype=dtype)
        torch.mm(a, b, out=out)
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            torch.mm(a, b, out=out)
            samples.append(time.perf_counter() - started)
        best = max(best, 2 * tokens * inner * outer / statistics.median(samples) / 1e9)
    return best


def step_flops(real_tokens: int, padded_tokens: int, batch: int, k: int, d: int, layers: int) -> float:
    """Matrix-product FLOPs of one step on the real tokens: 4 passes of the layers (online forward, its
    backward at twice the forward, the reference forward), attention scores on the padded length, the
    head (3 blocks d -> 10d -> d, forward + backward), the objective's six B x (k + B) x d products."""
    length = padded_tokens / (2 * batch)
    per_token = layers * (24 * d * d + 4 * length * d)
    head = 3 * 3 * 2 * (2 * d * 10 * d) * 2 * batch
    objective = 6 * 2 * batch * (k + batch) * d
    return 4 * real_tokens * per_token + head + objective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--queue-size", type=int, default=16384)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "step_parts.json"))
    args = parser.parse_args()
    sentences = corpus_pairs(20000)
    rows = []
    for batch in args.batch_sizes:
        variants = {name: Variant(options, args.queue_size) for name, options in VARIANTS.items()}
        data = {name: batches_for(sentences, batch, bool(o.get("length")), args.warmup + args.steps)
                for name, o in VARIANTS.items()}  # fmt: skip
        samples = {name: [] for name in variants}
        for i in range(args.warmup + args.steps):  # interleaved: every variant sees the same load
            for name, variant in variants.items():
                result = variant.step(data[name][i])
                if i >= args.warmup:
                    samples[name].append(result)
            print(f"B={batch}: step {i + 1}/{args.warmup + args.steps}", flush=True)
        d = variants[next(iter(variants))].model.get_embedding_dimension()
        rates = {}
        for name, variant in variants.items():
            parts = {p: statistics.median(s[0][p] for s in samples[name]) for p in PARTS}
            real = statistics.mean(s[1] for s in samples[name])
            padded = statistics.mean(s[2] for s in samples[name])
            dtype = torch.bfloat16 if variant.bf16 else torch.float32
            if dtype not in rates:
                rates[dtype] = matmul_gflops(int(padded), d, dtype)
            parts["dev_evaluation_per_step"] = dev_seconds(variant) / EVAL_STEPS
            step = sum(parts.values())
            bound = step_flops(real, padded, batch, args.queue_size, d, layers=2) / (rates[dtype] * 1e9)
            rows.append({"variant": name, "batch_size": batch, "queue_size": args.queue_size,
                         "parts_seconds": {p: round(v, 4) for p, v in parts.items()}, "step_seconds": round(step, 4),
                         "real_tokens": real, "padded_tokens": padded, "padding_fraction": round(1 - real / padded, 3),
                         "matmul_gflops": round(rates[dtype], 1), "bound_seconds": round(bound, 4),
                         "step_over_bound": round(step / bound, 2)})  # fmt: skip
    base = {r["batch_size"]: r["step_seconds"] for r in rows if r["variant"].startswith("fp32")}
    for r in rows:
        r["speedup"] = round(base[r["batch_size"]] / r["step_seconds"], 2)
    print(
        "\n| variant | B | " + " | ".join(PARTS) + " | dev/step | step s | speedup | padding | bound s | step/bound |"
    )
    for r in rows:
        p = r["parts_seconds"]
        print(f"| {r['variant']} | {r['batch_size']} | " + " | ".join(f"{p[x]:.3f}" for x in PARTS)
              + f" | {p['dev_evaluation_per_step']:.3f} | {r['step_seconds']:.3f} | {r['speedup']:.2f}x | "
              f"{r['padding_fraction']:.0%} | {r['bound_seconds']:.3f} | {r['step_over_bound']:.2f} |")  # fmt: skip
    command = shlex.join(["python", "benchmarks/step_parts.py", *sys.argv[1:]])
    result = {"command": command, "environment": environment(), "threads": torch.get_num_threads(), "rows": rows}
    write_json_atomic(args.output, result)
    print(f"\n-> {args.output}")


if __name__ == "__main__":
    main()
