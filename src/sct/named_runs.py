"""`sct sweep runs SPEC.json`: a list of named runs under one budget, side by side, each trained and scored.

SPEC.json: {"common": ["--preset", "minilm-l2", "--max-steps", "400", ...],
            "baseline_model": "sentence-transformers/all-MiniLM-L6-v2", "baseline_args": ["--student-layers", "2"],
            "runs": [{"name": "bt", "train_file": "pairs-bt.tsv.gz", "args": []}, ...],
            "tasks": "sts"}   (what each run is scored on; default the seven STS tasks)

Each run is `sct COMMAND TRAIN_FILE <common> <args>` (COMMAND: the run's "command", default train; distill for
`sct distill`) in WORK_DIR/<name>, then `sct evaluate --tasks sts`; a two-stage distillation run also gets a row
for its stage 1, and a run with --milestones gets each CPU-time milestone's model scored (row["milestones"]). The
results JSON (and a markdown table beside it) holds every run's STS scores, best dev score, dev curve, timing and
the commit it ran at, and is rewritten after every run, so an interrupted study keeps what finished. --resume
keeps the rows (and baseline) of an earlier OUTPUT whose command, train file and args, and the common args, are
unchanged, continues a run interrupted mid-training from its last checkpoint, and runs only the rest. Every run
uses this tree's sct (a subprocess of the same interpreter and package), so a worktree's study runs its own code.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sct.data import read_json_file, write_json_atomic
from sct.errors import ConfigError, DataError
from sct.evaluation.sts import TASK_ORDER, format_sts_table
from sct.ownership import refuse_output_over_input
from sct.provenance import environment, git_commit
from sct.sweep import run_record

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the src/ folder this sct is imported from


def load_spec(path: str | Path) -> dict[str, Any]:
    """A spec file, checked for what every run needs (a name and a training file), names unique."""
    path = Path(path)
    spec = read_json_file(path, "runs spec")
    runs = spec.get("runs") if isinstance(spec, dict) else None
    if not isinstance(runs, list) or not runs:
        raise DataError(f"{path}: expected an object with a non-empty 'runs' list")
    if not isinstance(spec.get("common", []), list):
        raise DataError(f"{path}: 'common' must be a list of arguments")
    for number, run in enumerate(runs, start=1):
        if not isinstance(run, dict) or not run.get("name") or not run.get("train_file"):
            raise DataError(f"{path}: run {number} needs a 'name' and a 'train_file'")
        if not isinstance(run.get("args", []), list):
            raise DataError(f"{path}: run {run['name']!r}: 'args' must be a list of arguments")
    names = [run["name"] for run in runs]
    if len(set(names)) != len(names):
        raise DataError(f"{path}: run names must be unique, {sorted({n for n in names if names.count(n) > 1})[0]!r} "
                        "repeats")  # fmt: skip
    return spec


def _sct(*args: str, log: Path) -> None:
    """``sct ARGS`` as a subprocess of this interpreter and package. Ctrl-C reaches the child too (one process
    group): it is waited for, so a training run saves its checkpoint before the study stops."""
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with open(log, "a") as handle:
        handle.write(f"$ sct {' '.join(args)}\n")
        handle.flush()
        child = subprocess.Popen([sys.executable, "-m", "sct", *args], stdout=handle, stderr=handle, env=env)
        try:
            code = child.wait()
        except KeyboardInterrupt:
            child.wait()
            raise
    if code:
        raise subprocess.CalledProcessError(code, args)


def _row(label: str, run: dict, run_dir: Path, sts_path: Path, wall_seconds: float) -> dict:
    """A named run's row: what it is (name, command, data, args, objective and loss), then the fields every sweep
    row has (``sct.sweep.run_record``), its STS scores from this evaluation, and what it cost."""
    sts = json.loads(sts_path.read_text())
    built = json.loads((run_dir / "sct_model.json").read_text())
    return {
        "name": label,
        "command": run.get("command", "train"),
        "train_file": run["train_file"],
        "args": run.get("args", []),
        "objective": built.get("objective"),
        "loss": built["training"].get("loss"),
        **run_record(run_dir),
        "sts": {t: sts["tasks"][t]["spearman"] for t in TASK_ORDER if t in sts["tasks"]},
        "avg": sts["avg"],
        "wall_seconds": round(wall_seconds, 1),
        "sct_commit": git_commit(),
    }


def _milestones(run_dir: Path, work_dir: Path, name: str, final: dict, data: list[str], log: Path,
                tasks: str) -> list[dict]:  # fmt: skip
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
            _sct("evaluate", str(run_dir / record["model"]), "--tasks", tasks, "--output-json", str(out),
                 "--label", f"{name} @ {record['cpu_minutes']:g} CPU min", *data, log=log)  # fmt: skip
            result = json.loads(out.read_text())
            sts = {
                "avg": result["avg"],
                "sts": {t: result["tasks"][t]["spearman"] for t in TASK_ORDER if t in result["tasks"]},
            }
        scored.append({**record, **sts})
    return scored


def finished_rows(output: Path, spec: dict) -> tuple[dict | None, dict[str, list[dict]]]:
    """An earlier OUTPUT's baseline and its error-free rows by run name, where the settings still match."""
    if not output.exists():
        return None, {}
    earlier = read_json_file(output, "--output (the results to resume)")
    if not isinstance(earlier, dict) or not isinstance(earlier.get("rows"), list):
        raise DataError(f"{output}: not an `sct sweep runs` results file (no 'rows'); choose another --output")
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


def _made_by(run_dir: Path, command: list[str]) -> bool:
    """Whether ``run_dir`` (a finished run or its ``.incomplete`` work directory) was started by ``command``: a
    run whose spec changed since is trained anew, never continued with its old settings."""
    try:
        argv = json.loads((run_dir / "run_config.json").read_text()).get("argv", [])
    except (OSError, ValueError, AttributeError):
        return False
    return argv[1:] == command


def _baseline(spec: dict, work_dir: Path, data: list[str], log: Path) -> dict | None:
    if not spec.get("baseline_model"):
        return None
    out = work_dir / "baseline-sts.json"
    _sct("evaluate", spec["baseline_model"], *spec.get("baseline_args", []), "--tasks", "sts",
         "--output-json", str(out), "--label", "untrained", *data, log=log)  # fmt: skip
    scores = json.loads(out.read_text())
    return {"sts": {t: scores["tasks"][t]["spearman"] for t in TASK_ORDER}, "avg": scores["avg"]}


def _train_and_score(run: dict, spec: dict, work_dir: Path, data: list[str], resume: bool, log: Path) -> list[dict]:
    """One run trained (or resumed) and scored: its row, with a two-stage run's stage-1 row before it."""
    name, run_dir, tasks = run["name"], work_dir / run["name"], spec.get("tasks", "sts")
    started = time.time()
    command = [run.get("command", "train"), run["train_file"], "-o", str(run_dir), "--overwrite",
               *spec.get("common", []), *run.get("args", []), *data]  # fmt: skip
    if resume and _made_by(run_dir, command) and (run_dir / "run_summary.json").is_file():
        pass  # trained by this very command before (it stopped while scoring): score it, do not train again
    elif resume and _made_by(run_dir.with_name(run_dir.name + ".incomplete"), command):
        _sct(run.get("command", "train"), "--resume", str(run_dir), *data, log=log)  # interrupted: continue it
    else:
        _sct(*command, log=log)
    evaluated = [(name, run_dir)]
    stage_1 = json.loads((run_dir / "run_summary.json").read_text()).get("stage_1")
    if stage_1:
        evaluated.insert(0, (f"{name}: stage 1", Path(stage_1["output_dir"])))
    rows = []
    for label, directory in evaluated:
        sts_path = work_dir / f"{label.replace(': ', '-').replace(' ', '-')}-sts.json"
        _sct("evaluate", str(directory), "--tasks", tasks, "--output-json", str(sts_path), "--label", label,
             *data, log=log)  # fmt: skip
        rows.append(_row(label, run, directory, sts_path, time.time() - started))
    rows[-1]["milestones"] = _milestones(run_dir, work_dir, name, rows[-1], data, log, tasks)
    return rows


def run_named(spec_path: str | Path, output: str | Path, work_dir: str | Path, data_dir: str | None = None,
              resume: bool = False) -> dict[str, Any]:  # fmt: skip
    """Train and score every run of the spec (see the module docstring); returns the results written to OUTPUT,
    with their markdown table."""
    spec, output, work_dir = load_spec(spec_path), Path(output), Path(work_dir)
    if output.suffix != ".json":
        raise ConfigError(f"--output {output}: the results file must end in .json (a .md table goes beside it)")
    refuse_output_over_input(output, [spec_path])
    refuse_output_over_input(output.with_suffix(".md"), [spec_path], "--output's table")
    work_dir.mkdir(parents=True, exist_ok=True)
    data = ["--data-dir", data_dir] if data_dir else []
    log = work_dir / "log.txt"
    command = ["sct", "sweep", "runs", str(spec_path), "--output", str(output), "--work-dir", str(work_dir), *data,
               *(["--resume"] if resume else [])]  # fmt: skip
    result: dict[str, Any] = {"command": shlex.join(command), "spec": spec, "environment": environment(), "rows": []}
    baseline, finished = finished_rows(output, spec) if resume else (None, {})
    try:
        baseline = baseline or _baseline(spec, work_dir, data, log)
    except subprocess.CalledProcessError as exc:
        raise DataError(f"baseline model {spec['baseline_model']!r} could not be scored (exit {exc.returncode}); "
                        f"see {log}") from None  # fmt: skip
    if baseline is not None:
        result["baseline"] = baseline
    for run in spec["runs"]:
        if run["name"] in finished:
            print(f"{run['name']}: kept from {output}")
            result["rows"].extend(finished[run["name"]])
        else:
            try:
                result["rows"].extend(_train_and_score(run, spec, work_dir, data, resume, log))
            except subprocess.CalledProcessError as exc:
                result["rows"].append({"name": run["name"], "error": f"exit {exc.returncode}; see {log}"})
        write_json_atomic(output, result)  # what finished survives an interruption
    write_json_atomic(output, result)
    return {**result, "markdown": _write_table(result, output)}


def sts_table(result: dict) -> str:
    """A results file's STS table: the untrained baseline (where scored), then every run that has scores."""
    rows = []
    if "baseline" in result:
        rows.append(("untrained", {"tasks": {t: {"spearman": v} for t, v in result["baseline"]["sts"].items()},
                                   "avg": result["baseline"]["avg"]}))  # fmt: skip
    rows += [(row["name"], {"tasks": {t: {"spearman": v} for t, v in row["sts"].items()}, "avg": row["avg"]})
             for row in result["rows"] if "sts" in row]  # fmt: skip
    return format_sts_table(rows)


def _write_table(result: dict, output: Path) -> str:
    table = sts_table(result)
    output.with_suffix(".md").write_text(f"<!-- generated by sct sweep runs from {output.name} -->\n{table}\n")
    return table
