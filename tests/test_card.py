"""The model card: written by training, refreshed by `sct card` after evaluation, replaced not repeated."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sct.cli import main

from .conftest import make_sentences


def _two_step_run(tiny_bert, pairs_file, dev_file, out) -> None:
    """A finished two-step SCT run of the tiny model into ``out`` (what the card is written from)."""
    args = ["train", str(pairs_file), "-o", str(out), "--model", tiny_bert, "--batch-size", "8", "-k", "16",
            "--max-steps", "2", "--eval-steps", "2", "--max-seq-length", "16", "--dev-file", str(dev_file)]  # fmt: skip
    assert main(args) == 0


def test_card_written_by_training_and_refreshed(tiny_bert, pairs_file, dev_file, tmp_path):
    out = tmp_path / "run"
    _two_step_run(tiny_bert, pairs_file, dev_file, out)
    text = (out / "README.md").read_text()
    assert text.startswith("---\n") and text.count("<!-- sct-card:begin -->") == 1
    assert "**Training data**: `pairs.tsv`, 48 pairs; views: pairs" in text
    assert "**Budget**: 2 steps x batch 8 (16 pairs seen)" in text and "Not evaluated yet" in text
    assert "# SentenceTransformer" in text  # sentence-transformers' own card is kept below
    evaluation = {"tasks": {"STS-B": {"spearman": 12.5}}, "avg": 12.5, "parameters": 2_000_000,
                  "downstream": {"sicke": {"score": 61.0, "metric": "accuracy"}}}  # fmt: skip
    (out / "evaluation.json").write_text(json.dumps(evaluation))
    assert main(["card", str(out)]) == 0
    text = (out / "README.md").read_text()
    assert text.count("<!-- sct-card:begin -->") == 1 and "Not evaluated yet" not in text
    assert "| model | STS-B |\n|---|---|\n| this model | 12.50 |" in text and "| sicke (accuracy) | 61.00 |" in text
    assert "**Speed on CPU**: not measured yet" in text  # only `sct evaluate` measures it
    assert "2.0M parameters vs BERT-Tiny (4M)" in text


def test_evaluate_refreshes_the_card_which_names_the_final_path_and_no_none(
    tiny_bert, pairs_file, dev_file, tmp_path, monkeypatch
):
    from sct.evaluation import suite

    out = tmp_path / "run"
    _two_step_run(tiny_bert, pairs_file, dev_file, out)
    scores = {t: {"spearman": 50.0 + i} for i, t in enumerate(("STS12", "STS13", "STS14", "STS15", "STS16", "STS-B",
                                                                 "SICK-R"))}  # fmt: skip
    monkeypatch.setattr(suite, "run_tasks", lambda *a, **k: {"tasks": scores, "avg": 53.0, "downstream": {},
                        "skipped": {}, "failed": {}, "requested": list(scores)})  # fmt: skip
    monkeypatch.setattr("sct.data.find_data_root", lambda *a: None)
    monkeypatch.setattr(suite, "check_sts_data", lambda *a: None)
    monkeypatch.setattr("sct.corpus.timing_sentences", make_sentences)
    assert main(["evaluate", str(out), "--tasks", "sts"]) == 0
    text = (out / "README.md").read_text()
    card = text[text.index("<!-- sct-card:begin -->") : text.index("<!-- sct-card:end -->")]
    table = "| model | STS12 | STS13 | STS14 | STS15 | STS16 | STS-B | SICK-R | Avg. |"  # the paper's layout
    assert "Not evaluated yet" not in card and table in card
    assert "| this model | 50.00 | 51.00 | 52.00 | 53.00 | 54.00 | 55.00 | 56.00 | 53.00 |" in card
    assert "None" not in card and ".incomplete" not in card
    loaded = re.search(r'SentenceTransformer\("([^"]+)"\)', card).group(1)
    assert Path(loaded) == out and Path(loaded).is_dir()  # the final path, which exists
    speed = json.loads((out / "evaluation.json").read_text())["speed"]
    assert speed["torch_float32"] > 0 and speed["onnx_float32"] > 0 and speed["sentences"] == 512
    assert f"torch float32 {speed['torch_float32']:,.0f} sentences/s; ONNX float32" in card
    assert "nearest paper row by parameter count: fine-tuning SCT on BERT-Tiny" in card


def test_the_model_index_carries_every_sts_task_once(tiny_bert, pairs_file, dev_file, tmp_path):
    import yaml

    out = tmp_path / "run"
    _two_step_run(tiny_bert, pairs_file, dev_file, out)
    tasks = {"STS12": 41.25, "STS-B": 60.5, "SICK-R": 55.0}
    (out / "evaluation.json").write_text(json.dumps({"tasks": {t: {"spearman": v} for t, v in tasks.items()},
                                                     "avg": 52.25}))  # fmt: skip
    for _ in range(2):  # refreshing replaces the entries, never repeats them
        assert main(["card", str(out)]) == 0
    text = (out / "README.md").read_text()
    meta = yaml.safe_load(text[4 : text.index("\n---\n", 4)])
    ours = [r for r in meta["model-index"][0]["results"] if r.get("source", {}).get("name") == "sct evaluate"]
    assert {r["dataset"]["type"]: r["metrics"][0]["value"] for r in ours} == {"sts12": 0.4125, "sts-b": 0.605,
                                                                             "sick-r": 0.55}  # fmt: skip
    assert text.count("<!-- sct-card:begin -->") == 1


def test_a_loss_without_a_paper_row_leaves_no_none_in_the_card(tiny_bert, pairs_file, dev_file, tmp_path):
    out = tmp_path / "run"
    _two_step_run(tiny_bert, pairs_file, dev_file, out)
    info = json.loads((out / "run_config.json").read_text())
    info["config"].update(objective="distill", distill_loss="cd", sct_weight=0.0, teacher="a-teacher")
    (out / "run_config.json").write_text(json.dumps(info))  # L_CD alone: Table 2 has no such row
    assert main(["card", str(out)]) == 0
    text = (out / "README.md").read_text()
    card = text[text.index("<!-- sct-card:begin -->") : text.index("<!-- sct-card:end -->")]
    assert "None" not in card and "no paper row for cd with L_SCT weight 0.0" in card
