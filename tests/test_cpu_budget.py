"""scripts/cpu_budget.py: the budget curve's readings (projections, schedule caveats) against hand-computed values."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.fixture
def cpu_budget(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))  # run as `python scripts/update_docs.py`, it imports its siblings
    return importlib.import_module("cpu_budget")


def _row(name: str, points: list[tuple[float, float]], args: list[str] | None = None) -> dict:
    milestones = [{"cpu_minutes": t, "at_cpu_minutes": t, "avg": avg, "reached": True} for t, avg in points]
    return {"name": name, "avg": points[-1][1], "milestones": milestones, "args": args or []}


def test_projection_per_doubling(cpu_budget):
    # 70 -> 72 from 30 to 60 CPU minutes: 2 points per doubling; 76 is two doublings past 60, so 240 minutes
    row = _row("L_CD", [(15, 60.0), (30, 70.0), (60, 72.0)])
    text = cpu_budget._projection(row, 76)
    assert "gain 2.00 per doubling" in text and "about 240 CPU minutes" in text
    assert cpu_budget._projection(row, 71) == ""  # already met: nothing to project
    flat = _row("SCT", [(15, 63.0), (30, 63.0)])
    assert "the curve is flat between 15 and 30" in cpu_budget._projection(flat, 68)
    for milestone in flat["milestones"]:
        milestone["best_step"] = 256
    text = cpu_budget._projection(flat, 68)
    assert "one checkpoint, the STS-B dev peak at step 256" in text and "more time alone will not reach it" in text


def test_sct_against_simcse_plus_two_says_met_or_by_how_much(cpu_budget):
    # seeds: SCT 63, 64 (mean 63.5) and SimCSE 64, 66 (mean 65) at 15 minutes: -1.50, missed by 3.50;
    # at 30 minutes SCT 70, 70 against SimCSE 67, 68 (mean 67.5): +2.50, met
    rows = [_row("SCT", [(15, 63.0), (30, 70.0)]), _row("SCT (seed 2)", [(15, 64.0), (30, 70.0)]),
            _row("SimCSE", [(15, 64.0), (30, 67.0)]), _row("SimCSE (seed 2)", [(15, 66.0), (30, 68.0)])]  # fmt: skip
    text = cpu_budget._targets(rows)
    assert "SCT minus SimCSE (means of 2 seeds) 15 min -1.50 (missed by 3.50), 30 min +2.50 (met)" in text


def test_stretch_target_gets_the_projection_once_the_target_is_met(cpu_budget):
    rows = [{**_row("L_CD", [(30, 74.0), (60, 76.0)]), "command": "distill"}]
    text = cpu_budget._targets(rows)
    # 76 at 60 minutes, 2 per doubling: 77 needs half a doubling more, 60 * 2 ** 0.5 = 84.9 minutes
    assert "met, stretch missed by 1.00" in text and "77 needs about 85 CPU minutes" in text


def test_schedule_note_only_where_max_steps_differ(cpu_budget):
    common = ["--max-steps", "12000", "--seed", "1"]
    cd = _row("L_CD", [(15, 70.0)], ["--max-steps", "20000"])
    joint = _row("L_SCT + L_CD", [(15, 69.0)])
    assert cpu_budget._schedule_note(joint, cd, common).startswith("on 12,000- and 20,000-step schedules")
    assert cpu_budget._schedule_note(joint, _row("other", [(15, 1.0)]), common) == ""
    text = cpu_budget._sct_on_cd(
        [{**cd, "name": "L_CD, teacher T"}, {**joint, "name": "L_SCT + L_CD, teacher T"}], common
    )
    assert "L_SCT + L_CD minus L_CD 15 min -1.00 (on 12,000- and 20,000-step schedules" in text


def test_a_run_that_finished_its_schedule_stands_for_the_later_milestones(cpu_budget):
    common = ["--max-steps", "12000"]
    finished = {**_row("L_CD", [(15, 70.0)], ["--max-steps", "20000"]), "steps": 20000}
    finished["milestones"].append({"cpu_minutes": 240, "at_cpu_minutes": 224.0, "avg": 76.0, "reached": False})
    shown = cpu_budget._settled(finished, common)["milestones"]
    assert [m["reached"] for m in shown] == [True, True] and shown[1].get("after_last_step")
    assert finished["milestones"][1]["reached"] is False  # the JSON's record is not changed
    # stopped by a shorter --time-budget, 3,000 of 12,000 steps: a later milestone is not what more time would give
    cut = {**_row("SCT", [(15, 63.0)], ["--time-budget", "30"]), "steps": 3000}
    cut["milestones"].append({"cpu_minutes": 60, "at_cpu_minutes": 30.1, "avg": 63.0, "reached": False})
    assert [m["reached"] for m in cpu_budget._settled(cut, common)["milestones"]] == [True, False]
