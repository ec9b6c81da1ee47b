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
