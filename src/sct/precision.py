"""bfloat16 only where the device multiplies it fast: a run that asks for it elsewhere trains in float32.

bfloat16 autocast is a speed option (it leaves STS-B dev unchanged, docs/cpu-budget.md), and it pays only where
the hardware has a bfloat16 path: a CPU that oneDNN runs bfloat16 on (AVX-512 cores, AVX512-BF16, AMX, Arm
BF16) or a CUDA GPU that supports it. On other CPUs (AVX2 only, as on many laptops and this project's AMD EPYC
machines) oneDNN has no bfloat16 kernel and torch multiplies through a slow reference path, so a bfloat16 step
costs many float32 steps (measured in ``benchmarks/step_parts.py``'s bfloat16 rows, docs/cpu-budget.md). A
request that the device cannot serve fast is therefore resolved to float32, with one warning, and the run
records both the request and what it used.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from sct.config import TrainConfig

logger = logging.getLogger(__name__)


def fast_bfloat16(device: str) -> bool:
    """Whether ``device`` ("cpu" or "cuda") has a bfloat16 matrix-product path (oneDNN's own check on the CPU)."""
    import torch

    if device == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN: no fast path either
        return False


def resolve_precision(config: TrainConfig, device: str) -> tuple[TrainConfig, dict[str, Any] | None]:
    """``config`` with every bfloat16 request the device cannot run fast turned into float32, and a record of
    the change for run_config.json (None when nothing changed)."""
    asked = {name: getattr(config, name) for name in ("precision", "teacher_precision")}
    if "bfloat16" not in asked.values() or fast_bfloat16(device):
        return config, None
    used = {name: "float32" if value == "bfloat16" else value for name, value in asked.items()}
    changed = {name: value for name, value in asked.items() if used[name] != value}
    flags = " and ".join(f"--{name.replace('_', '-')} bfloat16" for name in changed)
    reason = f"this {device.upper()} has no fast bfloat16 path (oneDNN/CUDA report none)"
    logger.warning("%s: %s, where bfloat16 products run many times slower than float32: using float32", flags,
                   reason)  # fmt: skip
    record = {"requested": changed, "used": {name: used[name] for name in changed}, "reason": reason}
    return dataclasses.replace(config, **{name: used[name] for name in changed}), record
