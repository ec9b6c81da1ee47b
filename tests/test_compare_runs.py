"""scripts/compare_runs.py --resume: which earlier rows are kept."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compare_runs.py"


def _module():
    spec = importlib.util.spec_from_file_location("compare_runs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_resume_keeps_only_unchanged_finished_runs(tmp_path):
    finished_rows = _module()._finished_rows
    runs = [
        {"name": "a", "train_file": "p.tsv", "args": []},
        {"name": "b", "train_file": "p.tsv", "args": ["--lr", "3e-4"]},
        {"name": "c", "train_file": "p.tsv", "args": []},
        {"name": "d", "train_file": "p.tsv", "args": [], "command": "distill"},
    ]
    spec = {"common": ["--max-steps", "200"], "baseline_model": "m", "runs": runs}
    rows = [
        {"name": "a", "avg": 60.0},
        {"name": "b", "avg": 61.0},
        {"name": "c", "error": "exit 1"},
        {"name": "d: stage 1", "avg": 50.0},
        {"name": "d", "avg": 62.0},
    ]
    output = tmp_path / "out.json"
    assert finished_rows(output, spec) == (None, {})  # nothing written yet
    output.write_text(json.dumps({"spec": spec, "rows": rows, "baseline": {"avg": 57.0}}))

    changed = {**spec, "runs": [runs[0], {**runs[1], "args": ["--lr", "5e-4"]}, runs[2], runs[3]]}
    baseline, kept = finished_rows(output, changed)
    assert baseline == {"avg": 57.0}
    assert sorted(kept) == ["a", "d"]  # b's args changed, c failed
    assert [r["name"] for r in kept["d"]] == ["d: stage 1", "d"]  # a two-stage run keeps its stage-1 row

    assert finished_rows(output, {**spec, "common": ["--max-steps", "400"]}) == (None, {})
    assert finished_rows(output, {**spec, "baseline_model": "other"})[0] is None
