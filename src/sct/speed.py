"""Sentences per second on this CPU, measured when a run is evaluated so that its card states what it costs.

The figure is the machine's at that moment (another job on the CPU lowers it); the card says how it was taken.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SPEED_SENTENCES = 512
SPEED_BATCH = 64


def sentences_per_second(model: Any, sentences: list[str], batch_size: int = SPEED_BATCH) -> float:
    """Encode ``sentences`` once after a one-batch warm-up; the rate of the timed pass."""
    model.encode(sentences[:batch_size], batch_size=batch_size)
    started = time.perf_counter()
    model.encode(sentences, batch_size=batch_size)
    return len(sentences) / max(time.perf_counter() - started, 1e-9)


def measure_run_speed(run: str | Path) -> dict[str, Any]:
    """Torch speed of the run's saved model on the CPU, and ONNX float32 speed of a temporary ``sct export-onnx``
    of it; a form that cannot be measured is recorded with the reason instead (the scores never depend on it)."""
    import torch
    from sentence_transformers import SentenceTransformer

    from sct.corpus import timing_sentences
    from sct.export import OnnxEncoder, export_onnx

    sentences = timing_sentences(SPEED_SENTENCES)
    speed: dict[str, Any] = {
        "sentences": len(sentences),
        "batch_size": SPEED_BATCH,
        "threads": torch.get_num_threads(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        model = SentenceTransformer(str(run), device="cpu")  # the model as saved, on the CPU the card names
        with torch.inference_mode():
            speed["torch_float32"] = round(sentences_per_second(model, sentences), 1)
    except Exception as exc:  # noqa: BLE001 - a speed figure is a courtesy of the card, never a reason to fail
        speed["torch_error"] = f"{type(exc).__name__}: {exc}"
    export_log = logging.getLogger("sct.export")
    level = export_log.level
    export_log.setLevel(logging.WARNING)  # the temporary export is not news to the user
    with tempfile.TemporaryDirectory(prefix="sct-speed-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on a temporary graph, checked against torch anyway
        try:
            export_onnx(str(run), Path(tmp) / "onnx")
            speed["onnx_float32"] = round(sentences_per_second(OnnxEncoder(Path(tmp) / "onnx"), sentences), 1)
        except Exception as exc:  # noqa: BLE001 - e.g. a module ONNX cannot hold, no onnxruntime, a full /tmp
            speed["onnx_error"] = f"{type(exc).__name__}: {exc}"
            logger.info("no ONNX speed for %s: %s", run, exc)
        finally:
            export_log.setLevel(level)
    return speed
