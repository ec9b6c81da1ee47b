"""The SCT objective as a pure function (paper eq. 1-2, authors' released code semantics)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_WORKSPACE: dict[str, Tensor] = {}


def _workspace(name: str, shape: tuple[int, ...], like: Tensor) -> Tensor:
    """A buffer reused across steps (replaced when shape, dtype or device change); contents are scratch."""
    buffer = _WORKSPACE.get(name)
    if buffer is None or buffer.shape != shape or buffer.dtype != like.dtype or buffer.device != like.device:
        buffer = _WORKSPACE[name] = torch.empty(shape, dtype=like.dtype, device=like.device)
    return buffer


def _full_precision(x: Tensor) -> Tensor:
    """float16/bfloat16 -> float32; float32 and float64 stay as they are."""
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


class _QueueKL(torch.autograd.Function):
    """KL(softmax(reference D'^T / t_ref) || softmax(online D'^T / t_on)) with batchmean, D' = [D; newest].

    ``newest`` is this step's references: the rows of ``reference`` in one process, every process's
    references (gathered) under data parallelism, so each process scores the same global D'.

    The gradient with respect to ``online`` has a closed form, (softmax(online D'^T / t_on) - target)
    D' / (B t_on), and is computed here in the forward pass. Backward then needs neither the queue nor
    any B x k intermediate, so the queue may be updated in place right after the forward (a ring
    buffer with no per-step copy). Two products with D' per term (both score matrices in one, then the
    gradient); the temperatures scale the B x d inputs, not the B x k scores; each softmax needs one
    exp pass, and everything B x k runs in place in buffers kept between steps (``_workspace``), since
    allocating (and page-faulting) fresh B x k tensors every step cost as much as the products.
    """

    @staticmethod
    def forward(
        ctx, online: Tensor, reference: Tensor, queue: Tensor, newest: Tensor, t_on: float, t_ref: float
    ) -> Tensor:
        batch, size = online.shape[0], queue.shape[0] + newest.shape[0]
        keys = torch.cat((queue, newest), out=_workspace("keys", (size, queue.shape[1]), queue))  # D'
        # both score matrices in one product (D' is read once): rows [online / t_on; reference / t_ref]
        scaled = torch.cat((online * (1.0 / t_on), reference * (1.0 / t_ref)))
        scores = torch.mm(scaled, keys.T, out=_workspace("scores", (2 * batch, size), online))
        z_on, z_ref = scores[:batch], scores[batch:]
        z_on.sub_(z_on.amax(1, keepdim=True))  # shifted scores; every row's largest is 0
        z_ref.sub_(z_ref.amax(1, keepdim=True))
        target = torch.exp(z_ref, out=_workspace("target", (batch, size), online))  # unnormalised
        target_sum = target.sum(1)
        # KL per row = sum_j t_j (log t_j - log o_j) = sum_j e_j (z_ref_j - z_on_j) / s_ref + log s_on - log s_ref
        weighted = z_ref.sub_(z_on).mul_(target).sum(1)
        online_exp = z_on.exp_()
        online_sum = online_exp.sum(1)
        loss = (weighted / target_sum + online_sum.log() - target_sum.log()).sum() / batch
        if ctx.needs_input_grad[0]:
            scale = 1.0 / (batch * t_on)  # (softmax(online) - target) / (B t_on), in two passes
            coefficients = online_exp.mul_((scale / online_sum)[:, None])
            coefficients.addcmul_(target, (scale / target_sum)[:, None], value=-1.0)
            ctx.save_for_backward(coefficients @ keys)
        return loss

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        (grad_online,) = ctx.saved_tensors
        return grad_output * grad_online, None, None, None, None, None


class _QueueInfoNCE(torch.autograd.Function):
    """Mean over the batch of -log softmax([a.p, a Q^T] / t)[0]: InfoNCE with the queue as negatives.

    As in ``_QueueKL``, the gradient with respect to the anchor, ((softmax - onehot_0) [p; Q]) / (B t),
    is formed in the forward pass so the queue may be updated in place right afterwards.
    """

    @staticmethod
    def forward(ctx, anchor: Tensor, positive: Tensor, queue: Tensor, t: float) -> Tensor:
        batch = anchor.shape[0]
        logits = torch.cat(((anchor * positive).sum(1, keepdim=True), anchor @ queue.T), 1) / t
        log_probs = F.log_softmax(logits, 1)
        loss = -log_probs[:, 0].sum() / batch
        if ctx.needs_input_grad[0]:
            coeff = log_probs.exp()
            coeff[:, 0] -= 1
            coeff /= batch * t
            ctx.save_for_backward(coeff[:, :1] * positive + coeff[:, 1:] @ queue)
        return loss

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        (grad_anchor,) = ctx.saved_tensors
        return grad_output * grad_anchor, None, None, None


def _check_temperatures(**temperatures: float) -> None:
    bad = {name: t for name, t in temperatures.items() if t <= 0}
    if bad:
        raise ValueError("temperatures must be > 0, got " + ", ".join(f"{n} {t}" for n, t in bad.items()))


def queue_kl(
    online: Tensor,
    reference: Tensor,
    queue: Tensor,
    online_temperature: float,
    reference_temperature: float,
    newest: Tensor | None = None,
) -> Tensor:
    """One similarity-distribution term, KL(softmax(reference D'^T / t_ref) || softmax(online D'^T / t_on)).

    ``D' = [queue; newest]`` with ``newest`` this step's references, by default ``reference`` itself
    (the references are appended as the newest entries, as in the authors' code; under data
    parallelism ``newest`` is every process's references) and the KL has ``batchmean`` reduction.
    ``cross_view_loss`` is two of these with the views crossed; ConGen's distillation loss is one per
    view with the teacher as reference.
    Same precision and gradient rules as ``cross_view_loss``.

    Args:
        online: B x d online embeddings (the branch that learns), L2-normalised.
        reference: B x d reference embeddings of the other view (no gradient), L2-normalised.
        queue: k x d queue rows, L2-normalised.
        online_temperature: tau_theta.
        reference_temperature: tau_ref.
        newest: the rows appended to the queue for this step (default ``reference``).

    Returns:
        A scalar tensor (float32, or float64 for float64 inputs) whose gradient reaches ``online`` only.
    """
    _check_temperatures(online=online_temperature, reference=reference_temperature)
    with torch.autocast(device_type=online.device.type, enabled=False):
        return _QueueKL.apply(
            _full_precision(online),
            _full_precision(reference.detach()),
            _full_precision(queue.detach()),
            _full_precision((reference if newest is None else newest).detach()),
            online_temperature,
            reference_temperature,
        )


def queue_info_nce(anchor: Tensor, positive: Tensor, queue: Tensor, temperature: float) -> Tensor:
    """Contrastive distillation (CKD): the teacher's embedding of the same sentence is the positive.

    ``loss = mean_b -log( exp(a_b.p_b / t) / (exp(a_b.p_b / t) + sum_j exp(a_b.q_j / t)) )`` with the
    queue rows ``q_j`` (past teacher embeddings) as negatives; inputs L2-normalised. No gradient reaches
    ``positive`` or ``queue``; computed in float32 like the other objectives.

    Args:
        anchor: B x d student embeddings.
        positive: B x d embeddings of the same sentences (the teacher's, or the other view's reference).
        queue: k x d negatives.
        temperature: the InfoNCE temperature.

    Returns:
        The mean InfoNCE loss over the batch, a scalar tensor.
    """
    _check_temperatures(temperature=temperature)
    with torch.autocast(device_type=anchor.device.type, enabled=False):
        return _QueueInfoNCE.apply(
            _full_precision(anchor),
            _full_precision(positive.detach()),
            _full_precision(queue.detach()),
            temperature,
        )


def cross_view_loss(
    online_1: Tensor,
    online_2: Tensor,
    reference_1: Tensor,
    reference_2: Tensor,
    queue_1: Tensor,
    queue_2: Tensor,
    online_temperature: float,
    reference_temperature: float,
    newest_1: Tensor | None = None,
    newest_2: Tensor | None = None,
    ablation: str = "none",
) -> Tensor:
    """SCT's cross-view similarity-distribution loss for one step (or a Table 4 ablation of its form).

    All inputs are L2-normalised: ``online_i`` and ``reference_i`` are B x d embeddings of view i,
    ``queue_i`` is the k x d instance queue D_i as it stands before this step. As in the authors'
    released code, each queue is scored with its own view's current references appended as the newest
    entries, D1' = [D1; reference_1] and D2' = [D2; reference_2], and

        c_ref1 = softmax(reference_1 D1'^T / t_ref),  c_on2 = log_softmax(online_2 D1'^T / t_on)
        c_ref2 = softmax(reference_2 D2'^T / t_ref),  c_on1 = log_softmax(online_1 D2'^T / t_on)
        loss   = KL(c_ref1 || c_on2) + KL(c_ref2 || c_on1)

    each KL with ``batchmean`` reduction (sum over all entries / B). The paper (eq. 2) weighs the two
    terms 1/2 each; the released code sums them, and so do we (the factor 2 only rescales the gradient,
    which AdamW's step size largely absorbs).

    No gradient reaches the references or the queues (they are detached here). The loss is a sum over
    queue entries, so any fixed permutation of a queue's rows (a ring buffer's storage order) gives
    the same value. It is computed in float32 (float64 inputs stay float64) even under autocast:
    temperatures of 0.01 give logits of 100, which half precision cannot softmax faithfully. The
    gradient is formed in closed form during the forward pass (see ``_QueueKL``), so callers may
    update the queues in place as soon as this returns. Under data parallelism ``newest_i`` holds every
    process's references of view i (this process's rows among them), so D_i' is the global one.

    ``ablation`` changes the form: ``identical-view`` pairs each online view with its own reference;
    ``contrastive`` replaces each KL term by InfoNCE (``queue_info_nce``) with the other view's reference
    as the positive and the queue as the negatives, at the online temperature. The other ablations (head,
    queues) act on the inputs, so here they are the plain loss.

    Args:
        online_1, online_2: B x d online embeddings of views 1 and 2 (head output, normalised).
        reference_1, reference_2: B x d reference embeddings of views 1 and 2 (encoder output, normalised).
        queue_1, queue_2: the k x d queues D1, D2 before this step.
        online_temperature: tau_theta.
        reference_temperature: tau_ref.
        newest_1, newest_2: rows appended to D1, D2 for this step (default ``reference_1``, ``reference_2``).
        ablation: a name from ``sct.ablations.ABLATIONS``.

    Returns:
        The step's loss, a scalar tensor; its gradient reaches the online embeddings only.
    """
    if ablation == "contrastive":
        return queue_info_nce(online_2, reference_1, queue_1, online_temperature) + queue_info_nce(
            online_1, reference_2, queue_2, online_temperature
        )
    matched_1, matched_2 = (online_1, online_2) if ablation == "identical-view" else (online_2, online_1)
    loss_1 = queue_kl(matched_1, reference_1, queue_1, online_temperature, reference_temperature, newest_1)
    loss_2 = queue_kl(matched_2, reference_2, queue_2, online_temperature, reference_temperature, newest_2)
    return loss_1 + loss_2
