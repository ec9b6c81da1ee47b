"""The training configuration: every option of `sct train` / `sct distill` as one dataclass, checked up front.

One home for the settings so that the CLI, presets, sweeps and resume all build and validate the same object
before any data or model is loaded.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from sct.errors import ConfigError
from sct.losses import validate_sct_hyperparameters

DEV_METRIC = "eval_sts-dev_spearman_cosine"
LOSS_STATE = "sct_loss_state.pt"
RUN_CONFIG = "run_config.json"
RUN_SUMMARY = "run_summary.json"
TRAINING_LOG = "training_log.jsonl"
CURVES_PNG = "training_curves.png"
VIEW_MODES = ("pairs", "identical")
OBJECTIVES = ("sct", "simcse", "distill")
RECIPES = ("joint", "two-stage")
PRECISIONS = ("auto", "float32", "bfloat16")
STAGE_1_SUFFIX = ".stage1"
TWO_STAGE_KEY = "two_stage_recipe"


@dataclass
class TrainConfig:
    """Everything a training run depends on; defaults follow the paper (section 4.1)."""

    train_file: str
    output_dir: str
    model: str | None = None
    student_layers: int | None = None
    student_architecture: str = "mean-pooling"
    views: str = "pairs"
    objective: str = "sct"
    ablation: str = "none"  # a Table 4 (SCT) or Table 6 (SCT distillation) ablation: sct.objective.ABLATIONS
    simcse_temperature: float = 0.05
    learning_rate: float = 5e-4
    queue_size: int = 131072
    online_temperature: float = 0.04
    reference_temperature: float = 0.03
    head_expansion: int = 10
    queue_init: str = "random"  # random (the paper) or encoder: sct.queue_init
    queue_init_file: str | None = None  # held-out sentences for the queues (default: the corpus's paper domains)
    batch_size: int = 128
    max_seq_length: int = 32
    epochs: float = 10.0
    max_steps: int | None = None
    eval_steps: int = 64
    patience: int = 7
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    adam_epsilon: float = 1e-6
    seed: int = 1000
    max_samples: int | None = None
    dedupe: bool = True
    data_dir: str | None = None
    dev_file: str | None = None
    amp: bool = True
    precision: str = "auto"  # auto: fp16 AMP on CUDA (unless amp is off), float32 on CPU; bfloat16: bf16 autocast
    batch_order: str = "random"  # random (the paper) or length: sct.batching
    freeze_word_embeddings: bool = False  # the word-embedding matrix gets no gradient and no optimiser update
    time_budget: float | None = None  # CPU minutes: stop at the first step past it (sct.budget)
    milestones: str | None = None  # "15,30,60": keep the best model as of each CPU-minute milestone
    logging_steps: int = 8
    eval_batch_size: int = 128
    keep_checkpoints: bool = False
    keep_last: int = 2  # checkpoints kept while training (the best one is kept besides)
    preset: str | None = None
    overwrite: bool = False
    resume: bool = False
    # Distillation (objective "distill"): teacher, loss and its weights, teacher-embedding cache.
    teacher: str | None = None
    distill_loss: str = "cd"
    distill_weight: float = 1.0
    sct_weight: float = 1.0
    ckd_temperature: float = 0.05
    recipe: str = "joint"
    teacher_cache: str | None = None
    teacher_normalize: bool = True
    teacher_precision: str = "float32"
    teacher_batch_size: int = 64
    teacher_queue_init: str = "random"  # random or teacher: sct.queue_init

    def validate(self) -> None:
        """Reject bad values before any data or model is loaded."""
        problems = [
            f"--{f.name.replace('_', '-')} must be a finite number, got {value}"
            for f in dataclasses.fields(self)
            if isinstance(value := getattr(self, f.name), float) and not math.isfinite(value)
        ]
        if problems:  # a NaN passes every comparison below: report it alone
            raise ConfigError("; ".join(problems))
        if self.model is None:
            problems.append("no model: pass --model or --preset")
        if self.student_architecture not in ("mean-pooling", "as-is"):
            problems.append(f"--student-architecture must be mean-pooling or as-is, got {self.student_architecture!r}")
        if self.objective not in OBJECTIVES:
            problems.append(f"--objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        from sct.objective import ABLATIONS

        if self.ablation not in ABLATIONS:
            problems.append(f"--ablation must be one of {', '.join(ABLATIONS)}, got {self.ablation!r}")
        elif self.ablation != "none" and self.objective == "simcse":
            problems.append(f"--ablation {self.ablation} is an ablation of SCT, not of SimCSE")
        if self.objective == "distill":
            problems.extend(self._distill_problems())
        problems.extend(self._queue_init_problems())
        if self.simcse_temperature <= 0:
            problems.append(f"SimCSE temperature must be > 0, got {self.simcse_temperature}")
        from sct.batching import BATCH_ORDERS

        if self.precision not in PRECISIONS:
            problems.append(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.batch_order not in BATCH_ORDERS:
            problems.append(f"--batch-order must be one of {', '.join(BATCH_ORDERS)}, got {self.batch_order!r}")
        if self.views not in VIEW_MODES:
            problems.append(f"--views must be one of {', '.join(VIEW_MODES)}, got {self.views!r}")
        try:
            validate_sct_hyperparameters(
                self.queue_size, self.online_temperature, self.reference_temperature, self.head_expansion
            )
        except ValueError as exc:
            problems.append(str(exc))
        if self.learning_rate <= 0:
            problems.append(f"learning rate must be > 0, got {self.learning_rate}")
        if self.batch_size < 1:
            problems.append(f"batch size must be >= 1, got {self.batch_size}")
        elif self.queue_size < self.batch_size:
            problems.append(f"queue size ({self.queue_size}) must be >= batch size ({self.batch_size})")
        for name in ("max_seq_length", "eval_steps", "logging_steps", "eval_batch_size", "keep_last"):
            if getattr(self, name) < 1:
                problems.append(f"{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.patience < 0:
            problems.append(f"patience must be >= 0 (0 disables early stopping), got {self.patience}")
        if not 0 <= self.warmup_ratio < 1:
            problems.append(f"warm-up ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.epochs <= 0:
            problems.append(f"epochs must be > 0, got {self.epochs}")
        if self.time_budget is not None and not 0 < self.time_budget < float("inf"):
            problems.append(f"--time-budget must be a positive number of CPU minutes, got {self.time_budget}")
        try:
            from sct.budget import parse_milestones

            parse_milestones(self.milestones)
        except ValueError as exc:
            problems.append(str(exc))
        if self.max_steps is not None and self.max_steps < 1:
            problems.append(f"max steps must be >= 1, got {self.max_steps}")
        if self.max_samples is not None and self.max_samples < 1:
            problems.append(f"max samples must be >= 1, got {self.max_samples}")
        if self.student_layers is not None and self.student_layers < 1:
            problems.append(f"student layers must be >= 1, got {self.student_layers}")
        if self.weight_decay < 0 or self.adam_epsilon <= 0:
            problems.append("weight decay must be >= 0 and Adam epsilon > 0")
        if problems:
            raise ConfigError("invalid training configuration:\n  - " + "\n  - ".join(problems))

    def _queue_init_problems(self) -> list[str]:
        from sct.queue_init import QUEUE_INITS, TEACHER_QUEUE_INITS

        problems = []
        if self.queue_init not in QUEUE_INITS:
            problems.append(f"--queue-init must be one of {', '.join(QUEUE_INITS)}, got {self.queue_init!r}")
        elif self.queue_init != "random":
            if self.objective == "simcse":
                problems.append("--queue-init encoder fills SCT's queues; SimCSE has none")
            elif self.objective == "distill" and self.recipe == "joint" and self.sct_weight == 0:
                problems.append("--queue-init encoder fills L_SCT's queues, which an SCT weight of 0 leaves out "
                                "(the teacher queues: --teacher-queue-init teacher)")  # fmt: skip
        if self.teacher_queue_init not in TEACHER_QUEUE_INITS:
            problems.append(
                f"--teacher-queue-init must be one of {', '.join(TEACHER_QUEUE_INITS)}, got {self.teacher_queue_init!r}"
            )
        elif self.teacher_queue_init != "random":
            if self.objective != "distill":
                problems.append("--teacher-queue-init teacher applies to distillation only")
            elif self.distill_loss == "mse":
                problems.append("--teacher-queue-init teacher: the mse loss keeps no teacher queue")
        return problems

    def _distill_problems(self) -> list[str]:
        from sct.losses import DISTILL_METHODS, distillation_ablation_problem
        from sct.objective import ABLATIONS
        from sct.teacher import PRECISIONS

        problems = []
        # an unknown ablation is reported once, by validate(); two-stage: stage 1 (self-supervised SCT) takes any
        if self.ablation in ABLATIONS and self.recipe == "joint":
            ablation_problem = distillation_ablation_problem(self.ablation, self.distill_loss, self.sct_weight)
            if ablation_problem:
                problems.append(f"--{ablation_problem}")
        if not self.teacher:
            problems.append("no teacher: pass --teacher or a distill preset")
        if self.distill_loss not in DISTILL_METHODS:
            problems.append(f"--distill-loss must be one of {', '.join(DISTILL_METHODS)}, got {self.distill_loss!r}")
        if self.distill_weight <= 0:
            problems.append(f"distill weight must be > 0, got {self.distill_weight}")
        if self.sct_weight < 0:
            problems.append(f"SCT weight must be >= 0 (0: distillation loss alone), got {self.sct_weight}")
        if self.ckd_temperature <= 0:
            problems.append(f"CKD temperature must be > 0, got {self.ckd_temperature}")
        if self.recipe not in RECIPES:
            problems.append(f"--recipe must be one of {', '.join(RECIPES)}, got {self.recipe!r}")
        if self.teacher_precision not in PRECISIONS:
            problems.append(
                f"--teacher-precision must be one of {', '.join(PRECISIONS)}, got {self.teacher_precision!r}"
            )
        if self.teacher_batch_size < 1:
            problems.append(f"teacher batch size must be >= 1, got {self.teacher_batch_size}")
        return problems

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
