"""The evaluation task registry: names, groups, where each task's data lives, and one runner for all.

A task requested by name must have its data; a task reached through a group (``all``, ``rerank``...)
whose folder is absent is skipped with the reason and where to get the data. A folder that exists
but lacks a file is an error naming the path; with ``keep_going`` the error is recorded and the other
tasks still run.
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sct.data import DataRoot
from sct.errors import ConfigError, DataError
from sct.evaluation.sts import STS_TASKS, TASK_ORDER, evaluate_sts, load_sts_tasks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    name: str
    group: str
    folder: Callable[[DataRoot], Path]  # absent folder = data not here (skip when reached via a group)
    run: Callable[[Any, Path, int], dict[str, Any]] | None  # None: STS, scored together by evaluate_sts
    download: str  # the `sct download` source that provides it
    skip_reason: Callable[[Path], str | None] = lambda folder: None


def _lazy(module: str, function: str) -> Callable[[Any, Path, int], dict[str, Any]]:
    """A task runner imported on first use (the classifier code loads only when a transfer task runs)."""

    def run(model: Any, folder: Path, batch_size: int) -> dict[str, Any]:
        return getattr(importlib.import_module(module), function)(model, folder, batch_size)

    return run


def _twitterpara(model: Any, folder: Path, batch_size: int) -> dict[str, Any]:
    from sct.evaluation.twitterpara import evaluate_twitterpara

    result = evaluate_twitterpara(model, folder, batch_size)
    return {**result, "metric": "AP"}


def _snli_skip(folder: Path) -> str | None:
    from sct.evaluation.transfer import snli_skip_reason

    return snli_skip_reason(folder)


def _sts_folder(task: str) -> Callable[[DataRoot], Path]:
    return lambda root: root.senteval / STS_TASKS[task][0]


_TRANSFER, _RERANK = "sct.evaluation.transfer", "sct.evaluation.rerank"
TASKS: dict[str, Task] = {  # fmt: skip
    **{t: Task(t, "sts", _sts_folder(t), None, "senteval") for t in TASK_ORDER},
    "sicke": Task("sicke", "transfer", lambda r: r.senteval / "SICK", _lazy(_TRANSFER, "evaluate_sick_entailment"),
                  "senteval"),
    "snli": Task("snli", "transfer", lambda r: r.senteval / "SNLI", _lazy(_TRANSFER, "evaluate_snli"), "senteval",
                 _snli_skip),
    "mrpc": Task("mrpc", "transfer", lambda r: r.senteval / "MRPC", _lazy(_TRANSFER, "evaluate_mrpc"), "senteval"),
    "askubuntu": Task("askubuntu", "rerank", lambda r: r.useb / "askubuntu", _lazy(_RERANK, "evaluate_askubuntu"),
                      "useb"),
    "scidocs": Task("scidocs", "rerank", lambda r: r.useb / "scidocs", _lazy(_RERANK, "evaluate_scidocs"), "useb"),
    "twitterpara": Task("twitterpara", "paraphrase", lambda r: r.twitterpara, _twitterpara, "useb"),
}  # fmt: skip
GROUPS: dict[str, list[str]] = {
    "sts": list(TASK_ORDER),
    "transfer": ["sicke", "snli", "mrpc"],
    "nli": ["sicke", "snli"],
    "rerank": ["askubuntu", "scidocs"],
    "useb": ["askubuntu", "scidocs", "twitterpara"],
    "all": list(TASKS),
}
DISPLAY = {"sicke": "SICK-E", "snli": "SNLI", "mrpc": "MRPC", "askubuntu": "AskUbuntu", "scidocs": "SciDocs",
           "twitterpara": "TwitterPara"}  # fmt: skip


def resolve_tasks(spec: str) -> dict[str, bool]:
    """Task name -> whether it was named explicitly (True) or reached through a group (False)."""
    tasks: dict[str, bool] = {}
    for name in (t.strip() for t in spec.split(",") if t.strip()):
        if name in GROUPS:
            for task in GROUPS[name]:
                tasks.setdefault(task, False)
        elif name in TASKS:
            tasks[name] = True
        else:
            raise ConfigError(
                f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}; groups: "
                + ", ".join(f"{g} ({'+'.join(m) if g != 'all' else 'every task'})" for g, m in GROUPS.items())
            )
    if not tasks:
        raise ConfigError("no task given (--tasks)")
    return tasks


def _runnable(root: DataRoot, tasks: dict[str, bool]) -> tuple[list[str], dict[str, str]]:
    """The tasks that have data, and why each other one is skipped (only tasks not named explicitly are)."""
    skipped: dict[str, str] = {}
    runnable: list[str] = []
    for name, explicit in tasks.items():
        task = TASKS[name]
        folder = task.folder(root)
        if not folder.exists() and not explicit:
            skipped[name] = f"no data: {folder} does not exist (get it with `sct download {task.download}`)"
            continue
        reason = task.skip_reason(folder) if folder.exists() else None
        if reason is not None:
            skipped[name] = reason
            continue
        runnable.append(name)
    return runnable, skipped


def check_sts_data(root: DataRoot, tasks: dict[str, bool]) -> None:
    """Read every STS task that will run, so that bad data is one line before a model is loaded."""
    runnable, _ = _runnable(root, tasks)
    load_sts_tasks(root.senteval, [t for t in runnable if TASKS[t].group == "sts"])


def run_tasks(
    model: Any, root: DataRoot, tasks: dict[str, bool], batch_size: int = 128, keep_going: bool = False
) -> dict[str, Any]:
    """Run the tasks; STS keeps its layout (``tasks``, ``avg``), the others go under ``downstream``.

    Also records ``skipped`` (task -> reason) and ``failed`` (task -> error, only with ``keep_going``).
    """
    runnable, skipped = _runnable(root, tasks)
    failed: dict[str, str] = {}

    def attempt(name: str, work: Callable[[], Any]) -> Any:
        try:
            return work()
        except DataError as exc:
            if not keep_going:
                raise
            logger.error("%s failed: %s", name, exc)
            failed[name] = str(exc)
            return None

    result: dict[str, Any] = {"tasks": {}, "avg": None}
    sts = [
        t for t in runnable if TASKS[t].group == "sts" and attempt(t, lambda t=t: load_sts_tasks(root.senteval, [t]))
    ]
    if sts:
        result = evaluate_sts(model, root.senteval, sts, batch_size=batch_size)
    downstream: dict[str, Any] = {}
    for name in runnable:
        task = TASKS[name]
        if task.run is None:
            continue
        logger.info("evaluating %s", name)
        outcome = attempt(name, lambda task=task: task.run(model, task.folder(root), batch_size))
        if outcome is not None:
            downstream[name] = {"group": task.group, **outcome}
    result.update(
        downstream=downstream,
        skipped=skipped,
        failed=failed,
        requested=list(tasks),
        data_root=str(root.root),
    )
    return result


def non_finite_paths(value: Any, where: str = "") -> list[str]:
    """Dotted paths of every NaN or infinite number in a JSON-like value."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in non_finite_paths(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in non_finite_paths(v, f"{where}[{i}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [where]
    return []


def merge_results(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A run's stored results updated by a new evaluation: every task the new one requested is replaced."""
    requested = set(new.get("requested", []))
    merged = dict(new)
    merged["requested"] = list(dict.fromkeys([*old.get("requested", []), *new.get("requested", [])]))
    for section in ("downstream", "skipped", "failed"):
        kept = {k: v for k, v in old.get(section, {}).items() if k not in requested}
        merged[section] = {**kept, **new.get(section, {})}
    sts = {**{t: v for t, v in old.get("tasks", {}).items() if t not in requested}, **new.get("tasks", {})}
    merged["tasks"] = {t: sts[t] for t in TASK_ORDER if t in sts}
    merged["avg_over"] = list(merged["tasks"])
    scores = [v["spearman"] for v in merged["tasks"].values()]
    merged["avg"] = sum(scores) / len(scores) if scores else None
    if not new.get("tasks") and old.get("tasks"):
        for key in ("protocol", "senteval_dir", "unique_sentences", "encode_seconds"):
            if key in old:
                merged[key] = old[key]
    return merged


def format_downstream_table(result: dict[str, Any]) -> str:
    """Non-STS tasks, skips and failures as a markdown table."""
    lines = ["| task | group | score | metric | details |", "|---|---|---|---|---|"]
    for name, r in result.get("downstream", {}).items():
        details = []
        if "f1" in r:
            details.append(f"F1 {r['f1']:.2f}")
        if "mrr" in r:
            details.append(f"MRR {r['mrr']:.2f}")
        for set_name, s in r.get("sets", {}).items():
            details.append(f"{set_name} {s.get('map', s.get('ap')):.2f}")
        if "l2" in r:
            details.append(f"L2 {r['l2']:g}")
        lines.append(f"| {DISPLAY[name]} | {r['group']} | {r['score']:.2f} | {r['metric']} | {', '.join(details)} |")
    for name, reason in result.get("skipped", {}).items():
        lines.append(f"| {DISPLAY.get(name, name)} | {TASKS[name].group} | skipped | - | {reason} |")
    for name, error in result.get("failed", {}).items():
        lines.append(f"| {DISPLAY.get(name, name)} | {TASKS[name].group} | FAILED | - | {error} |")
    return "\n".join(lines)
