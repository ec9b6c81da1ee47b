"""What a finished run leaves: its summary, the saved model with sct_model.json, the training curves, the card,
and the rename from ``<output>.incomplete`` to ``<output>``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sct.config import CURVES_PNG, RUN_SUMMARY, TRAINING_LOG, TrainConfig
from sct.data import write_json_atomic
from sct.run_dir import finalise

OBJECTIVE_NAMES = {"sct": "SCT", "simcse": "SimCSE"}


def run_summary(state, train_output, clock, elapsed: float, resumed_step: int, budget_reached: bool,
                commit: str | None) -> dict[str, Any]:  # fmt: skip
    """The numbers ``run_summary.json`` keeps, from the trainer's final state and the run's clock."""
    best_step = int(state.best_model_checkpoint.rsplit("-", 1)[-1]) if state.best_model_checkpoint else None
    if budget_reached:
        reason = "time budget"
    else:
        reason = "early stopping" if state.global_step < state.max_steps else "max steps"
    return {
        "status": "finished",
        "stop_reason": reason,
        "best_dev_spearman": None if state.best_metric is None else state.best_metric * 100,
        "best_step": best_step,
        "steps": state.global_step,
        "max_steps": state.max_steps,
        "stopped_early": state.global_step < state.max_steps,
        "train_loss": train_output.training_loss,
        "train_seconds": round(elapsed, 1),
        "seconds_per_step": round(elapsed / max(1, state.global_step - resumed_step), 3),
        "cpu_seconds": round(clock.cpu_seconds(), 1),
        "cpu_seconds_charged": round(clock.charged, 1),  # a teacher cache another process built, this session
        "wall_seconds": round(clock.wall_seconds(), 1),
        "sct_commit": commit,
    }


def write_run(config: TrainConfig, model, loss, info, state, summary: dict[str, Any], work: Path, output: Path,
              model_facts: dict[str, Any]) -> None:  # fmt: skip
    """Save the best model and everything beside it, then make the run final (main process only).

    ``model_facts``: ``projection``, ``saved_max_seq_length`` and ``queue_init`` as the run set them up.
    """
    from sct.card import write_model_card
    from sct.models import write_model_config
    from sct.plots import plot_training_log

    distilling = config.objective == "distill"
    model.save(str(work))
    write_model_config(
        work,
        {
            "student": info.to_dict(),
            "objective": config.objective,
            "projection": model_facts["projection"],
            "teacher": config.teacher if distilling else None,
            "training": {
                "max_seq_length": config.max_seq_length,
                "saved_max_seq_length": model_facts["saved_max_seq_length"],
                "best_dev_spearman": None if state.best_metric is None else state.best_metric * 100,
                "best_checkpoint": state.best_model_checkpoint,
                "loss": loss.get_config_dict(),
                "queue_init": {
                    "queues": config.queue_init,
                    "teacher_queues": config.teacher_queue_init,
                    **(model_facts["queue_init"] or {}),
                },  # fmt: skip
            },
        },
    )
    layers = f", first {info.layers_kept} layers" if config.student_layers else ""
    name = OBJECTIVE_NAMES.get(config.objective, f"distillation ({config.distill_loss})")
    plot_training_log(work / TRAINING_LOG, work / CURVES_PNG, title=f"{name}: {config.model}{layers}")
    write_json_atomic(work / RUN_SUMMARY, summary, sort_keys=True)
    write_model_card(work)
    finalise(work, output)
    if not config.keep_checkpoints:  # only once the run is whole in its final place: until then it can resume
        shutil.rmtree(output / "checkpoints", ignore_errors=True)
