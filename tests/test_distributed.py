"""Data parallelism on CPU (gloo, 2 processes): one global queue, and the same training as one process.

Each process gets half of every global batch. After 5 optimiser steps the queues must be bit-identical
across processes, and the loss trace, queues and weights must equal one process training on the whole
global batch (to 1e-5; dropout off so both see the same function).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from tests.conftest import make_sentences

STEPS, GLOBAL_BATCH, WORLD = 5, 8, 2


def _run(rank: int, world: int, model_path: str, out: str, init_file: str) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    torch.set_num_threads(1)
    from torch.nn.parallel import DistributedDataParallel

    from sct.distributed import average_loss_gradients, loss_parameters
    from sct.losses import SCTLoss
    from sct.models import load_student

    if world > 1:
        dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.manual_seed(0)
    model, _ = load_student(model_path)
    model.max_seq_length = 16
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    torch.manual_seed(1)
    loss = SCTLoss(model, queue_size=32, online_temperature=0.05, reference_temperature=0.04, seed=0)
    if world > 1:  # as sentence-transformers' trainer does: DDP around the encoder, swapped into the loss
        loss.model = DistributedDataParallel(model, find_unused_parameters=True)
    optimiser = torch.optim.AdamW([*model.parameters(), *loss_parameters(loss)], lr=1e-3)
    view_1, view_2 = make_sentences(STEPS * GLOBAL_BATCH, 11), make_sentences(STEPS * GLOBAL_BATCH, 12)
    per_rank = GLOBAL_BATCH // world
    trace = []
    for step in range(STEPS):
        rows = slice(step * GLOBAL_BATCH + rank * per_rank, step * GLOBAL_BATCH + (rank + 1) * per_rank)
        value = loss([model.tokenize(view_1[rows]), model.tokenize(view_2[rows])], None)
        optimiser.zero_grad()
        value.backward()
        average_loss_gradients(loss)
        optimiser.step()
        mean = value.detach().clone()
        if world > 1:
            dist.all_reduce(mean)
            mean /= world
        trace.append(mean.item())
    torch.save(
        {
            "trace": trace,
            "queue_1": loss.queue_1.embeddings.clone(),
            "queue_2": loss.queue_2.embeddings.clone(),
            "pointer": int(loss.queue_1.pointer),
            "head": {k: v.clone() for k, v in loss.head.state_dict().items()},
            "encoder": {k: v.clone() for k, v in model.state_dict().items()},
        },
        Path(out) / f"rank{rank}-of-{world}.pt",
    )
    if world > 1:
        dist.destroy_process_group()


def test_two_processes_hold_one_global_queue_and_train_like_one(tiny_bert, tmp_path):
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    mp.spawn(_run, args=(WORLD, tiny_bert, str(tmp_path), str(tmp_path / "init")), nprocs=WORLD, join=True)
    _run(0, 1, tiny_bert, str(tmp_path), "")
    rank_0, rank_1 = (torch.load(tmp_path / f"rank{r}-of-{WORLD}.pt") for r in range(WORLD))
    single = torch.load(tmp_path / "rank0-of-1.pt")
    for name in ("queue_1", "queue_2"):
        assert torch.equal(rank_0[name], rank_1[name]), f"{name} differs between processes"
        torch.testing.assert_close(rank_0[name], single[name], rtol=0, atol=1e-5)
    assert rank_0["pointer"] == single["pointer"] == (STEPS * GLOBAL_BATCH) % 32
    assert rank_0["trace"] == pytest.approx(single["trace"], abs=1e-5)
    for part in ("head", "encoder"):
        for key, value in single[part].items():
            assert torch.equal(rank_0[part][key], rank_1[part][key]), f"{part}.{key} differs between processes"
            torch.testing.assert_close(rank_0[part][key], value, rtol=0, atol=1e-5)


def test_torchrun_sct_train_keeps_processes_identical(tiny_bert, pairs_file, dev_file, tmp_path):
    """`sct train` under torchrun (gloo, 2 processes): one run written, every process ends with the same state."""
    out = tmp_path / "run"
    args = [
        str(pairs_file), "-o", str(out), "--model", tiny_bert, "--batch-size", "8", "-k", "32", "--max-steps", "4",
        "--eval-steps", "2", "--logging-steps", "1", "--max-seq-length", "16", "--dev-file", str(dev_file),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(Path(__file__).with_name("ddp_worker.py")), str(tmp_path), *args]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    # a failing process's own traceback first (the launcher's report of it comes last and says little)
    ranks = "\n".join(line for line in done.stderr.splitlines() if line.startswith(("[rank0]", "[rank1]")))
    assert done.returncode == 0, ranks[-6000:] or done.stderr[-3000:]
    assert json.loads((out / "run_summary.json").read_text())["steps"] == 4
    assert json.loads((out / "run_config.json").read_text())["processes"] == 2
    steps = [json.loads(line)["step"] for line in (out / "training_log.jsonl").read_text().splitlines()]
    assert steps.count(4) == 2  # one loss record and one dev record, written once (by the main process)
    rank_0, rank_1 = (torch.load(tmp_path / f"state-rank{r}.pt") for r in range(2))
    assert rank_0.keys() == rank_1.keys()
    for key in rank_0:
        assert torch.equal(rank_0[key], rank_1[key]), f"{key} differs between processes"
    assert int(rank_0["queue_1.pointer"]) == 4 * 8 % 32
