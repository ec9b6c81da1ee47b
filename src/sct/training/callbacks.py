"""The run's trainer callback: the JSONL training log, SCT's loss state and the clock in every checkpoint, the
final step scored, the CPU-time budget, the milestones."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sct.config import DEV_METRIC, LOSS_STATE, TRAINING_LOG
from sct.losses import NonFiniteLoss
from sct.training.signals import StopRequest


def make_callbacks(loss, work: Path, clock, log_from_step: int, stop: StopRequest | None = None,
                   time_budget: float | None = None, milestones=None, resumed_peak: float | None = None):  # fmt: skip
    """The run's trainer callback; ``clock`` is the run's :class:`sct.budget.RunClock` (CPU and wall time);
    ``resumed_peak``: a resumed run's peak learning rate now (``--learning-rate`` on resume), to which the
    checkpoint's schedule is rescaled (its own peak is read from the restored scheduler)."""
    import torch
    from transformers import TrainerCallback

    log_path = work / TRAINING_LOG

    class RunCallback(TrainerCallback):
        """Writes the JSONL log, saves SCT's loss state and the clock into checkpoints, scores the final step,
        stops at the CPU-time budget, and keeps the best model at each milestone."""

        budget_reached = False

        def on_train_begin(self, args, state, control, optimizer=None, lr_scheduler=None, **kwargs):
            if resumed_peak is None or lr_scheduler is None:
                return
            scheduler = getattr(lr_scheduler, "scheduler", lr_scheduler)  # accelerate wraps it
            scale = resumed_peak / scheduler.base_lrs[0]  # the checkpoint's own peak, whatever run_config says
            if abs(scale - 1.0) < 1e-12:
                return
            scheduler.base_lrs = [lr * scale for lr in scheduler.base_lrs]
            if hasattr(scheduler, "_last_lr"):  # what the first log after the resume reports
                scheduler._last_lr = [lr * scale for lr in scheduler._last_lr]
            for group in optimizer.param_groups:  # the restored step's rate, and the peak the schedule scales
                group["initial_lr"] = group.get("initial_lr", group["lr"]) * scale
                group["lr"] *= scale

        def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
            if args.fp16:  # float16's loss scaler skips overflowing steps itself
                return
            trained = loss.parameters() if hasattr(loss, "parameters") else model.parameters()  # head included
            grads = [p.grad for p in trained if p.grad is not None]
            if grads and not bool(torch.isfinite(torch.stack(torch._foreach_norm(grads))).all()):
                # whatever the objective (SimCSE's loss is not checked itself): no update from a non-finite gradient
                raise NonFiniteLoss("a gradient is not finite")

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            record: dict[str, Any] = {"step": state.global_step, "elapsed_s": round(clock.wall_seconds(), 2),
                                      "cpu_s": round(clock.cpu_seconds(), 2)}  # fmt: skip
            if "loss" in logs:
                record["loss"] = logs["loss"]
            if "learning_rate" in logs:
                record["lr"] = logs["learning_rate"]
            record.update({k: v for k, v in logs.items() if k.startswith("loss_")})
            if DEV_METRIC in logs:
                record["dev_spearman"] = round(logs[DEV_METRIC] * 100, 4)
            if len(record) > 3 and state.global_step >= log_from_step and state.is_world_process_zero:
                with open(log_path, "a") as handle:
                    handle.write(json.dumps(record) + "\n")

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= state.max_steps:
                control.should_evaluate = True
                control.should_save = True
            if stop is not None and stop.requested():
                control.should_save = True
                control.should_training_stop = True
            if time_budget is not None and clock.cpu_seconds() >= 60 * time_budget:
                self.budget_reached = True
                control.should_evaluate = True
                control.should_save = True
                control.should_training_stop = True

        def on_save(self, args, state, control, **kwargs):
            checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if not (state.is_world_process_zero and checkpoint.is_dir()):
                return
            clock.save(checkpoint)
            if hasattr(loss, "loss_state_dict"):
                tmp = checkpoint / (LOSS_STATE + ".tmp")
                torch.save({k: v.detach().cpu() for k, v in loss.loss_state_dict().items()}, tmp)
                os.replace(tmp, checkpoint / LOSS_STATE)
            if milestones is not None:
                milestones.checkpoint_saved(clock, state.global_step, state.best_model_checkpoint, state.best_metric)

    return RunCallback()
