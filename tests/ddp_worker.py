"""Run by tests/test_distributed.py under torchrun: `sct train`'s path, then each process dumps its state."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

import sct.training.trainer as training


def main(out: str, *train_args: str) -> None:
    from sct.cli import _train_config, build_parser

    captured = {}
    build_loss = training.build_loss

    def capture(config, model, teacher=None):
        captured["loss"] = loss = build_loss(config, model, teacher)
        return loss

    training.build_loss = capture
    config = _train_config(build_parser().parse_args(["train", *train_args]))
    training.train(config)
    loss = captured["loss"]
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    state = {k: v.detach().cpu().clone() for k, v in loss.state_dict().items()}
    torch.save(state, Path(out) / f"state-rank{rank}.pt")


if __name__ == "__main__":
    main(*sys.argv[1:])
