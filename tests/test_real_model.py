"""End to end on the real packaged all-MiniLM-L6-v2 cut to 2 layers: train, save, reload, evaluate."""

from __future__ import annotations

import json

import pytest

from sct.cli import main

from .conftest import SHARED_DATA


def test_train_and_evaluate_two_layer_proxy(pairs_file, dev_file, tmp_path, capsys):
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "proxy"
    args = [
        "train", str(pairs_file), "-o", str(out), "--preset", "minilm-l2", "--batch-size", "16", "-k", "64",
        "--max-steps", "4", "--eval-steps", "2", "--dev-file", str(dev_file),
    ]  # fmt: skip
    assert main(args) == 0
    model = SentenceTransformer(str(out))
    assert len(model[0].auto_model.encoder.layer) == 2
    assert model.get_embedding_dimension() == 384
    built = json.loads((out / "sct_model.json").read_text())["student"]
    assert (built["layers_original"], built["layers_kept"], built["source"]) == (6, 2, "packaged")

    if not (SHARED_DATA / "senteval").is_dir():
        pytest.skip("needs ../shared/data for the STS evaluation")
    result_path = tmp_path / "sts.json"
    assert main(["evaluate", str(out), "--tasks", "STS-B", "--output-json", str(result_path)]) == 0
    table = capsys.readouterr().out
    assert any(line.startswith("| model |") and "STS-B" in line for line in table.splitlines())
    result = json.loads(result_path.read_text())
    assert 30 < result["tasks"]["STS-B"]["spearman"] < 90
    assert result["model_info"]["layers_kept"] == 2
