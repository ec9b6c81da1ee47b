"""`sct sweep`: grid parsing, names, shards, skipping finished points, failures recorded, the table."""

from __future__ import annotations

import json

import pytest

from sct.cli import main
from sct.errors import ConfigError
from sct.sweep import AUTHORS_GRID, grid_points, parse_param, run_name, select_shard
from tests.conftest import SHARED_DATA


def test_grid_helpers_by_hand():
    assert parse_param("learning_rate=1e-4,3e-4") == ("learning_rate", [1e-4, 3e-4])
    assert parse_param("queue-size=16,32") == ("queue_size", [16, 32])
    assert parse_param("amp=false") == ("amp", [False])
    with pytest.raises(ConfigError, match="not a training setting"):
        parse_param("temperature=0.1")
    with pytest.raises(ConfigError, match="expected name=value1"):
        parse_param("learning_rate")
    with pytest.raises(ConfigError, match="invalid literal"):
        parse_param("queue_size=big")
    points = grid_points({"learning_rate": [1e-4, 5e-4], "queue_size": [16, 32]})
    assert points == [{"learning_rate": 1e-4, "queue_size": 16}, {"learning_rate": 1e-4, "queue_size": 32},
                      {"learning_rate": 5e-4, "queue_size": 16}, {"learning_rate": 5e-4, "queue_size": 32}]  # fmt: skip
    assert run_name(points[1]) == "lr0.0001_k32"
    assert select_shard(points, "2/3") == [points[1]] and select_shard(points, "1/3") == [points[0], points[3]]
    with pytest.raises(ConfigError, match="need 1 <= I <= N"):
        select_shard(points, "4/3")
    with pytest.raises(ConfigError, match="expected I/N"):
        select_shard(points, "half")
    assert len(grid_points(AUTHORS_GRID)) == 441


def _sweep_args(tiny_bert, pairs_file, dev_file, out, *extra):
    return ["sweep", "train", str(pairs_file), "-o", str(out), "--model", tiny_bert, "--batch-size", "8",
            "--max-steps", "2", "--eval-steps", "2", "--max-seq-length", "16", "--dev-file", str(dev_file),
            "--param", "learning_rate=1e-4,5e-4", "--param", "queue_size=16,4", *extra]  # fmt: skip


def test_sweep_runs_skips_records_failures_and_tabulates(tiny_bert, pairs_file, dev_file, tmp_path, capsys,
                                                          monkeypatch):  # fmt: skip
    from sct import training

    out = tmp_path / "sweep"
    assert main(_sweep_args(tiny_bert, pairs_file, dev_file, out, "--evaluate", "none")) == 0
    table = json.loads((out / "sweep_results.json").read_text())
    status = {row["run"]: row["status"] for row in table["rows"]}
    assert status == {"lr0.0001_k16": "finished", "lr0.0001_k4": "failed", "lr0.0005_k16": "finished",
                      "lr0.0005_k4": "failed"}  # fmt: skip
    failures = json.loads((out / "sweep_failures.json").read_text())
    assert "queue size (4) must be >= batch size (8)" in failures["lr0.0001_k4"]
    finished = [r for r in table["rows"] if r["status"] == "finished"]
    assert [r["run"] for r in table["rows"][:2]] == [r["run"] for r in finished]  # scored rows first
    assert finished[0]["dev"] >= finished[1]["dev"] and table["best_by_dev"] == finished[0]["run"]
    assert (out / "lr0.0005_k16" / "run_summary.json").is_file()
    assert "| lr0.0001_k16 | 0.0001 | 16 | finished |" in (out / "sweep_results.md").read_text()

    calls = []
    monkeypatch.setattr(training, "train", lambda config: calls.append(config.output_dir))
    assert main(_sweep_args(tiny_bert, pairs_file, dev_file, out, "--evaluate", "none", "--shard", "1/2")) == 0
    assert calls == []  # shard 1/2 = the first and third point, both finished: nothing is trained again
    assert main(_sweep_args(tiny_bert, pairs_file, dev_file, out, "--evaluate", "none", "--shard", "2/2")) == 0
    assert sorted(calls) == sorted(str(out / n) for n in ("lr0.0001_k4", "lr0.0005_k4"))  # the failed ones retry
    assert main(["sweep", "train", "-o", str(out), "--table-only"]) == 0
    assert "lr0.0005_k16" in capsys.readouterr().out


@pytest.mark.skipif(not (SHARED_DATA / "senteval" / "STS").is_dir(), reason="shared data not present")
def test_sweep_scores_each_finished_run(tiny_bert, pairs_file, dev_file, tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", "train", str(pairs_file), "-o", str(out), "--model", tiny_bert, "--batch-size", "8", "-k", "16",
            "--max-steps", "1", "--eval-steps", "1", "--max-seq-length", "16", "--dev-file", str(dev_file),
            "--param", "seed=1", "--evaluate", "STS-B"]  # fmt: skip
    assert main(args) == 0
    evaluation = json.loads((out / "seed1" / "evaluation.json").read_text())
    assert set(evaluation["tasks"]) == {"STS-B"} and evaluation["model"] == str(out / "seed1")


def test_a_sweep_into_a_folder_sct_did_not_make_is_refused_and_never_marked(tiny_bert, pairs_file, dev_file,
                                                                             tmp_path, capsys):  # fmt: skip
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.txt").write_text("chapter 1")
    assert main(_sweep_args(tiny_bert, pairs_file, dev_file, out, "--evaluate", "none")) == 2
    err = capsys.readouterr().err.strip()
    assert "was not made by sct" in err and "thesis.txt" in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["thesis.txt"]  # no marker: --overwrite still refuses it later


def test_a_second_sweep_of_the_same_shard_is_refused_naming_the_holder(tiny_bert, pairs_file, dev_file, tmp_path,
                                                                        capsys):  # fmt: skip
    import os

    from sct.ownership import exclusive_output, mark

    out = tmp_path / "sweep"
    out.mkdir()
    mark(out, "sweep")  # as the running sweep did
    with exclusive_output(out / ".shard-all"):  # another sweep of every point is running
        assert main(_sweep_args(tiny_bert, pairs_file, dev_file, out, "--evaluate", "none")) == 2
        err = capsys.readouterr().err.strip()
        assert f"sweep {out} is being written by another sct process (pid {os.getpid()})" in err
        assert len(err.splitlines()) == 1 and not any(p.name.startswith("lr") for p in out.iterdir())
    args = _sweep_args(tiny_bert, pairs_file, dev_file, out, "--evaluate", "none", "--shard", "1/2")
    with exclusive_output(out / ".shard-2of2"):  # another shard runs side by side
        assert main(args) == 0


def test_a_point_that_scores_nan_is_recorded_as_its_failure_and_the_sweep_goes_on(tiny_bert, pairs_file, dev_file,
                                                                                   tmp_path, monkeypatch):  # fmt: skip
    from sct.evaluation import suite

    nan = float("nan")
    monkeypatch.setattr(suite, "run_tasks", lambda *a, **k: {"tasks": {"STS-B": {"spearman": nan}}, "avg": nan,
                        "downstream": {}, "skipped": {}, "failed": {}, "requested": ["STS-B"]})  # fmt: skip
    monkeypatch.setattr("sct.data.find_data_root", lambda *a: None)
    out = tmp_path / "sweep"
    args = _sweep_args(tiny_bert, pairs_file, dev_file, out, "--evaluate", "sts")
    args[args.index("queue_size=16,4")] = "queue_size=16"
    main(args)
    failures = json.loads((out / "sweep_failures.json").read_text())
    assert set(failures) == {"lr0.0001_k16", "lr0.0005_k16"}  # both points ran; neither stopped the sweep
    assert all("non-finite score at tasks.STS-B.spearman" in m for m in failures.values())
    assert not any((out / name / "evaluation.json").exists() for name in failures)
