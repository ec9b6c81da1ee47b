"""`sct report`: the paper's numbers as printed in the paper, row matching, deviations, merge of results."""

from __future__ import annotations

import json
import re

import pytest

from sct.cli import main
from sct.evaluation.suite import merge_results
from sct.report import method_of, nearest_model, paper_results
from tests.conftest import SHARED_DATA

PAPER = SHARED_DATA.parent / "paper" / "sct-tacl2023.txt"


@pytest.mark.skipif(not PAPER.is_file(), reason="paper text not present")
def test_paper_numbers_are_the_papers():
    numbers_per_line = [re.findall(r"\d+\.\d\d", line) for line in PAPER.read_text().splitlines()]
    paper = paper_results()
    for table, columns in (("table2", 8), ("table3", 6)):
        for row in paper[table]:
            values = [f"{v:.2f}" for k, v in row.items() if k not in ("type", "model", "method")]
            assert len(values) == columns
            found = any(
                nums[i : i + columns] == values for nums in numbers_per_line for i in range(len(nums) - columns + 1)
            )
            assert found, f"{table} {row['type']} {row['model']} {row['method']}: {values} not in the paper text"
    assert len(paper["table2"]) == 32 and len(paper["table3"]) == 21


@pytest.mark.skipif(not PAPER.is_file(), reason="paper text not present")
def test_ablation_and_distillation_numbers_are_the_papers():
    # each Table 4/6 row is a line "<change> ↓tiny ↓small" and each Table 7 row "<method> tiny [↑..] small"
    lines = [line.replace(" ", "") for line in PAPER.read_text().splitlines()]
    paper = paper_results()
    table4, table6 = paper["table4"], paper["table6"]
    for number, table, default in ((4, table4, "SCT"), (6, table6, "SCT-distillation")):
        scores = f"{table['default']['BERT-Tiny']:.2f}{table['default']['BERT-Small']:.2f}"
        assert any(re.search(rf"(^|-){default}{scores}$", x) for x in lines), f"Table {number}'s default not found"
        for row in table["rows"]:
            change = row["change"].replace(" ", "")
            drop = f"{change}↓{row['drop']['BERT-Tiny']:.2f}↓{row['drop']['BERT-Small']:.2f}"
            assert any(drop in x for x in lines), f"Table {number} {row['change']}: {drop} not in the paper text"
    for row in paper["table7"]["rows"]:
        pattern = re.escape(row["method"].replace(" ", "")) + rf"{row['BERT-Tiny']:.2f}(↑\d+\.\d\d)?"
        pattern += rf"{row['BERT-Small']:.2f}"
        assert any(re.search(rf"(^|[a-z.]){pattern}", x) for x in lines), f"Table 7 {row['method']} not found"
    assert len(table4["rows"]) == 12 and len(table6["rows"]) == 5 and len(paper["table7"]["rows"]) == 8


def test_method_and_size_matching():
    assert method_of({}) == ("pretrained", None)
    assert method_of({"objective": "sct"}) == ("fine-tuning", "SCT")
    assert method_of({"learning_rate": 5e-4}) == ("fine-tuning", "SCT")  # runs from before --objective existed
    assert method_of({"objective": "simcse"}) == ("fine-tuning", "SimCSE")
    assert method_of({"objective": "distill", "distill_loss": "cd", "sct_weight": 1.0}) == ("distillation", "SCT")
    assert method_of({"objective": "distill", "distill_loss": "cd", "sct_weight": 0.0}) == ("distillation", None)
    assert method_of({"objective": "distill", "distill_loss": "congen", "sct_weight": 0.0})[1] == "ConGen"
    sizes = paper_results()["parameters_m"]
    # log distance: 15.3M is 1.39x Mini (11M) but 1.90x below Small (29M); 22.7M is 1.28x below Small
    assert nearest_model(15.3e6, list(sizes), sizes) == "BERT-Mini"
    assert nearest_model(22.7e6, list(sizes), sizes) == "BERT-Small"
    assert nearest_model(None, list(sizes), sizes) is None


def _run_dir(tmp_path):
    run = tmp_path / "sct-l2"
    run.mkdir()
    config = {"objective": "sct", "learning_rate": 1e-4, "queue_size": 16384, "reference_temperature": 0.03,
              "online_temperature": 0.04, "batch_size": 64, "train_file": "runs/pairs-bt.tsv"}  # fmt: skip
    (run / "run_config.json").write_text(json.dumps({"config": config, "train_pairs": 12800}))
    (run / "run_summary.json").write_text(json.dumps({"steps": 200}))
    tasks = {t: {"spearman": 60.0 + i} for i, t in enumerate(["STS12", "STS13", "STS14", "STS15", "STS16",
                                                                "STS-B", "SICK-R"])}  # fmt: skip
    evaluation = {
        "tasks": tasks, "avg": 63.0, "model": str(run), "label": str(run), "parameters": 15_300_000,
        "model_info": {"base_model": "sentence-transformers/all-MiniLM-L6-v2", "layers_kept": 2, "layers_original": 6},
        "downstream": {"sicke": {"score": 75.5}},
        "skipped": {"snli": "SNLI training split missing", "askubuntu": "no data"},
        "environment": {"sct_commit": "abc123"}, "command": "sct evaluate run --tasks all",
    }  # fmt: skip
    (run / "evaluation.json").write_text(json.dumps(evaluation))
    return run


def test_report_tables_deviations_and_plot(tmp_path, capsys):
    run = _run_dir(tmp_path)
    out = tmp_path / "report" / "report.md"
    assert main(["report", str(run), "--output", str(out), "--json", str(tmp_path / "rows.json")]) == 0
    text = out.read_text()
    assert "| sct-l2 | 60.00 | 61.00 | 62.00 | 63.00 | 64.00 | 65.00 | 66.00 | 63.00 |" in text
    # matched: fine-tuning SCT, BERT-Mini (Table 2: avg 69.59); Table 3 has no Mini row: its nearest size is Small
    assert "| paper: BERT-Mini SCT (fine-tuning) | 69.68 |" in text and text.count("paper: BERT-Mini") == 1
    assert "| sct-l2 | - | - | - | 75.50 | - | - |" in text
    assert "| paper: BERT-Small SCT (fine-tuning) | 51.76 | 65.41 | 58.59 | 80.37 | 71.02 | 75.70 |" in text
    assert "(Table 3: BERT-Small, its nearest size)" in text
    assert "15.3M parameters vs BERT-Mini (11M)" in text and "(first 2 of 6 layers)" in text
    assert "200 steps x batch 64 vs batch 128 x 10 epochs" in text
    assert "lr 0.0001, k 16384, tau_ref 0.03, tau_theta 0.04 vs Table 1's 0.0003, 131072, 0.01, 0.03" in text
    assert "Not reported for any run:\n- snli: SNLI training split missing" in text and "commit abc123" in text
    assert (tmp_path / "report" / "report.png").stat().st_size > 1000
    rows = json.loads((tmp_path / "rows.json").read_text())["runs"]
    assert rows[0]["paper_sts"]["Avg"] == 69.59 and rows[0]["ours"]["NLI Avg"] is None


def test_report_needs_results(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "run `sct evaluate" in capsys.readouterr().err


def test_merge_results_replaces_only_requested_tasks():
    old = {
        "tasks": {"STS12": {"spearman": 50.0}, "STS-B": {"spearman": 70.0}}, "avg": 60.0,
        "downstream": {"sicke": {"score": 70.0}, "mrpc": {"score": 65.0}}, "skipped": {"snli": "no train"},
        "failed": {}, "requested": ["STS12", "STS-B", "sicke", "mrpc", "snli"],
    }  # fmt: skip
    new = {"tasks": {"STS-B": {"spearman": 80.0}}, "avg": 80.0, "downstream": {"mrpc": {"score": 66.0}},
           "skipped": {}, "failed": {}, "requested": ["STS-B", "mrpc"]}  # fmt: skip
    merged = merge_results(old, new)
    assert merged["tasks"] == {"STS12": {"spearman": 50.0}, "STS-B": {"spearman": 80.0}}
    assert merged["avg"] == pytest.approx(65.0) and merged["avg_over"] == ["STS12", "STS-B"]
    assert merged["downstream"] == {"sicke": {"score": 70.0}, "mrpc": {"score": 66.0}}
    assert merged["skipped"] == {"snli": "no train"}
