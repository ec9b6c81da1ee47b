"""SCT's instance queues D1, D2: FIFO memories of past reference embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class InstanceQueue(nn.Module):
    """A k x d FIFO queue of L2-normalised embeddings, stored as a ring buffer.

    The paper initialises the queues with random vectors; rows here come from a seeded standard
    normal and are L2-normalised, so runs are reproducible. ``enqueue`` overwrites the B oldest rows
    in place and advances a pointer: no k x d tensor is allocated or copied per step, yet the
    content equals the authors' concatenate-then-slice update ``D <- [D; new][B:]`` up to a rotation
    of the storage order (``ordered()`` undoes it). Both the content and the pointer are buffers, so
    they are saved and restored with the loss module's state dict.
    """

    def __init__(self, size: int, dim: int, seed: int = 0) -> None:
        super().__init__()
        if size < 1 or dim < 1:
            raise ValueError(f"queue size and dimension must be >= 1, got size {size}, dim {dim}")
        generator = torch.Generator().manual_seed(seed)
        initial = F.normalize(torch.randn(size, dim, generator=generator), p=2, dim=1)
        self.register_buffer("embeddings", initial)
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))

    @property
    def size(self) -> int:
        return self.embeddings.shape[0]

    @property
    def dim(self) -> int:
        return self.embeddings.shape[1]

    @torch.no_grad()
    def enqueue(self, batch: Tensor) -> None:
        """Replace the ``len(batch)`` oldest entries with ``batch`` (oldest first in, first out).

        Args:
            batch: B x d rows (B <= k), already L2-normalised; stored detached in the queue's dtype.
        """
        n = batch.shape[0]
        if n > self.size:
            raise ValueError(f"cannot enqueue {n} rows into a queue of size {self.size} (need k >= B)")
        if batch.shape[1] != self.dim:
            raise ValueError(f"queue holds {self.dim}-d rows, got {batch.shape[1]}-d")
        start = int(self.pointer)
        end = start + n
        batch = batch.detach().to(self.embeddings.dtype)
        if end <= self.size:
            self.embeddings[start:end].copy_(batch)
        else:
            first = self.size - start
            self.embeddings[start:].copy_(batch[:first])
            self.embeddings[: end - self.size].copy_(batch[first:])
        self.pointer.fill_(end % self.size)

    @torch.no_grad()
    def fill(self, rows: Tensor) -> None:
        """Replace the whole queue with ``rows`` (k x d, L2-normalised here) and reset the pointer.

        Used to start from real embeddings (``--queue-init encoder``) instead of random vectors;
        ``rows[0]`` is then the oldest entry, the first one the next ``enqueue`` overwrites.

        Args:
            rows: k x d embeddings (any norm: they are normalised here).
        """
        if tuple(rows.shape) != tuple(self.embeddings.shape):
            raise ValueError(f"queue fill needs {self.size} x {self.dim} rows, got {tuple(rows.shape)}")
        self.embeddings.copy_(F.normalize(rows.detach().float(), p=2, dim=1).to(self.embeddings.dtype))
        self.pointer.zero_()

    def ordered(self) -> Tensor:
        """The queue oldest-first, as the concatenate-then-slice formulation stores it (allocates a copy).

        Returns:
            A k x d tensor, row 0 the oldest entry.
        """
        start = int(self.pointer)
        return torch.cat((self.embeddings[start:], self.embeddings[:start]))

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.dim}"
