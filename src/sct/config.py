"""The training configuration: every option of `sct train` / `sct distill` as one dataclass, checked up front.

One home for the settings so that the CLI, presets, sweeps and resume all build and validate the same object
before any data or model is loaded.
"""

from __future__ import annotations

import builtins
import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from sct.ablations import ABLATIONS, distillation_ablation_problem
from sct.batching import BATCH_ORDERS
from sct.errors import ConfigError
from sct.losses import (
    DEFAULT_HEAD_EXPANSION,
    DEFAULT_ONLINE_TEMPERATURE,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_REFERENCE_TEMPERATURE,
    DISTILL_METHODS,
    validate_sct_hyperparameters,
)
from sct.queue_init import QUEUE_INITS, TEACHER_QUEUE_INITS
from sct.teacher import PRECISIONS as TEACHER_PRECISIONS

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
STUDENT_ARCHITECTURES = ("mean-pooling", "as-is")
STAGE_1_SUFFIX = ".stage1"
TWO_STAGE_KEY = "two_stage_recipe"


BOTH = ("train", "distill")


def parse_bool(text: str) -> bool:
    """A boolean typed as text (a sweep's ``--param freeze_word_embeddings=true,false``)."""
    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"expected true or false, got {text!r}")
    return text.lower() in ("true", "1", "yes")


def option(default: Any, help: str, *, flags: tuple[str, ...] = (), choices: tuple[str, ...] | None = None,
           commands: tuple[str, ...] = BOTH, preset: bool = False, kind: str = "value", type: Any = None,
           metavar: str | None = None) -> Any:  # fmt: skip
    """A training option: its default, help and choices written once, for argparse, presets, sweeps and resume.

    ``kind``: ``value`` (``--name VALUE``), ``flag`` (``--name`` sets True) or ``negate`` (``--no-name`` sets
    False); ``type`` converts text (a ``--param`` value, a command-line value) and defaults to the default's type.
    """
    kind_type = type or (parse_bool if isinstance(default, bool) else builtins.type(default))
    meta = {"help": help, "flags": flags, "choices": choices, "commands": commands, "preset": preset, "kind": kind,
            "type": kind_type, "metavar": metavar}  # fmt: skip
    return dataclasses.field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    """Everything a training run depends on; defaults follow the paper (section 4.1)."""

    train_file: str
    output_dir: str
    model: str | None = option(None, "student: local dir, hub id, or offline packaged id", preset=True, type=str)
    student_layers: int | None = option(None, "keep only the first N transformer layers", preset=True, type=int)
    student_architecture: str = option(
        "mean-pooling", "mean-pooling: the model's transformer plus mean pooling (the paper's student), dropping e.g. "
        "a Normalize module; as-is: train a sentence-transformers model with all its modules",
        choices=STUDENT_ARCHITECTURES,
    )  # fmt: skip
    views: str = option(
        "pairs", "pairs: the file holds two views per line; identical: one sentence per line, both views are the "
        "sentence (dropout-only views)", choices=VIEW_MODES, preset=True,
    )  # fmt: skip
    objective: str = option(
        "sct", "sct or simcse: unsupervised SimCSE, in-batch InfoNCE of the two views at temperature "
        "--simcse-temperature (the paper's main self-supervised baseline; queue and SCT temperatures unused)",
        choices=("sct", "simcse"), commands=("train",),
    )  # fmt: skip
    ablation: str = option("none", "an ablation of SCT (Table 4) or of SCT distillation (Table 6)",
                           choices=tuple(ABLATIONS))  # fmt: skip
    reference_momentum: float | None = option(
        None, "with --ablation momentum-reference: the EMA rate m per step (ref <- m ref + (1 - m) encoder; "
        "default 0.99, time constant ~100 steps; 1 keeps the initial student as a frozen reference)", type=float,
    )  # fmt: skip
    simcse_temperature: float = option(0.05, "SimCSE temperature", commands=("train",))
    learning_rate: float = option(5e-4, "peak learning rate", flags=("--learning-rate", "--lr"), preset=True)
    queue_size: int = option(DEFAULT_QUEUE_SIZE, "instance queue size k", flags=("--queue-size", "-k"), preset=True)
    online_temperature: float = option(DEFAULT_ONLINE_TEMPERATURE, "tau_theta", preset=True)
    reference_temperature: float = option(DEFAULT_REFERENCE_TEMPERATURE, "tau_ref", preset=True)
    head_expansion: int = option(DEFAULT_HEAD_EXPANSION, "projection head width factor w")
    queue_init: str = option(
        "random", "how L_SCT's queues start: random (the paper's) or encoder: the initial student's embeddings of "
        "2k held-out sentences (never training or evaluation sentences)", choices=QUEUE_INITS, preset=True,
    )  # fmt: skip
    queue_init_file: str | None = option(
        None, "held-out sentences for the queues: a sentence file or corpus TSV (default: the data root's corpus, "
        "caption and nli domains)", type=str,
    )  # fmt: skip
    batch_size: int = option(128, "training batch size (the global batch over all processes)", preset=True)
    max_seq_length: int = option(32, "training max_seq_length", preset=True)
    epochs: float = option(10.0, "at most this many epochs", preset=True)
    max_steps: int | None = option(None, "stop after this many steps (overrides --epochs)", preset=True, type=int)
    time_budget: float | None = option(
        None, "stop at the first step after this many CPU minutes (the process's CPU time, carried across resumes; "
        "a teacher cache built by another run is charged too); the schedule still spans --max-steps",
        type=float, metavar="MINUTES", preset=True,
    )  # fmt: skip
    milestones: str | None = option(
        None, "CPU minutes at which to keep a copy of the best model so far (RUN/milestones/cpu<M>min)", type=str,
        metavar="M1,M2,...", preset=True,
    )  # fmt: skip
    eval_steps: int = option(64, "evaluate STS-B dev every N steps", preset=True)
    patience: int = option(7, "early stopping patience in evaluations (0: off)", preset=True)
    warmup_ratio: float = option(0.1, "fraction of steps for linear warm-up", preset=True)
    weight_decay: float = option(0.01, "AdamW weight decay")
    adam_epsilon: float = option(1e-6, "AdamW epsilon")
    seed: int = option(1000, "seed for shuffling, queues, head and dropout")
    max_samples: int | None = option(None, "use at most N training pairs (after shuffling)", preset=True, type=int)
    dedupe: bool = option(True, "keep duplicate training pairs", kind="negate")
    data_dir: str | None = None  # the evaluation data root (its option is shared with other commands)
    dev_file: str | None = option(None, "STS-B dev file: SentEval sts-dev.csv or stsbenchmark.tsv.gz", type=str)
    amp: bool = option(True, "no mixed precision even on CUDA", kind="negate")
    precision: str = option(
        "auto", "auto: fp16 mixed precision on CUDA, float32 on the CPU; float32; bfloat16: bf16 autocast (CPU or "
        "GPU; the SCT objective stays float32) where the device has a fast bf16 path, float32 with a warning "
        "elsewhere (an AVX2-only CPU)", choices=PRECISIONS, preset=True,
    )  # fmt: skip
    batch_order: str = option(
        "random", "random (the paper): shuffled batches; length: shuffled pools of 50 batches sorted by length (less "
        "padding, same pairs per epoch)", choices=BATCH_ORDERS, preset=True,
    )  # fmt: skip
    freeze_word_embeddings: bool = option(
        False, "do not train the word-embedding matrix (no gradient, no optimiser update)", kind="flag", preset=True
    )
    logging_steps: int = option(8, "log the loss every N steps")
    eval_batch_size: int = option(128, "batch size for dev encoding")
    keep_checkpoints: bool = option(False, "keep checkpoints in the finished run", kind="flag")
    keep_last: int = option(2, "checkpoints kept while training, besides the best")
    preset: str | None = None  # a named set of the options marked preset=True (sct/presets/)
    overwrite: bool = option(False, "replace an existing run or interrupted run", kind="flag")
    resume: bool = False  # set by --resume RUN_DIR
    # Distillation (objective "distill"): teacher, loss and its weights, teacher-embedding cache.
    teacher: str | None = option(
        None, "teacher: local dir, hub id, or installed id (sct models install ...)", commands=("distill",),
        preset=True, type=str,
    )  # fmt: skip
    distill_loss: str = option(
        "cd", "cd: SCT's cross-view distillation L_CD; mse, congen, ckd: the paper's Table 7 baselines",
        choices=DISTILL_METHODS, commands=("distill",), preset=True,
    )  # fmt: skip
    distill_weight: float = option(1.0, "weight of the distillation loss", commands=("distill",), preset=True)
    sct_weight: float = option(1.0, "weight of L_SCT (0: the distillation loss alone)", commands=("distill",),
                               preset=True)  # fmt: skip
    ckd_temperature: float = option(0.05, "CKD InfoNCE temperature", commands=("distill",))
    recipe: str = option(
        "joint", "joint: w_sct L_SCT + w_cd L_distill in one run (paper eq. 3); two-stage: self-supervised SCT into "
        "<output>.stage1, then the distillation loss alone from it", choices=RECIPES, commands=("distill",),
    )  # fmt: skip
    teacher_cache: str | None = option(
        None, "teacher-embedding cache directory (default $SCT_HOME/teacher-cache)", commands=("distill",), type=str
    )
    teacher_normalize: bool = option(
        True, "cache the teacher's embeddings without L2 normalisation", kind="negate", commands=("distill",)
    )
    teacher_precision: str = option(
        "float32", "precision the teacher runs in (part of the cache key); bfloat16 falls back to float32 where "
        "the device has no fast bf16 path", choices=TEACHER_PRECISIONS,
        commands=("distill",),
    )  # fmt: skip
    teacher_batch_size: int = option(64, "teacher encoding batch size", commands=("distill",))
    teacher_queue_init: str = option(
        "random", "how the teacher queues (cd, congen, ckd) start: random or teacher: the teacher's embeddings of "
        "held-out sentences, through the teacher cache", choices=TEACHER_QUEUE_INITS, commands=("distill",),
        preset=True,
    )  # fmt: skip

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

        if self.ablation not in ABLATIONS:
            problems.append(f"--ablation must be one of {', '.join(ABLATIONS)}, got {self.ablation!r}")
        elif self.ablation != "none" and self.objective == "simcse":
            problems.append(f"--ablation {self.ablation} is an ablation of SCT, not of SimCSE")
        if self.reference_momentum is not None:
            if self.ablation != "momentum-reference":
                problems.append("--reference-momentum needs --ablation momentum-reference")
            elif not 0 <= self.reference_momentum <= 1:
                problems.append(f"--reference-momentum must be in [0, 1], got {self.reference_momentum}")
        if self.objective == "distill":
            problems.extend(self._distill_problems())
        problems.extend(self._queue_init_problems())
        if self.simcse_temperature <= 0:
            problems.append(f"SimCSE temperature must be > 0, got {self.simcse_temperature}")
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
        if self.teacher_precision not in TEACHER_PRECISIONS:
            problems.append(
                f"--teacher-precision must be one of {', '.join(TEACHER_PRECISIONS)}, got {self.teacher_precision!r}"
            )
        if self.teacher_batch_size < 1:
            problems.append(f"teacher batch size must be >= 1, got {self.teacher_batch_size}")
        return problems

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def preset_keys() -> set[str]:
    """The settings a preset may hold: the options marked ``preset=True``."""
    return {f.name for f in dataclasses.fields(TrainConfig) if f.metadata.get("preset")}


def option_types() -> dict[str, Any]:
    """Each option's text-to-value conversion (a ``--param`` grid value, a command-line value)."""
    return {f.name: f.metadata["type"] for f in dataclasses.fields(TrainConfig) if "type" in f.metadata}
