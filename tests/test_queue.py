"""InstanceQueue: seeded random init, FIFO order, in-place ring buffer equal to concatenate-and-slice."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sct.objective import cross_view_loss
from sct.queue import InstanceQueue


def test_initial_rows_are_seeded_unit_vectors():
    q = InstanceQueue(16, 5, seed=3)
    torch.testing.assert_close(q.embeddings.norm(dim=1), torch.ones(16))
    torch.testing.assert_close(q.embeddings, InstanceQueue(16, 5, seed=3).embeddings)
    assert not torch.equal(q.embeddings, InstanceQueue(16, 5, seed=4).embeddings)
    assert int(q.pointer) == 0


def test_fifo_replaces_the_oldest_rows():
    q = InstanceQueue(4, 2, seed=0)
    initial = q.ordered().clone()
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    q.enqueue(a)
    torch.testing.assert_close(q.ordered(), torch.cat((initial[2:], a)))
    b = torch.tensor([[0.6, 0.8], [0.8, 0.6], [-1.0, 0.0]])  # wraps around the end of the buffer
    q.enqueue(b)
    torch.testing.assert_close(q.ordered(), torch.cat((a[1:], b)))
    assert int(q.pointer) == 1


def test_enqueue_is_in_place():
    q = InstanceQueue(8, 3, seed=0)
    storage = q.embeddings.data_ptr()
    for _ in range(5):
        q.enqueue(F.normalize(torch.randn(3, 3), dim=1))
    assert q.embeddings.data_ptr() == storage
    assert q.embeddings.shape == (8, 3)


def test_rejects_batches_larger_than_the_queue_and_wrong_dimension():
    q = InstanceQueue(4, 3)
    with pytest.raises(ValueError, match="k >= B"):
        q.enqueue(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="3-d"):
        q.enqueue(torch.zeros(2, 4))
    with pytest.raises(ValueError):
        InstanceQueue(0, 3)


def test_state_dict_round_trip_keeps_content_and_pointer():
    q = InstanceQueue(6, 2, seed=0)
    q.enqueue(torch.tensor([[1.0, 0.0]] * 4))
    state = q.state_dict()
    assert set(state) == {"embeddings", "pointer"}
    restored = InstanceQueue(6, 2, seed=99)
    restored.load_state_dict(state)
    torch.testing.assert_close(restored.ordered(), q.ordered())
    assert int(restored.pointer) == 4


@pytest.mark.parametrize(("k", "b"), [(12, 4), (10, 4), (7, 7)])
def test_ring_buffer_equals_concatenate_then_slice_over_ten_steps(k, b):
    """Scores, losses and queue contents of the ring buffer equal the authors' Q <- [Q; r][B:] update."""
    d = 5
    g = torch.Generator().manual_seed(k * 100 + b)
    ring_1, ring_2 = InstanceQueue(k, d, seed=1), InstanceQueue(k, d, seed=2)
    flat_1, flat_2 = ring_1.embeddings.clone(), ring_2.embeddings.clone()
    for _ in range(10):
        on1, on2, ref1, ref2 = (F.normalize(torch.randn(b, d, generator=g), dim=1) for _ in range(4))
        ring_loss = cross_view_loss(on1, on2, ref1, ref2, ring_1.embeddings, ring_2.embeddings, 0.07, 0.05)
        flat_loss = cross_view_loss(on1, on2, ref1, ref2, flat_1, flat_2, 0.07, 0.05)
        assert ring_loss.item() == pytest.approx(flat_loss.item(), rel=1e-6)
        ring_1.enqueue(ref1)
        ring_2.enqueue(ref2)
        flat_1 = torch.cat((flat_1, ref1))[b:]
        flat_2 = torch.cat((flat_2, ref2))[b:]
        torch.testing.assert_close(ring_1.ordered(), flat_1)
        torch.testing.assert_close(ring_2.ordered(), flat_2)
