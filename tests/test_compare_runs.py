"""`sct sweep runs` (named runs side by side): which earlier rows --resume keeps, and a whole small study."""

from __future__ import annotations

import json

from sct.named_runs import finished_rows


def test_resume_keeps_only_unchanged_finished_runs(tmp_path):
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


def test_sweep_runs_trains_scores_records_a_failure_and_resumes_keeping_finished_rows(tiny_bert, pairs_file,
                                                                                       dev_file, tmp_path):  # fmt: skip
    import pytest

    from sct.cli import main
    from sct.data import find_data_root
    from sct.errors import SCTError

    try:
        find_data_root()
    except SCTError:
        pytest.skip("no data root here (each run is scored on the STS tasks)")
    spec = {"common": ["--model", tiny_bert, "--dev-file", str(dev_file), "--batch-size", "8", "-k", "16",
                       "--max-steps", "2", "--eval-steps", "2", "--max-seq-length", "16"],
            "runs": [{"name": "sct", "train_file": str(pairs_file), "args": []},
                     {"name": "broken", "train_file": str(pairs_file), "args": ["-k", "4"]}],
            "tasks": "STS-B"}  # fmt: skip
    spec_path, output = tmp_path / "spec.json", tmp_path / "results.json"
    spec_path.write_text(json.dumps(spec))
    argv = ["sweep", "runs", str(spec_path), "--output", str(output), "--work-dir", str(tmp_path / "runs")]
    assert main(argv) == 1  # one run failed (k below the batch), the study went on and says so
    result = json.loads(output.read_text())
    sct, broken = result["rows"]
    assert sct["name"] == "sct" and list(sct["sts"]) == ["STS-B"] and sct["steps"] == 2 and sct["dev_curve"]
    assert broken == {"name": "broken", "error": f"exit 2; see {tmp_path / 'runs' / 'log.txt'}"}
    assert result["command"].startswith("sct sweep runs") and "| sct |" in (tmp_path / "results.md").read_text()
    spec["runs"][1]["args"] = []
    spec_path.write_text(json.dumps(spec))
    assert main([*argv, "--resume"]) == 0
    again = json.loads(output.read_text())["rows"]
    assert again[0] == sct and again[1]["name"] == "broken" and "sts" in again[1]  # kept, then the fixed one ran


def test_a_run_is_continued_or_rescored_only_when_its_own_command_made_it(tmp_path):
    from sct.named_runs import _made_by

    command = ["train", "p.tsv", "-o", str(tmp_path / "run"), "--overwrite", "--max-steps", "200"]
    run = tmp_path / "run.incomplete"
    run.mkdir()
    assert not _made_by(run, command)  # nothing recorded: train anew
    (run / "run_config.json").write_text(json.dumps({"argv": ["/x/sct/__main__.py", *command]}))
    assert _made_by(run, command)
    assert not _made_by(run, [*command[:-1], "400"])  # the spec changed since: never continue the old settings
