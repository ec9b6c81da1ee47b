"""`sct sweep`: a grid of `sct train` / `sct distill` settings, run one at a time or as shards of a job array.

Every grid point is one ordinary run in ``SWEEP_DIR/<name>`` (the name spells the point), so a finished
point is skipped, an interrupted one resumes, and any run can be inspected, evaluated or reported like
any other. After each run the test tasks (``--evaluate``, default the 7 STS tasks) are scored into the
run's ``evaluation.json``. ``tabulate`` collects every run of the sweep into one table sorted by the
STS-B dev score (the paper's model selection), the best-by-dev row first.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
from pathlib import Path
from typing import Any

from sct.config import RUN_CONFIG, RUN_SUMMARY, TrainConfig, option_types
from sct.data import read_json_if_present, write_json_atomic, write_lines_atomic
from sct.errors import ConfigError, DataError, SCTError, TrainingStopped
from sct.ownership import check_replaceable, exclusive_output, made_by_sct, mark
from sct.run_dir import work_dir_for

logger = logging.getLogger(__name__)

# The authors' README grid for self-supervised SCT (Running_script.sh): 3 x 3 x 7 x 7 = 441 runs.
AUTHORS_GRID: dict[str, list[Any]] = {
    "learning_rate": [1e-4, 3e-4, 5e-4],
    "queue_size": [131072, 65536, 16384],
    "reference_temperature": [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07],
    "online_temperature": [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07],
}
SHORT = {
    "learning_rate": "lr", "queue_size": "k", "reference_temperature": "tref", "online_temperature": "ton",
    "batch_size": "b", "distill_loss": "loss", "sct_weight": "wsct", "max_steps": "steps",
}  # fmt: skip
FAILURES = "sweep_failures.json"
RESULTS = "sweep_results"


def parse_param(spec: str) -> tuple[str, list[Any]]:
    """``name=v1,v2,...`` with ``name`` a training setting (its type converts the values)."""
    name, sep, values = spec.partition("=")
    name = name.strip().replace("-", "_")
    types = {k: v for k, v in option_types().items() if k != "overwrite"}
    if not sep or not values.strip():
        raise ConfigError(f"--param {spec!r}: expected name=value1,value2,... (e.g. learning_rate=1e-4,3e-4)")
    if name not in types:
        raise ConfigError(f"--param {spec!r}: {name!r} is not a training setting; valid: {', '.join(sorted(types))}")
    try:
        return name, [types[name](v.strip()) for v in values.split(",") if v.strip()]
    except ValueError as exc:
        raise ConfigError(f"--param {spec!r}: {exc}") from exc


def load_grid(path: str | Path) -> dict[str, list[Any]]:
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"--grid {path}: cannot read a JSON object of setting -> list of values ({exc})") from exc
    if not isinstance(raw, dict) or not all(isinstance(v, list) and v for v in raw.values()):
        raise ConfigError(f"--grid {path}: expected a JSON object of setting -> non-empty list of values")
    return dict(parse_param(f"{k}={','.join(str(x) for x in v)}") for k, v in raw.items())


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination, in a fixed order (the settings' order, then each setting's values)."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]


def run_name(point: dict[str, Any]) -> str:
    return "_".join(f"{SHORT.get(k, k)}{v:g}" if isinstance(v, float) else f"{SHORT.get(k, k)}{v}"
                    for k, v in point.items()) or "default"  # fmt: skip


def select_shard(points: list[dict[str, Any]], spec: str | None) -> list[dict[str, Any]]:
    """``I/N`` (1-based): every N-th point starting at the I-th, so shards of a job array split the grid."""
    if not spec:
        return points
    try:
        index, count = (int(x) for x in spec.split("/"))
    except ValueError as exc:
        raise ConfigError(f"--shard {spec!r}: expected I/N, e.g. 3/8") from exc
    if not 1 <= index <= count:
        raise ConfigError(f"--shard {spec!r}: need 1 <= I <= N")
    return points[index - 1 :: count]


def run_sweep(
    base: TrainConfig, grid: dict[str, list[Any]], sweep_dir: str | Path, command: str = "train",
    shard: str | None = None, evaluate: str | None = "sts",
) -> dict[str, Any]:  # fmt: skip
    """Run (or skip, or resume) this shard's points, score them, and return the sweep's table."""
    sweep_dir = Path(sweep_dir)
    if sweep_dir.is_dir() and any(sweep_dir.iterdir()) and not made_by_sct(sweep_dir):
        check_replaceable(sweep_dir, "sweep directory")  # names the first foreign file; never marked as sct's
    sweep_dir.mkdir(parents=True, exist_ok=True)
    mark(sweep_dir, "sweep")
    what = f"sweep {sweep_dir}" + (f" (shard {shard})" if shard else "")
    with exclusive_output(sweep_dir / f".shard-{(shard or 'all').replace('/', 'of')}", what):  # shards run side by side
        return _run_points(base, grid, sweep_dir, command, shard, evaluate)


def _run_points(base: TrainConfig, grid: dict[str, list[Any]], sweep_dir: Path, command: str, shard: str | None,
                evaluate: str | None) -> dict[str, Any]:  # fmt: skip
    from sct.training import distill, train

    points = grid_points(grid)
    mine = select_shard(points, shard)
    logger.info("sweep %s: %d points in the grid, %d in this shard", sweep_dir, len(points), len(mine))
    manifest = {"command": command, "grid": grid, "points": len(points), "train_file": base.train_file}
    write_json_atomic(sweep_dir / "sweep.json", manifest)
    failures_path = sweep_dir / FAILURES
    for number, point in enumerate(mine, start=1):
        name = run_name(point)
        out = sweep_dir / name
        if (out / RUN_SUMMARY).is_file():
            logger.info("[%d/%d] %s: finished before, skipped", number, len(mine), name)
        else:
            resume = work_dir_for(out).is_dir() and (work_dir_for(out) / RUN_CONFIG).is_file()
            config = dataclasses.replace(base, **point, output_dir=str(out), resume=resume, overwrite=not resume)
            logger.info("[%d/%d] %s%s", number, len(mine), name, " (resuming)" if resume else "")
            try:
                (distill if command == "distill" else train)(config)
            except TrainingStopped as exc:
                if exc.exit_code == 130:  # a signal: stop the whole sweep, resumable
                    raise
                _record_failure(failures_path, name, str(exc))
                continue
            except SCTError as exc:
                _record_failure(failures_path, name, str(exc))
                continue
        if evaluate:
            from sct.card import write_model_card

            try:
                _evaluate(out, evaluate, base.data_dir)
            except SCTError as exc:
                _record_failure(failures_path, name, str(exc))
                continue
            write_model_card(out)
    return tabulate(sweep_dir)


def _record_failure(path: Path, name: str, message: str) -> None:
    logger.error("%s failed: %s", name, message)
    failures = read_json_if_present(path)
    failures[name] = message
    write_json_atomic(path, failures, sort_keys=True)


def _evaluate(run: Path, tasks: str, data_dir: str | None) -> None:
    """Score a finished run on ``tasks`` unless its evaluation.json already holds them."""
    from sct.data import find_data_root
    from sct.evaluation.suite import merge_results, non_finite_paths, resolve_tasks, run_tasks
    from sct.models import load_student
    from sct.provenance import environment
    from sct.report import EVALUATION_JSON

    wanted = resolve_tasks(tasks)
    path = run / EVALUATION_JSON
    old = read_json_if_present(path)
    if set(wanted) <= set(old.get("requested", [])):
        return
    model, info = load_student(str(run))
    result = run_tasks(model, find_data_root(data_dir), wanted)
    result.update(model=str(run), model_info=info.to_dict(), parameters=sum(p.numel() for p in model.parameters()),
                  command=f"sct sweep (evaluate {tasks})", environment=environment(), label=run.name)  # fmt: skip
    bad = non_finite_paths(result)
    if bad:  # a collapsed point: recorded as its failure, the sweep goes on
        raise DataError(f"evaluation of {run.name}: non-finite score at {', '.join(bad[:3])}; nothing written")
    write_json_atomic(path, merge_results(old, result))


def run_record(run: Path) -> dict[str, Any]:
    """What every sweep row, a grid point's or a named run's, says of a finished run: its best STS-B dev and
    step, steps, dev curve and seconds per step, and its STS scores once `sct evaluate` stored them."""
    summary = json.loads((run / RUN_SUMMARY).read_text())
    log_path = run / "training_log.jsonl"
    log = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.is_file() else []
    record: dict[str, Any] = {
        "best_dev_spearman": summary.get("best_dev_spearman"),
        "best_step": summary.get("best_step"),
        "steps": summary.get("steps"),
        "dev_curve": [[r["step"], r["dev_spearman"]] for r in log if "dev_spearman" in r],
        "seconds_per_step": summary.get("seconds_per_step"),
    }
    fallback = read_json_if_present(run / RUN_CONFIG).get("precision_fallback")
    if fallback:  # asked for bfloat16 on a machine without it: the row says what the run really used
        record["precision_fallback"] = fallback
    evaluation = read_json_if_present(run / "evaluation.json")
    if evaluation.get("tasks"):
        record.update(sts={t: v["spearman"] for t, v in evaluation["tasks"].items()}, avg=evaluation.get("avg"))
    return record


def tabulate(sweep_dir: str | Path) -> dict[str, Any]:
    """Every run of the sweep, best STS-B dev first; written as sweep_results.json and .md."""
    sweep_dir = Path(sweep_dir)
    manifest = read_json_if_present(sweep_dir / "sweep.json")
    keys = list(manifest.get("grid", {}))
    failures = read_json_if_present(sweep_dir / FAILURES)
    rows = []
    for point in grid_points(manifest.get("grid", {})) if keys else []:
        name = run_name(point)
        run, work = sweep_dir / name, work_dir_for(sweep_dir / name)
        row: dict[str, Any] = {"run": name, **point, "status": "not run"}
        if name in failures:  # also a point that trained but scored NaN
            row.update(status="failed", error=failures[name])
        elif (run / RUN_SUMMARY).is_file():
            record = run_record(run)  # the same fields a named run's row has (sct sweep runs)
            row.update(status="finished", dev=record["best_dev_spearman"], **record)
            if "sts" in record:
                row["test_sts_avg"] = record["avg"] if len(record["sts"]) == 7 else None
        elif work.is_dir():
            row["status"] = "incomplete"
        rows.append(row)
    rows.sort(key=lambda r: (r.get("dev") is None, -(r.get("dev") or 0.0)))
    header = ["run", *keys, "status", "STS-B dev", "test STS avg"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [
            row["run"],
            *(f"{row[k]:g}" if isinstance(row[k], float) else str(row[k]) for k in keys),
            row["status"],
        ] + [f"{row[c]:.2f}" if row.get(c) is not None else "-" for c in ("dev", "test_sts_avg")]
        lines.append("| " + " | ".join(cells) + " |")  # fmt: skip
    table = {"sweep": str(sweep_dir), "grid": manifest.get("grid", {}), "rows": rows,
             "best_by_dev": next((r["run"] for r in rows if r.get("dev") is not None), None)}  # fmt: skip
    write_json_atomic(sweep_dir / f"{RESULTS}.json", table)
    write_lines_atomic(sweep_dir / f"{RESULTS}.md", lines)
    table["markdown"] = "\n".join(lines)
    return table
