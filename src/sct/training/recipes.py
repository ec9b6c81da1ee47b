"""The two-stage distillation recipe: self-supervised SCT first, then distillation from that model."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from sct.config import RUN_SUMMARY, STAGE_1_SUFFIX, TWO_STAGE_KEY, TrainConfig
from sct.data import write_json_atomic
from sct.ownership import exclusive_output
from sct.run_dir import work_dir_for
from sct.training.trainer import train

logger = logging.getLogger(__name__)


def distill(config: TrainConfig) -> dict[str, Any]:
    """`sct distill`: the joint objective (eq. 3) in one run, or the two-stage recipe.

    Two-stage: stage 1 trains self-supervised SCT (same hyper-parameters and step budget) into
    ``<output>.stage1``; stage 2 starts from that model and trains the distillation loss alone
    (``sct_weight = 0``). A finished stage 1 is reused when the command is run again.
    """
    if config.recipe == "joint":
        return train(config)
    config.validate()
    output = Path(config.output_dir)
    # each stage locks its own output; this lock spans both and the final summary, so a second two-stage
    # command into the same output is refused between the stages too
    with exclusive_output(output.with_name(output.name + ".two-stage"), f"two-stage run {output}"):
        return _two_stage(config, output)


def _two_stage(config: TrainConfig, output: Path) -> dict[str, Any]:
    stage_1_dir = output.with_name(output.name + STAGE_1_SUFFIX)
    stage_1 = dataclasses.replace(
        config, objective="sct", output_dir=str(stage_1_dir), teacher=None, recipe="joint", teacher_queue_init="random"
    )
    recipe_info = {TWO_STAGE_KEY: {"distill_config": config.to_dict(), "stage_1": str(stage_1_dir)}}
    if (stage_1_dir / RUN_SUMMARY).is_file() and not config.overwrite:
        logger.info("two-stage recipe: reusing the finished stage 1 in %s", stage_1_dir)
        stage_1_summary = json.loads((stage_1_dir / RUN_SUMMARY).read_text())
    else:
        logger.info("two-stage recipe: stage 1 (self-supervised SCT) -> %s", stage_1_dir)
        resume_1 = config.resume and work_dir_for(stage_1_dir).is_dir()
        stage_1_summary = train(dataclasses.replace(stage_1, resume=resume_1), recipe_info)
    from sct.ablations import distillation_ablation_problem

    # the ablation shaped stage 1; stage 2 keeps it only where it changes the distillation loss alone
    stage_2_ablation = config.ablation
    if distillation_ablation_problem(config.ablation, config.distill_loss, 0.0):
        stage_2_ablation = "none"
    stage_2 = dataclasses.replace(
        config,
        model=str(stage_1_dir),
        student_layers=None,
        sct_weight=0.0,
        queue_init="random",  # stage 2 has no L_SCT queues; stage 1 took --queue-init
        ablation=stage_2_ablation,
        reference_momentum=config.reference_momentum if stage_2_ablation == "momentum-reference" else None,
        recipe="joint",
        resume=config.resume and work_dir_for(output).is_dir(),
    )
    logger.info("two-stage recipe: stage 2 (%s distillation from %s) -> %s", config.distill_loss, stage_1_dir, output)
    summary = train(stage_2, recipe_info)
    summary["stage_1"] = {"output_dir": str(stage_1_dir), **stage_1_summary}
    write_json_atomic(output / RUN_SUMMARY, summary, sort_keys=True)
    return summary
