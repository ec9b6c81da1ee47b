"""Table 4 ablations as options of the one training path: hand-worked loss values and queue behaviour.

Table 6's (the same options on distillation): tests/test_distill_losses.py.
"""

from __future__ import annotations

import math

import pytest
import torch

from sct.config import TrainConfig
from sct.losses import SCTLoss
from sct.objective import cross_view_loss

from .conftest import make_sentences
from .test_objective import _inputs, _kl, _softmax


@pytest.mark.parametrize(("t_on", "t_ref"), [(1.0, 1.0), (0.05, 0.04)])
def test_identical_view_by_hand(t_on, t_ref):
    # D1' = [e1, e2, e3, e1 | e1, e2], D2' = [e3, e3, e2, e1 | e2, e3] (see tests/test_objective.py)
    on1_dots, ref1_dots = [[1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0]], [[1, 0, 0, 1, 1, 0], [0, 1, 0, 0, 0, 1]]
    on2_dots, ref2_dots = [[0, 0, 1, 0, 1, 0], [0, 0, 0, 1, 0, 0]], [[0, 0, 1, 0, 1, 0], [1, 1, 0, 0, 0, 1]]
    expected = sum(
        sum(_kl(_softmax(r, t_ref), _softmax(o, t_on)) for r, o in zip(refs, ons, strict=True)) / 2
        for refs, ons in ((ref1_dots, on1_dots), (ref2_dots, on2_dots))
    )
    loss = cross_view_loss(*_inputs(), t_on, t_ref, ablation="identical-view")
    assert loss.item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_contrastive_by_hand():
    # t = 1; anchors online_2 = [e2, e1] with positives reference_1 = [e1, e2] against queue_1 = [e1, e2, e3, e1];
    # anchors online_1 = [e1, e3] with positives reference_2 = [e2, e3] against queue_2 = [e3, e3, e2, e1]
    e = math.e
    term_1 = (math.log(4 + e) + math.log(3 + 2 * e)) / 2
    term_2 = (math.log(4 + e) - math.log(e / (3 * e + 2))) / 2
    loss = cross_view_loss(*_inputs(), 1.0, 1.0, ablation="contrastive")
    assert loss.item() == pytest.approx(term_1 + term_2, rel=1e-6)


def _step(loss_fn, model):
    features = [model.tokenize(make_sentences(4, 1)), model.tokenize(make_sentences(4, 2))]
    value = loss_fn(features, None)
    value.backward()
    return value


@pytest.mark.parametrize(
    ("ablation", "pointers"), [("none", (4, 4)), ("one-queue", (8, 0)), ("frozen-queue", (0, 0)), ("no-queue", (0, 0))]
)
def test_queue_ablations(student, ablation, pointers):
    loss_fn = SCTLoss(student, queue_size=16, online_temperature=0.05, reference_temperature=0.04, ablation=ablation)
    before = (loss_fn.queue_1.embeddings.clone(), loss_fn.queue_2.embeddings.clone())
    assert torch.isfinite(_step(loss_fn, student))
    assert (int(loss_fn.queue_1.pointer), int(loss_fn.queue_2.pointer)) == pointers
    if pointers == (0, 0):
        assert torch.equal(loss_fn.queue_1.embeddings, before[0]) and torch.equal(loss_fn.queue_2.embeddings, before[1])


def test_no_head_has_no_head_parameters(student):
    loss_fn = SCTLoss(student, queue_size=16, online_temperature=0.05, reference_temperature=0.04, ablation="no-head")
    assert list(loss_fn.head.parameters()) == [] and loss_fn.get_config_dict()["ablation"] == "no-head"
    _step(loss_fn, student)
    assert any(p.grad is not None for p in student.parameters())


def test_invalid_ablations_are_refused(student):
    with pytest.raises(ValueError, match="ablation must be one of"):
        SCTLoss(student, queue_size=16, online_temperature=0.05, reference_temperature=0.04, ablation="momentum")
    config = TrainConfig(train_file="x", output_dir="y", model="m", objective="simcse", ablation="no-head")
    with pytest.raises(Exception, match="an ablation of SCT, not of SimCSE"):
        config.validate()


def test_momentum_reference_follows_the_encoder_by_ema(student):
    loss_fn = SCTLoss(
        student, queue_size=16, online_temperature=0.05, reference_temperature=0.04, ablation="momentum-reference"
    )
    reference = loss_fn.reference_model
    assert reference is not None and not any(p.requires_grad for p in reference.parameters())
    assert any(k.startswith("reference_model.") for k in loss_fn.loss_state_dict())  # saved with checkpoints
    online_weight = next(student.parameters())
    reference_weight = next(reference.parameters())
    start = reference_weight.detach().clone()
    with torch.no_grad():
        online_weight.add_(1.0)  # the encoder moved by 1 everywhere; the copy has not
    _step(loss_fn, student)
    # one training step: ref <- 0.99 ref + 0.01 online = start + 0.01
    torch.testing.assert_close(reference_weight.detach(), start + 0.01, rtol=0, atol=1e-6)
    assert reference_weight.grad is None and online_weight.grad is not None
    with torch.no_grad():  # an evaluation pass does not advance the copy
        loss_fn([student.tokenize(make_sentences(4, 1)), student.tokenize(make_sentences(4, 2))], None)
    torch.testing.assert_close(reference_weight.detach(), start + 0.01, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("momentum", "moved"), [(0.9, 0.1), (1.0, 0.0)])
def test_reference_momentum_sets_the_ema_rate(student, momentum, moved):
    loss_fn = SCTLoss(
        student,
        queue_size=16,
        online_temperature=0.05,
        reference_temperature=0.04,
        ablation="momentum-reference",
        reference_momentum=momentum,
    )
    reference_weight = next(loss_fn.reference_model.parameters())
    start = reference_weight.detach().clone()
    with torch.no_grad():
        next(student.parameters()).add_(1.0)
    _step(loss_fn, student)
    # ref <- m ref + (1 - m) (ref + 1) = start + (1 - m); m = 1 keeps the initial encoder as the reference
    torch.testing.assert_close(reference_weight.detach(), start + moved, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("ablation", "momentum", "message"),
    [
        ("none", 0.99, "needs --ablation momentum-reference"),
        ("momentum-reference", 1.5, r"must be in \[0, 1\], got 1.5"),
        ("momentum-reference", -0.1, r"must be in \[0, 1\], got -0.1"),
    ],
)
def test_reference_momentum_is_checked(ablation, momentum, message):
    config = TrainConfig(train_file="x", output_dir="y", model="m", ablation=ablation, reference_momentum=momentum)
    with pytest.raises(Exception, match=message):
        config.validate()
