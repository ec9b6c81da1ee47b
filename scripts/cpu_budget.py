"""docs/cpu-budget.md's generated blocks: queue initialisation, speed levers, the step's parts, the budget curve.

Called by scripts/update_docs.py. Sources: results/study/queue-init-l2.json, levers-l2.json and budget-curve-l2.json
(`sct sweep runs` on scripts/study/*.json) and benchmarks/results/step_parts.json (benchmarks/step_parts.py).
A block whose results are missing names the command that produces them.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import reproduction as study  # scripts/reproduction.py: the shared readers, provenance and noise verdicts

from sct.plots import plot_dev_curves, plot_xy

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "results" / "study"
STEP_PARTS = ROOT / "benchmarks" / "results" / "step_parts.json"
BF16_PATH = ROOT / "benchmarks" / "results" / "bf16_path.json"
STEP_OPTIONS = ROOT / "benchmarks" / "results" / "step_options.json"
RUN = "sct sweep runs scripts/study/{0}.json --output results/study/{0}.json --work-dir runs/study/{0} --resume"


def _missing(spec: str) -> str:
    return f"Not run yet: `{RUN.format(spec)}` writes `results/study/{spec}.json`.\n"


def _mean(values: list[float]) -> float:
    return statistics.fmean(values)


def _queue_init_cells(rows: dict[str, dict]) -> dict[tuple[int, str], list[dict]]:
    """Rows named "k=K, INIT (seed S)" grouped by (K, INIT)."""
    cells: dict[tuple[int, str], list[dict]] = {}
    for name, row in rows.items():
        setting = name.split(" (seed ")[0]
        k, init = setting.removeprefix("k=").split(", ")
        cells.setdefault((int(k), init), []).append(row)
    return cells


def queue_init_block() -> str:
    data = study._study("queue-init-l2")
    if data is None:
        return _missing("queue-init-l2")
    cells = _queue_init_cells(study._rows(data))
    sizes = sorted({k for k, _ in cells})
    lines = [
        "| k | queues start from | STS avg (mean ± sd over seeds) | best STS-B dev "
        "| mean STS-B dev at step 0 → 64 → end |",
        "|---|---|---|---|---|",
    ]
    for k in sizes:
        for init in ("random", "encoder"):
            rows = cells.get((k, init), [])
            if not rows:
                continue
            mean, sd = study._mean_sd([r["avg"] for r in rows])
            curve = [_mean([r["dev_curve"][i][1] for r in rows]) for i in (0, 1, -1)]
            lines.append(
                f"| {k:,} | {init} | {mean:.2f}" + (f" ± {sd:.2f} ({len(rows)})" if sd is not None else "")
                + f" | {_mean([r['best_dev_spearman'] for r in rows]):.2f} | {' → '.join(f'{c:.2f}' for c in curve)} |"
            )  # fmt: skip
    series = {
        f"queues from {init}": [(k, _mean([r["avg"] for r in cells[(k, init)]])) for k in sizes if (k, init) in cells]
        for init in ("random", "encoder")
    }
    plot_xy(series, STUDY / "queue_init_figure4.png", "Figure 4 at the CPU budget (200 steps): STS avg, mean of seeds",
            "queue size k (log scale)", "STS avg", log_x=True)  # fmt: skip
    seed = min(name.split("(seed ")[1].rstrip(")") for name in study._rows(data))
    plot_dev_curves(
        {f"k = {k:,}, {init}": cells[(k, init)][0]["dev_curve"] for k in sizes for init in ("random", "encoder")},
        STUDY / "queue_init_dev_curves.png",
        f"STS-B dev during training, random vs encoder-filled queues (seed {seed})",
    )
    gains = {k: _mean([r["avg"] for r in cells[(k, "encoder")]]) - _mean([r["avg"] for r in cells[(k, "random")]])
             for k in sizes}  # fmt: skip
    verdicts = ", ".join(f"k = {k:,}: {g:+.2f} ({study._verdict(g, 1)})" for k, g in gains.items())
    text = (
        "\n".join(lines)
        + f"\n\nFilling the queues from the initial student (`--queue-init encoder`) minus random queues, STS avg: "
        f"{verdicts}. "
    )
    if {(128, "encoder"), (128, "random")} <= cells.keys() and len(sizes) > 1:
        step64 = {key: _mean([r["dev_curve"][1][1] for r in rows]) for key, rows in cells.items()}
        large = sizes[-1]
        size_gain = _mean([r["avg"] for r in cells[(large, "encoder")]]) - _mean(
            [r["avg"] for r in cells[(128, "encoder")]]
        )
        text += (
            f"The early collapse mostly goes away: mean STS-B dev at step 64 with k = {large:,} is "
            f"{step64[(large, 'encoder')]:.2f} from encoder-filled queues against {step64[(large, 'random')]:.2f} from "
            f"random ones (step 0: {cells[(large, 'random')][0]['dev_curve'][0][1]:.2f}). Queue size itself, with "
            f"encoder-filled queues, k = {large:,} minus k = 128: {size_gain:+.2f} ({study._verdict(size_gain, 1)}): "
            "the paper's rise with k (Figure 4, ten epochs) is not visible at 200 steps; the budget curve below runs "
            "k = 16,384 with encoder-filled queues for longer.\n\n"
        )
    return (
        text
        + "![Figure 4 with both inits](../results/study/queue_init_figure4.png)\n"
        + "![dev curves with both inits](../results/study/queue_init_dev_curves.png)\n\n"
        + study._provenance(data, STUDY / "queue-init-l2.json")
        + "\n"
    )


# levers-l2's run names -> benchmarks/step_parts.py's variant names (the same options)
LEVER_VARIANTS = {
    "current (random batches, float32)": "fp32, random batches (default)",
    "length-bucketed batches": "length-bucketed batches",
    "frozen word embeddings": "frozen word embeddings",
    "bfloat16 autocast": "bf16 autocast",
    "all three": "all three",
}


def _dev_noise() -> float | None:
    """How far seeds alone move best STS-B dev in the same setting (queue-init-l2, k = 16,384, encoder): the sd."""
    rows = _queue_init_cells(study._rows(study._study("queue-init-l2"))).get((16384, "encoder"), [])
    return statistics.stdev(r["best_dev_spearman"] for r in rows) if len(rows) > 1 else None


def _dev_noise_sentence() -> str:
    sd = _dev_noise()
    if sd is None:
        return ""
    return (
        f"Seeds alone move best STS-B dev by a standard deviation of {sd:.2f} in this setting (queue-init-l2, "
        f"k = 16,384, encoder-filled queues, three seeds): a |Δ dev| under {2 * sd:.2f} is no effect. "
    )


def levers_block() -> str:
    data = study._study("levers-l2")
    if data is None:
        return _missing("levers-l2")
    rows = study._rows(data)
    parts = study._load(STEP_PARTS) or {"rows": []}
    speed = {r["variant"]: r for r in parts["rows"] if r["batch_size"] == 64}
    base = rows.get("current (random batches, float32)")
    lines = [
        "| step | step seconds (B = 64, benchmark) | speed-up | best STS-B dev | Δ dev | STS avg | Δ STS avg |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        bench = speed.get(LEVER_VARIANTS.get(name, ""))
        timing = f"{bench['step_seconds']:.3f} | {bench['speedup']:.2f}x" if bench else "- | -"
        lines.append(
            f"| {name} | {timing} | {row['best_dev_spearman']:.2f} | "
            f"{row['best_dev_spearman'] - base['best_dev_spearman']:+.2f} | {row['avg']:.2f} | "
            f"{row['avg'] - base['avg']:+.2f} |"
        )
    noise = _dev_noise()
    verdict = ""
    if noise is not None and speed:
        same = [(n, speed[LEVER_VARIANTS[n]]) for n, r in rows.items() if LEVER_VARIANTS.get(n) in speed
                and abs(r["best_dev_spearman"] - base["best_dev_spearman"]) < 2 * noise]  # fmt: skip
        best_name, best = max(same, key=lambda nb: nb[1]["speedup"])
        fastest = max(speed.values(), key=lambda r: r["speedup"])
        near = min(speed.values(), key=lambda r: r["step_over_bound"])
        fastest_row = next((r for n, r in rows.items() if LEVER_VARIANTS.get(n) == fastest["variant"]), None)
        fastest_dev = (f"at {fastest_row['best_dev_spearman'] - base['best_dev_spearman']:+.2f} dev" if fastest_row
                       else "its dev effect not measured")  # fmt: skip
        cheaper = "met" if best["speedup"] >= 2 else f"missed by {2 - best['speedup']:.2f}x"
        within = [r["variant"] for r in speed.values() if r["step_over_bound"] <= 2]
        bound = (f"met by {', '.join(within)}" if within
                 else f"missed by {near['step_over_bound'] - 2:.1f}x")  # fmt: skip
        verdict = (
            f"\n\n**Target** (a step at least 2x cheaper at the same dev score, and within 2x of its FLOP bound): "
            f"2x at the same dev score {cheaper}: the fastest option with no dev effect is {best_name} at "
            f"{best['speedup']:.2f}x; the fastest overall is {fastest['variant']} at {fastest['speedup']:.2f}x, "
            f"{fastest_dev}. Within 2x of the FLOP bound {bound}; the nearest is {near['variant']} at "
            f"{near['step_over_bound']:.1f}x its bound. bfloat16 steps stay "
            "further from their (lower) bound because the parts that are not matrix products (the objective, "
            "layer norms, the optimizer) do not speed up with it."
        )
    return (
        "\n".join(lines)
        + verdict
        + "\n\nSpeed from the step benchmark above (variants interleaved in one process, so each saw the same "
        "load); quality from one whole 200-step run per option, seed 1000 (other work shared the machine during "
        "these runs, so their wall times are not reported). "
        + _dev_noise_sentence()
        + study._provenance(data, STUDY / "levers-l2.json")
        + "\n"
    )


def step_parts_block() -> str:
    data = study._load(STEP_PARTS)
    if data is None:
        return "Not run yet: `.venv/bin/python benchmarks/step_parts.py` writes `benchmarks/results/step_parts.json`.\n"
    parts = list(data["rows"][0]["parts_seconds"])
    lines = ["| variant | B | " + " | ".join(p.replace("_", " ") for p in parts)
             + " | step s | speed-up | padding | matmul GFLOP/s | FLOP bound s | step / bound |",
             "|---|---|" + "---|" * (len(parts) + 6)]  # fmt: skip
    for row in data["rows"]:
        cells = " | ".join(f"{row['parts_seconds'][p]:.3f}" for p in parts)
        lines.append(
            f"| {row['variant']} | {row['batch_size']} | {cells} | {row['step_seconds']:.3f} | {row['speedup']:.2f}x | "
            f"{row['padding_fraction']:.0%} | {row['matmul_gflops']:.0f} | {row['bound_seconds']:.3f} | "
            f"{row['step_over_bound']:.1f}x |"
        )
    return (
        "\n".join(lines)
        + f"\n\nMedian seconds per part over the timed steps (variants interleaved, so every one sees the same load), "
        f"k = {data['rows'][0]['queue_size']:,}, {data['threads']} threads; the FLOP bound counts the encoder's and "
        "the objective's matrix products on the batch's real (unpadded) tokens at the best rate this machine's matmul "
        f"reached on those shapes in the same run. Produced by `{data['command']}` at commit "
        f"`{data['environment']['sct_commit']}`; JSON: `{STEP_PARTS.relative_to(ROOT)}`.\n"
    )


def budget_curve_block() -> str:
    data = study._study("budget-curve-l2")
    if data is None:
        return _missing("budget-curve-l2")
    series = {}
    lines = [
        "| method | milestone (CPU min) | model as of (CPU min) | STS avg | best STS-B dev | at step | wall minutes |",
        "|---|---|---|---|---|---|---|",
    ]
    common = data["spec"].get("common", [])
    rows = [_settled(row, common) for row in data["rows"]]
    for row in rows:
        if "avg" not in row or " (seed " in row["name"]:  # other seeds: the seeds paragraph, not the curve
            continue
        points = [m for m in row.get("milestones", []) if m["reached"]]
        series[row["name"]] = [(m["at_cpu_minutes"], m["avg"]) for m in points]
        for m in points:
            ended = " (run ended at its last step)" if m.get("after_last_step") else ""
            lines.append(
                f"| {row['name']} | {m['cpu_minutes']:g}{ended} | {m['at_cpu_minutes']:.1f} | {m['avg']:.2f} | "
                f"{m['best_dev_spearman']:.2f} | {m['best_step']} | {m['at_wall_minutes']:.1f} |"
            )
    plot_xy({n: p for n, p in series.items() if p}, STUDY / "budget_curve.png",
            "2-layer student: STS avg against CPU time", "process CPU minutes (log scale)", "STS avg",
            log_x=True)  # fmt: skip
    ran = {r["name"] for r in data["rows"] if "avg" in r}
    left = [r["name"] for r in data["spec"]["runs"] if r["name"] not in ran]
    text = (
        "\n".join(lines)
        + "\n\nA milestone's model is the best checkpoint at the first save past it (saves come with the dev "
        "evaluations, every 128 steps), so each point is drawn at the CPU time that model had actually cost; a "
        "distillation row's first point comes late because building the teacher cache is charged first. A run that "
        "finished its schedule (--max-steps) before a milestone's CPU time stands for that milestone with its final "
        'model, which any longer budget gives too (marked "run ended at its last step", drawn at the CPU time it '
        "took).\n\n"
        "![budget curve](../results/study/budget_curve.png)\n\n"
    )
    text += _dev_shapes(rows) + _sct_on_cd(rows, common) + _teachers(rows, common)
    text += _seeds(rows)
    text += _targets(rows)
    if left:
        text += "Not run yet (the spec's later rows): " + "; ".join(left) + ".\n\n"
    return text + study._provenance(data, STUDY / "budget-curve-l2.json") + "\n"


def _settled(row: dict, common: list[str]) -> dict:
    """``row`` with the milestones past the end of its schedule counted as reached: a run that took every step of
    --max-steps before a milestone's CPU time has its final model there, the one any longer budget gives. A milestone
    past a shorter --time-budget stays unreached: more time would have trained further."""
    max_steps = _flags([*common, *row.get("args", [])]).get("--max-steps")
    if not max_steps or row.get("steps", 0) < int(max_steps):
        return row
    settled = [
        m if m["reached"] else {**m, "reached": True, "after_last_step": True} for m in row.get("milestones", [])
    ]
    return {**row, "milestones": settled}


def _dev_shapes(rows: list[dict]) -> str:
    """Where each row's STS-B dev peaked and where it ended: a run past its peak is drifting, not learning."""
    parts = []
    for row in rows:
        curve = row.get("dev_curve") or []
        if len(curve) < 2:
            continue
        step, peak = max(curve, key=lambda c: c[1])
        last_step, last = curve[-1]
        shape = "still at its peak" if last >= peak - 0.5 else f"then fell to {last:.2f} by step {last_step}"
        parts.append(f"{row['name']}: from {curve[0][1]:.2f} at step 0 to a peak of {peak:.2f} at step {step}, {shape}")
    return ("STS-B dev during each run: " + "; ".join(parts) + ".\n\n") if parts else ""


def _gaps(row: dict, base: dict) -> list[str]:
    """``row``'s STS avg minus ``base``'s at each CPU-minute milestone both reached ("30 min -2.09")."""
    theirs = {m["cpu_minutes"]: m["avg"] for m in base.get("milestones", []) if m["reached"]}
    return [f"{m['cpu_minutes']:g} min {m['avg'] - theirs[m['cpu_minutes']]:+.2f}"
            for m in row.get("milestones", []) if m["reached"] and m["cpu_minutes"] in theirs]  # fmt: skip


def _schedule_note(row: dict, base: dict, common: list[str]) -> str:
    """Where two compared rows' learning-rate schedules differ (--max-steps), at equal CPU time their learning
    rates differ too: a clause saying so, for beside the gaps."""
    steps = [_flags([*common, *r.get("args", [])]).get("--max-steps") for r in (row, base)]
    if steps[0] == steps[1] or None in steps:
        return ""
    return (f"on {int(steps[0]):,}- and {int(steps[1]):,}-step schedules, so their learning rates at equal CPU time "
            "differ too")  # fmt: skip


def _sct_on_cd(rows: list[dict], common: list[str]) -> str:
    """Does adding L_SCT help L_CD from the same teacher? Their STS avg at the milestones both reached."""
    done = {r["name"]: r for r in rows if "avg" in r}
    parts = []
    for name, joint in done.items():
        if not name.startswith("L_SCT + L_CD, ") or name.removeprefix("L_SCT + ") not in done:
            continue
        cd = done[name.removeprefix("L_SCT + ")]
        gaps = _gaps(joint, cd)
        if gaps:
            note = _schedule_note(joint, cd, common)
            parts.append(f"{name.removeprefix('L_SCT + L_CD, ')}: L_SCT + L_CD minus L_CD " + ", ".join(gaps)
                         + (f" ({note})" if note else ""))  # fmt: skip
    if not parts:
        return ""
    return "**Does L_SCT help L_CD?** STS avg at equal CPU time, " + "; ".join(parts) + ".\n\n"


def _teachers(rows: list[dict], common: list[str]) -> str:
    """Which teacher buys more at equal CPU time: L_CD from all-mpnet-base-v2 against L_CD from all-MiniLM-L6-v2."""
    done = {r["name"]: r for r in rows if "avg" in r}
    big, small = done.get("L_CD, teacher all-mpnet-base-v2"), done.get("L_CD, teacher all-MiniLM-L6-v2")
    if not big or not small:
        return ""
    gaps = _gaps(big, small)
    return ("**Which teacher?** L_CD from all-mpnet-base-v2 minus L_CD from all-MiniLM-L6-v2 at equal CPU time: "
            + ", ".join(gaps) + " (" + (f"{note}; " if (note := _schedule_note(big, small, common)) else "")
            + "the all-mpnet-base-v2 row trains on 20,000 of the sentences with random teacher queues, since its "
            "teacher encodes about 25-50 sentences per second here and its cache is charged to the budget; see the "
            "spec's note).\n\n")  # fmt: skip


def _over_seeds(rows: list[dict], method: str) -> dict[float, list[float]]:
    """``method``'s STS avg at each CPU-minute milestone, one value per seed (the row "<method>" and its
    "<method> (seed S)" repeats), only at milestones every seed reached."""
    runs = [r for r in rows if "avg" in r and (r["name"] == method or r["name"].startswith(f"{method} (seed "))]
    at = [{m["cpu_minutes"]: m["avg"] for m in r.get("milestones", []) if m["reached"]} for r in runs]
    shared = set.intersection(*(set(a) for a in at)) if at else set()
    return {minutes: [a[minutes] for a in at] for minutes in sorted(shared)}


def _seeds(rows: list[dict]) -> str:
    """SCT against SimCSE over seeds: the gap at each milestone beside what seeds alone move each of them."""
    sct, simcse = _over_seeds(rows, "SCT"), _over_seeds(rows, "SimCSE")
    shared = [m for m in sct if m in simcse and min(len(sct[m]), len(simcse[m])) > 1]
    if not shared:
        return ""
    parts = []
    for minutes in shared:
        (a, sa), (b, sb) = study._mean_sd(sct[minutes]), study._mean_sd(simcse[minutes])
        gap, noise = a - b, 2 * max(sa, sb)
        verdict = "within seed noise" if abs(gap) < noise else ("SCT ahead" if gap > 0 else "SimCSE ahead")
        parts.append(f"{minutes:g} min: SCT {a:.2f} ± {sa:.2f}, SimCSE {b:.2f} ± {sb:.2f} ({len(sct[minutes])} and "
                     f"{len(simcse[minutes])} seeds), SCT minus SimCSE {gap:+.2f} ({verdict}: |gap| against twice "
                     f"the larger sd, {noise:.2f})")  # fmt: skip
    return "**SCT against SimCSE over seeds** (STS avg, mean ± sd): " + "; ".join(parts) + ".\n\n"


def _projection(row: dict, target: float) -> str:
    """What the curve's last two points suggest a target would take, at their rate per doubling of CPU time."""
    import math

    points = [m for m in row.get("milestones", []) if m["reached"]][-2:]
    if len(points) < 2 or row["avg"] >= target:
        return ""
    (t0, a0), (t1, a1) = ((m["at_cpu_minutes"], m["avg"]) for m in points)
    per_doubling = (a1 - a0) / math.log2(t1 / t0)
    if points[0].get("best_step") is not None and points[0].get("best_step") == points[1].get("best_step"):
        return (f" (its {t0:.0f}- and {t1:.0f}-CPU-minute models are one checkpoint, the STS-B dev peak at step "
                f"{points[1]['best_step']:,}, and dev fell after it: more time alone will not reach it)")  # fmt: skip
    if per_doubling <= 0:
        return f" (the curve is flat between {t0:.0f} and {t1:.0f} CPU minutes: more time alone will not reach it)"
    needed = t1 * 2 ** ((target - a1) / per_doubling)
    return (f" (the last two points gain {per_doubling:.2f} per doubling of CPU time; at that rate {target:g} needs "
            f"about {needed:.0f} CPU minutes, if the curve does not bend)")  # fmt: skip


def _targets(rows: list[dict]) -> str:
    """The targets set for this machine, read off the finished rows: met, or missed by how much."""
    done = {r["name"]: r for r in rows if "avg" in r}
    distilled = [r for r in done.values() if r.get("command") == "distill"]
    out = []
    if distilled:
        best = max(distilled, key=lambda r: r["avg"])
        gap = 75 - best["avg"]
        out.append(f"distilled 2-layer student at least 75 (stretch 77): {best['name']} {best['avg']:.2f}, "
                   + ("met" + (", stretch met" if best["avg"] >= 77 else f", stretch missed by {77 - best['avg']:.2f}")
                      if gap <= 0 else f"missed by {gap:.2f}") + _projection(best, 75 if gap > 0 else 77))  # fmt: skip
    sct, simcse = done.get("SCT"), done.get("SimCSE")
    if sct:
        verdict = "met" if sct["avg"] >= 68 else f"missed by {68 - sct['avg']:.2f}"
        out.append(f"self-supervised SCT at least 68: {sct['avg']:.2f}, {verdict}{_projection(sct, 68)}")
    if sct and simcse:
        by_seed = _over_seeds(rows, "SCT"), _over_seeds(rows, "SimCSE")
        shared = [m for m in by_seed[0] if m in by_seed[1]]
        seeds = min((len(by_seed[i][m]) for m in shared for i in (0, 1)), default=1)
        gap = {m: _mean(by_seed[0][m]) - _mean(by_seed[1][m]) for m in shared}
        verdicts = [f"{m:g} min {g:+.2f} ({'met' if g >= 2 else f'missed by {2 - g:.2f}'})" for m, g in gap.items()]
        out.append("SCT at least SimCSE + 2 at equal CPU time: SCT minus SimCSE"
                   + (f" (means of {seeds} seeds)" if seeds > 1 else "") + " " + ", ".join(verdicts))  # fmt: skip
    return ("**Targets** (set for a 2-core CPU): " + "; ".join(out) + ".\n\n") if out else ""


DRIFT_STEPS = (128, 256, 384, 512, 640, 768)


def drift_block() -> str:
    """Which one change to SCT's budget row keeps its STS-B dev from falling after its early peak."""
    return _one_change_block("sct-drift-l2", "sct_drift_dev_curves.png",
                             "SCT's STS-B dev in the budget setting, one change each")  # fmt: skip


def anchor_block() -> str:
    """Whether a slow or frozen reference, or a schedule that ends early, keeps SCT at its peak."""
    return _one_change_block("sct-anchor-l2", "sct_anchor_dev_curves.png",
                             "SCT's STS-B dev with an anchored reference or a short schedule")  # fmt: skip


def _one_change_block(spec: str, png: str, title: str) -> str:
    """Rows that each change one option of budget-curve-l2's SCT row: their dev curves beside it, and what each
    change does to the peak, the fall after it and the STS avg."""
    data = study._study(spec)
    curve = study._study("budget-curve-l2")
    if data is None:
        return _missing(spec)
    base = next((r for r in (curve or {}).get("rows", []) if r["name"] == "SCT" and r.get("dev_curve")), None)
    rows = ([{**base, "name": "SCT (the budget curve's row)"}] if base else []) + [
        r for r in data["rows"] if r.get("dev_curve")
    ]
    lines = [
        "| run | " + " | ".join(f"dev at step {s}" for s in DRIFT_STEPS) + " | peak (step) | last (step) | STS avg |",
        "|---|" + "---|" * (len(DRIFT_STEPS) + 3),
    ]
    for row in rows:
        at = {int(step): dev for step, dev in row["dev_curve"]}
        step, peak = max(row["dev_curve"], key=lambda c: c[1])
        last_step, last = row["dev_curve"][-1]
        cells = " | ".join(f"{at[s]:.2f}" if s in at else "-" for s in DRIFT_STEPS)
        lines.append(f"| {row['name']} | {cells} | {peak:.2f} ({step}) | {last:.2f} ({last_step}) | {row['avg']:.2f} |")
    early = {r["name"]: [c for c in r["dev_curve"] if c[0] <= DRIFT_STEPS[-1]] for r in rows}
    plot_dev_curves(early, STUDY / png, title)
    findings = []
    for row in rows[1:] if base else []:
        at = {int(step): dev for step, dev in row["dev_curve"]}
        at_base = {int(step): dev for step, dev in base["dev_curve"]}
        shared = [s for s in DRIFT_STEPS if s in at and s in at_base]
        if not shared:
            continue
        s = shared[-1]
        step, peak = max(row["dev_curve"], key=lambda c: c[1])
        findings.append(f"{row['name']}: {at[s] - at_base[s]:+.2f} dev against the budget row at step {s}, "
                        f"{at[s] - peak:+.2f} from its own peak (step {step}), STS avg "
                        f"{row['avg'] - base['avg']:+.2f}{_pace(row, base)}")  # fmt: skip
    findings += _drift_verdicts(rows, curve) if base else []
    ran = {r["name"] for r in data["rows"] if "avg" in r}
    left = [r["name"] for r in data["spec"]["runs"] if r["name"] not in ran]
    text = "\n".join(lines) + f"\n\n![{title}](../results/study/{png})\n\n"
    if findings:
        text += "Each change against the budget row at the last step both reached, its own fall from its peak and "
        text += "its STS avg, then what that says of each hypothesis: " + "; ".join(findings) + ".\n\n"
    if left:
        text += "Not run yet (the spec's later rows): " + "; ".join(left) + ".\n\n"
    return text + study._provenance(data, STUDY / f"{spec}.json") + "\n"


def _pace(row: dict, base: dict) -> str:
    """Steps per CPU minute against the budget row's, where they differ by more than a tenth: a run that shared
    the CPU with other work, or does more per step, gets fewer steps from the same budget."""

    def per_minute(r: dict) -> float | None:
        reached = [m for m in r.get("milestones", []) if m["reached"] and m.get("at_step")]
        return reached[-1]["at_step"] / reached[-1]["at_cpu_minutes"] if reached else None

    mine, theirs = per_minute(row), per_minute(base)
    if not mine or not theirs or abs(mine / theirs - 1) < 0.1:
        return ""
    return f" ({mine:.0f} steps per CPU minute against the budget row's {theirs:.0f})"


def _flags(args: list[str]) -> dict[str, str]:
    skip = ("--time-budget", "--milestones")
    return {a: (args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else "")
            for i, a in enumerate(args) if a.startswith("--") and a not in skip}  # fmt: skip


def _drift_verdicts(rows: list[dict], curve: dict | None) -> list[str]:
    """Each hypothesis read off its row (the one option it changes from the budget row's)."""
    base = _flags(rows[0].get("args", []))
    base_peak = max(c[1] for c in rows[0]["dev_curve"])
    out = []
    for row in rows[1:]:
        changed = {k: v for k, v in _flags(row.get("args", [])).items() if base.get(k) != v}
        step, peak = max(row["dev_curve"], key=lambda c: c[1])
        falls = row["dev_curve"][-1][1] < peak - 2
        if "--reference-momentum" in changed:
            m = float(changed["--reference-momentum"])
            what = "a frozen reference (the initial student)" if m == 1 else f"an EMA reference at momentum {m:g}"
            last_step = row["dev_curve"][-1][0]
            out.append(f"{what} peaks {'lower' if peak < base_peak else 'higher'} ({peak:.2f} against "
                       f"{base_peak:.2f}) and {'still falls' if falls else 'has not fallen'} by step "
                       f"{last_step}")  # fmt: skip
            continue
        if "--max-steps" in changed:
            out.append(
                f"a schedule that decays to zero by step {changed['--max-steps']} "
                + ("still falls" if falls else "holds its peak")
                + f" (peak {peak:.2f} at step {step})"
            )
            continue
        if "--queue-size" in changed:
            k = int(changed["--queue-size"])
            turnover = k // 64
            follows = step <= 2 * turnover
            out.append(f"with k = {k:,} the queue is replaced by step {turnover}, yet dev peaks at step {step}: the "
                       + ("peak follows" if follows else "fall does not follow") + " the queue turnover")  # fmt: skip
        elif changed.get("--batch-order") == "random":
            out.append("random batches " + ("fall too: bucketing is not the cause" if falls else "do not fall"))
        elif "--learning-rate" in changed:
            lower = "peaks lower and still falls" if falls and peak < base_peak else "removes the fall"
            out.append(f"a learning rate of {changed['--learning-rate']} {lower}")
    if out and all(r["dev_curve"][-1][1] < max(c[1] for c in r["dev_curve"]) - 2 for r in rows):
        out.append("no single change removes the fall, so it is the objective's own drift away from a student that "
                   "starts as a trained sentence encoder (SimCSE drifts too, less); keeping the best dev checkpoint "
                   "(the paper's protocol) is what holds the peak")  # fmt: skip
    simcse = next((r for r in (curve or {}).get("rows", []) if r["name"] == "SimCSE" and "avg" in r), None)
    best = max(rows, key=lambda r: r["avg"])
    if simcse and any("--reference-momentum" in r.get("args", []) for r in rows):
        gap = best["avg"] - simcse["avg"]
        out.append(f"the best SCT here is {best['name']} at {best['avg']:.2f} STS avg, {gap:+.2f} against SimCSE's "
                   f"{simcse['avg']:.2f} from the budget curve")  # fmt: skip
    return out


TEACHER_CACHE = ROOT / "benchmarks" / "results" / "teacher_cache.json"
TEACHER_FORMS = {"float32": "torch float32 (the default)",
                 "bfloat16": "torch bfloat16 (`--teacher-precision bfloat16`)",
                 "onnxruntime_float32": "onnxruntime float32, the export's graph (reference, not an option)",
                 "openvino": "OpenVINO, the export's graph (reference, not an option)"}  # fmt: skip


def teacher_cache_block() -> str:
    """The teacher cache's build rate in each precision beside what the lower precision costs the teacher's STS."""
    import json

    if not TEACHER_CACHE.is_file():
        return "Not run yet: `.venv/bin/python benchmarks/teacher_cache.py` writes `benchmarks/results/teacher_cache.json`.\n"  # noqa: E501
    data = json.loads(TEACHER_CACHE.read_text())
    forms = data["forms"]
    lines = ["| teacher encodes with | texts/s | x float32 | lowest cosine to float32 | teacher STS avg |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name, label in TEACHER_FORMS.items():
        f = forms[name]
        if name == "openvino":
            label += f", {data['openvino_inference_precision']} on this CPU"
        sts = f"{f['sts_avg']:.2f}" if f.get("sts_avg") is not None else "-"
        lines.append(f"| {label} | {f['texts_per_second']:,.1f} | {f['speedup_over_float32']:.2f}x | "
                     f"{f['min_cosine_to_float32']:.6f} | {sts} |")  # fmt: skip
    bf16, fp32, ort, ov = forms["bfloat16"], forms["float32"], forms["onnxruntime_float32"], forms["openvino"]
    met = bf16["speedup_over_float32"] >= 2
    cost = (f"{bf16['sts_avg'] - fp32['sts_avg']:+.2f} STS avg" if fp32.get("sts_avg") is not None
            else "its STS avg beside float32's is not in this JSON")  # fmt: skip
    env = data["environment"]
    return "\n".join(lines) + (
        f"\n\nTarget: building the cache at least 2x faster than today's float32 build: "
        f"{'met' if met else 'missed'}: `--teacher-precision bfloat16` builds it {bf16['speedup_over_float32']:.2f}x "
        f"as fast (teacher {cost}); it is an explicit option, part of the cache key, and float32 stays the default. "
        f"The export's graph, measured for reference: onnxruntime float32 {ort['speedup_over_float32']:.2f}x (lowest "
        f"cosine {ort['min_cosine_to_float32']:.6f}), OpenVINO {ov['speedup_over_float32']:.2f}x "
        f"({ov['speedup_over_float32'] / bf16['speedup_over_float32']:.2f}x the bfloat16 option); neither is a "
        "teacher runtime of sct, which would need an export of the teacher per cache and a second inference path "
        "inside training. "
        f"Produced by `{data['command']}` at commit `{env['sct_commit']}` ({env['processor']}, {data['threads']} "
        f"threads, teacher {data['teacher']}, {data['texts']:,} corpus sentences, max_seq_length "
        f"{data['max_seq_length']}, median of {data['repeats']} builds); JSON: "
        "`benchmarks/results/teacher_cache.json`.\n"
    )


def bf16_path_block() -> str:
    """Each measured machine's bfloat16 against float32: what decides whether `--precision bfloat16` is kept."""
    data = study._load(BF16_PATH)
    if data is None:
        return "Not run yet: `.venv/bin/python benchmarks/bf16_path.py` writes `benchmarks/results/bf16_path.json`.\n"
    lines = ["| CPU | native bfloat16 | matmul GFLOP/s float32 | bfloat16 | student forward + backward s, "
             "float32 | bfloat16 | bfloat16 / float32 | `--precision bfloat16` runs in |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    notes = []
    for m in data["machines"]:
        rates, steps = m["matmul_gflops"], m["forward_backward_seconds"]
        lines.append(
            f"| {m['cpu']} | {'yes' if m['fast_bfloat16'] else 'no'} | {rates['float32']:.1f} | "
            f"{rates['bfloat16']:.1f} | {steps['float32']:.3f} | {steps['bfloat16']:.3f} | "
            f"{m['bfloat16_over_float32_step']:.2f}x | {'bfloat16' if m['fast_bfloat16'] else 'float32 (fallback)'} |"
        )
        env = m["environment"]
        notes.append(f"`{m['command']}` at commit `{env['sct_commit']}` ({m['cpu']}, {m['threads']} threads, "
                     f"batch {m['batch_size']}, median of {m['timed_steps']} steps)")  # fmt: skip
    return "\n".join(lines) + "\n\nProduced by " + "; ".join(notes) + "; JSON: `benchmarks/results/bf16_path.json`.\n"


KEEP_SPEEDUP = 1.05  # a lever that saves less than this is within the timing noise of a 2-core machine


def step_options_block() -> str:
    """torch.compile, the thread count and the dev set encoded once: each one's speed beside its effect on scores."""
    data = study._load(STEP_OPTIONS)
    if data is None:
        return ("Not run yet: `.venv/bin/python benchmarks/step_options.py` writes "
                "`benchmarks/results/step_options.json`.\n")  # fmt: skip
    lines = ["| variant | encoder step s | speed-up | untimed first steps s | largest difference to eager |",
             "|---|---|---|---|---|"]  # fmt: skip
    for r in data["rows"]:
        lines.append(f"| {r['variant']} | {r['step_seconds']:.3f} | {r['speedup']:.2f}x | {r['warmup_seconds']:.1f} | "
                     f"{r['max_abs_difference_to_eager']:.1e} |")  # fmt: skip
    dev = data["dev_evaluation"]
    compiled = next(r for r in data["rows"] if r["variant"].startswith("torch.compile"))
    one = next(r for r in data["rows"] if r["variant"] == "eager, 1 thread")
    same = abs(dev["evaluator_spearman"] - dev["encoded_once_spearman"]) < 1e-3
    kept = same and dev["speedup"] >= KEEP_SPEEDUP
    env = data["environment"]
    return "\n".join(lines) + (
        f"\n\nThe dev evaluation: sentence-transformers' evaluator (each column encoded on its own, "
        f"{dev['sentences']:,} sentences) {dev['evaluator_seconds']:.2f} s and STS-B dev "
        f"{dev['evaluator_spearman']:.4f}; "
        f"the {dev['unique_sentences']:,} distinct sentences encoded once {dev['encoded_once_seconds']:.2f} s "
        f"({dev['speedup']:.3f}x, medians of {dev['repeats']} evaluations) and {dev['encoded_once_spearman']:.4f}"
        + (
            " (the same score, faster): worth keeping. "
            if kept
            else f" ({'the same score, but under ' + f'{KEEP_SPEEDUP:.2f}x' if same else 'a different score'}): not "
            f"kept ({dev['sentences'] - dev['unique_sentences']:,} of {dev['sentences']:,} dev sentences repeat), "
            "`sct train` runs sentence-transformers' evaluator. "
        )
        + f"torch.compile: {compiled['speedup']:.2f}x the eager step after {compiled['warmup_seconds']:.0f} s of "
        f"compilation in its first {data['warmup_steps']} steps, "
        + (
            f"not kept (under {KEEP_SPEEDUP:.2f}x). "
            if compiled["speedup"] < KEEP_SPEEDUP
            else "faster, but not yet an option of `sct train`. "
        )
        + f"One thread instead of {data['threads']}: {one['speedup']:.2f}x, "
        + ("not kept (torch's default uses every core). " if one["speedup"] < 1 else "faster: worth a look. ")
        + f"Produced by `{data['command']}` at commit `{env['sct_commit']}` ({env['processor']}, batch "
        f"{data['batch_size']}, float32, length-bucketed batches, word embeddings frozen, median of "
        f"{data['timed_steps']} steps); JSON: `benchmarks/results/step_options.json`.\n"
    )


def blocks() -> dict[str, str]:
    return {
        "cpu_queue_init": queue_init_block(),
        "cpu_levers": levers_block(),
        "cpu_step_parts": step_parts_block(),
        "cpu_bf16_path": bf16_path_block(),
        "cpu_step_options": step_options_block(),
        "cpu_budget_curve": budget_curve_block(),
        "cpu_sct_drift": drift_block(),
        "cpu_sct_anchor": anchor_block(),
        "cpu_teacher_cache": teacher_cache_block(),
    }
