"""Task names and groups, skips with reasons, --keep-going, and the one results JSON."""

from __future__ import annotations

import json

import pytest

from sct.cli import main
from sct.data import find_data_root
from sct.errors import ConfigError, DataError
from sct.evaluation.suite import GROUPS, TASKS, resolve_tasks, run_tasks
from tests.test_rerank import _askubuntu, _Fixed
from tests.test_twitterpara import _fixture as _twitterpara


def test_resolve_tasks_marks_explicit_names_and_lists_valid_ones():
    assert resolve_tasks("rerank,twitterpara") == {"askubuntu": False, "scidocs": False, "twitterpara": True}
    assert list(resolve_tasks("all")) == list(TASKS) and GROUPS["sts"][-1] == "SICK-R"
    assert resolve_tasks("sicke,transfer")["sicke"] is True
    with pytest.raises(ConfigError, match=r"unknown task 'stsx'; valid tasks: STS12, .* groups: sts \("):
        resolve_tasks("stsx")


def _useb_only_root(tmp_path):
    _twitterpara(tmp_path / "data" / "useb" / "twitterpara")
    _askubuntu(tmp_path / "data" / "useb" / "askubuntu")
    return find_data_root(tmp_path / "data")  # no senteval/ at all: still a data root


def test_group_skips_absent_data_with_the_reason(tmp_path):
    root = _useb_only_root(tmp_path)
    result = run_tasks(_Fixed(), root, resolve_tasks("all"))
    assert set(result["downstream"]) == {"askubuntu", "twitterpara"}
    assert set(result["skipped"]) == {*GROUPS["sts"], "sicke", "snli", "mrpc", "scidocs"}
    assert "sct download senteval" in result["skipped"]["sicke"]
    assert str(root.useb / "scidocs") in result["skipped"]["scidocs"] and result["failed"] == {}
    assert result["tasks"] == {} and result["data_root"] == str(root.root)


def test_named_task_with_absent_data_is_an_error(tmp_path):
    root = _useb_only_root(tmp_path)
    with pytest.raises(DataError, match="SciDocs file missing: .*scidocs/data.json"):
        run_tasks(_Fixed(), root, resolve_tasks("scidocs"))


def test_keep_going_records_the_failure_and_runs_the_rest(tmp_path):
    root = _useb_only_root(tmp_path)
    (root.senteval / "SICK").mkdir(parents=True)  # folder present, files missing
    with pytest.raises(DataError, match="SICK_train.txt: file not found"):
        run_tasks(_Fixed(), root, resolve_tasks("transfer,twitterpara"))
    result = run_tasks(_Fixed(), root, resolve_tasks("transfer,twitterpara"), keep_going=True)
    assert "SICK_train.txt: file not found" in result["failed"]["sicke"]
    assert set(result["downstream"]) == {"twitterpara"} and set(result["skipped"]) == {"snli", "mrpc"}


def test_cli_keep_going_writes_json_and_exits_1(tiny_bert, tmp_path, capsys):
    _useb_only_root(tmp_path)
    (tmp_path / "data" / "senteval" / "SICK").mkdir(parents=True)
    out = tmp_path / "r.json"
    args = ["evaluate", tiny_bert, "--tasks", "sicke,useb", "--keep-going", "--data-dir", str(tmp_path / "data"),
            "--output-json", str(out)]  # fmt: skip
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "| SICK-E | transfer | FAILED |" in captured.out and "| SciDocs | rerank | skipped |" in captured.out
    assert "1 task(s) failed: sicke" in captured.err
    result = json.loads(out.read_text())
    assert set(result["downstream"]) == {"askubuntu", "twitterpara"} and "sicke" in result["failed"]
    assert result["model"] == tiny_bert and result["downstream"]["askubuntu"]["protocol"].startswith("USEB")
    assert main([a for a in args if a != "--keep-going"]) == 2  # without --keep-going the first failure stops the run


def test_merge_keeps_every_requested_task():
    from sct.evaluation.suite import merge_results

    merged = merge_results({"requested": ["STS12", "sicke"]}, {"requested": ["sicke", "mrpc"], "tasks": {}})
    assert merged["requested"] == ["STS12", "sicke", "mrpc"]
