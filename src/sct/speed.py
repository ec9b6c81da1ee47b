"""Sentences per second on this CPU, measured when a run is evaluated so that its card states what it costs.

The figure is the machine's at that moment (another job on the CPU lowers it); the card says how it was taken.
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sct.errors import SCTError

logger = logging.getLogger(__name__)

SPEED_SENTENCES = 512
SPEED_BATCH = 64


def sentences_per_second(model: Any, sentences: list[str], batch_size: int = SPEED_BATCH) -> float:
    """Encode ``sentences`` once after a one-batch warm-up; the rate of the timed pass."""
    model.encode(sentences[:batch_size], batch_size=batch_size)
    started = time.perf_counter()
    model.encode(sentences, batch_size=batch_size)
    return len(sentences) / max(time.perf_counter() - started, 1e-9)


def measure_run_speed(run: str | Path, model: Any) -> dict[str, Any]:
    """Torch speed of the loaded ``model`` and ONNX float32 speed of a temporary ``sct export-onnx`` of ``run``."""
    import torch

    from sct.corpus import timing_sentences
    from sct.export import OnnxEncoder, export_onnx

    sentences = timing_sentences(SPEED_SENTENCES)
    speed: dict[str, Any] = {
        "sentences": len(sentences),
        "batch_size": SPEED_BATCH,
        "threads": torch.get_num_threads(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with torch.inference_mode():
        speed["torch_float32"] = round(sentences_per_second(model, sentences), 1)
    export_log = logging.getLogger("sct.export")
    level = export_log.level
    export_log.setLevel(logging.WARNING)  # the temporary export is not news to the user
    with tempfile.TemporaryDirectory(prefix="sct-speed-") as tmp:
        try:
            export_onnx(str(run), Path(tmp) / "onnx")
            speed["onnx_float32"] = round(sentences_per_second(OnnxEncoder(Path(tmp) / "onnx"), sentences), 1)
        except (SCTError, ImportError) as exc:  # a module ONNX cannot hold, or no onnxruntime: torch only
            speed["onnx_error"] = str(exc)
            logger.info("no ONNX speed for %s: %s", run, exc)
        finally:
            export_log.setLevel(level)
    return speed
