"""L_SCT (paper eq. 2) as a sentence-transformers loss module."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.losses.merged_forward import embed_columns
from torch import Tensor, nn

from sct.ablations import ABLATIONS
from sct.distributed import gather_rows
from sct.head import ProjectionHead
from sct.losses.common import (
    DEFAULT_HEAD_EXPANSION,
    DEFAULT_ONLINE_TEMPERATURE,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_REFERENCE_TEMPERATURE,
    REFERENCE_MOMENTUM,
    LossState,
    advance_queues,
    check_batch,
    check_finite,
    fill_pair,
    reference_embeddings,
    scored_queues,
    two_columns,
    validate_sct_hyperparameters,
)
from sct.objective import cross_view_loss
from sct.queue import InstanceQueue


class SCTLoss(LossState):
    """L_SCT (paper eq. 2) over two views: ``sentence_features = [view 1, view 2]``.

    Online branch: ``normalise(head(encoder(x)))``, with gradients. Reference branch:
    ``normalise(encoder(x))`` from its own forward pass under ``torch.no_grad()`` with the encoder in
    train mode (dropout active, as in the authors' code), never the online pass detached. Each
    view's references are scored with its queue and then enqueued there. Both views go through the
    encoder in one merged call per branch where sentence-transformers can merge them (same
    result up to dropout sampling, half the calls).

    The queues advance only on steps that build a graph (``torch.is_grad_enabled()``), so an
    evaluation-loss pass under ``no_grad`` leaves them untouched.

    Args:
        model: the student (a SentenceTransformer); the loss adds the 3-layer MLP head.
        queue_size: k, rows in each of the two instance queues (Table 1).
        online_temperature: tau_theta of the online branch's distribution.
        reference_temperature: tau_ref of the reference branch's distribution.
        head_expansion: w, the head's first-to-second layer width factor.
        seed: seeds the head and the random initial queue rows.
        ablation: a Table 4 ablation (``sct.objective.ABLATIONS``), ``"none"`` for the paper's L_SCT.
        reference_momentum: the EMA rate m of the ``momentum-reference`` ablation (1: the reference stays the
            initial encoder, an anchor against drifting from a pre-trained start).

    References:
        Limkonchotiwat et al., Self-Supervised Cross-View Training For Sentence Embedding, TACL 2023,
        https://doi.org/10.1162/tacl_a_00620 (eq. 2, Table 1, Table 4).

    Inputs:
        +---------------------------+--------+
        | Texts                     | Labels |
        +===========================+========+
        | (view 1, view 2) pairs    | none   |
        +---------------------------+--------+

    Example:
        ::

            from datasets import Dataset
            from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
            from sct.losses import SCTLoss

            model = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")
            data = Dataset.from_dict({"view_1": ["A man plays a guitar."], "view_2": ["A man is playing guitar."]})
            loss = SCTLoss(model, queue_size=16384, online_temperature=0.04, reference_temperature=0.03)
            SentenceTransformerTrainer(model=model, train_dataset=data, loss=loss).train()
    """

    def __init__(
        self,
        model: SentenceTransformer,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        online_temperature: float = DEFAULT_ONLINE_TEMPERATURE,
        reference_temperature: float = DEFAULT_REFERENCE_TEMPERATURE,
        head_expansion: int = DEFAULT_HEAD_EXPANSION,
        seed: int = 0,
        ablation: str = "none",
        reference_momentum: float = REFERENCE_MOMENTUM,
    ) -> None:
        super().__init__()
        validate_sct_hyperparameters(queue_size, online_temperature, reference_temperature, head_expansion)
        if ablation not in ABLATIONS:
            raise ValueError(f"ablation must be one of {', '.join(ABLATIONS)}, got {ablation!r}")
        dim = model.get_embedding_dimension()
        if dim is None:
            raise ValueError("the model does not report its sentence embedding dimension")
        self.model = model
        self.queue_size = queue_size
        self.online_temperature = online_temperature
        self.reference_temperature = reference_temperature
        self.head_expansion = head_expansion
        if not 0 <= reference_momentum <= 1:
            raise ValueError(f"reference_momentum must be in [0, 1], got {reference_momentum}")
        self.ablation = ablation
        self.reference_momentum = reference_momentum
        self.head = nn.Identity() if ablation == "no-head" else ProjectionHead(dim, head_expansion)
        self.queue_1 = InstanceQueue(queue_size, dim, seed=seed)
        self.queue_2 = InstanceQueue(queue_size, dim, seed=seed + 1)
        # momentum-reference: a frozen copy that only follows the encoder by EMA; part of the loss state
        # (saved with checkpoints), never optimised (the trainer skips parameters without requires_grad)
        self.reference_model = copy.deepcopy(model) if ablation == "momentum-reference" else None
        if self.reference_model is not None:
            self.reference_model.requires_grad_(False)

    def _follow_encoder(self) -> SentenceTransformer:
        """The reference encoder for this step: the encoder itself, or its EMA copy advanced by one step."""
        if self.reference_model is None:
            return self.model
        if torch.is_grad_enabled() and self.reference_momentum < 1:  # a training step: ref <- m ref + (1 - m) online
            with torch.no_grad():
                for ref, online in zip(self.reference_model.parameters(), self.model.parameters(), strict=True):
                    ref.lerp_(online.detach(), 1.0 - self.reference_momentum)
        self.reference_model.train(self.model.training)  # dropout as in the plain reference branch
        return self.reference_model

    def fill_queues(self, rows: Tensor) -> None:
        """Start D1 from ``rows[:k]`` and D2 from ``rows[k:2k]`` instead of random vectors (``--queue-init``)."""
        fill_pair(self.queue_1, self.queue_2, rows)

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None) -> Tensor:
        features = two_columns(sentence_features, "SCTLoss")
        return self.from_embeddings(embed_columns(self.model, features, False), features)

    def from_embeddings(self, embeddings: list[Tensor], features: list[dict[str, Tensor]]) -> Tensor:
        """L_SCT given the encoder's (grad-carrying) embeddings of both views, so a joint loss shares that pass."""
        online_1, online_2 = (F.normalize(self.head(e), p=2, dim=1) for e in embeddings)
        reference_1, reference_2 = reference_embeddings(self._follow_encoder(), features)
        newest_1, newest_2 = gather_rows(reference_1), gather_rows(reference_2)  # the global batch under DDP
        check_batch(newest_1.shape[0], self.queue_size)
        queue_1, queue_2 = scored_queues(self.queue_1, self.queue_2, self.ablation)
        loss = cross_view_loss(
            online_1, online_2, reference_1, reference_2, queue_1, queue_2, self.online_temperature,
            self.reference_temperature, newest_1, newest_2, self.ablation,
        )  # fmt: skip
        check_finite(loss, "L_SCT")  # before the queues take this step's references
        advance_queues(self.queue_1, self.queue_2, newest_1, newest_2, self.ablation)
        return loss

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "queue_size": self.queue_size,
            "online_temperature": self.online_temperature,
            "reference_temperature": self.reference_temperature,
            "head_expansion": self.head_expansion,
            "ablation": self.ablation,
            **({"reference_momentum": self.reference_momentum} if self.ablation == "momentum-reference" else {}),
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
