"""SCT as a sentence-transformers loss module, trained by ``SentenceTransformerTrainer``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.losses.merged_forward import embed_columns
from torch import Tensor, nn

from sct.head import ProjectionHead
from sct.objective import cross_view_loss
from sct.queue import InstanceQueue


def validate_sct_hyperparameters(
    queue_size: int, online_temperature: float, reference_temperature: float, head_expansion: int
) -> None:
    """Reject values the objective cannot use (called before any model loads by the CLI too)."""
    problems = []
    if online_temperature <= 0:
        problems.append(f"online temperature must be > 0, got {online_temperature}")
    if reference_temperature <= 0:
        problems.append(f"reference temperature must be > 0, got {reference_temperature}")
    if queue_size < 1:
        problems.append(f"queue size must be >= 1, got {queue_size}")
    if head_expansion < 1:
        problems.append(f"head expansion must be >= 1, got {head_expansion}")
    if problems:
        raise ValueError("; ".join(problems))


class SCTLoss(nn.Module):
    """L_SCT (paper eq. 2) over two views: ``sentence_features = [view 1, view 2]``.

    Online branch: ``normalise(head(encoder(x)))``, with gradients. Reference branch:
    ``normalise(encoder(x))`` from its own forward pass under ``torch.no_grad()`` with the encoder in
    train mode (dropout active, as in the authors' code), never the online pass detached. Each
    view's references are scored with its queue and then enqueued there. Both views go through the
    encoder in one merged call per branch where sentence-transformers can merge them (same
    result up to dropout sampling, half the calls).

    The queues advance only on steps that build a graph (``torch.is_grad_enabled()``), so an
    evaluation-loss pass under ``no_grad`` leaves them untouched.
    """

    def __init__(
        self,
        model: SentenceTransformer,
        queue_size: int,
        online_temperature: float,
        reference_temperature: float,
        head_expansion: int = 10,
        seed: int = 0,
    ) -> None:
        super().__init__()
        validate_sct_hyperparameters(queue_size, online_temperature, reference_temperature, head_expansion)
        dim = model.get_embedding_dimension()
        if dim is None:
            raise ValueError("the model does not report its sentence embedding dimension")
        self.model = model
        self.queue_size = queue_size
        self.online_temperature = online_temperature
        self.reference_temperature = reference_temperature
        self.head_expansion = head_expansion
        self.head = ProjectionHead(dim, head_expansion)
        self.queue_1 = InstanceQueue(queue_size, dim, seed=seed)
        self.queue_2 = InstanceQueue(queue_size, dim, seed=seed + 1)

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None) -> Tensor:
        features = list(sentence_features)
        if len(features) != 2:
            raise ValueError(f"SCTLoss needs exactly two input columns (view 1, view 2), got {len(features)}")
        online_1, online_2 = (F.normalize(self.head(e), p=2, dim=1) for e in embed_columns(self.model, features, False))
        with torch.no_grad():
            # Shallow copies: a per-column forward writes its outputs into the feature dict it gets.
            fresh = [dict(f) for f in features]
            reference_1, reference_2 = (
                F.normalize(e.float(), p=2, dim=1) for e in embed_columns(self.model, fresh, False)
            )
        batch = reference_1.shape[0]
        if batch > self.queue_size:
            raise ValueError(f"batch of {batch} is larger than the queue size {self.queue_size} (need k >= B)")
        loss = cross_view_loss(
            online_1,
            online_2,
            reference_1,
            reference_2,
            self.queue_1.embeddings,
            self.queue_2.embeddings,
            self.online_temperature,
            self.reference_temperature,
        )
        if torch.is_grad_enabled():
            self.queue_1.enqueue(reference_1)
            self.queue_2.enqueue(reference_2)
        return loss

    def loss_state_dict(self) -> dict[str, Tensor]:
        """Head weights and queue contents/pointers, without the encoder (saved with checkpoints)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("model.")}

    def load_loss_state_dict(self, state: dict[str, Tensor]) -> None:
        missing = set(self.loss_state_dict()) - set(state)
        if missing:
            raise ValueError(f"loss state is missing {sorted(missing)}")
        self.load_state_dict(state, strict=False)

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "queue_size": self.queue_size,
            "online_temperature": self.online_temperature,
            "reference_temperature": self.reference_temperature,
            "head_expansion": self.head_expansion,
        }

    @property
    def citation(self) -> str:
        return """
@article{limkonchotiwat-etal-2023-sct,
    title = "An Efficient Self-Supervised Cross-View Training For Sentence Embedding",
    author = "Limkonchotiwat, Peerat and Ponwitayarat, Wuttikorn and Lowphansirikul, Lalita and
              Udomcharoenchaikit, Can and Chuangsuwanich, Ekapol and Nutanong, Sarana",
    journal = "Transactions of the Association for Computational Linguistics",
    volume = "11",
    pages = "1572--1587",
    year = "2023",
    doi = "10.1162/tacl_a_00620",
}
"""
