"""One training path for every objective: ``train()`` checks, reads, sets up the model and loss, fits with
sentence-transformers' trainer and writes the run, each step a function below."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sct.config import LOSS_STATE, RUN_CONFIG, TRAINING_LOG, TrainConfig
from sct.data import ScoredPairs, read_json_if_present, write_json_atomic
from sct.distributed import (
    LossGradientSync,
    barrier,
    init_process_group,
    is_main_process,
    launched_world_size,
    main_process_first,
)
from sct.errors import ConfigError, TrainingStopped
from sct.losses import NonFiniteLoss
from sct.ownership import check_output_location, exclusive_output, made_by, mark
from sct.precision import resolve_precision
from sct.provenance import environment
from sct.run_dir import RESUMABLE_CHANGES, check_output, latest_checkpoint, work_dir_for
from sct.training.arguments import trainer_arguments
from sct.training.callbacks import make_callbacks
from sct.training.inputs import dev_evaluator, load_training_pairs, read_training_file, training_dataset
from sct.training.outcome import run_summary, write_run
from sct.training.setup import build_loss, freeze_word_embeddings, initialise_queues, project_to, teacher_settings
from sct.training.signals import StopRequest

logger = logging.getLogger(__name__)
PRECISIONS = ("precision", "teacher_precision")  # resolved per machine (sct.precision): a resume may change them


def train(config: TrainConfig, extra_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train as configured; returns the run summary (also written as ``run_summary.json``).

    ``extra_info`` is recorded in ``run_config.json`` (the two-stage recipe notes its full configuration
    there, so ``--resume`` can continue either stage). The main process holds the output's lock throughout.
    """
    config.validate()
    import torch

    config, fallback = resolve_precision(config, "cuda" if torch.cuda.is_available() else "cpu", is_main_process())
    if fallback is not None:
        extra_info = {**(extra_info or {}), "precision_fallback": fallback}
    if not is_main_process():
        return _train(config, extra_info, owner="")
    work, owner = work_dir_for(config.output_dir), uuid.uuid4().hex
    check_output_location(Path(config.output_dir))
    with exclusive_output(Path(config.output_dir)):
        try:
            return _train(config, extra_info, owner)
        except BaseException:  # a run this call started that never saved a step leaves no stub behind
            if made_by(work, owner) and not any((work / "checkpoints").glob("checkpoint-*")):
                shutil.rmtree(work, ignore_errors=True)
            raise


@dataclasses.dataclass
class _Run:
    """What the steps of one run share: where it writes, whether it resumes, what run_config.json records."""

    config: TrainConfig
    clock: Any
    world: int
    main: bool
    output: Path
    work: Path
    checkpoint: Path | None = None
    recorded: dict[str, Any] = dataclasses.field(default_factory=dict)
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def distilling(self) -> bool:
        return self.config.objective == "distill"

    @property
    def resumed_step(self) -> int:
        return int(self.checkpoint.name.split("-")[-1]) if self.checkpoint is not None else 0

    def write_info(self) -> None:
        if self.main:
            write_json_atomic(self.work / RUN_CONFIG, self.info, sort_keys=True)


def _train(config: TrainConfig, extra_info: dict[str, Any] | None, owner: str) -> dict[str, Any]:
    from transformers import set_seed

    run = _open(config)
    file_pairs = read_training_file(config)
    pairs = load_training_pairs(config, file_pairs)
    from sct.evaluation.sts import load_dev_set

    dev = load_dev_set(config.dev_file, config.data_dir)
    _start(run, owner, pairs, dev, extra_info)
    teacher = _teacher(run, pairs)
    set_seed(config.seed)
    model, info, facts = _student(config, teacher)
    loss = build_loss(config, model, teacher)
    facts["queue_init"] = _queues(run, loss, model, {t for pair in file_pairs for t in pair})
    if run.checkpoint is not None:
        _restore(run, loss)
    trainer, stop, run_callback, milestones = _trainer(run, model, loss, pairs, dev, facts["saved_max_seq_length"])
    started = time.time()
    train_output = _fit(run, trainer, stop)
    elapsed = time.time() - started
    state = trainer.state
    model.max_seq_length = facts["saved_max_seq_length"]
    if milestones is not None and run.main:
        milestones.run_ended(run.clock, state.global_step, state.best_model_checkpoint, state.best_metric)
    summary = run_summary(state, train_output, run.clock, elapsed, run.resumed_step, run_callback.budget_reached,
                          run.info["environment"]["sct_commit"])  # fmt: skip
    if not run.main:  # the main process writes the run
        barrier()
        return summary
    try:
        write_run(config, model, loss, info, state, summary, run.work, run.output, facts)
    except OSError as exc:  # e.g. a disk that filled up: the run stays resumable in its work directory
        raise TrainingStopped(
            f"an I/O error stopped writing the finished run: {exc}. Its checkpoints are in {run.work / 'checkpoints'} "
            f"(last whole one: {latest_checkpoint(run.work, config.objective != 'simcse') or 'none'}); free space, "
            f"then `sct {'distill' if run.distilling else 'train'} --resume {run.output}`.",
            exit_code=2,
        ) from exc
    barrier()
    logger.info("finished: best STS-B dev %.2f at step %s -> %s", summary["best_dev_spearman"] or float("nan"),
                summary["best_step"], run.output)  # fmt: skip
    return summary


def _open(config: TrainConfig) -> _Run:
    """Start the clock, join the process group and check the output, the teacher cache and the batch split."""
    from sct.budget import RunClock

    clock = RunClock()  # CPU time counts from here: data, teacher cache, queue init and training
    world, main = launched_world_size(), is_main_process()
    if config.batch_size % world:
        raise ConfigError(f"--batch-size {config.batch_size} (the global batch) must divide by the {world} processes")
    init_process_group()
    if config.objective == "distill":
        from sct.teacher import check_writable, default_cache_dir

        check_writable(config.teacher_cache or default_cache_dir())
    from sct.models import check_layer_count, resolve_model

    # an unknown model (or a cut deeper than the model) fails here, in seconds, before --overwrite removes anything
    check_layer_count(resolve_model(config.model), config.student_layers)
    if config.objective == "distill" and config.teacher:
        resolve_model(config.teacher)
    output, work = check_output(config, remove=main)  # every process checks; only the main one writes
    return _Run(config, clock, world, main, output, work)


def _start(run: _Run, owner: str, pairs: list[tuple[str, str]], dev: ScoredPairs,
           extra_info: dict[str, Any] | None) -> None:  # fmt: skip
    """Make the work directory, find the checkpoint to resume and write run_config.json."""
    config = run.config
    if run.main:
        run.work.mkdir(parents=True, exist_ok=True)
        if not config.resume:
            mark(run.work, "run", owner)
    barrier()
    run.checkpoint = latest_checkpoint(run.work, config.objective != "simcse") if config.resume else None
    run.recorded = read_json_if_present(run.work / RUN_CONFIG) if run.checkpoint is not None else {}
    if run.checkpoint is not None:  # what the run had cost when that checkpoint was saved, plus what it costs now
        run.clock.continue_from(run.checkpoint)
    if config.resume and run.checkpoint is None:
        logger.warning("no complete checkpoint in %s: starting the run from the beginning", run.work)
    run.info = {
        "argv": run.recorded.get("argv", sys.argv),  # how the run was started; each resume is listed below
        "config": config.to_dict(),
        "environment": environment(),
        "train_pairs": len(pairs),
        "dev_pairs": len(dev.scores),
        **(extra_info or {}),
    }
    if config.preset:
        from sct.presets import load_preset

        run.info["preset"] = load_preset(config.preset, command=None)
    if run.world > 1:
        run.info["processes"] = run.world
    if run.checkpoint is not None:  # options changed on resume, with the step they took effect from
        history, before = list(run.recorded.get("resume_changes", [])), run.recorded.get("config", {})
        changed = {k: [before.get(k), run.info["config"][k]] for k in (*RESUMABLE_CHANGES, *PRECISIONS)
                   if before.get(k) != run.info["config"][k]}  # fmt: skip
        if changed:
            history.append({"step": run.resumed_step, "changed": changed})
        run.info["resume_changes"] = history
        if "precision_fallback" in run.recorded:  # a fallback when the run started stays on its record
            run.info.setdefault("precision_fallback", run.recorded["precision_fallback"])
        run.info["resume_argv"] = [*run.recorded.get("resume_argv", []), sys.argv]
    run.write_info()


def _teacher(run: _Run, pairs: list[tuple[str, str]]):
    """The teacher's embeddings of every training view, from its cache (built once, charged to this run)."""
    if not run.distilling:
        return None
    from sct.teacher import teacher_embeddings

    with main_process_first():  # the main process fills the cache; the others then read it
        teacher = teacher_embeddings(pairs, **teacher_settings(run.config))
    if run.checkpoint is None:  # found in the cache: charge this run the CPU time it took to build
        run.clock.charge(teacher.charged_cpu_seconds)
    run.info["teacher_cache"] = {"directory": str(teacher.directory), "manifest": teacher.manifest}
    run.write_info()
    return teacher


def _student(config: TrainConfig, teacher) -> tuple[Any, Any, dict[str, Any]]:
    """The student as configured (cut, projected to the teacher's width, embeddings frozen, sequence length)."""
    from sct.models import load_student

    model, info = load_student(config.model, config.student_layers, architecture=config.student_architecture)
    projection = None
    if teacher is not None and model.get_embedding_dimension() != teacher.dim:
        model, projection = project_to(model, teacher.dim)
    if config.freeze_word_embeddings:
        freeze_word_embeddings(model)
    facts = {"projection": projection, "saved_max_seq_length": model.max_seq_length}
    model.max_seq_length = config.max_seq_length
    return model, info, facts


def _queues(run: _Run, loss, model, training_texts: set[str]) -> dict[str, Any] | None:
    """Fill the queues from held-out sentences (a new run), or recall how the resumed run filled them."""

    if run.checkpoint is None:  # a resumed run takes its queues from the checkpoint
        with main_process_first():  # a teacher-queue cache entry is filled once
            queue_init = initialise_queues(run.config, loss, model, training_texts)
        if queue_init is not None:
            run.clock.charge(queue_init.get("charged_cpu_seconds", 0.0))
    else:
        queue_init = run.recorded.get("queue_init")
    if queue_init is not None:
        run.info["queue_init"] = queue_init
        run.write_info()
    return queue_init


def _restore(run: _Run, loss) -> None:
    """Load the loss's queues from the checkpoint and cut the log back to it."""
    import torch

    if hasattr(loss, "load_loss_state_dict"):
        loss.load_loss_state_dict(torch.load(run.checkpoint / LOSS_STATE, map_location="cpu"))
    log_path = run.work / TRAINING_LOG
    if run.main and log_path.is_file():  # drop records the interrupted run wrote after its last checkpoint
        kept = [line for line in log_path.read_text().splitlines() if json.loads(line)["step"] <= run.resumed_step]
        log_path.write_text("".join(line + "\n" for line in kept))
    if run.main:
        _rebase_trainer_state(run)
    barrier()
    logger.info("resuming from %s", run.checkpoint)


def _rebase_trainer_state(run: _Run) -> None:
    """The checkpoint's trainer state made true of this run: its own best checkpoint (a copied or renamed run
    would follow the original's), and the dev, save and logging intervals and the patience as given now
    (transformers restores the stored ones over the arguments)."""
    from sct.data import write_lines_atomic

    path = run.checkpoint / "trainer_state.json"
    state = json.loads(path.read_text())
    if state.get("best_model_checkpoint"):
        state["best_model_checkpoint"] = str(run.work / "checkpoints" / Path(state["best_model_checkpoint"]).name)
    config = run.config
    state.update(eval_steps=config.eval_steps, save_steps=config.eval_steps, logging_steps=config.logging_steps)
    stopper = state.get("stateful_callbacks", {}).get("EarlyStoppingCallback")
    for entry in stopper if isinstance(stopper, list) else [stopper] if stopper else []:
        entry.setdefault("args", {})["early_stopping_patience"] = config.patience
    write_lines_atomic(path, json.dumps(state, indent=2).split("\n"))


def _trainer(run: _Run, model, loss, pairs: list[tuple[str, str]], dev: ScoredPairs, saved_max_seq_length: int):
    """sentence-transformers' trainer with the run's callbacks (log, budget, milestones, DDP, early stopping)."""
    from sentence_transformers import SentenceTransformerTrainer
    from transformers import EarlyStoppingCallback

    config = run.config
    stop = StopRequest()
    milestones = None
    if config.milestones:
        from sct.budget import Milestones, parse_milestones

        milestones = Milestones(parse_milestones(config.milestones), run.work, saved_max_seq_length)
    log_from = run.resumed_step + 1 if run.checkpoint else 0
    peak = config.learning_rate if run.checkpoint else None
    run_callback = make_callbacks(loss, run.work, run.clock, log_from, stop, config.time_budget, milestones, peak)
    callbacks = [run_callback]
    if run.world > 1:
        callbacks.append(LossGradientSync(loss))
    if config.patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.patience))
    trainer = SentenceTransformerTrainer(
        model=model,
        args=trainer_arguments(config, run.work, run.world, resuming=run.checkpoint is not None),
        train_dataset=training_dataset(pairs, run.distilling),
        loss=loss,
        evaluator=dev_evaluator(dev, config.eval_batch_size),
        callbacks=callbacks,
    )
    return trainer, stop, run_callback, milestones


def _fit(run: _Run, trainer, stop: StopRequest):
    """Train; an I/O error, a non-finite loss or a signal ends in one line naming the checkpoint to go on from."""
    config, work = run.config, run.work
    resume_hint = f"`sct {'distill' if run.distilling else 'train'} --resume {run.output}`"
    stop.install()
    try:
        output = trainer.train(resume_from_checkpoint=str(run.checkpoint) if run.checkpoint else None)
    except OSError as exc:  # e.g. disk full while saving: the checkpoints before this one stay whole
        raise TrainingStopped(
            f"an I/O error stopped training at step {trainer.state.global_step}: {exc}. Last whole checkpoint: "
            f"{latest_checkpoint(work, config.objective != 'simcse') or 'none yet'}. Free space (or fix the path), "
            f"then {resume_hint}.",
            exit_code=2,
        ) from exc
    except NonFiniteLoss as exc:
        raise TrainingStopped(
            f"{exc} at step {trainer.state.global_step + 1}: stopped before that step's update. Last good "
            f"checkpoint: {latest_checkpoint(work, config.objective != 'simcse') or 'none yet'}. Continue from it "
            f"with {resume_hint} --learning-rate LOWER, or raise the temperatures and start again with --overwrite.",
            exit_code=3,
        ) from exc
    finally:
        stop.restore()
    if stop.signal_name is not None:
        raise TrainingStopped(
            f"stopped by {stop.signal_name} after step {trainer.state.global_step}; checkpoint saved in "
            f"{work / 'checkpoints'}; continue with {resume_hint}"
        )
    return output
