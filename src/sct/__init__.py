"""sct: Self-Supervised Cross-View Training (Limkonchotiwat et al., TACL 2023) on sentence-transformers.

The public names are imported lazily, so that ``sct --help`` and the data tools start without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from sct.errors import ConfigError, DataError, ModelResolutionError, SCTError

__version__ = "0.1.0"

_LAZY = {
    "InstanceQueue": "sct.queue",
    "ProjectionHead": "sct.head",
    "SCTLoss": "sct.losses",
    "DistillationLoss": "sct.losses",
    "cross_view_loss": "sct.objective",
    "queue_kl": "sct.objective",
    "queue_info_nce": "sct.objective",
}

__all__ = [
    "ConfigError",
    "DataError",
    "DistillationLoss",
    "InstanceQueue",
    "ModelResolutionError",
    "ProjectionHead",
    "SCTError",
    "SCTLoss",
    "cross_view_loss",
    "queue_info_nce",
    "queue_kl",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sct' has no attribute {name!r}")
