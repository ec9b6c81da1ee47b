"""L_SCT + L_CD (paper eq. 3-4) and Table 7's baselines as a sentence-transformers loss module."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.losses.merged_forward import embed_columns
from torch import Tensor

from sct.ablations import CD_ABLATIONS, distillation_ablation_problem
from sct.distributed import gather_rows
from sct.losses.common import (
    DEFAULT_HEAD_EXPANSION,
    DEFAULT_ONLINE_TEMPERATURE,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_REFERENCE_TEMPERATURE,
    DISTILL_METHODS,
    REFERENCE_MOMENTUM,
    LossState,
    advance_queues,
    check_batch,
    check_finite,
    fill_pair,
    scored_queues,
    two_columns,
    validate_sct_hyperparameters,
)
from sct.losses.sct_loss import SCTLoss
from sct.objective import cross_view_loss, queue_info_nce, queue_kl
from sct.queue import InstanceQueue


class DistillationLoss(LossState):
    """``w_distill * L_distill + w_sct * L_SCT`` over two views, with a teacher's cached embeddings.

    ``sentence_features = [view 1, view 2]`` and ``labels`` = the training-pair indices, which look up
    the teacher's embeddings of both views. The student's embeddings (one grad-carrying pass, no
    head) must already have the teacher's dimension (``sct distill`` appends Dense(d_s -> d_t, tanh)
    to the student when they differ). ``L_distill`` is one of

    - ``cd`` (paper eq. 4): ``cross_view_loss`` with the teacher as reference, the student as online
      branch, and two teacher-dimension queues of past teacher embeddings (one per view);
    - ``mse``: squared distance between the L2-normalised student embedding and the (normalised) teacher
      embedding, summed over dimensions (``2 - 2 cos``); the raw per-coordinate MSE when the teacher cache
      holds unnormalised embeddings;
    - ``congen`` (Limkonchotiwat et al., 2022): per view, KL between the teacher's and the student's
      similarity distributions over one queue of teacher embeddings (the same view on both sides);
    - ``ckd`` (contrastive distillation): per view, InfoNCE with the teacher's embedding of the same
      sentence as positive and the teacher queue as negatives.

    For ``congen`` and ``ckd`` both views' terms are summed (as SCT sums its two KL terms) and both
    views' teacher embeddings then enter the one queue. With ``sct_weight > 0`` the self-supervised
    L_SCT (eq. 3) is added with its own head and queues, sharing the student's online pass. The loss
    returns its weighted components as a dict, which the trainer sums and logs separately.

    ``ablation`` (Table 6, the ablations of SCT distillation) changes L_SCT as in ``SCTLoss``; the
    ones in ``CD_ABLATIONS`` (the loss form and the queues) change L_CD the same way, since L_CD is
    ``cross_view_loss`` with the teacher as reference. L_CD has no head, and its reference is the
    teacher, so ``no-head`` and ``momentum-reference`` act on L_SCT alone.

    Args:
        model: the student, already of the teacher's width (``sct distill`` appends a Dense projection).
        teacher: the cached teacher embeddings (``sct.teacher.teacher_embeddings``): ``dim`` and a row lookup
            by training-pair index for each view.
        method: ``cd`` (L_CD, eq. 4), or a Table 7 baseline: ``mse``, ``congen``, ``ckd``.
        distill_weight: weight of the distillation term.
        sct_weight: weight of L_SCT (0: the distillation term alone).
        queue_size, online_temperature, reference_temperature, head_expansion: as in ``SCTLoss``, shared by
            L_SCT and the teacher queues.
        ckd_temperature: the InfoNCE temperature of ``ckd``.
        seed: seeds the head and the random initial queue rows.
        ablation: a Table 6 ablation (see above).
        reference_momentum: L_SCT's EMA rate under ``momentum-reference``, as in ``SCTLoss``.

    References:
        Limkonchotiwat et al., TACL 2023 (eq. 3-4, Tables 6-7); ConGen: Limkonchotiwat et al., EMNLP 2022
        Findings; CKD: Wu et al., 2021.

    Inputs:
        +---------------------------+------------------------------------------------------------------+
        | Texts                     | Labels                                                           |
        +===========================+==================================================================+
        | (view 1, view 2) pairs    | the pair's index into the teacher cache (``label`` column), int  |
        +---------------------------+------------------------------------------------------------------+

    Example:
        ::

            from sct.config import TrainConfig
            from sct.training import distill

            distill(TrainConfig("sentences.txt", "runs/d-l2", model="sentence-transformers/all-MiniLM-L6-v2",
                                student_layers=2, views="identical", objective="distill",
                                teacher="sentence-transformers/all-MiniLM-L6-v2", sct_weight=0.0))
    """

    def __init__(
        self,
        model: SentenceTransformer,
        teacher: Any,
        method: str = "cd",
        distill_weight: float = 1.0,
        sct_weight: float = 1.0,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        online_temperature: float = DEFAULT_ONLINE_TEMPERATURE,
        reference_temperature: float = DEFAULT_REFERENCE_TEMPERATURE,
        head_expansion: int = DEFAULT_HEAD_EXPANSION,
        ckd_temperature: float = 0.05,
        seed: int = 0,
        ablation: str = "none",
        reference_momentum: float = REFERENCE_MOMENTUM,
    ) -> None:
        super().__init__()
        if method not in DISTILL_METHODS:
            raise ValueError(f"distillation loss must be one of {', '.join(DISTILL_METHODS)}, got {method!r}")
        problem = distillation_ablation_problem(ablation, method, sct_weight)
        if problem:
            raise ValueError(problem)
        if distill_weight <= 0 or sct_weight < 0:
            raise ValueError(f"need distill weight > 0 and SCT weight >= 0, got {distill_weight}, {sct_weight}")
        validate_sct_hyperparameters(queue_size, online_temperature, reference_temperature, head_expansion)
        if ckd_temperature <= 0:
            raise ValueError(f"CKD temperature must be > 0, got {ckd_temperature}")
        dim = model.get_embedding_dimension()
        if dim != teacher.dim:
            raise ValueError(
                f"student embeddings are {dim}-d but the teacher's are {teacher.dim}-d: end the student in a "
                "Dense projection to the teacher's dimension"
            )
        self.model = model
        self.teacher = teacher
        self.method = method
        self.distill_weight = distill_weight
        self.sct_weight = sct_weight
        self.queue_size = queue_size
        self.online_temperature = online_temperature
        self.reference_temperature = reference_temperature
        self.head_expansion = head_expansion
        self.ckd_temperature = ckd_temperature
        self.ablation = ablation
        self.reference_momentum = reference_momentum
        # the teacher cache records whether its rows are unit vectors; L_MSE compares in that scale
        self.mse_form = "unit-sphere" if teacher.manifest.get("normalize", True) else "raw"
        self.sct = (
            SCTLoss(
                model,
                queue_size,
                online_temperature,
                reference_temperature,
                head_expansion,
                seed,
                ablation,
                reference_momentum,
            )
            if sct_weight > 0
            else None
        )
        if method == "cd":
            self.teacher_queue_1 = InstanceQueue(queue_size, teacher.dim, seed=seed + 2)
            self.teacher_queue_2 = InstanceQueue(queue_size, teacher.dim, seed=seed + 3)
        elif method in ("congen", "ckd"):
            self.teacher_queue = InstanceQueue(queue_size, teacher.dim, seed=seed + 2)

    def teacher_queue_rows(self) -> int:
        """How many held-out teacher embeddings fill the teacher queues (0: this loss keeps none)."""
        if self.method == "cd":
            return 2 * self.queue_size
        return self.queue_size if self.method in ("congen", "ckd") else 0

    def fill_teacher_queues(self, rows: Tensor) -> None:
        """Start the teacher queues from the teacher's embeddings of held-out sentences (``--teacher-queue-init``)."""
        if self.method == "cd":
            fill_pair(self.teacher_queue_1, self.teacher_queue_2, rows)
        elif self.method in ("congen", "ckd"):
            self.teacher_queue.fill(rows)
        else:
            raise ValueError(f"the {self.method} loss has no teacher queue to fill")

    def _teacher_batch(self, labels: Tensor | None, batch: int, device: torch.device) -> tuple[Tensor, Tensor]:
        if labels is None or labels.dim() != 1 or labels.shape[0] != batch:
            raise ValueError("DistillationLoss needs the training-pair indices as labels (one per example)")
        view_1, view_2 = self.teacher.lookup(labels.detach().cpu().numpy())
        return torch.from_numpy(view_1).to(device), torch.from_numpy(view_2).to(device)

    def distillation_term(self, student_1: Tensor, student_2: Tensor, teacher_1: Tensor, teacher_2: Tensor) -> Tensor:
        """The unweighted distillation loss; advances the teacher queues on steps that build a graph."""
        if self.method == "mse":
            return check_finite(self._mse(student_1, teacher_1) + self._mse(student_2, teacher_2), "L_mse")
        s1, s2 = F.normalize(student_1, p=2, dim=1), F.normalize(student_2, p=2, dim=1)
        t1, t2 = F.normalize(teacher_1, p=2, dim=1), F.normalize(teacher_2, p=2, dim=1)
        all_t1, all_t2 = gather_rows(t1), gather_rows(t2)  # every process's teacher rows under DDP
        check_batch(all_t1.shape[0], self.queue_size)
        if self.method == "cd":
            ablation = self.ablation if self.ablation in CD_ABLATIONS else "none"
            q1, q2 = scored_queues(self.teacher_queue_1, self.teacher_queue_2, ablation)
            t_on, t_ref = self.online_temperature, self.reference_temperature
            loss = check_finite(cross_view_loss(s1, s2, t1, t2, q1, q2, t_on, t_ref, all_t1, all_t2, ablation), "L_CD")
            advance_queues(self.teacher_queue_1, self.teacher_queue_2, all_t1, all_t2, ablation)
            return loss
        queue = self.teacher_queue
        if self.method == "congen":
            t_on, t_ref = self.online_temperature, self.reference_temperature
            loss = queue_kl(s1, t1, queue.embeddings, t_on, t_ref, all_t1)
            loss = loss + queue_kl(s2, t2, queue.embeddings, t_on, t_ref, all_t2)
        else:
            t = self.ckd_temperature
            loss = queue_info_nce(s1, t1, queue.embeddings, t) + queue_info_nce(s2, t2, queue.embeddings, t)
        check_finite(loss, f"L_{self.method}")
        if torch.is_grad_enabled():
            queue.enqueue(all_t1)
            queue.enqueue(all_t2)
        return loss

    def _mse(self, student: Tensor, teacher: Tensor) -> Tensor:
        """L_MSE of one view, in the teacher's scale.

        A normalised teacher lies on the unit sphere while the student's raw mean-pooled embedding does not
        (its norm is about 6 for the 2-layer MiniLM cut), so the student is normalised too and the squared
        distance is summed over dimensions: ``||s/|s| - t||^2 = 2 - 2 cos(s, t)``, of the same order as the
        other losses. An unnormalised teacher (``--no-teacher-normalize``) keeps the raw per-coordinate MSE.
        """
        if self.mse_form == "raw":
            return F.mse_loss(student.float(), teacher)
        return (F.normalize(student.float(), p=2, dim=1) - teacher).pow(2).sum(dim=1).mean()

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None
    ) -> dict[str, Tensor]:
        features = two_columns(sentence_features, "DistillationLoss")
        student_1, student_2 = embed_columns(self.model, features, False)
        teacher_1, teacher_2 = self._teacher_batch(labels, student_1.shape[0], student_1.device)
        losses = {
            f"loss_{self.method}": self.distill_weight
            * self.distillation_term(student_1, student_2, teacher_1, teacher_2)
        }
        if self.sct is not None:
            losses["loss_sct"] = self.sct_weight * self.sct.from_embeddings([student_1, student_2], features)
        return losses

    def get_config_dict(self) -> dict[str, Any]:
        return {
            **SCTLoss.get_config_dict(self),
            "method": self.method,
            "distill_weight": self.distill_weight,
            "sct_weight": self.sct_weight,
            "ckd_temperature": self.ckd_temperature,
            **({"mse_form": self.mse_form} if self.method == "mse" else {}),
            "teacher": self.teacher.manifest.get("teacher"),
            "teacher_cache": str(self.teacher.directory),
        }
