"""Distillation losses (L_CD, MSE, ConGen, CKD) against values worked out by hand on 2-d vectors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sct.losses import DistillationLoss
from sct.objective import queue_info_nce

E1, E2, NEG_E1, V = [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, 0.8]  # V is a unit vector: 0.36 + 0.64 = 1


def _softmax(xs: list[float], t: float) -> list[float]:
    exps = [math.exp(x / t) for x in xs]
    return [e / sum(exps) for e in exps]


def _kl(p: list[float], q: list[float]) -> float:
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))


def _nll_first(xs: list[float], t: float) -> float:
    return -math.log(_softmax(xs, t)[0])


class _Student(nn.Module):
    """Stands in for the encoder: the term under test never calls it."""

    def get_embedding_dimension(self) -> int:
        return 2


class _Teacher:
    dim = 2
    manifest: dict = {}
    directory = "unused"


def _loss(method: str, **kwargs) -> DistillationLoss:
    settings = dict(queue_size=2, online_temperature=0.5, reference_temperature=0.25, sct_weight=0.0)
    settings.update(kwargs)
    return DistillationLoss(_Student(), _Teacher(), method=method, **settings)


def _t(*rows: list[float]) -> torch.Tensor:
    return torch.tensor(rows)


def test_mse_with_a_normalised_teacher_compares_unit_vectors():
    loss = _loss("mse")  # the cache manifest does not say otherwise: the teacher rows are unit vectors
    assert loss.mse_form == "unit-sphere"
    value = loss.distillation_term(_t([3.0, 4.0]), _t([0.0, 2.0]), _t(E1), _t(V))
    # view 1: [3, 4] -> [0.6, 0.8]; (0.6 - 1)^2 + 0.8^2 = 0.8 = 2 - 2 cos; view 2: [0, 1] vs V: 0.36 + 0.04 = 0.4
    assert value.item() == pytest.approx(1.2)


def test_mse_with_an_unnormalised_teacher_is_the_raw_mean_squared_error_per_view_summed():
    class RawTeacher(_Teacher):
        manifest = {"normalize": False}

    loss = DistillationLoss(_Student(), RawTeacher(), method="mse", queue_size=2, sct_weight=0.0)
    assert loss.mse_form == "raw"
    value = loss.distillation_term(_t([1.0, 2.0]), _t([0.0, 0.0]), _t([0.0, 0.5]), _t([1.0, 1.0]))
    # view 1: ((1-0)^2 + (2-0.5)^2) / 2 = 1.625; view 2: (1 + 1) / 2 = 1
    assert value.item() == pytest.approx(2.625)


def test_congen_same_view_distributions_over_one_teacher_queue():
    loss = _loss("congen")
    loss.teacher_queue.embeddings.copy_(_t(E2, NEG_E1))
    value = loss.distillation_term(_t(E1), _t(E2), _t(V), _t(E1))
    # view 1: D' = [e2, -e1, v]; teacher v . D' = [0.8, -0.6, 1], student e1 . D' = [0, -1, 0.6]
    view_1 = _kl(_softmax([0.8, -0.6, 1.0], 0.25), _softmax([0.0, -1.0, 0.6], 0.5))
    # view 2: D' = [e2, -e1, e1]; teacher e1 . D' = [0, -1, 1], student e2 . D' = [1, 0, 0]
    view_2 = _kl(_softmax([0.0, -1.0, 1.0], 0.25), _softmax([1.0, 0.0, 0.0], 0.5))
    assert value.item() == pytest.approx(view_1 + view_2, rel=1e-5)
    # both views' teacher embeddings entered the one queue (k = 2: it now holds exactly them)
    assert torch.allclose(loss.teacher_queue.ordered(), _t(V, E1))


def test_ckd_teacher_positive_and_queue_negatives():
    loss = _loss("ckd", ckd_temperature=0.5)
    loss.teacher_queue.embeddings.copy_(_t(E2, NEG_E1))
    value = loss.distillation_term(_t(E1), _t(E2), _t(V), _t(E1))
    # anchor e1: positive v (0.6), negatives e2 (0), -e1 (-1); anchor e2: positive e1 (0), negatives 1, 0
    expected = _nll_first([0.6, 0.0, -1.0], 0.5) + _nll_first([0.0, 1.0, 0.0], 0.5)
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_cd_crosses_views_with_teacher_references_and_teacher_queues():
    loss = _loss("cd")
    loss.teacher_queue_1.embeddings.copy_(_t(E2, NEG_E1))
    loss.teacher_queue_2.embeddings.copy_(_t(E1, E2))
    value = loss.distillation_term(_t(E1), _t(E2), _t(V), _t(E1))
    # teacher view 1 (v) over D1' = [e2, -e1, v] guides student view 2 (e2): [0.8, -0.6, 1] vs [1, 0, 0.8]
    term_1 = _kl(_softmax([0.8, -0.6, 1.0], 0.25), _softmax([1.0, 0.0, 0.8], 0.5))
    # teacher view 2 (e1) over D2' = [e1, e2, e1] guides student view 1 (e1): [1, 0, 1] vs [1, 0, 1]
    term_2 = _kl(_softmax([1.0, 0.0, 1.0], 0.25), _softmax([1.0, 0.0, 1.0], 0.5))
    assert value.item() == pytest.approx(term_1 + term_2, rel=1e-5)
    assert loss.teacher_queue_1.ordered()[-1].tolist() == pytest.approx(V)
    assert loss.teacher_queue_2.ordered()[-1].tolist() == pytest.approx(E1)


def _cd_with_queues(ablation: str) -> DistillationLoss:
    """L_CD as in the test above (D1 = [e2, -e1], D2 = [e1, e2]) under a Table 6 ablation."""
    loss = _loss("cd", ablation=ablation)
    loss.teacher_queue_1.embeddings.copy_(_t(E2, NEG_E1))
    loss.teacher_queue_2.embeddings.copy_(_t(E1, E2))
    return loss


def test_cd_identical_view_matches_each_student_view_with_its_own_teacher_view():
    value = _cd_with_queues("identical-view").distillation_term(_t(E1), _t(E2), _t(V), _t(E1))
    # teacher view 1 (v) over D1' = [e2, -e1, v] guides student view 1 (e1): [0.8, -0.6, 1] vs [0, -1, 0.6]
    term_1 = _kl(_softmax([0.8, -0.6, 1.0], 0.25), _softmax([0.0, -1.0, 0.6], 0.5))
    # teacher view 2 (e1) over D2' = [e1, e2, e1] guides student view 2 (e2): [1, 0, 1] vs [0, 1, 0]
    term_2 = _kl(_softmax([1.0, 0.0, 1.0], 0.25), _softmax([0.0, 1.0, 0.0], 0.5))
    assert value.item() == pytest.approx(term_1 + term_2, rel=1e-5)


def test_cd_contrastive_takes_the_other_views_teacher_as_positive():
    value = _cd_with_queues("contrastive").distillation_term(_t(E1), _t(E2), _t(V), _t(E1))
    # anchor student e2: positive teacher v (0.8), negatives D1 = e2 (1), -e1 (0), at t_on 0.5;
    # anchor student e1: positive teacher e1 (1), negatives D2 = e1 (1), e2 (0)
    expected = _nll_first([0.8, 1.0, 0.0], 0.5) + _nll_first([1.0, 1.0, 0.0], 0.5)
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_cd_queue_ablations_act_on_the_teacher_queues():
    one = _cd_with_queues("one-queue")
    value = one.distillation_term(_t(E1), _t(E2), _t(V), _t(E1))
    # both terms over D1: teacher v over [e2, -e1, v] vs student e2 [1, 0, 0.8]; teacher e1 over
    # [e2, -e1, e1] = [0, -1, 1] vs student e1, the same scores
    term_1 = _kl(_softmax([0.8, -0.6, 1.0], 0.25), _softmax([1.0, 0.0, 0.8], 0.5))
    term_2 = _kl(_softmax([0.0, -1.0, 1.0], 0.25), _softmax([0.0, -1.0, 1.0], 0.5))
    assert value.item() == pytest.approx(term_1 + term_2, rel=1e-5)
    assert torch.allclose(one.teacher_queue_1.ordered(), _t(V, E1))  # both views entered the one queue
    assert torch.equal(one.teacher_queue_2.embeddings, _t(E1, E2))
    for ablation in ("frozen-queue", "no-queue"):
        loss = _cd_with_queues(ablation)
        value = loss.distillation_term(_t(E1), _t(E2), _t(V), _t(E1))
        assert torch.equal(loss.teacher_queue_1.embeddings, _t(E2, NEG_E1))
        assert torch.equal(loss.teacher_queue_2.embeddings, _t(E1, E2))
        if ablation == "no-queue":  # one candidate per distribution (this step's reference): KL 0
            assert value.item() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize(
    ("method", "ablation"), [("cd", "no-head"), ("cd", "momentum-reference"), ("mse", "contrastive")]
)
def test_ablations_that_would_change_nothing_are_refused(method, ablation):
    with pytest.raises(ValueError, match=f"ablation {ablation} acts on L_SCT"):
        _loss(method, ablation=ablation, sct_weight=0.0)


def test_student_embeddings_are_normalised_for_the_distribution_losses():
    loss = _loss("congen")
    loss.teacher_queue.embeddings.copy_(_t(E2, NEG_E1))
    with torch.no_grad():
        unit = loss.distillation_term(_t(E1), _t(E2), _t(V), _t(E1))
        scaled = loss.distillation_term(_t([3.0, 0.0]), _t([0.0, 0.5]), _t(V), _t(E1))
    assert scaled.item() == pytest.approx(unit.item(), rel=1e-6)


@pytest.mark.parametrize("method", ["cd", "congen", "ckd"])
def test_queues_do_not_move_without_grad(method):
    loss = _loss(method)
    before = {k: v.clone() for k, v in loss.loss_state_dict().items()}
    with torch.no_grad():
        loss.distillation_term(_t(E1), _t(E2), _t(V), _t(E1))
    assert all(torch.equal(before[k], v) for k, v in loss.loss_state_dict().items())


def test_info_nce_value_and_gradient_match_naive_autograd():
    torch.manual_seed(0)
    anchor = F.normalize(torch.randn(4, 5, dtype=torch.float64), dim=1).requires_grad_()
    positive = F.normalize(torch.randn(4, 5, dtype=torch.float64), dim=1)
    queue = F.normalize(torch.randn(7, 5, dtype=torch.float64), dim=1)
    value = queue_info_nce(anchor, positive, queue, 0.1)
    (grad,) = torch.autograd.grad(value, anchor)

    naive_anchor = anchor.detach().clone().requires_grad_()
    logits = torch.cat(((naive_anchor * positive).sum(1, keepdim=True), naive_anchor @ queue.T), 1) / 0.1
    naive = F.cross_entropy(logits, torch.zeros(4, dtype=torch.long))
    (naive_grad,) = torch.autograd.grad(naive, naive_anchor)
    assert value.item() == pytest.approx(naive.item(), rel=1e-10)
    assert torch.allclose(grad, naive_grad, atol=1e-12)


def test_info_nce_gradcheck_and_in_place_queue_update():
    torch.manual_seed(1)
    anchor = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    positive, queue = torch.randn(3, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: queue_info_nce(a, positive, queue, 0.5), (anchor,))
    expected = torch.autograd.grad(queue_info_nce(anchor, positive, queue, 0.5), anchor)[0]
    moved = queue.clone()
    value = queue_info_nce(anchor, positive, moved, 0.5)
    moved.zero_()  # what an in-place enqueue does to the storage after the forward
    assert torch.allclose(torch.autograd.grad(value, anchor)[0], expected)


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError, match="distillation loss must be one of"):
        _loss("kl")
    with pytest.raises(ValueError, match="CKD temperature"):
        _loss("ckd", ckd_temperature=0.0)
    with pytest.raises(ValueError, match="teacher's are 3-d"):
        teacher = _Teacher()
        teacher.dim = 3
        DistillationLoss(_Student(), teacher, queue_size=2)


def test_labels_must_be_pair_indices():
    loss = _loss("mse")
    with pytest.raises(ValueError, match="training-pair indices"):
        loss._teacher_batch(None, 2, torch.device("cpu"))
