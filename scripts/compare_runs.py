"""Train and evaluate a list of runs under one budget, side by side (view-method and distillation comparisons).

  python scripts/compare_runs.py RUNS.json --output results.json [--work-dir runs/compare] [--data-dir DIR]

  python scripts/compare_runs.py RUNS.json --output results.json --resume   (keep OUTPUT's finished rows,
                                                                           continue interrupted runs)

RUNS.json: {"common": ["--preset", "minilm-l2", "--max-steps", "400", ...],
            "baseline_model": "sentence-transformers/all-MiniLM-L6-v2", "baseline_args": ["--student-layers", "2"],
            "runs": [{"name": "bt", "train_file": "pairs-bt.tsv.gz", "args": []}, ...]}
Each run is `python -m sct COMMAND TRAIN_FILE <common> <args>` (COMMAND: the run's "command", default train;
distill for `sct distill`) then `python -m sct evaluate --tasks sts`; a two-stage distillation run also gets a
row for its stage 1. The results JSON (and a markdown table beside it) holds every run's STS scores, best dev
score, timing and the commit it ran at. --resume keeps the rows (and baseline) an earlier, interrupted or
extended, run of the same spec wrote to OUTPUT when their command, train file, args and the common args are
unchanged, continues a run interrupted mid-training from its last checkpoint, and runs only the rest. A run
with --milestones gets each CPU-time milestone's model scored too (row["milestones"]).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from sct import __file__ as SCT_PACKAGE
from sct.data import write_json_atomic
from sct.evaluation.sts import TASK_ORDER, format_sts_table
from sct.provenance import environment, git_commit

ROOT = Path(__file__).resolve().parents[1]


def sct(*args: str, log: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with open(log, "a") as handle:
        handle.write(f"$ sct {' '.join(args)}\n")
        handle.flush()
        subprocess.run([sys.executable, "-m", "sct", *args], check=True, stdout=handle, stderr=handle, env=env)


def _row(label: str, run: dict, run_dir: Path, sts_path: Path, wall_seconds: float) -> dict:
    summary = json.loads((run_dir / "run_summary.json").read_text())
    sts = json.loads(sts_path.read_text())
    log = [json.loads(line) for line in (run_dir / "training_log.jsonl").read_text().splitlines()]
    built = json.loads((run_dir / "sct_model.json").read_text())
    return {
        "name": label,
        "command": run.get("command", "train"),
        "train_file": run["train_file"],
        "args": run.get("args", []),
        "objective": built.get("objective"),
        "loss": built["training"].get("loss"),
        "sts": {t: sts["tasks"][t]["spearman"] for t in TASK_ORDER},
        "avg": sts["avg"],
        "best_dev_spearman": summary["best_dev_spearman"],
        "best_step": summary["best_step"],
        "steps": summary["steps"],
        "dev_curve": [[r["step"], r["dev_spearman"]] for r in log if "dev_spearman" in r],
        "seconds_per_step": summary["seconds_per_step"],
        "wall_seconds": round(wall_seconds, 1),
        "sct_commit": git_commit(),
    }


def _milestones(run_dir: Path, work_dir: Path, name: str, final: dict, data: list[str], log: Path) -> list[dict]:
    """Each CPU-time milestone of a ``--milestones`` run (sct.budget) scored on STS; the final model stands for
    milestones copied as "." (the run's end)."""
    path = run_dir / "milestones.json"
    if not path.is_file():
        return []
    scored = []
    for record in json.loads(path.read_text())["milestones"]:
        if record["model"] == ".":
            sts = {"avg": final["avg"], "sts": final["sts"]}
        else:
            out = work_dir / f"{name.replace(' ', '-')}-{Path(record['model']).name}-sts.json"
            sct("evaluate", str(run_dir / record["model"]), "--tasks", "sts", "--output-json", str(out),
                "--label", f"{name} @ {record['cpu_minutes']:g} CPU min", *data, log=log)  # fmt: skip
            result = json.loads(out.read_text())
            sts = {"avg": result["avg"], "sts": {t: result["tasks"][t]["spearman"] for t in TASK_ORDER}}
        scored.append({**record, **sts})
    return scored


def _finished_rows(output: Path, spec: dict) -> tuple[dict | None, dict[str, list[dict]]]:
    """An earlier OUTPUT's baseline and its error-free rows by run name, where the settings still match."""
    if not output.exists():
        return None, {}
    earlier = json.loads(output.read_text())
    old_spec = earlier.get("spec", {})
    if old_spec.get("common") != spec.get("common"):
        return None, {}
    same_baseline = all(old_spec.get(k) == spec.get(k) for k in ("baseline_model", "baseline_args"))
    old_runs = {run["name"]: run for run in old_spec.get("runs", [])}
    rows: dict[str, list[dict]] = {}
    for run in spec["runs"]:
        old = old_runs.get(run["name"])
        keys = ("command", "train_file", "args")
        if old is None or any(old.get(k) != run.get(k) for k in keys):
            continue
        done = [r for r in earlier["rows"] if r["name"] in (run["name"], f"{run['name']}: stage 1")]
        if done and not any("error" in r for r in done):
            rows[run["name"]] = done
    return (earlier.get("baseline") if same_baseline else None), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "runs" / "compare")
    parser.add_argument("--data-dir")
    parser.add_argument("--resume", action="store_true", help="keep OUTPUT's finished rows of unchanged runs")
    args = parser.parse_args()
    if Path(SCT_PACKAGE).resolve().parent != ROOT / "src" / "sct":  # the commit recorded is this tree's
        sys.exit(f"compare_runs: sct is imported from {Path(SCT_PACKAGE).parent}, not {ROOT / 'src' / 'sct'}; "
                 f"run with PYTHONPATH={ROOT / 'src'} (a worktree's runs must use its own code)")  # fmt: skip
    spec = json.loads(args.runs.read_text())
    args.work_dir.mkdir(parents=True, exist_ok=True)
    data = ["--data-dir", args.data_dir] if args.data_dir else []
    log = args.work_dir / "log.txt"
    result = {
        "command": shlex.join(["python", "scripts/compare_runs.py", *sys.argv[1:]]),
        "spec": spec,
        "environment": environment(),
        "rows": [],
    }
    baseline, finished = _finished_rows(args.output, spec) if args.resume else (None, {})
    if baseline is not None:
        result["baseline"] = baseline
    elif spec.get("baseline_model"):
        out = args.work_dir / "baseline-sts.json"
        sct("evaluate", spec["baseline_model"], *spec.get("baseline_args", []), "--tasks", "sts",
            "--output-json", str(out), "--label", "untrained", *data, log=log)  # fmt: skip
        baseline = json.loads(out.read_text())
        result["baseline"] = {"sts": {t: baseline["tasks"][t]["spearman"] for t in TASK_ORDER}, "avg": baseline["avg"]}
    for run in spec["runs"]:
        name, run_dir = run["name"], args.work_dir / run["name"]
        if name in finished:
            print(f"{name}: kept from {args.output}")
            result["rows"].extend(finished[name])
            write_json_atomic(args.output, result)  # the kept rows stay in OUTPUT while later rows train
            continue
        started = time.time()
        try:
            if args.resume and run_dir.with_name(run_dir.name + ".incomplete").is_dir():
                sct(run.get("command", "train"), "--resume", str(run_dir), *data, log=log)  # an interrupted run
            else:
                sct(run.get("command", "train"), run["train_file"], "-o", str(run_dir), "--overwrite",
                    *spec.get("common", []), *run.get("args", []), *data, log=log)  # fmt: skip
            evaluated = [(name, run_dir)]
            stage_1 = json.loads((run_dir / "run_summary.json").read_text()).get("stage_1")
            if stage_1:
                evaluated.insert(0, (f"{name}: stage 1", Path(stage_1["output_dir"])))
            for label, directory in evaluated:
                sts_path = args.work_dir / f"{label.replace(': ', '-').replace(' ', '-')}-sts.json"
                sct("evaluate", str(directory), "--tasks", "sts", "--output-json", str(sts_path), "--label", label,
                    *data, log=log)  # fmt: skip
                result["rows"].append(_row(label, run, directory, sts_path, time.time() - started))
            result["rows"][-1]["milestones"] = _milestones(run_dir, args.work_dir, name, result["rows"][-1], data, log)
        except subprocess.CalledProcessError as exc:
            result["rows"].append({"name": name, "error": f"exit {exc.returncode}; see {log}"})
            continue
        write_json_atomic(args.output, result)  # partial results survive a time-out
    write_json_atomic(args.output, result)
    rows = []
    if "baseline" in result:
        rows.append(("untrained", {"tasks": {t: {"spearman": v} for t, v in result["baseline"]["sts"].items()},
                                   "avg": result["baseline"]["avg"]}))  # fmt: skip
    for row in result["rows"]:
        if "sts" in row:
            rows.append(
                (row["name"], {"tasks": {t: {"spearman": v} for t, v in row["sts"].items()}, "avg": row["avg"]})
            )
    table = format_sts_table(rows)
    args.output.with_suffix(".md").write_text(f"<!-- generated by scripts/compare_runs.py from {args.output.name} -->\n"
                                              f"{table}\n")  # fmt: skip
    print(table)


if __name__ == "__main__":
    main()
