"""``sct report``: runs' results as the paper's tables (Table 2 STS; Table 3 re-ranking and NLI), beside the paper.

Everything comes from JSON: a run directory's ``evaluation.json`` (written by ``sct evaluate RUN_DIR``),
``run_config.json`` and ``run_summary.json``, or a results file from ``sct evaluate --output-json``.
Each run is matched to the paper row of the same kind (fine-tuning or distillation), method and the
nearest model size (by parameter count, log scale); every difference from the paper's setting that the
JSON shows is listed for that row.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sct.errors import DataError
from sct.evaluation.sts import TASK_ORDER

EVALUATION_JSON = "evaluation.json"
RERANK_COLUMNS = [("askubuntu", "AskUbuntu"), ("scidocs", "SciDocs")]
NLI_COLUMNS = [("sicke", "SICK-E"), ("snli", "SNLI")]
# Table 1: the paper's tuned fine-tuning hyper-parameters (lr, k, tau_ref, tau_theta) per model.
TABLE1 = {
    "BERT-Tiny": (5e-4, 131072, 0.03, 0.04),
    "BERT-Mini": (3e-4, 131072, 0.01, 0.03),
    "BERT-Small": (3e-4, 65536, 0.02, 0.03),
    "BERT-Base": (5e-4, 65536, 0.04, 0.05),
    "BERT-Large": (5e-4, 16384, 0.04, 0.05),
}


def paper_results() -> dict[str, Any]:
    return json.loads(resources.files("sct").joinpath("paper_results.json").read_text(encoding="utf-8"))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc


@dataclass
class Run:
    label: str
    evaluation: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)  # run_config.json's "config" (empty: not trained here)
    summary: dict[str, Any] = field(default_factory=dict)
    run_info: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def load_run(path: str | Path) -> Run:
    """A run directory (with evaluation.json) or a results JSON file."""
    path = Path(path)
    if path.is_dir():
        evaluation_path = path / EVALUATION_JSON
        if not evaluation_path.is_file():
            raise DataError(f"{path}: no {EVALUATION_JSON}; run `sct evaluate {path} --tasks all` first")
        run_dir: Path | None = path
    elif path.is_file():
        evaluation_path = path
        model = _read_json(path).get("model")
        run_dir = Path(model) if model and (Path(model) / "run_config.json").is_file() else None
    else:
        raise DataError(f"{path}: no such run directory or results file")
    evaluation = _read_json(evaluation_path)
    if "tasks" not in evaluation and "downstream" not in evaluation:
        raise DataError(f"{evaluation_path}: not an `sct evaluate` results file (no 'tasks' or 'downstream')")
    label = evaluation.get("label")
    if not label or label == evaluation.get("model"):  # no --label given: name the run by its folder
        label = run_dir.name if run_dir is not None else evaluation.get("model") or path.stem
    run = Run(label=label, evaluation=evaluation, source=str(evaluation_path))
    if run_dir is not None:
        run.run_info = _read_json(run_dir / "run_config.json")
        run.config = run.run_info.get("config", {})
        if (run_dir / "run_summary.json").is_file():
            run.summary = _read_json(run_dir / "run_summary.json")
    return run


# --------------------------------------------------------------------------- matching


def method_of(config: dict[str, Any]) -> tuple[str, str | None]:
    """(paper table type, paper method) for a run's config; method None when the paper has no such row."""
    if not config:
        return "pretrained", None
    objective = config.get("objective", "sct")  # runs from before --objective existed trained SCT
    if objective == "simcse":
        return "fine-tuning", "SimCSE"
    if objective == "sct":
        return "fine-tuning", "SCT"
    loss, with_sct = config.get("distill_loss", "cd"), config.get("sct_weight", 1.0) > 0
    paper = {"cd": "SCT" if with_sct else None, "congen": "ConGen", "ckd": "CKD", "mse": None}[loss]
    return "distillation", paper


def nearest_model(parameters: float | None, candidates: list[str], sizes: dict[str, float]) -> str | None:
    if not parameters:
        return None
    return min(candidates, key=lambda m: abs(math.log(parameters / 1e6 / sizes[m])))


def paper_row(table: list[dict[str, Any]], kind: str, method: str | None, model: str | None) -> dict | None:
    for row in table:
        if (row["type"], row["method"], row["model"]) == (kind, method, model):
            return row
    return None


def deviations(run: Run, kind: str, model: str | None, paper: dict[str, Any]) -> list[str]:
    """What differs from the paper's setting for this row, from the run's JSON."""
    out = []
    config = run.config
    parameters = run.evaluation.get("parameters")
    if parameters and model:
        if config.get("model"):  # a run: the student it was built from
            name, layers = config["model"], config.get("student_layers")
            cut = f" (first {layers} layers)" if layers else ""
        else:
            info = run.evaluation.get("model_info", {})
            name, cut = info.get("base_model", run.evaluation.get("model")), ""
            if info.get("layers_kept") and info.get("layers_kept") != info.get("layers_original"):
                cut = f" (first {info['layers_kept']} of {info['layers_original']} layers)"
        out.append(f"student {name}{cut}, {parameters / 1e6:.1f}M parameters vs {model} "
                   f"({paper['parameters_m'][model]}M)")  # fmt: skip
    if kind == "pretrained":
        out.append("not trained: the checkpoint is evaluated as is")
        return out
    setting = paper["setting"]
    if kind == "distillation":
        out.append(f"teacher {config.get('teacher')} vs {paper['teacher'].split(' (')[0]}")
        if config.get("distill_loss") != "cd" and config.get("sct_weight", 0) > 0:
            out.append(f"adds L_SCT (weight {config['sct_weight']}) to {config['distill_loss']} (Table 7 setting)")
        if config.get("recipe") == "two-stage":
            out.append("two-stage recipe (SCT, then distillation) instead of the joint loss")
    pairs = run.run_info.get("train_pairs")
    out.append(f"{pairs or '?'} training pairs from {Path(config.get('train_file', '?')).name} vs {setting['data']} "
               f"({setting['views']})")  # fmt: skip
    steps, batch = run.summary.get("steps"), config.get("batch_size")
    if steps and batch:
        out.append(f"{steps} steps x batch {batch} vs batch {setting['batch_size']} x {setting['epochs']} epochs")
    if kind == "fine-tuning" and model in TABLE1 and config.get("objective") == "sct":
        ours = (config.get("learning_rate"), config.get("queue_size"), config.get("reference_temperature"),
                config.get("online_temperature"))  # fmt: skip
        if tuple(ours) != TABLE1[model]:
            lr, k, t_ref, t_on = TABLE1[model]
            out.append(f"lr {ours[0]:g}, k {ours[1]}, tau_ref {ours[2]}, tau_theta {ours[3]} vs Table 1's "
                       f"{lr:g}, {k}, {t_ref}, {t_on}")  # fmt: skip
    return out


# --------------------------------------------------------------------------- tables


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _mean(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) or not values else sum(values) / len(values)  # type: ignore[arg-type]


def our_scores(run: Run) -> dict[str, float | None]:
    """Every column of Tables 2 and 3 for one run (None where not measured)."""
    evaluation = run.evaluation
    sts = {t: evaluation.get("tasks", {}).get(t, {}).get("spearman") for t in TASK_ORDER}
    downstream = evaluation.get("downstream", {})
    scores: dict[str, float | None] = dict(sts)
    scores["Avg"] = evaluation.get("avg") if all(v is not None for v in sts.values()) else None
    for key, column in (*RERANK_COLUMNS, *NLI_COLUMNS):
        scores[column] = downstream.get(key, {}).get("score")
    scores["Rerank Avg"] = _mean([scores[c] for _, c in RERANK_COLUMNS])
    scores["NLI Avg"] = _mean([scores[c] for _, c in NLI_COLUMNS])
    return scores


def build_report(runs: list[Run]) -> tuple[str, list[dict[str, Any]]]:
    """The markdown report and, per run, the numbers it shows (for the plot and the JSON)."""
    paper = paper_results()
    sizes = paper["parameters_m"]
    rows: list[dict[str, Any]] = []
    for run in runs:
        kind, method = method_of(run.config)
        parameters = run.evaluation.get("parameters")
        matched = {}
        for table in ("table2", "table3"):  # the nearest size the table has a row for (Table 3 has no Mini)
            models = [m for m in sizes if paper_row(paper[table], kind, method, m)]
            matched[table] = nearest_model(parameters, models or list(sizes), sizes)
        model = matched["table2"]
        rows.append({
            "label": run.label, "kind": kind, "method": method, "paper_model": model, "source": run.source,
            "ours": our_scores(run),
            "paper_sts": paper_row(paper["table2"], kind, method, model),
            "paper_downstream": paper_row(paper["table3"], kind, method, matched["table3"]),
            "deviations": deviations(run, kind, model, paper),
            "skipped": run.evaluation.get("skipped", {}), "failed": run.evaluation.get("failed", {}),
            "commit": run.evaluation.get("environment", {}).get("sct_commit"),
            "command": run.evaluation.get("command"),
        })  # fmt: skip
    sts_columns = [*TASK_ORDER, "Avg"]
    down_columns = ["AskUbuntu", "SciDocs", "Rerank Avg", "SICK-E", "SNLI", "NLI Avg"]
    lines = ["## STS (Table 2): Spearman x 100", "", _header(sts_columns)]
    for row in rows:
        lines += _pair(row, sts_columns, row["paper_sts"])
    lines += ["", "## Re-ranking (MAP x 100) and NLI (accuracy) (Table 3)", "", _header(down_columns)]
    for row in rows:
        lines += _pair(row, down_columns, row["paper_downstream"])
    lines += ["", "## Settings and deviations from the paper, per row", ""]
    common = {t: r for t, r in rows[0]["skipped"].items() if all(row["skipped"].get(t) == r for row in rows)}
    for row in rows:
        target = f"{row['kind']} {row['method']} {row['paper_model']}" if row["method"] else "no matching paper row"
        if row["paper_downstream"] and row["paper_downstream"]["model"] != row["paper_model"]:
            target += f" (Table 3: {row['paper_downstream']['model']}, its nearest size)"
        lines.append(f"- **{row['label']}** (paper row: {target}; from `{row['source']}`, commit {row['commit']}; "
                     f"command `{row['command']}`)")  # fmt: skip
        lines += [f"  - {d}" for d in row["deviations"]]
        lines += [f"  - {task} not reported: {reason}" for task, reason in row["skipped"].items() if task not in common]
        lines += [f"  - {task} failed: {error}" for task, error in row["failed"].items()]
    if common:
        lines += ["", "Not reported for any run:"] + [f"- {task}: {reason}" for task, reason in common.items()]
    lines += [
        "",
        "Paper numbers: " + paper["source"] + ". Our SICK-E/SNLI/MRPC use SentEval's classifier settings "
        "re-implemented in sct (see `sct.evaluation.transfer`); re-ranking follows USEB's evaluators.",
    ]
    return "\n".join(lines) + "\n", rows


def _header(columns: list[str]) -> str:
    return "| run | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns)


def _pair(row: dict[str, Any], columns: list[str], paper: dict[str, Any] | None) -> list[str]:
    ours = "| " + row["label"] + " | " + " | ".join(_cell(row["ours"].get(c)) for c in columns) + " |"
    if paper is None:
        return [ours]
    name = f"paper: {paper['model']} {paper['method']} ({paper['type']})"
    return [ours, "| " + name + " | " + " | ".join(_cell(paper.get(c)) for c in columns) + " |"]


def plot_report(rows: list[dict[str, Any]], png: str | Path) -> None:
    """Horizontal bars, ours vs the matched paper row, one panel per column we measured for some run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    candidates = [("Avg", "STS avg (Spearman)", "paper_sts"), ("SICK-E", "SICK-E (acc.)", "paper_downstream"),
                  ("SNLI", "SNLI (acc.)", "paper_downstream"), ("AskUbuntu", "AskUbuntu (MAP)", "paper_downstream"),
                  ("SciDocs", "SciDocs (MAP)", "paper_downstream")]  # fmt: skip
    panels = [c for c in candidates if any(r["ours"].get(c[0]) is not None for r in rows)] or candidates[:1]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(3.2 * len(panels) + 2.5, 0.55 * len(rows) + 1.8), squeeze=False, sharey=True
    )
    positions = list(range(len(rows)))
    for ax, (column, title, table) in zip(axes[0], panels, strict=True):
        for offset, label, color, values in (
            (0.2, "ours", "tab:blue", [r["ours"].get(column) for r in rows]),
            (-0.2, "paper (matched row)", "tab:gray", [(r[table] or {}).get(column) for r in rows]),
        ):
            shown = [(p + offset, v) for p, v in zip(positions, values, strict=True) if v is not None]
            if shown:
                bars = ax.barh(*zip(*shown, strict=True), height=0.4, label=label, color=color)
                ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
        ax.set(title=title, xlim=(0, 105))
    axes[0][0].set_yticks(positions, [r["label"] for r in rows], fontsize=8)
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_legend_handles_labels()[0]}
    fig.legend(list(handles.values()), list(handles), loc="upper left", ncol=2, fontsize=8, frameon=False)
    fig.text(0.99, 0.01, "no bar: not measured here / no paper row", ha="right", fontsize=7, color="dimgray")
    fig.tight_layout(rect=(0, 0.02, 1, 0.93))
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    tmp = png.with_name(png.stem + ".tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(png)
