"""Data-parallel training (torchrun / accelerate): one global instance queue, synchronised loss parameters.

sentence-transformers' trainer wraps only the encoder in DistributedDataParallel, so two things are
ours to do. (1) The queues: every process scores its own rows against D' = [D; every process's
references of this step] and enqueues all of them in rank order, so all processes hold the same
global queue, exactly as one process training on the global batch would. (2) The loss's own
parameters (SCT's projection head) are outside DDP: their gradients are averaged across processes
before each optimiser step, as DDP averages the encoder's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist
from torch import Tensor, nn
from transformers import TrainerCallback


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def launched_world_size() -> int:
    """Processes started by torchrun/accelerate (``WORLD_SIZE``), before any process group exists."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def init_process_group() -> None:
    """Join the launcher's process group early (gloo on CPU, nccl on CUDA), so setup can use barriers."""
    if launched_world_size() > 1 and not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


@contextmanager
def main_process_first() -> Iterator[None]:
    """The main process runs the block first (e.g. fills a cache); the others wait, then run it."""
    main = is_main_process()
    if not main:
        barrier()
    yield
    if main:
        barrier()


def any_process(flag: bool) -> bool:
    """True on every process when ``flag`` is true on any (one tiny all-reduce per call under DDP)."""
    if world_size() == 1:
        return flag
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"  # nccl reduces CUDA tensors only
    value = torch.tensor([int(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def gather_rows(x: Tensor) -> Tensor:
    """All processes' ``x`` stacked in rank order (every process gets the same tensor); ``x`` alone without DDP.

    Every process must pass the same shape: the trainer drops the last uneven batch under DDP.
    """
    size = world_size()
    if size == 1:
        return x
    x = x.detach().contiguous()
    parts = [torch.empty_like(x) for _ in range(size)]
    dist.all_gather(parts, x)
    return torch.cat(parts)


def loss_parameters(loss: nn.Module) -> list[nn.Parameter]:
    """The loss's own trainable parameters (heads), not the encoder's (DDP synchronises those)."""
    return [
        p
        for name, p in loss.named_parameters()
        if p.requires_grad and not (name.startswith("model.") or ".model." in name)
    ]


def average_loss_gradients(loss: nn.Module) -> None:
    """Average the loss-owned parameters' gradients across processes (a no-op in one process)."""
    size = world_size()
    if size == 1:
        return
    for p in loss_parameters(loss):
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
        p.grad.div_(size)


class LossGradientSync(TrainerCallback):
    """Averages the loss's own gradients across processes before each optimiser step (after DDP's all-reduce).

    The trainer clips only the encoder's gradients, so averaging the head's here, just before the step,
    gives every process the same update.
    """

    def __init__(self, loss: nn.Module) -> None:
        self.loss = loss

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        average_loss_gradients(self.loss)
