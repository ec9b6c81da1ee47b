"""`sct export-onnx`: the ONNX graph reproduces the torch model (1e-4), and encode/search run it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sct.cli import main
from sct.errors import ConfigError

from .conftest import make_sentences

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def distilled_like(tiny_bert, tmp_path_factory):
    """Transformer + mean pooling + Dense(32 -> 48, tanh) + Normalize: every module a distilled student has."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize
    from torch import nn

    from sct.models import load_student

    torch.manual_seed(0)
    base, _ = load_student(tiny_bert)
    model = SentenceTransformer(modules=[*base, Dense(32, 48, activation_function=nn.Tanh()), Normalize()])
    path = tmp_path_factory.mktemp("distilled-like")
    model.save(str(path))
    return str(path)


def test_export_matches_torch_and_encode_uses_it(distilled_like, tmp_path, capsys):
    from sct.encode import load_model

    out = tmp_path / "onnx"
    assert main(["export-onnx", distilled_like, "-o", str(out)]) == 0
    config = json.loads((out / "sct_onnx.json").read_text())
    assert config["modules"] == ["Transformer", "Pooling", "Dense", "Normalize"] and config["dimension"] == 48
    assert config["check_max_abs_difference"] <= 1e-4
    sentences = make_sentences(40, seed=5) + ["a", "the dog " * 60]  # very short and truncated lines
    torch_embeddings = load_model(distilled_like).encode(sentences, convert_to_numpy=True)
    onnx_encoder = load_model(str(out))
    onnx_embeddings = onnx_encoder.encode(sentences, batch_size=7)
    assert onnx_embeddings.shape == (42, 48)
    np.testing.assert_allclose(onnx_embeddings, torch_embeddings, atol=1e-4, rtol=0)
    # the CLI encode path picks the ONNX export by its directory
    (tmp_path / "lines.txt").write_text("\n".join(sentences) + "\n")
    assert main(["encode", str(out), "-i", str(tmp_path / "lines.txt"), "-o", str(tmp_path / "e.npy")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "e.npy"), torch_embeddings, atol=1e-4, rtol=0)


def test_export_refuses_an_existing_directory(tiny_bert, tmp_path):
    from sct.export import export_onnx

    (tmp_path / "taken").mkdir()
    with pytest.raises(ConfigError, match="already exists"):
        export_onnx(tiny_bert, tmp_path / "taken")
    assert not (tmp_path / "taken.incomplete").exists()


def test_exporting_an_export_is_refused(distilled_like, tmp_path):
    from sct.export import export_onnx

    export_onnx(distilled_like, tmp_path / "a")
    with pytest.raises(ConfigError, match="already an ONNX export"):
        export_onnx(str(tmp_path / "a"), tmp_path / "b")


def test_export_keeps_a_foreign_incomplete_folder_and_leaves_nothing_half_written(distilled_like, tmp_path,
                                                                                  monkeypatch):  # fmt: skip
    from sct import export

    foreign = tmp_path / "out.incomplete"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not an unfinished sct export"):
        export.export_onnx(distilled_like, tmp_path / "out")
    assert (foreign / "notes.txt").read_text() == "mine"

    def broken(*_args):
        raise RuntimeError("the exporter failed")

    monkeypatch.setattr(export, "_write_graph", broken)
    with pytest.raises(RuntimeError, match="the exporter failed"):
        export.export_onnx(distilled_like, tmp_path / "other")
    assert not (tmp_path / "other").exists() and not (tmp_path / "other.incomplete").exists()


def test_a_module_onnx_cannot_hold_is_refused_before_anything_is_written(tiny_bert, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import LayerNorm

    from sct.export import export_onnx
    from sct.models import load_student

    base, _ = load_student(tiny_bert)
    path = tmp_path / "with-layernorm"
    SentenceTransformer(modules=[*base, LayerNorm(32)]).save(str(path))
    with pytest.raises(ConfigError, match=r"cannot export modules \['LayerNorm'\]"):
        export_onnx(str(path), tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.incomplete").exists()


def test_int8_export_is_smaller_close_in_cosine_and_scored_by_the_same_harness(distilled_like, tmp_path,
                                                                               monkeypatch):  # fmt: skip
    from sct.encode import load_model
    from sct.evaluation import suite

    fp32, int8 = tmp_path / "fp32", tmp_path / "int8"
    assert main(["export-onnx", distilled_like, "-o", str(fp32)]) == 0
    assert main(["export-onnx", distilled_like, "-o", str(int8), "--quantize", "int8"]) == 0
    config = json.loads((int8 / "sct_onnx.json").read_text())
    assert config["quantization"].startswith("int8") and config["check_max_abs_difference"] <= 1e-4
    assert (int8 / "model.onnx").stat().st_size < (fp32 / "model.onnx").stat().st_size
    sentences = make_sentences(20, seed=3)
    a, b = load_model(str(fp32)).encode(sentences), load_model(str(int8)).encode(sentences)
    cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cosine.min() > 0.9 and config["int8_check_min_cosine"] > 0.9
    seen = {}

    def fake_run_tasks(model, root, tasks, **kwargs):  # the export reaches the harness as an encoder
        seen["dim"] = model.encode(["a sentence"]).shape[1]
        return {"tasks": {"STS-B": {"spearman": 50.0}}, "avg": 50.0, "downstream": {}, "skipped": {}, "failed": {},
                "requested": ["STS-B"]}  # fmt: skip

    monkeypatch.setattr(suite, "run_tasks", fake_run_tasks)
    monkeypatch.setattr("sct.data.find_data_root", lambda *a: None)
    monkeypatch.setattr(suite, "check_sts_data", lambda *a: None)
    assert main(["evaluate", str(int8), "--tasks", "STS-B"]) == 0
    assert seen["dim"] == 48
    assert json.loads((int8 / "evaluation.json").read_text())["tasks"]["STS-B"]["spearman"] == 50.0


def test_score_at_export_time_equals_scoring_afterwards(distilled_like, tmp_path):
    from sct.data import find_data_root
    from sct.errors import SCTError

    try:
        find_data_root()
    except SCTError:
        pytest.skip("no data root here (the SentEval STS files)")
    out = tmp_path / "int8"
    assert main(["export-onnx", distilled_like, "-o", str(out), "--quantize", "int8", "--score", "STS-B"]) == 0
    sts = json.loads((out / "sct_onnx.json").read_text())["sts"]
    assert sts["tasks"] == ["STS-B"] and sts["difference"] == pytest.approx(sts["export_avg"] - sts["source_avg"])
    before = json.loads((out / "evaluation.json").read_text())
    source, export = tmp_path / "source.json", tmp_path / "export.json"
    assert main(["evaluate", distilled_like, "--tasks", "STS-B", "--output-json", str(source)]) == 0
    assert main(["evaluate", str(out), "--tasks", "STS-B", "--output-json", str(export)]) == 0
    assert sts["source_avg"] == pytest.approx(json.loads(source.read_text())["avg"], abs=1e-9)
    assert sts["export_avg"] == pytest.approx(json.loads(export.read_text())["avg"], abs=1e-9)
    assert before["avg"] == pytest.approx(sts["export_avg"], abs=1e-9)


def test_score_on_bad_tasks_or_data_is_one_line_before_anything_is_exported(distilled_like, tmp_path, capsys):
    empty_root = tmp_path / "root"
    (empty_root / "senteval").mkdir(parents=True)
    cases = {
        ("--score", "mrpc"): "--score takes STS tasks",
        ("--score", "STS-B", "--data-dir", str(empty_root)): "sts-test",
    }
    for extra, message in cases.items():
        out = tmp_path / "out"
        assert main(["export-onnx", distilled_like, "-o", str(out), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
        assert not out.exists() and not (tmp_path / "out.incomplete").exists()


def test_openvino_runs_the_same_graph_close_to_onnxruntime(distilled_like, tmp_path):
    pytest.importorskip("openvino")
    from sct.export import OnnxEncoder, export_onnx

    export_onnx(distilled_like, tmp_path / "onnx")
    sentences = make_sentences(12, seed=5)
    a = OnnxEncoder(tmp_path / "onnx").encode(sentences)
    b = OnnxEncoder(tmp_path / "onnx", runtime="openvino").encode(sentences)
    cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert a.shape == b.shape and cosine.min() > 0.99  # bfloat16 on CPUs that have it, float32 elsewhere
    with pytest.raises(ConfigError, match="runtime must be one of"):
        OnnxEncoder(tmp_path / "onnx", runtime="tensorrt")
