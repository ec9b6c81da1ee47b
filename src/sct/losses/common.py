"""What both losses share: hyper-parameter checks, queue plumbing, the finite-loss guard, and the state a
checkpoint keeps."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.losses.merged_forward import embed_columns
from torch import Tensor, nn

from sct.queue import InstanceQueue

# The defaults of both losses and of TrainConfig: Table 1's BERT-Tiny row (k, tau_ref, tau_theta) and w = 10.
DEFAULT_QUEUE_SIZE = 131072
DEFAULT_ONLINE_TEMPERATURE = 0.04
DEFAULT_REFERENCE_TEMPERATURE = 0.03
DEFAULT_HEAD_EXPANSION = 10
DISTILL_METHODS = ("cd", "mse", "congen", "ckd")
# the ablations that change L_CD too (its form and its teacher queues); the others act on L_SCT alone
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


def two_columns(sentence_features: Iterable[dict[str, Tensor]], loss_name: str) -> list[dict[str, Tensor]]:
    features = list(sentence_features)
    if len(features) != 2:
        raise ValueError(f"{loss_name} needs exactly two input columns (view 1, view 2), got {len(features)}")
    return features


def check_batch(batch: int, queue_size: int) -> None:
    if batch > queue_size:
        raise ValueError(f"batch of {batch} is larger than the queue size {queue_size} (need k >= B)")


def reference_embeddings(model: SentenceTransformer, features: list[dict[str, Tensor]]) -> list[Tensor]:
    """The stop-gradient reference branch: its own forward pass (dropout active), L2-normalised, float32."""
    with torch.no_grad():
        # Shallow copies: a per-column forward writes its outputs into the feature dict it gets.
        fresh = [dict(f) for f in features]
        return [F.normalize(e.float(), p=2, dim=1) for e in embed_columns(model, fresh, False)]


def scored_queues(queue_1: InstanceQueue, queue_2: InstanceQueue, ablation: str) -> tuple[Tensor, Tensor]:
    """The queues one step scores against, as the queue ablations change them (Table 4)."""
    scored_1 = queue_1.embeddings
    scored_2 = scored_1 if ablation == "one-queue" else queue_2.embeddings
    if ablation == "no-queue":
        return scored_1[:0], scored_2[:0]
    return scored_1, scored_2


def advance_queues(
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


def fill_pair(queue_1: InstanceQueue, queue_2: InstanceQueue, rows: Tensor) -> None:
    """Fill two queues of size k from 2k rows: different rows for each."""
    k = queue_1.size
    if rows.shape[0] != 2 * k:
        raise ValueError(f"filling two queues of {k} needs {2 * k} rows, got {rows.shape[0]}")
    queue_1.fill(rows[:k])
    queue_2.fill(rows[k:])


class NonFiniteLoss(FloatingPointError):
    """The loss came out NaN or infinite; training stops before this step's update."""


def check_finite(loss: Tensor, name: str) -> Tensor:
    if not bool(torch.isfinite(loss.detach())):
        raise NonFiniteLoss(f"{name} is {loss.item()}")
    return loss


class LossState(nn.Module):
    """The loss's own state (heads, queues and their pointers) without the encoder, saved with checkpoints."""

    def loss_state_dict(self) -> dict[str, Tensor]:
        """Everything but the trained encoder itself (``model``, also inside a nested loss such as ``sct``)."""
        nested = (f"{name}.model." for name, child in self.named_children() if isinstance(child, LossState))
        encoders = ("model.", *nested)
        return {k: v for k, v in self.state_dict().items() if not k.startswith(encoders)}

    def load_loss_state_dict(self, state: dict[str, Tensor]) -> None:
        missing = set(self.loss_state_dict()) - set(state)
        if missing:
            raise ValueError(f"loss state is missing {sorted(missing)}")
        self.load_state_dict(state, strict=False)
