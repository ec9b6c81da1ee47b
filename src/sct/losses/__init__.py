"""SCT's losses as sentence-transformers loss modules (one per file), trained by ``SentenceTransformerTrainer``."""

from sct.losses.common import (
    DEFAULT_HEAD_EXPANSION,
    DEFAULT_ONLINE_TEMPERATURE,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_REFERENCE_TEMPERATURE,
    DISTILL_METHODS,
    MAX_QUEUE_SIZE,
    REFERENCE_MOMENTUM,
    NonFiniteLoss,
    reference_embeddings,
    validate_sct_hyperparameters,
)
from sct.losses.distillation_loss import DistillationLoss
from sct.losses.sct_loss import SCTLoss

__all__ = [
    "DEFAULT_HEAD_EXPANSION",
    "DEFAULT_ONLINE_TEMPERATURE",
    "DEFAULT_QUEUE_SIZE",
    "DEFAULT_REFERENCE_TEMPERATURE",
    "DISTILL_METHODS",
    "MAX_QUEUE_SIZE",
    "REFERENCE_MOMENTUM",
    "DistillationLoss",
    "NonFiniteLoss",
    "SCTLoss",
    "reference_embeddings",
    "validate_sct_hyperparameters",
]
