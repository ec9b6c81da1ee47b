"""SCT's losses as sentence-transformers loss modules (one per file), trained by ``SentenceTransformerTrainer``."""

from sct.losses.common import (
    CD_ABLATIONS,
    DEFAULT_HEAD_EXPANSION,
    DEFAULT_ONLINE_TEMPERATURE,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_REFERENCE_TEMPERATURE,
    DISTILL_METHODS,
    MAX_QUEUE_SIZE,
    REFERENCE_MOMENTUM,
    NonFiniteLoss,
    distillation_ablation_problem,
    reference_embeddings,
    validate_sct_hyperparameters,
)
from sct.losses.distillation_loss import DistillationLoss
from sct.losses.sct_loss import SCTLoss

__all__ = [
    "CD_ABLATIONS",
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
    "distillation_ablation_problem",
    "reference_embeddings",
    "validate_sct_hyperparameters",
]
