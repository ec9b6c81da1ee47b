"""scripts/ship_student.py: a shipped student stores float16 weights, loads as float32 and encodes as the run does."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from sct.presets import load_preset
from tests.test_card import _two_step_run

ROOT = Path(__file__).resolve().parents[1]


def _ship_module():
    spec = importlib.util.spec_from_file_location("ship_student", ROOT / "scripts" / "ship_student.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_shipped_student_is_half_the_bytes_loads_as_float32_and_refuses_replacement(
    tiny_bert, pairs_file, dev_file, tmp_path, monkeypatch
):
    import torch
    from safetensors.torch import load_file
    from sentence_transformers import SentenceTransformer

    run = tmp_path / "run"
    _two_step_run(tiny_bert, pairs_file, dev_file, run)
    ship = _ship_module()
    calls = []
    monkeypatch.setattr(ship.subprocess, "run", lambda argv, **kw: calls.append(argv))  # scoring is sct evaluate's
    target = tmp_path / "models" / "student"
    target.parent.mkdir()
    ship.ship(run, target, None)
    assert [c[3] for c in calls] == ["evaluate", "card"] and calls[0][4].endswith("student.partial")
    weights = load_file(next(target.rglob("*.safetensors")))
    assert {v.dtype for v in weights.values() if v.is_floating_point()} == {torch.float16}
    assert json.loads((target / "config.json").read_text())["dtype"] == "float32"
    assert (target / "run_config.json").is_file() and not (tmp_path / "models" / "student.partial").exists()
    shipped, original = SentenceTransformer(str(target), device="cpu"), SentenceTransformer(str(run), device="cpu")
    assert next(shipped.parameters()).dtype == torch.float32
    sentences = ["a small test sentence", "another one"]
    np.testing.assert_allclose(shipped.encode(sentences), original.encode(sentences), atol=5e-3)
    with pytest.raises(SystemExit, match="remove it first"):
        ship.ship(run, target, None)


def test_the_committed_student_loads_from_a_fresh_clone_and_its_card_matches_its_scores():
    import torch
    from sentence_transformers import SentenceTransformer

    shipped = sorted(p for p in (ROOT / "models").iterdir() if p.is_dir())
    assert shipped, "models/ holds the shipped student"
    for path in shipped:
        model = SentenceTransformer(str(path), device="cpu")
        assert next(model.parameters()).dtype == torch.float32
        embeddings = model.encode(["A man is playing a guitar.", "Someone plays an instrument."])
        assert embeddings.shape == (2, model.get_embedding_dimension()) and np.isfinite(embeddings).all()
        scores = json.loads((path / "evaluation.json").read_text())
        card = (path / "README.md").read_text()
        row = " | ".join(f"{scores['tasks'][t]['spearman']:.2f}" for t in scores["tasks"])
        assert len(scores["tasks"]) == 7 and f"| this model | {row} | {scores['avg']:.2f} |" in card


def test_the_committed_student_was_trained_by_the_readme_recipe():
    """The README says the shipped student is what `--preset distill-fast-l2` makes: its run record must agree."""
    preset = load_preset("distill-fast-l2", "distill")["settings"]
    recorded = json.loads((ROOT / "models" / "minilm-l2-distilled" / "run_config.json").read_text())
    # made on a CPU without bfloat16, the record's config says float32 and the fallback says what was asked
    config = {**recorded["config"], **recorded.get("precision_fallback", {}).get("requested", {})}
    assert {k: config.get(k) for k in preset} == preset
