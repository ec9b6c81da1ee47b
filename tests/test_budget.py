"""CPU-time accounting, the CPU-time budget and milestone models of a run."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sct.budget import RunClock, parse_milestones
from sct.cli import main

ARGS = ["--batch-size", "8", "-k", "32", "--eval-steps", "2", "--logging-steps", "1", "--max-seq-length", "16",
        "--seed", "7"]  # fmt: skip


def _args(tiny_bert, pairs_file, dev_file, out, *extra):
    return ["train", str(pairs_file), "-o", str(out), "--model", tiny_bert, "--dev-file", str(dev_file), *ARGS, *extra]


def _log(run) -> list[dict]:
    return [json.loads(line) for line in (run / "training_log.jsonl").read_text().splitlines()]


def test_clock_counts_this_process_plus_what_it_was_charged(tmp_path):
    clock = RunClock()
    sum(i * i for i in range(300_000))  # some CPU work
    spent = clock.cpu_seconds()
    assert spent > 0
    clock.charge(100.0)
    assert clock.cpu_seconds() >= spent + 100.0 and clock.charged == 100.0
    clock.save(tmp_path)
    later = RunClock()
    later.continue_from(tmp_path)
    assert later.cpu_seconds() >= spent + 100.0 - 0.01 and later.charged == 0.0  # saved to 0.01 s


def test_milestones_parse_to_increasing_positive_minutes():
    assert parse_milestones("15,30, 60,120,240") == [15.0, 30.0, 60.0, 120.0, 240.0]
    assert parse_milestones(None) == []
    for bad in ("30,15", "0,5", "-1", "nan", "inf", "5,5", "ten"):
        with pytest.raises(ValueError, match="milestones"):
            parse_milestones(bad)


@given(st.lists(st.floats(min_value=0.01, max_value=1e4), min_size=1, max_size=8, unique=True))
def test_milestones_round_trip(values):
    ordered = sorted(values)
    assert parse_milestones(",".join(repr(v) for v in ordered)) == ordered


def test_time_budget_stops_the_run_and_milestones_keep_the_best_model(tiny_bert, pairs_file, dev_file, tmp_path):
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "run"
    extra = ("--max-steps", "1000", "--patience", "0", "--time-budget", "0.05", "--milestones", "0.001,1000")
    assert main(_args(tiny_bert, pairs_file, dev_file, out, *extra)) == 0
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["stop_reason"] == "time budget" and summary["steps"] < 1000
    assert 3.0 <= summary["cpu_seconds"] < 60.0  # 0.05 CPU minutes, plus what loading and the last step took
    records = json.loads((out / "milestones.json").read_text())["milestones"]
    early, late = records
    assert early["cpu_minutes"] == 0.001 and early["reached"] and early["model"] == "milestones/cpu0.001min"
    assert late["cpu_minutes"] == 1000 and not late["reached"] and late["model"] == "."
    model = SentenceTransformer(str(out / early["model"]))
    assert model.max_seq_length == SentenceTransformer(str(out)).max_seq_length, "scored like the final model"
    assert not list((out / early["model"]).glob("optimizer.pt"))
    log = _log(out)
    assert all("cpu_s" in r for r in log)
    assert [r["cpu_s"] for r in log] == sorted(r["cpu_s"] for r in log)


def test_resumed_run_keeps_counting_time_from_its_checkpoint(tiny_bert, pairs_file, dev_file, tmp_path, monkeypatch):
    from tests.test_reliability import _sigterm_during_step_6

    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        _sigterm_during_step_6(patch)
        assert main(_args(tiny_bert, pairs_file, dev_file, out, "--max-steps", "10")) == 130
    before = _log(tmp_path / "run.incomplete")
    assert main(["train", "--resume", str(out)]) == 0
    after = _log(out)
    at_checkpoint = [r for r in before if r["step"] <= 6][-1]
    resumed = [r for r in after if r["step"] > 6]
    assert resumed and all(r["elapsed_s"] >= at_checkpoint["elapsed_s"] for r in resumed)
    assert all(r["cpu_s"] >= at_checkpoint["cpu_s"] for r in resumed)
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["cpu_seconds"] >= at_checkpoint["cpu_s"]


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--time-budget", "0", "positive number of CPU minutes"),
    ("--time-budget=-5", None, "positive number of CPU minutes"),
    ("--time-budget", "nan", "--time-budget must be a finite number"),
    ("--milestones", "30,15", "increasing"),
])  # fmt: skip
def test_bad_budgets_are_one_line_errors(tiny_bert, pairs_file, dev_file, tmp_path, capsys, flag, value, message):
    given = (flag,) if value is None else (flag, value)  # a negative number is given as --flag=-N
    assert main(_args(tiny_bert, pairs_file, dev_file, tmp_path / "run", *given)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.incomplete").exists()


def test_a_run_that_finds_the_teacher_cache_built_is_charged_its_build_time(
    tiny_bert, tiny_teacher, pairs_file, dev_file, tmp_path
):
    cache = tmp_path / "cache"

    def distill(out):
        args = _args(tiny_bert, pairs_file, dev_file, out, "--max-steps", "2", "--teacher", tiny_teacher,
                     "--teacher-cache", str(cache))  # fmt: skip
        assert main(["distill", *args[1:]]) == 0
        return json.loads((out / "run_summary.json").read_text())

    first, second = distill(tmp_path / "first"), distill(tmp_path / "second")
    (manifest,) = [json.loads(p.read_text()) for p in cache.glob("*/manifest.json")]
    assert manifest["build_cpu_seconds"] > 0
    assert first["cpu_seconds_charged"] == 0.0, "the first run built the cache itself: already in its CPU time"
    assert second["cpu_seconds_charged"] == pytest.approx(manifest["build_cpu_seconds"], abs=0.05)
