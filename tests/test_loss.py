"""SCTLoss as a sentence-transformers loss module, on a tiny random BERT."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sct.losses import SCTLoss

from .conftest import make_sentences


def _features(model, sentences_1, sentences_2):
    return [model.tokenize(sentences_1), model.tokenize(sentences_2)]


def test_forward_backward_and_queue_update(student):
    loss_fn = SCTLoss(student, queue_size=8, online_temperature=0.05, reference_temperature=0.04)
    student.train()
    s1, s2 = make_sentences(4, 1), make_sentences(4, 2)
    queue_before = loss_fn.queue_1.ordered().clone()
    loss = loss_fn(_features(student, s1, s2), None)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())
    assert all(p.grad is not None for p in loss_fn.head.parameters())
    assert int(loss_fn.queue_1.pointer) == 4 and int(loss_fn.queue_2.pointer) == 4
    torch.testing.assert_close(loss_fn.queue_1.ordered()[:4], queue_before[4:])
    assert not loss_fn.queue_1.embeddings.requires_grad


def test_references_are_the_normalised_encoder_output_without_head(student):
    loss_fn = SCTLoss(student, queue_size=8, online_temperature=0.05, reference_temperature=0.04)
    student.eval()  # no dropout, so the reference pass is reproducible here
    s1, s2 = make_sentences(3, 3), make_sentences(3, 4)
    loss_fn(_features(student, s1, s2), None)
    expected_1 = F.normalize(student.encode(s1, convert_to_tensor=True), dim=1)
    expected_2 = F.normalize(student.encode(s2, convert_to_tensor=True), dim=1)
    torch.testing.assert_close(loss_fn.queue_1.ordered()[-3:], expected_1, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(loss_fn.queue_2.ordered()[-3:], expected_2, atol=1e-5, rtol=1e-4)


def test_reference_pass_is_its_own_no_grad_forward_in_train_mode(student):
    loss_fn = SCTLoss(student, queue_size=8, online_temperature=0.05, reference_temperature=0.04)
    student.train()
    calls = []
    handle = student.register_forward_pre_hook(
        lambda module, args: calls.append((torch.is_grad_enabled(), module.training))
    )
    try:
        loss_fn(_features(student, make_sentences(2, 5), make_sentences(2, 6)), None)
    finally:
        handle.remove()
    online_calls = [c for c in calls if c[0]]
    reference_calls = [c for c in calls if not c[0]]
    assert online_calls and reference_calls, calls
    assert all(training for _, training in calls), "dropout must stay active in the reference pass"


def test_queue_does_not_move_without_grad(student):
    loss_fn = SCTLoss(student, queue_size=8, online_temperature=0.05, reference_temperature=0.04)
    with torch.no_grad():
        loss_fn(_features(student, make_sentences(2, 7), make_sentences(2, 8)), None)
    assert int(loss_fn.queue_1.pointer) == 0


def test_batch_larger_than_queue_is_rejected(student):
    loss_fn = SCTLoss(student, queue_size=2, online_temperature=0.05, reference_temperature=0.04)
    with pytest.raises(ValueError, match="k >= B"):
        loss_fn(_features(student, make_sentences(3, 9), make_sentences(3, 10)), None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"online_temperature": 0.0}, "online temperature"),
        ({"reference_temperature": -0.1}, "reference temperature"),
        ({"queue_size": 0}, "queue size"),
    ],
)
def test_invalid_hyperparameters(student, kwargs, message):
    args = {"queue_size": 8, "online_temperature": 0.05, "reference_temperature": 0.04, **kwargs}
    with pytest.raises(ValueError, match=message):
        SCTLoss(student, **args)


def test_loss_state_holds_head_and_queues_but_not_the_encoder(student):
    loss_fn = SCTLoss(student, queue_size=8, online_temperature=0.05, reference_temperature=0.04)
    loss_fn(_features(student, make_sentences(4, 11), make_sentences(4, 12)), None)
    state = loss_fn.loss_state_dict()
    assert not any(k.startswith("model.") for k in state)
    assert {"queue_1.embeddings", "queue_1.pointer", "queue_2.embeddings", "queue_2.pointer"} <= set(state)
    assert any(k.startswith("head.") for k in state)
    other = SCTLoss(student, queue_size=8, online_temperature=0.05, reference_temperature=0.04, seed=5)
    other.load_loss_state_dict(state)
    torch.testing.assert_close(other.queue_1.ordered(), loss_fn.queue_1.ordered())
    torch.testing.assert_close(other.head.blocks[0][0].weight, loss_fn.head.blocks[0][0].weight)


def test_sentence_transformers_trainer_optimises_the_head(student, tmp_path):
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    loss_fn = SCTLoss(student, queue_size=8, online_temperature=0.05, reference_temperature=0.04)
    dataset = Dataset.from_dict({"view_1": make_sentences(8, 13), "view_2": make_sentences(8, 14)})
    args = SentenceTransformerTrainingArguments(output_dir=str(tmp_path), report_to="none", weight_decay=0.01)
    trainer = SentenceTransformerTrainer(model=student, args=args, train_dataset=dataset, loss=loss_fn)
    trainer.create_optimizer()
    optimised = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
    assert all(id(p) in optimised for p in loss_fn.head.parameters())
    assert all(id(p) in optimised for p in student.parameters() if p.requires_grad)
    assert not any(id(b) in optimised for b in loss_fn.buffers())
