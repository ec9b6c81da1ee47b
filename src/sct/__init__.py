"""sct: Self-Supervised Cross-View Training (Limkonchotiwat et al., TACL 2023) on sentence-transformers."""

from sct.errors import ConfigError, DataError, ModelResolutionError, SCTError
from sct.head import ProjectionHead
from sct.losses import SCTLoss
from sct.objective import cross_view_loss
from sct.queue import InstanceQueue

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "InstanceQueue",
    "ModelResolutionError",
    "ProjectionHead",
    "SCTError",
    "SCTLoss",
    "cross_view_loss",
    "__version__",
]
