"""Length-bucketed batches: the same pairs each epoch, with far less padding.

A batch is padded to its longest sentence. The corpus is mostly short captions (about 14 tokens on
average, a few near the 32-token cap), so a randomly drawn batch of 64 pads to about 31 tokens and the
encoder spends half its work on padding. Here each epoch's shuffled order is cut into pools of
``POOL_BATCHES`` batches; each pool is sorted by length and cut into batches, and the batches are
shuffled. Every pair is still seen once per epoch, batches still mix sentences from the whole corpus
order, and the order is a function of (seed, epoch) alone, so a resumed run sees the same batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from sentence_transformers.base.sampler import DefaultBatchSampler

BATCH_ORDERS = ("random", "length")
POOL_BATCHES = 50  # batches sorted together: the same pool size as transformers' LengthGroupedSampler


def pair_lengths(dataset: Any) -> list[int]:
    """A cheap stand-in for each pair's padded length: the longer view's character count."""
    return [max(len(a), len(b)) for a, b in zip(dataset["view_1"], dataset["view_2"], strict=True)]


def length_bucketed_batches(lengths: list[int], batch_size: int, seed: int, drop_last: bool) -> list[list[int]]:
    """One epoch's batches of indices: shuffle, sort within pools of ``POOL_BATCHES`` batches, shuffle batches."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    pool = batch_size * POOL_BATCHES
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size))
    if drop_last:
        batches = [b for b in batches if len(b) == batch_size]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


class LengthBucketBatchSampler(DefaultBatchSampler):
    """sentence-transformers batch sampler for ``--batch-order length`` (columns ``view_1``, ``view_2``)."""

    def __init__(self, dataset: Any, batch_size: int, drop_last: bool, valid_label_columns=None, generator=None,
                 seed: int = 0) -> None:  # fmt: skip
        super().__init__(dataset, batch_size, drop_last, valid_label_columns, generator, seed)
        self.lengths = pair_lengths(dataset)

    def __iter__(self) -> Iterator[list[int]]:
        yield from length_bucketed_batches(self.lengths, self.batch_size, self.seed + self.epoch, self.drop_last)

    def __len__(self) -> int:
        full, rest = divmod(len(self.lengths), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)
