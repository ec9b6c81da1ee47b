"""`sct mteb`: mteb's own STS tasks on the local SentEval files write mteb's result files and match sct's scores."""

from __future__ import annotations

import json

import pytest

from sct.cli import main

pytest.importorskip("mteb")


@pytest.fixture
def data_root():
    from sct.data import find_data_root
    from sct.errors import SCTError

    try:
        return find_data_root()
    except SCTError:
        pytest.skip("no data root here (the SentEval STS files)")


def test_mteb_results_in_mteb_s_format_equal_the_harness_on_the_same_pairs(tiny_bert, data_root, tmp_path):
    out = tmp_path / "mteb"
    assert main(["mteb", tiny_bert, "-o", str(out), "--tasks", "STS-B,SICK-R", "--name", "sct/tiny"]) == 0
    files = {p.name: p for p in (out / "results").rglob("*.json")}
    assert {"STSBenchmark.json", "SICK-R.json"} <= set(files)  # mteb's own result files, under the model's name
    assert all("sct__tiny" in str(p) for p in files.values())
    scores = json.loads(files["STSBenchmark.json"].read_text())["scores"]["test"][0]
    check = json.loads((out / "sct_check.json").read_text())
    by_task = {r["task"]: r for r in check["rows"]}
    assert scores["cosine_spearman"] * 100 == pytest.approx(by_task["STS-B"]["mteb"], abs=1e-3)  # mteb rounds
    assert check["max_abs_difference"] <= 0.01 and set(by_task) == {"STS-B", "SICK-R"}


def test_mteb_bad_input_is_one_line(tiny_bert, data_root, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    empty_root = tmp_path / "root"
    (empty_root / "senteval").mkdir(parents=True)
    cases = {
        ("mteb", tiny_bert, "-o", str(tmp_path / "a"), "--tasks", "sicke"): "runs the STS tasks only",
        ("mteb", tiny_bert, "-o", str(mine)): "holds files sct mteb did not write",
        ("mteb", tiny_bert, "-o", str(tmp_path / "b"), "--tasks", "STS-B", "--data-dir", str(empty_root)): "sts-test",
    }
    for argv, message in cases.items():
        assert main(list(argv)) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"] and not (tmp_path / "b").exists()


def test_mteb_results_become_model_index_metadata_in_the_yaml_and_a_run_s_card(tiny_bert, data_root, tmp_path):
    import shutil

    import yaml

    from sct.card import with_model_index
    from sct.evaluation.mteb_sts import SCORED_BY_MTEB

    run = tmp_path / "run"
    shutil.copytree(tiny_bert, run)
    (run / "run_config.json").write_text("{}")
    (run / "README.md").write_text("---\ntags:\n- sentence-transformers\n---\n\n# card\n")
    for attempt in range(2):  # a second run replaces its entries, never repeats them
        out = tmp_path / f"mteb{attempt}"
        assert main(["mteb", str(run), "-o", str(out), "--tasks", "STS-B", "--name", "sct/run"]) == 0
    check = json.loads((out / "sct_check.json").read_text())["rows"][0]
    written = yaml.safe_load((out / "model-index.yaml").read_text())["model-index"][0]
    assert written["name"] == "sct/run" and len(written["results"]) == 1
    entry = written["results"][0]
    assert entry["dataset"]["type"] == "mteb/stsbenchmark-sts" and entry["dataset"]["split"] == "test"
    assert entry["metrics"][0] == {"type": "cosine_spearman", "value": round(check["mteb"], 4)}
    card = (run / "README.md").read_text()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["tags"] == ["sentence-transformers"] and meta["model-index"][0]["results"] == [entry]
    assert card.rstrip().endswith("# card")
    # sct evaluate's own entries are added beside MTEB's, and MTEB's survive a card refresh
    refreshed = with_model_index(card, {"tasks": {"STS-B": {"spearman": 50.0}}})
    sources = [r["source"]["name"] for r in yaml.safe_load(refreshed.split("---\n")[1])["model-index"][0]["results"]]
    assert sources == [SCORED_BY_MTEB, "sct evaluate"]
