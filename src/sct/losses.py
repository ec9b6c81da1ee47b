"""SCT as a sentence-transformers loss module, trained by ``SentenceTransformerTrainer``."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.losses.merged_forward import embed_columns
from torch import Tensor, nn

from sct.distributed import gather_rows
from sct.head import ProjectionHead
from sct.objective import ABLATIONS, cross_view_loss, queue_info_nce, queue_kl
from sct.queue import InstanceQueue

DISTILL_METHODS = ("cd", "mse", "congen", "ckd")
# the ablations that change L_CD too (its form and its teacher queues); the others act on L_SCT alone
CD_ABLATIONS = ("contrastive", "identical-view", "one-queue", "frozen-queue", "no-queue")
REFERENCE_MOMENTUM = 0.99  # the momentum-reference ablation's EMA rate per step (time constant ~100 steps)


MAX_QUEUE_SIZE = 1 << 22  # 2 x 4.2M x 768 floats is already 25 GiB


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
    elif queue_size > MAX_QUEUE_SIZE:  # two queues of this many rows would not fit in memory
        problems.append(f"queue size must be <= {MAX_QUEUE_SIZE:,} (the paper's largest: 131,072), got {queue_size:,}")
    if head_expansion < 1:
        problems.append(f"head expansion must be >= 1, got {head_expansion}")
    if problems:
        raise ValueError("; ".join(problems))


def distillation_ablation_problem(ablation: str, method: str, sct_weight: float) -> str | None:
    """Why an ablation cannot apply to this distillation loss (None if it can): it must change some term."""
    if ablation not in ABLATIONS:
        return f"ablation must be one of {', '.join(ABLATIONS)}, got {ablation!r}"
    if ablation == "none" or sct_weight > 0 or (method == "cd" and ablation in CD_ABLATIONS):
        return None
    return (
        f"ablation {ablation} acts on L_SCT"
        + (" (and on L_CD only for " + ", ".join(CD_ABLATIONS) + ")" if method == "cd" else "")
        + ", which an SCT weight of 0 leaves out"
    )


def _two_columns(sentence_features: Iterable[dict[str, Tensor]], loss_name: str) -> list[dict[str, Tensor]]:
    features = list(sentence_features)
    if len(features) != 2:
        raise ValueError(f"{loss_name} needs exactly two input columns (view 1, view 2), got {len(features)}")
    return features


def _check_batch(batch: int, queue_size: int) -> None:
    if batch > queue_size:
        raise ValueError(f"batch of {batch} is larger than the queue size {queue_size} (need k >= B)")


def reference_embeddings(model: SentenceTransformer, features: list[dict[str, Tensor]]) -> list[Tensor]:
    """The stop-gradient reference branch: its own forward pass (dropout active), L2-normalised, float32."""
    with torch.no_grad():
        # Shallow copies: a per-column forward writes its outputs into the feature dict it gets.
        fresh = [dict(f) for f in features]
        return [F.normalize(e.float(), p=2, dim=1) for e in embed_columns(model, fresh, False)]


def _scored_queues(queue_1: InstanceQueue, queue_2: InstanceQueue, ablation: str) -> tuple[Tensor, Tensor]:
    """The queues one step scores against, as the queue ablations change them (Table 4)."""
    scored_1 = queue_1.embeddings
    scored_2 = scored_1 if ablation == "one-queue" else queue_2.embeddings
    if ablation == "no-queue":
        return scored_1[:0], scored_2[:0]
    return scored_1, scored_2


def _advance_queues(
    queue_1: InstanceQueue, queue_2: InstanceQueue, newest_1: Tensor, newest_2: Tensor, ablation: str
) -> None:
    """Enqueue this step's references on steps that build a graph (one queue takes both views; none, frozen)."""
    if not torch.is_grad_enabled() or ablation in ("frozen-queue", "no-queue"):
        return
    if ablation == "one-queue":
        queue_1.enqueue(newest_1)
        queue_1.enqueue(newest_2)
    else:
        queue_1.enqueue(newest_1)
        queue_2.enqueue(newest_2)


def _fill_pair(queue_1: InstanceQueue, queue_2: InstanceQueue, rows: Tensor) -> None:
    """Fill two queues of size k from 2k rows: different rows for each."""
    k = queue_1.size
    if rows.shape[0] != 2 * k:
        raise ValueError(f"filling two queues of {k} needs {2 * k} rows, got {rows.shape[0]}")
    queue_1.fill(rows[:k])
    queue_2.fill(rows[k:])


class NonFiniteLoss(FloatingPointError):
    """The loss came out NaN or infinite; training stops before this step's update."""


def _check_finite(loss: Tensor, name: str) -> Tensor:
    if not bool(torch.isfinite(loss.detach())):
        raise NonFiniteLoss(f"{name} is {loss.item()}")
    return loss


class _LossState(nn.Module):
    """The loss's own state (heads, queues and their pointers) without the encoder, saved with checkpoints."""

    def loss_state_dict(self) -> dict[str, Tensor]:
        """Everything but the trained encoder itself (``model``, also inside a nested loss such as ``sct``)."""
        nested = (f"{name}.model." for name, child in self.named_children() if isinstance(child, _LossState))
        encoders = ("model.", *nested)
        return {k: v for k, v in self.state_dict().items() if not k.startswith(encoders)}

    def load_loss_state_dict(self, state: dict[str, Tensor]) -> None:
        missing = set(self.loss_state_dict()) - set(state)
        if missing:
            raise ValueError(f"loss state is missing {sorted(missing)}")
        self.load_state_dict(state, strict=False)


class SCTLoss(_LossState):
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
        ablation: str = "none",
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
        self.ablation = ablation
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
        if torch.is_grad_enabled():  # a training step: ref <- m ref + (1 - m) online
            with torch.no_grad():
                for ref, online in zip(self.reference_model.parameters(), self.model.parameters(), strict=True):
                    ref.lerp_(online.detach(), 1.0 - REFERENCE_MOMENTUM)
        self.reference_model.train(self.model.training)  # dropout as in the plain reference branch
        return self.reference_model

    def fill_queues(self, rows: Tensor) -> None:
        """Start D1 from ``rows[:k]`` and D2 from ``rows[k:2k]`` instead of random vectors (``--queue-init``)."""
        _fill_pair(self.queue_1, self.queue_2, rows)

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None) -> Tensor:
        features = _two_columns(sentence_features, "SCTLoss")
        return self.from_embeddings(embed_columns(self.model, features, False), features)

    def from_embeddings(self, embeddings: list[Tensor], features: list[dict[str, Tensor]]) -> Tensor:
        """L_SCT given the encoder's (grad-carrying) embeddings of both views, so a joint loss shares that pass."""
        online_1, online_2 = (F.normalize(self.head(e), p=2, dim=1) for e in embeddings)
        reference_1, reference_2 = reference_embeddings(self._follow_encoder(), features)
        newest_1, newest_2 = gather_rows(reference_1), gather_rows(reference_2)  # the global batch under DDP
        _check_batch(newest_1.shape[0], self.queue_size)
        queue_1, queue_2 = _scored_queues(self.queue_1, self.queue_2, self.ablation)
        loss = cross_view_loss(
            online_1, online_2, reference_1, reference_2, queue_1, queue_2, self.online_temperature,
            self.reference_temperature, newest_1, newest_2, self.ablation,
        )  # fmt: skip
        _check_finite(loss, "L_SCT")  # before the queues take this step's references
        _advance_queues(self.queue_1, self.queue_2, newest_1, newest_2, self.ablation)
        return loss

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "queue_size": self.queue_size,
            "online_temperature": self.online_temperature,
            "reference_temperature": self.reference_temperature,
            "head_expansion": self.head_expansion,
            "ablation": self.ablation,
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


class DistillationLoss(_LossState):
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
    """

    def __init__(
        self,
        model: SentenceTransformer,
        teacher: Any,
        method: str = "cd",
        distill_weight: float = 1.0,
        sct_weight: float = 1.0,
        queue_size: int = 65536,
        online_temperature: float = 0.05,
        reference_temperature: float = 0.04,
        head_expansion: int = 10,
        ckd_temperature: float = 0.05,
        seed: int = 0,
        ablation: str = "none",
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
        # the teacher cache records whether its rows are unit vectors; L_MSE compares in that scale
        self.mse_form = "unit-sphere" if teacher.manifest.get("normalize", True) else "raw"
        self.sct = (
            SCTLoss(model, queue_size, online_temperature, reference_temperature, head_expansion, seed, ablation)
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
            _fill_pair(self.teacher_queue_1, self.teacher_queue_2, rows)
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
            return _check_finite(self._mse(student_1, teacher_1) + self._mse(student_2, teacher_2), "L_mse")
        s1, s2 = F.normalize(student_1, p=2, dim=1), F.normalize(student_2, p=2, dim=1)
        t1, t2 = F.normalize(teacher_1, p=2, dim=1), F.normalize(teacher_2, p=2, dim=1)
        all_t1, all_t2 = gather_rows(t1), gather_rows(t2)  # every process's teacher rows under DDP
        _check_batch(all_t1.shape[0], self.queue_size)
        if self.method == "cd":
            ablation = self.ablation if self.ablation in CD_ABLATIONS else "none"
            q1, q2 = _scored_queues(self.teacher_queue_1, self.teacher_queue_2, ablation)
            t_on, t_ref = self.online_temperature, self.reference_temperature
            loss = _check_finite(cross_view_loss(s1, s2, t1, t2, q1, q2, t_on, t_ref, all_t1, all_t2, ablation), "L_CD")
            _advance_queues(self.teacher_queue_1, self.teacher_queue_2, all_t1, all_t2, ablation)
            return loss
        queue = self.teacher_queue
        if self.method == "congen":
            t_on, t_ref = self.online_temperature, self.reference_temperature
            loss = queue_kl(s1, t1, queue.embeddings, t_on, t_ref, all_t1)
            loss = loss + queue_kl(s2, t2, queue.embeddings, t_on, t_ref, all_t2)
        else:
            t = self.ckd_temperature
            loss = queue_info_nce(s1, t1, queue.embeddings, t) + queue_info_nce(s2, t2, queue.embeddings, t)
        _check_finite(loss, f"L_{self.method}")
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
        features = _two_columns(sentence_features, "DistillationLoss")
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
