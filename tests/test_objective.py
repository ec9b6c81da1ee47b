"""cross_view_loss against values worked out by hand and against an independent naive formulation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from sct.objective import cross_view_loss, queue_kl

E1, E2, E3 = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]


def _softmax(xs: list[float], t: float) -> list[float]:
    exps = [math.exp(x / t) for x in xs]
    total = sum(exps)
    return [e / total for e in exps]


def _kl(p: list[float], q: list[float]) -> float:
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))


def _inputs():
    # B = 2, d = 3, k = 4; unit basis vectors so every dot product is 0 or 1.
    online_1 = torch.tensor([E1, E3])
    online_2 = torch.tensor([E2, E1])
    reference_1 = torch.tensor([E1, E2])
    reference_2 = torch.tensor([E2, E3])
    queue_1 = torch.tensor([E1, E2, E3, E1])
    queue_2 = torch.tensor([E3, E3, E2, E1])
    return online_1, online_2, reference_1, reference_2, queue_1, queue_2


def _hand_value(t_on: float, t_ref: float) -> float:
    # D1' = [e1, e2, e3, e1 | e1, e2] (queue 1, then reference_1 as newest entries)
    # D2' = [e3, e3, e2, e1 | e2, e3] (queue 2, then reference_2)
    ref1_dots = [[1, 0, 0, 1, 1, 0], [0, 1, 0, 0, 0, 1]]  # reference_1 rows . D1'
    on2_dots = [[0, 1, 0, 0, 0, 1], [1, 0, 0, 1, 1, 0]]  # online_2 rows . D1'
    ref2_dots = [[0, 0, 1, 0, 1, 0], [1, 1, 0, 0, 0, 1]]  # reference_2 rows . D2'
    on1_dots = [[0, 0, 0, 1, 0, 0], [1, 1, 0, 0, 0, 1]]  # online_1 rows . D2'
    term_1 = sum(_kl(_softmax(r, t_ref), _softmax(o, t_on)) for r, o in zip(ref1_dots, on2_dots, strict=True)) / 2
    term_2 = sum(_kl(_softmax(r, t_ref), _softmax(o, t_on)) for r, o in zip(ref2_dots, on1_dots, strict=True)) / 2
    return term_1 + term_2


@pytest.mark.parametrize(("t_on", "t_ref"), [(1.0, 1.0), (0.5, 0.25), (0.04, 0.03)])
def test_matches_hand_computed_value(t_on, t_ref):
    loss = cross_view_loss(*_inputs(), online_temperature=t_on, reference_temperature=t_ref)
    assert loss.item() == pytest.approx(_hand_value(t_on, t_ref), rel=1e-5, abs=1e-6)


def test_single_row_in_closed_form():
    # B = 1 at unit temperatures, every softmax written out by hand.
    e = math.e
    online_1, online_2 = torch.tensor([E1]), torch.tensor([E2])
    reference_1, reference_2 = torch.tensor([E1]), torch.tensor([E2])
    queue_1, queue_2 = torch.tensor([E1, E2, E3, E1]), torch.tensor([E3, E3, E2, E1])
    # Term 1: D1' = [e1, e2, e3, e1, e1]; p ~ (e, 1, 1, e, e), q (online_2 = e2) ~ (1, e, 1, 1, 1).
    pe, p1 = e / (3 * e + 2), 1 / (3 * e + 2)
    q1, qe = 1 / (e + 4), e / (e + 4)
    kl_1 = 3 * pe * math.log(pe / q1) + p1 * math.log(p1 / qe) + p1 * math.log(p1 / q1)
    # Term 2: D2' = [e3, e3, e2, e1, e2]; p ~ (1, 1, e, 1, e), q (online_1 = e1) ~ (1, 1, 1, e, 1).
    pe, p1 = e / (2 * e + 3), 1 / (2 * e + 3)
    kl_2 = 2 * p1 * math.log(p1 / q1) + 2 * pe * math.log(pe / q1) + p1 * math.log(p1 / qe)
    loss = cross_view_loss(online_1, online_2, reference_1, reference_2, queue_1, queue_2, 1.0, 1.0)
    assert loss.item() == pytest.approx(kl_1 + kl_2, rel=1e-6)


def _naive(online_1, online_2, reference_1, reference_2, queue_1, queue_2, t_on, t_ref):
    """The authors' formulation: concatenate the queues, softmax targets, KLDivLoss(batchmean), sum."""
    kl = torch.nn.KLDivLoss(reduction="batchmean")
    q1 = torch.cat((queue_1, reference_1.detach()))
    q2 = torch.cat((queue_2, reference_2.detach()))
    target_1 = F.softmax(reference_1 @ q1.t().clone() / t_ref, dim=1).detach()
    target_2 = F.softmax(reference_2 @ q2.t().clone() / t_ref, dim=1).detach()
    loss_1 = kl(F.log_softmax(online_2 @ q1.t().clone() / t_on, dim=1), target_1)
    loss_2 = kl(F.log_softmax(online_1 @ q2.t().clone() / t_on, dim=1), target_2)
    return loss_1 + loss_2


def _random_unit(*shape, generator):
    return F.normalize(torch.randn(*shape, generator=generator, dtype=torch.float64), dim=-1)


def test_value_and_gradient_match_naive_formulation():
    g = torch.Generator().manual_seed(0)
    b, d, k = 5, 7, 11
    tensors = [_random_unit(b, d, generator=g) for _ in range(4)] + [_random_unit(k, d, generator=g) for _ in range(2)]
    ours_in = [t.clone().requires_grad_(i < 2) for i, t in enumerate(tensors)]
    naive_in = [t.clone().requires_grad_(i < 2) for i, t in enumerate(tensors)]
    ours = cross_view_loss(*ours_in, 0.05, 0.04)
    naive = _naive(*naive_in, 0.05, 0.04)
    ours.backward()
    naive.backward()
    assert ours.item() == pytest.approx(naive.item(), rel=1e-12)
    for a, n in zip(ours_in[:2], naive_in[:2], strict=True):
        torch.testing.assert_close(a.grad, n.grad, rtol=1e-9, atol=1e-12)


def test_closed_form_gradient_passes_gradcheck():
    g = torch.Generator().manual_seed(1)
    on1, on2 = (torch.randn(3, 4, generator=g, dtype=torch.float64).requires_grad_() for _ in range(2))
    ref1, ref2 = (_random_unit(3, 4, generator=g) for _ in range(2))
    q1, q2 = (_random_unit(6, 4, generator=g) for _ in range(2))

    def fn(a, b):
        return cross_view_loss(a, b, ref1, ref2, q1, q2, 0.5, 0.3)

    assert torch.autograd.gradcheck(fn, (on1, on2))


def test_no_gradient_reaches_references_or_queues():
    online_1, online_2, reference_1, reference_2, queue_1, queue_2 = (t.requires_grad_() for t in _inputs())
    cross_view_loss(online_1, online_2, reference_1, reference_2, queue_1, queue_2, 0.1, 0.1).backward()
    assert online_1.grad is not None and online_2.grad is not None
    for t in (reference_1, reference_2, queue_1, queue_2):
        assert t.grad is None


def test_gradient_does_not_depend_on_later_in_place_queue_update():
    g = torch.Generator().manual_seed(2)
    tensors = [_random_unit(4, 5, generator=g).float() for _ in range(4)] + [
        _random_unit(8, 5, generator=g).float() for _ in range(2)
    ]
    a = [t.clone().requires_grad_(i < 2) for i, t in enumerate(tensors)]
    b = [t.clone().requires_grad_(i < 2) for i, t in enumerate(tensors)]
    cross_view_loss(*a, 0.1, 0.05).backward()
    loss_b = cross_view_loss(*b, 0.1, 0.05)
    b[4].mul_(-1.0)  # the queue changes in place before backward (a ring-buffer enqueue)
    b[5].zero_()
    loss_b.backward()
    torch.testing.assert_close(a[0].grad, b[0].grad)
    torch.testing.assert_close(a[1].grad, b[1].grad)


@pytest.mark.parametrize(("t_on", "t_ref"), [(0.0, 0.1), (0.1, 0.0), (-1.0, 0.1)])
def test_temperatures_must_be_positive(t_on, t_ref):
    with pytest.raises(ValueError, match="temperatures must be > 0"):
        cross_view_loss(*_inputs(), online_temperature=t_on, reference_temperature=t_ref)


def test_float32_under_half_precision_inputs():
    inputs = [t.half() for t in _inputs()]
    loss = cross_view_loss(*inputs, online_temperature=0.04, reference_temperature=0.03)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(_hand_value(0.04, 0.03), rel=1e-4)


def test_newest_entries_other_than_the_references():
    # One row at unit temperatures: D' = [queue; newest] = [e1, e2 | e3, e1] with newest != reference.
    # reference = e1: p ~ (e, 1, 1, e); online = e2: q ~ (1, e, 1, 1).
    e = math.e
    p = [e / (2 * e + 2), 1 / (2 * e + 2), 1 / (2 * e + 2), e / (2 * e + 2)]
    q = [1 / (e + 3), e / (e + 3), 1 / (e + 3), 1 / (e + 3)]
    expected = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    online = torch.tensor([E2], requires_grad=True)
    loss = queue_kl(online, torch.tensor([E1]), torch.tensor([E1, E2]), 1.0, 1.0, newest=torch.tensor([E3, E1]))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # gradient: (q - p) D' = sum_j (q_j - p_j) D'_j
    loss.backward()
    rows = torch.tensor([E1, E2, E3, E1])
    hand = sum((qj - pj) * rows[j] for j, (pj, qj) in enumerate(zip(p, q, strict=True)))
    torch.testing.assert_close(online.grad[0], hand.float(), rtol=1e-5, atol=1e-6)


def test_kl_and_cross_entropy_give_the_same_gradient():
    # Table 4's "KL -> CE": -sum p log q (batch mean) differs from KL(p || q) by p's entropy, which has no gradient
    # (the reference is stop-gradient), so both train the online branch identically.
    generator = torch.Generator().manual_seed(3)
    online = F.normalize(torch.randn(4, 8, generator=generator, dtype=torch.float64), dim=1).requires_grad_()
    reference = F.normalize(torch.randn(4, 8, generator=generator, dtype=torch.float64), dim=1)
    queue = F.normalize(torch.randn(16, 8, generator=generator, dtype=torch.float64), dim=1)
    queue_kl(online, reference, queue, 0.05, 0.04).backward()
    keys = torch.cat((queue, reference))
    target = torch.softmax(reference @ keys.T / 0.04, dim=1)
    cross_entropy = -(target * torch.log_softmax(online @ keys.T / 0.05, dim=1)).sum() / 4
    (expected,) = torch.autograd.grad(cross_entropy, online)
    torch.testing.assert_close(online.grad, expected)
    entropy = -(target * target.log()).sum() / 4
    kl = queue_kl(online.detach(), reference, queue, 0.05, 0.04)
    torch.testing.assert_close(kl, cross_entropy.detach() - entropy)
