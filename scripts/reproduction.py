"""docs/reproduction.md's study blocks and plots, from the results JSON and the paper's numbers (never typed in).

Pure functions of the results files: each block returns its text and the claims it makes, which `blocks()`
lists at the top of the page. Saving the best students is scripts/save_best.py.

Called by scripts/update_docs.py. Sources: results/study/SPEC.json (scripts/study.sh), the distillation
comparisons docs/results/distill/compare*.json, and src/sct/paper_results.json (checked against the paper
text by tests/test_report.py). A block whose results are missing says which command produces them.
"""

from __future__ import annotations

import shlex
import statistics
from pathlib import Path

from sct.data import read_json_if_present
from sct.evaluation.sts import TASK_ORDER as TASKS
from sct.plots import plot_dev_curves, plot_xy
from sct.report import paper_results

ROOT = Path(__file__).resolve().parents[1]

STUDY = ROOT / "results" / "study"
DISTILL = ROOT / "docs" / "results" / "distill"
GPU_VIEWS = ROOT / "docs" / "results" / "views" / "compare.json"
VIEWS = ("bt", "synonym", "dropout", "same-bt")  # views-l2's runs
NOISE_SDS = 2  # a difference smaller than this many seed standard deviations is not called an effect


def _load(path: Path) -> dict | None:
    return read_json_if_present(path) or None


def _study(spec: str) -> dict | None:
    return _load(STUDY / f"{spec}.json")


def _rows(data: dict | None) -> dict[str, dict]:
    return {r["name"]: r for r in (data or {}).get("rows", []) if "avg" in r}


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _provenance(data: dict, path: Path) -> str:
    commits = sorted({r.get("sct_commit") or data["environment"]["sct_commit"] for r in data["rows"]})
    env = data["environment"]
    where = env.get("gpu") or f"{env['device']}, {env['cpu_threads']} threads"
    return (
        f"Produced by `{data['command']}` at commit {', '.join(f'`{c}`' for c in commits)} ({where}); JSON: "
        f"`{_relative(path)}`."
    )


def _missing(spec: str) -> str:
    return f"Not run yet: `bash scripts/study.sh {spec}` writes `results/study/{spec}.json`.\n"


def _mean_sd(values: list[float]) -> tuple[float, float | None]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def _headline(method: str, rows: dict[str, dict]) -> str | None:
    """The row a method is judged by: "<method>, tuned" (settings picked on STS-B dev) where run, else "<method>"."""
    return next((n for n in (f"{method}, tuned", method) if n in rows), None)


def _seed_rows(name: str, layers: int = 2) -> list[dict]:
    """One Table 2 row over seeds: table2-lN's (seed 1000) and seeds-lN's "<name> (seed S)"."""
    first = _rows(_study(f"table2-l{layers}")).get(name)
    others = [r for n, r in _rows(_study(f"seeds-l{layers}")).items() if n.startswith(f"{name} (seed ")]
    return ([first] if first else []) + others


def seed_sd(layers: int = 2) -> float | None:
    """The noise scale: the larger standard deviation over seeds of the 7-task average of a student's headline
    SCT and SimCSE rows (three seeds each); the 2-layer student's unless another is asked for and has seeds."""
    table2 = _rows(_study(f"table2-l{layers}"))
    sds = []
    for method in ("SCT", "SimCSE"):
        name = _headline(method, table2)
        rows = _seed_rows(name, layers) if name else []
        if len(rows) > 2:
            sds.append(_mean_sd([r["avg"] for r in rows])[1])
    return max(sds) if sds else (seed_sd() if layers != 2 else None)


def _verdict(delta: float, expected_sign: int, layers: int = 2) -> str:
    """Whether a difference goes the paper's way, unless it is within seed noise (of that student's rows)."""
    sd = seed_sd(layers)
    if sd is not None and abs(delta) < NOISE_SDS * sd:
        return f"within seed noise (|Δ| < {NOISE_SDS} × {sd:.2f})"
    return "holds" if delta * expected_sign > 0 else "**does not hold**"


def _sts_cells(rows: list[dict]) -> str:
    cells = []
    for task in TASKS:
        cells.append(f"{statistics.fmean(r['sts'][task] for r in rows):.2f}")
    mean, sd = _mean_sd([r["avg"] for r in rows])
    cells.append(f"{mean:.2f}" + (f" ± {sd:.2f} ({len(rows)} seeds)" if sd is not None else ""))
    return " | ".join(cells)


def table2_block() -> tuple[str, list[str]]:
    findings: list[str] = []  # one line per claim, for the summary at the top of the page
    paper = paper_results()["table2"]
    lines = ["| student | method | " + " | ".join(TASKS) + " | Avg. |", "|---" * (len(TASKS) + 3) + "|"]
    gaps, sources = [], []
    for layers in (1, 2, 3):
        spec = f"table2-l{layers}"
        data = _study(spec)
        if data is None:
            lines.append(f"| {layers} layer(s) | not run yet (`bash scripts/study.sh {spec}`) |" + " |" * 8)
            continue
        sources.append(_provenance(data, STUDY / f"{spec}.json"))
        base = data["baseline"]
        lines.append(
            f"| {layers} layer(s) | untrained | " + _sts_cells([{"sts": base["sts"], "avg": base["avg"]}]) + " |"
        )
        rows = _rows(data)
        for name in rows:
            lines.append(f"| {layers} layer(s) | {name} | {_sts_cells(_seed_rows(name, layers))} |")
        heads = {m: _headline(m, rows) for m in ("SimCSE", "SCT")}
        if all(heads.values()):
            means = {m: statistics.fmean(r["avg"] for r in _seed_rows(n, layers)) for m, n in heads.items()}
            gaps.append((layers, means["SCT"] - means["SimCSE"], means["SCT"], base["avg"], heads))
    paper_gap = {
        m: next(r["Avg"] for r in paper if r["type"] == "fine-tuning" and r["model"] == m and r["method"] == "SCT")
        - next(r["Avg"] for r in paper if r["type"] == "fine-tuning" and r["model"] == m and r["method"] == "SimCSE")
        for m in ("BERT-Tiny", "BERT-Mini", "BERT-Small")
    }
    text = "\n".join(lines) + "\n\n"
    text += (
        "The paper's SCT minus SimCSE (7-task average, fine-tuning half of Table 2): "
        + ", ".join(f"{m} {g:+.2f}" for m, g in paper_gap.items())
        + ". Ours, each method's headline row (its `, tuned` row where there is one) at the same budget: "
        + (", ".join(f"{n}-layer {g:+.2f} ({_verdict(g, 1, n)})" for n, g, *_ in gaps) or "not run yet")
        + ".\n\n"
    )
    if gaps:
        findings.append(
            "Table 2, fine-tuning: SCT beats SimCSE for every small student in the paper ("
            + ", ".join(f"{m} {g:+.2f}" for m, g in paper_gap.items())
            + "); here: "
            + ", ".join(f"{n}-layer {g:+.2f} ({_verdict(g, 1, n)})" for n, g, *_ in gaps)
            + "."
        )
    two = next((g for g in gaps if g[0] == 2), None)
    if two:
        _, gap, sct, start, heads = two
        target = (
            f"**Target** (2-layer student from about 57 to 72 or more, and SCT at least SimCSE + 3): {heads['SCT']} "
            f"reached {sct:.2f} from {start:.2f} ({'met' if sct >= 72 else f'missed by {72 - sct:.2f}'}) and "
            f"{gap:+.2f} against {heads['SimCSE']} ({'met' if gap >= 3 else f'missed by {3 - gap:.2f}'})."
        )
        findings.append(target)
        text += target + "\n\n"
    return text + "\n".join(sources) + "\n", findings


def _ablation_rows(
    paper_rows: list[dict], measured: dict[str, tuple[dict | None, dict, str]], spec: str
) -> tuple[list[str], dict[str, list[str]]]:
    """A Table 4/6 body: each paper row with ours beside it; ``measured[option]`` is (our row or None, the row
    it is compared with, a note mark). Also the changes grouped by verdict, for the findings."""
    lines = [
        "| study | change | ours: STS avg | ours: Δ | paper: Δ BERT-Tiny | paper: Δ BERT-Small | paper's direction |",
        "|---|---|---|---|---|---|---|",
    ]
    verdicts: dict[str, list[str]] = {}
    for row in paper_rows:
        tiny, small = -row["drop"]["BERT-Tiny"], -row["drop"]["BERT-Small"]
        ours, default, note = measured.get(row["ours"], (None, {}, ""))
        if ours is not None:
            delta = ours["avg"] - default["avg"]
            verdict = _verdict(delta, -1)
            verdicts.setdefault(verdict.split(" (")[0].strip("*"), []).append(row["change"])
            cells = f"{ours['avg']:.2f}{note} | {delta:+.2f} | {tiny:+.2f} | {small:+.2f} | {verdict}"
        else:
            cells = f"{_not_measured(row['ours'], spec)} | | {tiny:+.2f} | {small:+.2f} | —"
        lines.append(f"| {row['study']} | {row['change']} | {cells} |")
    return lines, verdicts


def _verdict_summary(verdicts: dict[str, list[str]]) -> str:
    return f"of {sum(map(len, verdicts.values()))} changes measured: " + "; ".join(
        f"{v}: {', '.join(changes)}" for v, changes in sorted(verdicts.items())
    )


def table4_block() -> tuple[str, list[str]]:
    findings: list[str] = []  # one line per claim, for the summary at the top of the page
    paper = paper_results()["table4"]
    table2 = _rows(_study("table2-l2"))
    default = table2.get(_headline("SCT", table2) or "")
    if default is None:
        return _missing("table2-l2"), findings
    ablations, views = _study("ablations-l2"), _study("views-l2")
    views_path, views_default = STUDY / "views-l2.json", default
    if views is None and (GPU_VIEWS).is_file():  # the earlier 400-step GPU comparison stands in, marked
        views, views_path = _load(GPU_VIEWS), GPU_VIEWS
        views_default = _rows(views)["bt-neural"]
    views_note = "" if views_path != GPU_VIEWS else " (†)"
    measured = {name: (row, default, "") for name, row in _rows(ablations).items()}
    measured.update({name: (row, views_default, views_note) for name, row in _rows(views).items() if name in VIEWS})
    lines, verdicts = _ablation_rows(paper["rows"], measured, "ablations-l2")
    lines.insert(
        0,
        f"Default: {default['name']} on the 2-layer student (bt-neural views): **{default['avg']:.2f}** (seed 1000; "
        f"the paper's default: BERT-Tiny {paper['default']['BERT-Tiny']:.2f}, BERT-Small "
        f"{paper['default']['BERT-Small']:.2f}).\n",
    )
    bt = _rows(views).get("bt")
    if bt is not None:
        delta = bt["avg"] - views_default["avg"]
        lines.append(
            f"| data augmentation | bt-neural → two Apertium back-translations (en-es-en, en-ca-en: the paper's "
            f"default form, offline pivots) | {bt['avg']:.2f}{views_note} | {delta:+.2f} | | | — |"
        )
    if verdicts:
        findings.append(
            "Table 4: in the paper every change from SCT's design costs points; here, "
            + _verdict_summary(verdicts)
            + (" (view rows from the 400-step GPU comparison)" if views_note else "")
            + "."
        )
    text = "\n".join(lines) + "\n\n"
    if views_note:
        text += (
            f"(†) views-l2 has not been run at the study's budget; these rows come from the earlier view comparison "
            f"(400 steps of batch 64 over all 30,000 pairs, the preset's k 16,384, on a GPU), Δ against its "
            f"bt-neural row ({views_default['avg']:.2f}). `bash scripts/study.sh views-l2` replaces them.\n\n"
        )
    sources = [_provenance(ablations, STUDY / "ablations-l2.json")] if ablations else []
    if views:
        sources.append(_provenance(views, views_path))
    return text + "\n".join(sources) + "\n", findings


def table6_block() -> tuple[str, list[str]]:
    findings: list[str] = []  # one line per claim, for the summary at the top of the page
    paper = paper_results()["table6"]
    small_queue = _rows(_study("distill-l2"))
    default = small_queue.get(f"{TABLE7_NAMES['LCD + LSCT']}, k 128")  # SCT distillation, Table 6's default
    if default is None:
        return _missing("distill-l2"), findings
    ablations = _study("distill-ablations-l2")
    measured = {name: (row, default, "") for name, row in _rows(ablations).items()}
    lines, verdicts = _ablation_rows(paper["rows"], measured, "distill-ablations-l2")
    lines.insert(
        0,
        f"Default: {default['name']} on the 2-layer student (bt-neural views, teacher all-mpnet-base-v2): "
        f"**{default['avg']:.2f}** (seed 1000; the paper's SCT-distillation: BERT-Tiny "
        f"{paper['default']['BERT-Tiny']:.2f}, BERT-Small {paper['default']['BERT-Small']:.2f}).\n",
    )
    if verdicts:
        findings.append(
            "Table 6: in the paper every change from SCT distillation's design costs points; here, "
            + _verdict_summary(verdicts)
            + "."
        )
    text = "\n".join(lines) + "\n\n"
    text += (
        "contrastive and identical-view change both terms (L_CD is the same cross-view loss with the teacher as "
        "reference); momentum-reference and no-head change L_SCT alone (L_CD's reference is the teacher, and it has "
        "no head). One seed per row: the noise scale is the self-supervised 2-layer rows' seed spread."
    )
    cd_alone = small_queue.get(f"{TABLE7_NAMES['LCD']}, k 128")
    if cd_alone is not None and cd_alone["avg"] > default["avg"]:
        text += (
            f" At this budget L_SCT itself costs points (L_CD alone with the same queues: {cd_alone['avg']:.2f}, "
            "Table 7), so a change that weakens L_SCT's pull can score above the default; the paper's drops come "
            "from a setting where L_SCT helps."
        )
    text += "\n\n"
    sources = [_provenance(_study("distill-l2"), STUDY / "distill-l2.json")]
    if ablations:
        sources.append(_provenance(ablations, STUDY / "distill-ablations-l2.json"))
    return text + "\n".join(sources) + "\n", findings


def _not_measured(option: str, spec: str) -> str:
    reasons = {
        "kl-to-ce": "not run: KL(p‖q) and the cross-entropy −Σ p log q differ by the target's entropy, which has no "
        "gradient (the reference is stop-gradient), so training is the same and the loss form alone cannot cause "
        "the paper's drop; `tests/test_objective.py` checks the gradients are equal",
        "mlm": "not run: no masked-LM model exists offline (`sct views --method mlm` takes one with --mlm-model)",
    }
    return reasons.get(option, f"not run yet (`bash scripts/study.sh {'views-l2' if option in VIEWS else spec}`)")


def _method(row: dict) -> str:
    """The paper's "LCD + LSCT" as L_CD + L_SCT."""
    return row["method"].replace("L", "L_")


TABLE7_NAMES = {  # the paper's Table 7 rows -> our rows (compare.json; distill-l2 adds ", k 128")
    "LCD": "L_CD",
    "LCD + LSCT": "L_SCT + L_CD (joint)",
    "LMSE": "L_MSE",
    "LMSE + LSCT": "L_MSE + L_SCT",
    "LConGen": "L_ConGen",
    "LConGen + LSCT": "L_ConGen + L_SCT",
    "LCKD": "L_CKD",
    "LCKD + LSCT": "L_CKD + L_SCT",
}


def table7_block() -> tuple[str, list[str]]:
    findings: list[str] = []  # one line per claim, for the summary at the top of the page
    paper = paper_results()["table7"]["rows"]
    data = _load(DISTILL / "compare.json")
    if data is None:
        return "Not run yet: `sct sweep runs scripts/distill_runs.json ...` (see the README).\n", findings
    ours = _rows(data)
    small_queue = _study("distill-l2")
    # each column: our rows by the paper's method; L_MSE alone has no queue, so k does not change its run
    columns = {"k 16,384": {m: ours.get(n) for m, n in TABLE7_NAMES.items()}}
    if small_queue:
        k128 = _rows(small_queue)
        columns["k 128"] = {m: k128.get(f"{n}, k 128") for m, n in TABLE7_NAMES.items()}
        columns["k 128"]["LMSE"] = columns["k 128"]["LMSE"] or ours.get("L_MSE")
    header = " | ".join(f"ours, {k}: STS avg (Δ from L_SCT)" for k in columns)
    lines = [
        f"| method | {header} | paper BERT-Tiny | paper BERT-Small | paper's direction |",
        "|---" * (len(columns) + 4) + "|",
    ]
    alone = {row["method"]: row for row in paper if not row["method"].endswith("+ LSCT")}
    added: dict[str, list[str]] = {k: [] for k in columns}
    for row in paper:
        method, base_name = row["method"], row["method"].removesuffix(" + LSCT")
        cells, verdicts = [], []
        for k, mine in columns.items():
            this, base = mine.get(method), mine.get(base_name)
            if this is None:
                cells.append("not run yet")
            elif method != base_name and base is not None:
                d = this["avg"] - base["avg"]
                verdict = _verdict(d, 1)
                cells.append(f"{this['avg']:.2f} ({d:+.2f})")
                verdicts.append(f"{k}: {verdict}")
                added[k].append(f"{_method(row)} {d:+.2f} ({verdict.strip('*')})")
            else:
                cells.append(f"{this['avg']:.2f}")
        paper_cells = f"{row['BERT-Tiny']:.2f} | {row['BERT-Small']:.2f}"
        if method != base_name:
            base = alone[base_name]
            paper_cells = (
                f"{row['BERT-Tiny']:.2f} ({row['BERT-Tiny'] - base['BERT-Tiny']:+.2f}) | "
                f"{row['BERT-Small']:.2f} ({row['BERT-Small'] - base['BERT-Small']:+.2f})"
            )
        lines.append(f"| {_method(row)} | {' | '.join(cells)} | {paper_cells} | {'; '.join(verdicts) or '—'} |")
    for name in ("two-stage: stage 1", "two-stage"):
        if name in ours:
            blanks = " |" * (len(columns) + 2)
            lines.append(f"| {name} (our recipe option) | {ours[name]['avg']:.2f} |{blanks}")
    text = "\n".join(lines) + "\n\n"
    if small_queue:
        text += (
            "k 128: the queues at the self-supervised study's pick, which 200 steps fill (the preset's 16,384 "
            "cannot); L_MSE alone has no queue, so its k 16,384 run stands in both columns. "
        )
    text += _provenance(data, DISTILL / "compare.json")
    if small_queue:
        text += " " + _provenance(small_queue, STUDY / "distill-l2.json")
        ours.update(_rows(small_queue))
    if any(added.values()):
        gains = [
            row[size] - alone[row["method"].removesuffix(" + LSCT")][size]
            for row in paper
            if row["method"].endswith("+ LSCT")
            for size in ("BERT-Tiny", "BERT-Small")
        ]
        findings.append(
            f"Table 7: adding L_SCT to a distillation loss helps in the paper ({min(gains):+.2f} to {max(gains):+.2f});"
            " here, at 200 steps: "
            + "; ".join(f"with queues of {k}: " + ", ".join(changes) for k, changes in added.items() if changes)
            + "."
        )
    longer = _load(DISTILL / "compare-600.json")
    best = max(ours.values(), key=lambda r: r["avg"])
    if longer:
        longer_rows = _rows(longer)
        text += (
            "\n\nWith three times the budget (600 steps, same pairs): "
            + "; ".join(f"{n} {r['avg']:.2f}" for n, r in longer_rows.items())
            + f". {_provenance(longer, DISTILL / 'compare-600.json')}"
        )
        best = max([best, *longer_rows.values()], key=lambda r: r["avg"])
    teacher = _load(DISTILL / "teacher-sts.json")
    if teacher:
        text += (
            f"\n\n**Target** (a distilled 2-layer student at 79 or more, 98% of its teacher): the best here is "
            f"{best['name']} at {best['avg']:.2f}, missed by {79 - best['avg']:.2f}"
            if best["avg"] < 79
            else f"\n\n**Target** met: {best['name']} at {best['avg']:.2f}"
        )
        findings.append(
            f"Distillation target (79 or more): best {best['name']} at {best['avg']:.2f}"
            + (f", missed by {79 - best['avg']:.2f}." if best["avg"] < 79 else ", met.")
        )
        source = _relative(DISTILL / "teacher-sts.json")
        text += f" (the teacher, all-mpnet-base-v2, scores {teacher['avg']:.2f}: `{source}`)."
    return text + "\n", findings


def figure4_block() -> tuple[str, list[str]]:
    findings: list[str] = []  # one line per claim, for the summary at the top of the page
    data, default = _study("queue-l2"), _rows(_study("table2-l2")).get("SCT")
    if data is None or default is None:
        return _missing("queue-l2" if default else "table2-l2"), findings
    queue_rows = {int(n.split("=")[1]): r for n, r in _rows(data).items()}
    queue_rows.setdefault(int(default["loss"]["queue_size"]), default)
    points = sorted((k, r["avg"], r["best_dev_spearman"]) for k, r in queue_rows.items())
    plot_xy(
        {"2-layer student (SCT, bt-neural)": [(k, avg) for k, avg, _ in points]},
        STUDY / "queue_size.png",
        "Queue size k: 7-task STS average after 200 steps",
        "queue size k (log scale)",
        "STS avg",
        log_x=True,
    )
    plot_dev_curves(
        {f"k = {k:,}": queue_rows[k]["dev_curve"] for k, *_ in points},
        STUDY / "queue_dev_curves.png",
        "Queue size k: STS-B dev during training",
    )
    lines = ["| k | STS avg | best STS-B dev | STS-B dev at step 0 → 64 → end |", "|---|---|---|---|"]
    for k, avg, dev in points:
        curve = queue_rows[k]["dev_curve"]
        lines.append(
            f"| {k:,} | {avg:.2f} | {dev:.2f} | {' → '.join(f'{c[1]:.2f}' for c in (curve[0], curve[1], curve[-1]))} |"
        )
    upto = [avg for k, avg, _ in points if k <= 16384]
    steps = list(zip(upto, upto[1:], strict=False))
    shape = (
        "rises" if all(b >= a for a, b in steps) else "falls" if all(b <= a for a, b in steps) else "is not monotone"
    )
    best_dev = max(points, key=lambda p: p[2])
    spread = upto[-1] - upto[0]
    verdict = (
        f"The paper's curve rises from k = 128 to 16,384 for both its students; ours "
        f"{shape} over that range (k = 16,384 minus k = 128: "
        f"{spread:+.2f}, {_verdict(spread, 1)}); the best STS-B dev is at k = {best_dev[0]:,}, which the rest of "
        "the study's tuned rows use. Why: the queues start as random unit vectors, and until real references have "
        "replaced them (k / 64 steps) the reference distribution is mostly over noise; the online branch is pulled "
        "towards it, which is where STS-B dev falls at the first evaluation (the table's step-64 column). At 200 steps "
        "of batch 64 only 12,800 real embeddings ever enter a queue, so queues of 16,384 and more still hold random "
        "vectors at the end: the paper's large-k optimum (131,072 and 65,536) is a ten-epoch result this budget "
        "cannot reach."
    )
    findings.append(
        f"Figure 4: the paper's score rises with k from 128 to 16,384; here k = 16,384 minus k = 128 is "
        f"{spread:+.2f} ({_verdict(spread, 1).strip('*')}): at 200 steps the largest queues are still mostly random."
    )
    return (
        (
            "\n".join(lines)
            + f"\n\n{verdict}\n\n![queue size](../results/study/queue_size.png)\n"
            + "![queue size: dev curves](../results/study/queue_dev_curves.png)\n\n"
            + _provenance(data, STUDY / "queue-l2.json")
            + " The k = 16,384 point is table2-l2's SCT row (the preset).\n"
        ),
        findings,
    )


def curves_block() -> tuple[str, list[str]]:
    curves = {}
    rows = _rows(_study("table2-l2"))
    for name in filter(None, (_headline(m, rows) for m in ("SimCSE", "SCT"))):
        for row in _seed_rows(name):
            seed = row["name"].partition("(seed ")[2].rstrip(")") or "1000"
            curves[f"{name}, seed {seed}"] = row["dev_curve"]
    if not curves:
        return _missing("table2-l2"), []
    plot_dev_curves(curves, STUDY / "curves_sct_simcse.png", "2-layer student: STS-B dev during training")
    last = {name: c[-1][1] for name, c in curves.items()}
    return (
        (
            "STS-B dev (Spearman x100) every 64 steps and at the end, SCT against SimCSE on the 2-layer student, each "
            "seed: "
            + "; ".join(f"{n}: {c[0][1]:.2f} → {last[n]:.2f}" for n, c in curves.items())
            + ".\n\n![SCT and SimCSE training curves](../results/study/curves_sct_simcse.png)\n"
        ),
        [],
    )


def tried_block() -> tuple[str, list[str]]:
    """The tuning on STS-B dev (queue size, then README-grid points) and the longer budget."""
    findings: list[str] = []  # one line per claim, for the summary at the top of the page
    parts = []
    grid = _study("grid-l2")
    if grid is None:
        parts.append(_missing("grid-l2"))
    else:
        common = grid["spec"]["common"]
        k = common[common.index("--queue-size") + 1]
        reference = {
            "SCT, lr 1e-4 (queue-l2's k=" + k + ")": _rows(_study("queue-l2")).get(f"k={k}"),
            "SimCSE, lr 1e-4 (table2-l2's SimCSE)": _rows(_study("table2-l2")).get("SimCSE"),
        }
        rows = {**{n: r for n, r in reference.items() if r}, **_rows(grid)}
        best = {m: max((n for n in rows if n.startswith(m)), key=lambda n: rows[n]["best_dev_spearman"]) for m in
                ("SCT", "SimCSE")}  # fmt: skip
        lines = [f"| 2-layer, 200 steps, k {k} | best STS-B dev | STS avg |", "|---|---|---|"]
        for name, row in sorted(rows.items(), key=lambda item: item[0].split(",")[0]):
            mark = "**" if name in best.values() else ""
            lines.append(f"| {mark}{name}{mark} | {row['best_dev_spearman']:.2f} | {row['avg']:.2f} |")
        rerun = []
        for method, name in best.items():
            again = _rows(_study("table2-l2")).get(f"{method}, tuned")
            if again is not None:
                same = "the same" if abs(again["avg"] - rows[name]["avg"]) < 0.005 else "not the same"
                rerun.append(f"{method} {again['avg']:.2f} against {rows[name]['avg']:.2f} ({same})")
        rerun_text = (
            " table2-l2 trained the picks again from scratch (same seed): " + "; ".join(rerun) + "." if rerun else ""
        )
        parts.append(
            "\n".join(lines)
            + f"\n\nPicked on STS-B dev (bold): {best['SCT']}; {best['SimCSE']}.{rerun_text} "
            + _provenance(grid, STUDY / "grid-l2.json")
        )
    parts.append(_temperatures_part())
    budget = _study("budget-l2")
    if budget is None:
        parts.append(_missing("budget-l2"))
    else:
        rows = _rows(budget)
        lines = ["| 600 steps, patience 7 | STS avg | best STS-B dev (step) | steps run |", "|---|---|---|---|"]
        for name, row in rows.items():
            lines.append(
                f"| {name} | {row['avg']:.2f} | {row['best_dev_spearman']:.2f} ({row['best_step']}) | {row['steps']} |"
            )
        text = "\n".join(lines)
        sct, simcse = rows.get("SCT, tuned, 600 steps"), rows.get("SimCSE, tuned, 600 steps")
        if sct and simcse:
            gap = sct["avg"] - simcse["avg"]
            verdict = _verdict(gap, 1)
            text += f"\n\nSCT minus SimCSE at 600 steps: {gap:+.2f} (one seed; {verdict})."
            still_rising = sct["best_step"] >= sct["steps"] - 64  # the best dev score came at the last evaluations
            findings.append(
                f"Three times the budget (600 steps, one seed): SCT {sct['avg']:.2f}, SimCSE {simcse['avg']:.2f}, "
                f"SCT minus SimCSE {gap:+.2f} ({verdict.strip('*')}); SCT's best STS-B dev came at step "
                f"{sct['best_step']} of {sct['steps']}"
                + (" (still rising)" if still_rising else "")
                + f"; the 72 target is still missed by {72 - sct['avg']:.2f}."
            )
        parts.append(text + "\n\n" + _provenance(budget, STUDY / "budget-l2.json"))
    return "\n\n".join(parts) + "\n", findings


def _temperatures_part() -> str:
    """The authors' temperature pairs at the picked SCT setting (temps-l2), against the preset pair."""
    temps = _study("temps-l2")
    preset = _rows(_study("queue-l2")).get("k=128")
    if temps is None or preset is None:
        return _missing("temps-l2")
    rows = {"SCT, lr 1e-4, tau_theta 0.04, tau_ref 0.03 (the preset; queue-l2's k=128)": preset, **_rows(temps)}
    best = max(rows, key=lambda n: rows[n]["best_dev_spearman"])
    lines = ["| 2-layer, 200 steps, k 128: temperatures | best STS-B dev | STS avg |", "|---|---|---|"]
    for name, row in rows.items():
        mark = "**" if name == best else ""
        lines.append(f"| {mark}{name}{mark} | {row['best_dev_spearman']:.2f} | {row['avg']:.2f} |")
    if rows[best] is preset:
        reading = "STS-B dev keeps the preset's temperatures, which the tuned rows use."
    else:
        gain = rows[best]["best_dev_spearman"] - preset["best_dev_spearman"]
        reading = (
            f"STS-B dev prefers {best} ({gain:+.2f} over the preset's temperatures; STS avg "
            f"{rows[best]['avg'] - preset['avg']:+.2f}). The tuned rows were trained with the preset's temperatures "
            "before these points were measured and were not rerun with them."
        )
    return "\n".join(lines) + f"\n\n{reading} " + _provenance(temps, STUDY / "temps-l2.json")


def blocks() -> dict[str, str]:
    """docs/reproduction.md's generated blocks by name, with the summary of the claims each block returns."""
    findings: list[str] = []
    generated: dict[str, str] = {}
    for name, block in (("study_table2", table2_block), ("study_curves", curves_block), ("study_table4", table4_block),
                        ("study_table6", table6_block), ("study_figure4", figure4_block),
                        ("study_table7", table7_block), ("study_tried", tried_block),
                        ("study_best", best_block)):  # fmt: skip
        generated[name], claims = block()
        findings += claims
    findings += budget_curve_findings()
    summary = "\n".join(f"- {line}" for line in findings) or "Nothing measured yet."
    return {"study_summary": summary + "\n", **generated}


BEST = STUDY / "best_students.json"


def budget_curve_findings() -> list[str]:
    """The budget curve's best rows (docs/cpu-budget.md): what the study's short budgets become with CPU time."""
    data = _load(STUDY / "budget-curve-l2.json")
    rows = [r for r in (data or {}).get("rows", []) if "avg" in r]
    if not rows:
        return []
    best = max((r for r in rows if r.get("command") == "distill"), key=lambda r: r["avg"], default=None)
    sct = next((r for r in rows if r["name"] == "SCT"), None)
    parts = []
    if best is not None:
        parts.append(f"best distilled 2-layer student {best['name']} {best['avg']:.2f} after {best['steps']:,} steps")
    if sct is not None:
        parts.append(f"self-supervised SCT {sct['avg']:.2f} (best STS-B dev at step {sct['best_step']:,})")
    return ["Longer budgets (the budget curve in [cpu-budget.md](cpu-budget.md#the-budget-curve), up to 240 CPU "
            "minutes, dropout-only views): " + "; ".join(parts) + "."]  # fmt: skip


def best_block() -> tuple[str, list[str]]:
    data = _load(BEST)
    if data is None:
        return "Not run yet: `python scripts/save_best.py runs/best`.\n", []
    lines = [
        "| kind | from row | STS avg | SICK-E acc | TwitterPara AP | saved to (weights not in git) |",
        "|---|---|---|---|---|---|",
    ]
    for kind, entry in data["students"].items():
        evaluation = entry["evaluation"]
        downstream = evaluation.get("downstream", {})
        cells = [f"{evaluation['avg']:.2f}"]
        for task in ("sicke", "twitterpara"):
            score = downstream.get(task, {}).get("score")
            cells.append(f"{score:.2f}" if score is not None else "not run")
        spec = next((Path(w).stem for w in shlex.split(entry["results"]) if w.endswith(".json")), "")
        row = f"{entry['row']} ({spec})" if spec else entry["row"]  # the spec says which student and budget
        lines.append(f"| {kind} | {row} | {' | '.join(cells)} | `{entry['saved_to']}` |")
    commit = (
        next(iter(data["students"].values()))["evaluation"]["environment"]["sct_commit"] if data["students"] else ""
    )
    return (
        (
            "\n".join(lines) + f"\n\nProduced by `{data['command']}` at commit `{commit}`; JSON: "
            f"`{_relative(BEST)}`. Each folder loads with `SentenceTransformer(path)`; its README.md is the model card "
            "(training data, views, budget, scores, deviations from the paper), refreshed by `sct card`.\n"
        ),
        [],
    )
