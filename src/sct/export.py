"""`sct export-onnx`: a sentence-transformers model as one ONNX graph, and an encoder that runs it.

The whole pipeline (transformer, pooling, a distilled student's Dense projection, Normalize) is
exported as one graph from token ids and attention mask to the sentence embedding, so nothing is
re-implemented at inference time except tokenisation (the model's own fast tokenizer). The export is
checked against the torch model on sample sentences (max abs difference <= 1e-4) before it is moved
into place. ``OnnxEncoder.encode`` mirrors ``SentenceTransformer.encode`` for `sct encode`/`sct search`.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from sct.data import file_sha256, write_json_atomic
from sct.errors import ConfigError, DataError
from sct.ownership import MARKER, mark

logger = logging.getLogger(__name__)

EXPORT_CONFIG = "sct_onnx.json"
MODEL_FILE = "model.onnx"
SUPPORTED_MODULES = {"Transformer", "Pooling", "Dense", "Normalize"}
TOLERANCE = 1e-4
_CHECK_SENTENCES = [
    "A man is playing a guitar on the street.",
    "Two dogs run through the snow",
    "The central bank raised interest rates by a quarter point, surprising several analysts who had expected "
    "a pause until the next quarter's inflation figures were published.",
    "ok",
]


def is_onnx_export(path: str | Path) -> bool:
    return (Path(path) / EXPORT_CONFIG).is_file()


QUANTIZATIONS = ("none", "int8")


def _write_graph(model, path: Path, opset: int) -> None:
    """The whole pipeline, token ids to sentence embedding, traced on the check sentences into one graph."""
    import torch
    from torch import nn

    class Pipeline(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]

    sample = model.tokenizer(_CHECK_SENTENCES, padding=True, truncation=True, max_length=model.max_seq_length,
                             return_tensors="pt")  # fmt: skip
    with torch.no_grad():
        torch.onnx.export(
            Pipeline().eval(),
            (sample["input_ids"], sample["attention_mask"]),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "sentence_embedding": {0: "batch"},
            },  # fmt: skip
            opset_version=opset,
            dynamo=False,
        )


def export_onnx(
    model_name: str, output_dir: str | Path, max_seq_length: int | None = None, opset: int = 17,
    quantize: str = "none", score: tuple[Any, dict[str, bool]] | None = None,
) -> dict:  # fmt: skip
    """Export ``model_name`` into ``output_dir`` (model.onnx, tokenizer files, sct_onnx.json); returns the config.

    ``quantize="int8"``: the checked float32 graph then gets int8 weights (onnxruntime's dynamic quantisation,
    per channel); its embeddings differ from float32 by far more than 1e-4, so what it costs is measured as a
    score, and the difference on the check sentences is recorded.
    ``score=(data_root, tasks)``: the source model and the export are both scored by `sct evaluate`'s harness
    before the export is moved into place, so its metadata says what the export costs (``sts`` in
    sct_onnx.json; the export's full result in its evaluation.json, as `sct evaluate DIR` would write it).
    """
    if quantize not in QUANTIZATIONS:
        raise ConfigError(f"--quantize must be one of {', '.join(QUANTIZATIONS)}, got {quantize!r}")
    if score is not None:
        from sct.evaluation.suite import check_sts_data

        check_sts_data(*score)  # missing or bad STS files are one line before anything is exported
    from sct.models import load_student

    output = Path(output_dir)
    if output.exists():
        raise ConfigError(f"{output} already exists; remove it or choose another --output")
    if is_onnx_export(model_name):
        raise ConfigError(f"{model_name} is already an ONNX export; export the model it was made from")
    model, _ = load_student(model_name, architecture="as-is")  # every module as saved
    model.eval()
    if max_seq_length is not None:
        model.max_seq_length = max_seq_length
    kinds = [type(module).__name__ for module in model]
    unsupported = [kind for kind in kinds if kind not in SUPPORTED_MODULES]
    if unsupported:
        raise ConfigError(f"{model_name}: cannot export modules {unsupported} (supported: {sorted(SUPPORTED_MODULES)})")

    work = output.with_name(output.name + ".incomplete")
    if work.exists():  # an earlier export that stopped half-way; anything else there is not ours to delete
        if not (work / MARKER).is_file() or (work / MARKER).read_text().split()[:1] != ["export"]:
            raise ConfigError(f"{work} exists and is not an unfinished sct export: move it or choose another --output")
        shutil.rmtree(work)
    work.mkdir(parents=True)
    mark(work, "export")
    try:
        config = _export_into(work, model, model_name, kinds, opset, quantize)
        if score is not None:
            _score_into(work, model, config, *score)
    except Exception:
        shutil.rmtree(work, ignore_errors=True)  # nothing half-written is left looking like an export
        raise
    work.rename(output)
    logger.info("exported %s -> %s (max abs difference to torch %.1e)", model_name, output,
                config["check_max_abs_difference"])  # fmt: skip
    return config


def _export_into(work: Path, model: Any, model_name: str, kinds: list[str], opset: int, quantize: str) -> dict:
    """Write the graph, tokenizer and sct_onnx.json into ``work``, checked against the torch model."""

    tokenizer = model.tokenizer
    _write_graph(model, work / MODEL_FILE, opset)
    tokenizer.save_pretrained(str(work))
    config = {
        "source": model_name,
        "modules": kinds,
        "max_seq_length": model.max_seq_length,
        "dimension": model.get_embedding_dimension(),
        "normalized": "Normalize" in kinds,
        "opset": opset,
        "model_sha256": file_sha256(work / MODEL_FILE),
    }
    write_json_atomic(work / EXPORT_CONFIG, config)
    reference = model.encode(_CHECK_SENTENCES, convert_to_numpy=True)
    exported = OnnxEncoder(work).encode(_CHECK_SENTENCES)
    difference = float(np.abs(reference - exported).max())
    if difference > TOLERANCE:
        raise DataError(f"ONNX export of {model_name} differs from the torch model by {difference:.2e} (> {TOLERANCE})")
    config["check_max_abs_difference"] = difference
    config["quantization"] = "none"
    if quantize == "int8":
        _quantize_int8(work, config, reference)
    write_json_atomic(work / EXPORT_CONFIG, config)
    return config


def int8_graph(source: Path, target: Path) -> None:
    """``source``'s float32 ONNX graph written to ``target`` with int8 weights: onnxruntime's dynamic quantisation,
    per channel (activations are quantised at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)


def _quantize_int8(work: Path, config: dict, reference: np.ndarray) -> None:
    """Replace the float32 graph with int8 weights (dynamic activations), recording what changed."""
    float_graph = work / MODEL_FILE
    quantized = work / "model.int8.onnx"
    int8_graph(float_graph, quantized)
    quantized.replace(float_graph)
    exported = OnnxEncoder(work).encode(_CHECK_SENTENCES)
    config.update(
        quantization="int8 (onnxruntime dynamic, per-channel weights)",
        model_sha256=file_sha256(float_graph),
        int8_check_max_abs_difference=float(np.abs(reference - exported).max()),
        int8_check_min_cosine=float(
            (
                np.sum(reference * exported, axis=1)
                / (np.linalg.norm(reference, axis=1) * np.linalg.norm(exported, axis=1))
            ).min()
        ),  # fmt: skip
    )


RUNTIMES = ("onnxruntime", "openvino")


def _score_into(work: Path, model: Any, config: dict, root: Any, tasks: dict[str, bool]) -> None:
    """The STS avg of the source model and of the export in ``work``, recorded in its sct_onnx.json."""
    from sct.evaluation.suite import run_tasks
    from sct.report import EVALUATION_JSON

    source = run_tasks(model, root, tasks)
    exported = run_tasks(OnnxEncoder(work), root, tasks)
    config["sts"] = {"tasks": list(exported["tasks"]), "source_avg": source["avg"], "export_avg": exported["avg"],
                     "difference": exported["avg"] - source["avg"]}  # fmt: skip
    write_json_atomic(work / EVALUATION_JSON, exported)
    write_json_atomic(work / EXPORT_CONFIG, config)


class OnnxEncoder:
    """Runs an `sct export-onnx` directory; ``encode`` behaves like SentenceTransformer's.

    ``runtime``: onnxruntime (the default), or OpenVINO's CPU plugin on the same graph, at the inference
    precision that plugin picks for this CPU (bfloat16 where the CPU has bfloat16 instructions, float32 elsewhere).
    """

    def __init__(self, path: str | Path, threads: int | None = None, runtime: str = "onnxruntime") -> None:
        import torch
        from transformers import AutoTokenizer

        if runtime not in RUNTIMES:
            raise ConfigError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
        path = Path(path)
        self.config = json.loads((path / EXPORT_CONFIG).read_text())
        self.max_seq_length = int(self.config["max_seq_length"])
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        threads = threads or torch.get_num_threads()
        self._run = (_openvino if runtime == "openvino" else _onnxruntime)(path / MODEL_FILE, threads)

    def get_embedding_dimension(self) -> int:
        return int(self.config["dimension"])

    def encode(
        self, sentences: list[str], batch_size: int = 32, convert_to_numpy: bool = True,
        normalize_embeddings: bool = False, show_progress_bar: bool = False, **_: Any,
    ) -> np.ndarray:  # fmt: skip
        """Embeddings in input order; longest sentences first in batches (less padding), as sentence-transformers."""
        from tqdm.auto import tqdm

        order = np.argsort([-len(s) for s in sentences], kind="stable")
        out = np.empty((len(sentences), self.get_embedding_dimension()), dtype=np.float32)
        starts = range(0, len(sentences), batch_size)
        for start in tqdm(starts, desc="Batches", disable=not show_progress_bar):
            index = order[start : start + batch_size]
            tokens = self.tokenizer([sentences[i] for i in index], padding=True, truncation=True,
                                    max_length=self.max_seq_length, return_tensors="np")  # fmt: skip
            feeds = {"input_ids": tokens["input_ids"].astype(np.int64),
                     "attention_mask": tokens["attention_mask"].astype(np.int64)}  # fmt: skip
            out[index] = self._run(feeds)
        if normalize_embeddings:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def _onnxruntime(graph: Path, threads: int):
    """The graph in an onnxruntime CPU session: feeds -> the sentence embeddings."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ConfigError("onnxruntime is not installed: pip install 'sct[onnx]'") from exc
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    return lambda feeds: session.run(None, feeds)[0]


def _openvino(graph: Path, threads: int):
    """The graph compiled by OpenVINO's CPU plugin (latency hint, ``threads`` threads)."""
    try:
        import openvino as ov
    except ImportError as exc:
        raise ConfigError("openvino is not installed: pip install 'sct[openvino]'") from exc
    compiled = ov.Core().compile_model(str(graph), "CPU", {"PERFORMANCE_HINT": "LATENCY",
                                                           "INFERENCE_NUM_THREADS": threads})  # fmt: skip
    return lambda feeds: compiled(feeds)[0]
