"""bfloat16 only where the device multiplies it fast: a run that asks for it elsewhere trains in float32.

bfloat16 autocast is a speed option (it leaves STS-B dev unchanged, docs/cpu-budget.md), and it pays only where
the hardware computes bfloat16 natively: an x86 CPU with AVX512-BF16 or AMX, an Arm CPU that oneDNN runs
bfloat16 on, a CUDA GPU of compute capability 8 or later. On an x86 CPU without those instructions (AVX2 only, as
on many laptops) torch multiplies bfloat16 through a slow path, so a bfloat16 step costs many float32 steps
(`benchmarks/bf16_path.py` measures a machine; its results are in docs/cpu-budget.md). A request that the
device cannot serve fast is therefore resolved to float32, with one warning, and the run records both the request
and what it used.
"""

from __future__ import annotations

import dataclasses
import logging
import platform
from typing import Any

from sct.config import TrainConfig

logger = logging.getLogger(__name__)

X86 = ("x86_64", "amd64", "i386", "i686")


def fast_bfloat16(device: str) -> bool:
    """Whether ``device`` ("cpu" or "cuda") computes bfloat16 natively (no emulation)."""
    import torch

    if device == "cuda":
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    try:
        if platform.machine().lower() in X86:
            return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without these checks: assume no fast path
        return False


def resolve_precision(config: TrainConfig, device: str, warn: bool = True) -> tuple[TrainConfig, dict | None]:
    """``config`` with every bfloat16 request the device cannot run fast turned into float32, and a record of
    the change for run_config.json (None when nothing changed). The teacher's precision counts only where there
    is a teacher (``sct distill``); ``warn``: log the change (the main process of a launch does)."""
    names = ("precision", "teacher_precision") if config.objective == "distill" else ("precision",)
    asked = {name: getattr(config, name) for name in names if getattr(config, name) == "bfloat16"}
    if not asked or fast_bfloat16(device):
        return config, None
    flags = " and ".join(f"--{name.replace('_', '-')} bfloat16" for name in asked)
    reason = f"this {'GPU' if device == 'cuda' else 'CPU'} has no native bfloat16 arithmetic"
    if warn:
        logger.warning("%s: %s (bfloat16 would run many times slower than float32 here): using float32", flags,
                       reason)  # fmt: skip
    record: dict[str, Any] = {"requested": asked, "used": dict.fromkeys(asked, "float32"), "reason": reason}
    return dataclasses.replace(config, **dict.fromkeys(asked, "float32")), record
