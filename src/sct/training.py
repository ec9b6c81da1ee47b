"""`sct train` and `sct distill`: one training path on sentence-transformers' trainer, the paper's protocol.

A run trains in ``<output>.incomplete/`` and is renamed to ``<output>`` only when it has finished,
so an interrupted run never leaves a directory that looks complete.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sct.config import (
    CURVES_PNG,
    DEV_METRIC,
    LOSS_STATE,
    RUN_CONFIG,
    RUN_SUMMARY,
    STAGE_1_SUFFIX,
    TRAINING_LOG,
    TWO_STAGE_KEY,
    TrainConfig,
)
from sct.data import prepare_pairs, read_json_if_present, read_pairs, read_sentences, write_json_atomic
from sct.errors import ConfigError, DataError, TrainingStopped
from sct.losses import NonFiniteLoss
from sct.ownership import check_output_location, exclusive_output, made_by, mark
from sct.provenance import environment
from sct.run_dir import RESUMABLE_CHANGES, check_output, finalise, latest_checkpoint, work_dir_for

logger = logging.getLogger(__name__)


def read_training_file(config: TrainConfig) -> list[tuple[str, str]]:
    """Every pair of the training file (both views equal for ``--views identical``), before selection."""
    if config.views == "identical":
        return [(s, s) for s in read_sentences(config.train_file)]
    return read_pairs(config.train_file)


def load_training_pairs(config: TrainConfig, pairs: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """The pairs the run trains on: de-duplicated, shuffled by the seed, cut to ``--max-samples``."""
    if pairs is None:
        pairs = read_training_file(config)
    prepared = prepare_pairs(pairs, seed=config.seed, max_samples=config.max_samples, dedupe=config.dedupe)
    if len(prepared) < config.batch_size:
        raise DataError(
            f"{config.train_file}: {len(prepared)} training pairs after de-duplication, fewer than one batch "
            f"({config.batch_size}); lower --batch-size or add data"
        )
    logger.info("training pairs: %d read, %d used", len(pairs), len(prepared))
    return prepared


class StopRequest:
    """Set by SIGINT/SIGTERM: the run saves a checkpoint at the end of the current step, then stops."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        import signal

        self.signal_name = signal.Signals(signum).name
        logger.warning("%s: saving a checkpoint after this step, then stopping (send it again to stop at once)",
                       self.signal_name)  # fmt: skip
        signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))  # a second signal acts as before

    def requested(self) -> bool:
        """Whether any process got a signal: under DDP every process must stop after the same step."""
        from sct.distributed import any_process

        return any_process(self.signal_name is not None)

    def restore(self) -> None:
        import signal

        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


def _make_callbacks(loss, work: Path, clock, log_from_step: int, stop: StopRequest | None = None,
                    time_budget: float | None = None, milestones=None):  # fmt: skip
    """The run's trainer callback; ``clock`` is the run's :class:`sct.budget.RunClock` (CPU and wall time)."""
    import torch
    from transformers import TrainerCallback

    log_path = work / TRAINING_LOG

    class RunCallback(TrainerCallback):
        """Writes the JSONL log, saves SCT's loss state and the clock into checkpoints, scores the final step,
        stops at the CPU-time budget, and keeps the best model at each milestone."""

        budget_reached = False

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


def build_loss(config: TrainConfig, model, teacher=None):
    """The training objective: SCT (paper eq. 2), distillation (eq. 3-4 and Table 7's baselines), or SimCSE.

    SimCSE (Gao et al., 2021) is in-batch InfoNCE between two dropout passes of the same sentence at
    temperature 0.05, i.e. sentence-transformers' MultipleNegativesRankingLoss with scale 1 / 0.05 on
    identical views (or on whatever two views the training file holds).
    """
    if config.objective == "simcse":
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

        return MultipleNegativesRankingLoss(model, scale=1.0 / config.simcse_temperature)
    sct_settings = {
        "queue_size": config.queue_size,
        "online_temperature": config.online_temperature,
        "reference_temperature": config.reference_temperature,
        "head_expansion": config.head_expansion,
        "seed": config.seed,
    }
    if config.objective == "distill":
        from sct.losses import DistillationLoss

        return DistillationLoss(
            model,
            teacher,
            method=config.distill_loss,
            distill_weight=config.distill_weight,
            sct_weight=config.sct_weight,
            ckd_temperature=config.ckd_temperature,
            ablation=config.ablation,
            **sct_settings,
        )
    from sct.losses import SCTLoss

    return SCTLoss(model, **sct_settings, ablation=config.ablation)


def initialise_queues(config: TrainConfig, loss, model, training_texts: set[str]) -> dict[str, Any] | None:
    """Fill the loss's queues from held-out sentences as ``--queue-init`` / ``--teacher-queue-init`` ask.

    Returns what was done (for run_config and sct_model.json), or None when every queue stays random.
    """
    from sct.queue_init import encoder_rows, held_out_sentences, teacher_rows

    sct_loss = loss if config.objective == "sct" else getattr(loss, "sct", None)
    encoder_count = 2 * config.queue_size if config.queue_init == "encoder" and sct_loss is not None else 0
    teacher_count = loss.teacher_queue_rows() if config.teacher_queue_init == "teacher" else 0
    if not encoder_count and not teacher_count:
        return None
    started = time.time()
    held_out = held_out_sentences(
        max(encoder_count, teacher_count), training_texts, config.seed, config.queue_init_file, config.data_dir
    )
    info: dict[str, Any] = {"held_out": held_out.summary()}
    if encoder_count:
        sct_loss.fill_queues(encoder_rows(model, held_out.sentences[:encoder_count], config.eval_batch_size))
        info["encoder_rows"] = encoder_count
    if teacher_count:
        rows, cache = teacher_rows(held_out.sentences[:teacher_count], _teacher_settings(config))
        loss.fill_teacher_queues(rows)
        info.update(teacher_rows=teacher_count, teacher_cache=cache, charged_cpu_seconds=cache["charged_cpu_seconds"])
    info["seconds"] = round(time.time() - started, 1)
    logger.info("queues filled from %d held-out sentences in %.1f s", held_out.summary()["used"], info["seconds"])
    return info


def _teacher_settings(config: TrainConfig) -> dict[str, Any]:
    from sct.teacher import default_cache_dir

    return {
        "teacher": config.teacher,
        "cache_dir": config.teacher_cache or default_cache_dir(),
        "max_seq_length": config.max_seq_length,
        "normalize": config.teacher_normalize,
        "precision": config.teacher_precision,
        "batch_size": config.teacher_batch_size,
    }


def train(config: TrainConfig, extra_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train as configured; returns the run summary (also written as ``run_summary.json``).

    ``extra_info`` is recorded in ``run_config.json`` (the two-stage recipe notes its full configuration
    there, so ``--resume`` can continue either stage). The main process holds the output's lock throughout.
    """
    config.validate()
    from sct.distributed import is_main_process

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


def _train(config: TrainConfig, extra_info: dict[str, Any] | None, owner: str) -> dict[str, Any]:
    from sct.budget import RunClock
    from sct.distributed import barrier, init_process_group, is_main_process, launched_world_size, main_process_first

    clock = RunClock()  # CPU time counts from here: data, teacher cache, queue init and training

    world, main = launched_world_size(), is_main_process()
    if config.batch_size % world:
        raise ConfigError(f"--batch-size {config.batch_size} (the global batch) must divide by the {world} processes")
    init_process_group()
    output, work = check_output(config, remove=main)  # every process checks; only the main one writes
    distilling = config.objective == "distill"
    if distilling:
        from sct.teacher import check_writable, default_cache_dir

        check_writable(config.teacher_cache or default_cache_dir())
    file_pairs = read_training_file(config)
    pairs = load_training_pairs(config, file_pairs)
    from sct.evaluation.sts import load_dev_set

    dev = load_dev_set(config.dev_file, config.data_dir)

    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator
    from transformers import EarlyStoppingCallback, set_seed

    from sct.models import load_student, resolve_model, write_model_config
    from sct.plots import plot_training_log

    for name in filter(None, (config.model, config.teacher if distilling else None)):
        resolve_model(name)  # an unknown model fails here, in seconds, before any work directory exists
    if main:
        work.mkdir(parents=True, exist_ok=True)
        if not config.resume:
            mark(work, "run", owner)
    barrier()
    checkpoint = latest_checkpoint(work, config.objective != "simcse") if config.resume else None
    recorded = read_json_if_present(work / RUN_CONFIG) if checkpoint is not None else {}
    if checkpoint is not None:  # what the run had cost when that checkpoint was saved, plus what it costs now
        clock.continue_from(checkpoint)
    if config.resume and checkpoint is None:
        logger.warning("no complete checkpoint in %s: starting the run from the beginning", work)
    run_info = {
        "argv": sys.argv,
        "config": config.to_dict(),
        "environment": environment(),
        "train_pairs": len(pairs),
        "dev_pairs": len(dev.scores),
        **(extra_info or {}),
    }
    if config.preset:
        from sct.presets import load_preset

        run_info["preset"] = load_preset(config.preset, command=None)
    if world > 1:
        run_info["processes"] = world
    if checkpoint is not None:  # options changed on resume, with the step they took effect from
        history, before = list(recorded.get("resume_changes", [])), recorded.get("config", {})
        changed = {k: [before.get(k), run_info["config"][k]] for k in RESUMABLE_CHANGES
                   if before.get(k) != run_info["config"][k]}  # fmt: skip
        if changed:
            history.append({"step": int(checkpoint.name.split("-")[-1]), "changed": changed})
        run_info["resume_changes"] = history
    if main:
        write_json_atomic(work / RUN_CONFIG, run_info, sort_keys=True)

    teacher = None
    if distilling:
        from sct.teacher import teacher_embeddings

        with main_process_first():  # the main process fills the cache; the others then read it
            teacher = teacher_embeddings(pairs, **_teacher_settings(config))
        if checkpoint is None:  # found in the cache: charge this run the CPU time it took to build
            clock.charge(teacher.charged_cpu_seconds)
        run_info["teacher_cache"] = {"directory": str(teacher.directory), "manifest": teacher.manifest}
        if main:
            write_json_atomic(work / RUN_CONFIG, run_info, sort_keys=True)

    set_seed(config.seed)
    model, info = load_student(config.model, config.student_layers, architecture=config.student_architecture)
    projection = None
    if teacher is not None and model.get_embedding_dimension() != teacher.dim:
        model, projection = project_to(model, teacher.dim)
    if config.freeze_word_embeddings:
        freeze_word_embeddings(model)
    saved_max_seq_length = model.max_seq_length
    model.max_seq_length = config.max_seq_length
    loss = build_loss(config, model, teacher)
    resumed_step = 0
    if checkpoint is None:  # a resumed run takes its queues from the checkpoint
        with main_process_first():  # a teacher-queue cache entry is filled once
            queue_init = initialise_queues(config, loss, model, {t for pair in file_pairs for t in pair})
        if queue_init is not None:
            clock.charge(queue_init.get("charged_cpu_seconds", 0.0))
    else:
        queue_init = recorded.get("queue_init")
    if queue_init is not None:
        run_info["queue_init"] = queue_init
        if main:
            write_json_atomic(work / RUN_CONFIG, run_info, sort_keys=True)
    if checkpoint is not None:
        if hasattr(loss, "load_loss_state_dict"):
            loss.load_loss_state_dict(torch.load(checkpoint / LOSS_STATE, map_location="cpu"))
        resumed_step = int(checkpoint.name.split("-")[-1])
        log_path = work / TRAINING_LOG
        if main and log_path.is_file():  # drop records the interrupted run wrote after its last checkpoint
            kept = [line for line in log_path.read_text().splitlines() if json.loads(line)["step"] <= resumed_step]
            log_path.write_text("".join(line + "\n" for line in kept))
        logger.info("resuming from %s", checkpoint)

    evaluator = EmbeddingSimilarityEvaluator(
        dev.sentences1,
        dev.sentences2,
        [s / 5.0 for s in dev.scores],
        batch_size=config.eval_batch_size,
        main_similarity="cosine",
        name="sts-dev",
        write_csv=False,
    )
    columns: dict[str, list] = {"view_1": [a for a, _ in pairs], "view_2": [b for _, b in pairs]}
    if distilling:  # the pair index: the loss looks up the teacher's embeddings of both views with it
        columns["label"] = list(range(len(pairs)))
    dataset = Dataset.from_dict(columns)
    cuda = torch.cuda.is_available()
    bf16 = config.precision == "bfloat16"
    if config.batch_order == "length":
        from sct.batching import LengthBucketBatchSampler

        sampler_option: dict[str, Any] = {"batch_sampler": LengthBucketBatchSampler}
    else:
        sampler_option = {}
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work / "checkpoints"),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps is not None else -1,
        per_device_train_batch_size=config.batch_size // world,
        per_device_eval_batch_size=config.eval_batch_size,
        learning_rate=config.learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        adam_epsilon=config.adam_epsilon,
        optim="adamw_torch",
        fp16=cuda and config.amp and config.precision == "auto",
        bf16=bf16,
        eval_strategy="steps",
        eval_steps=config.eval_steps,
        eval_on_start=checkpoint is None,
        save_strategy="steps",
        save_steps=config.eval_steps,
        save_total_limit=config.keep_last,
        restore_callback_states_from_checkpoint=True,  # the early-stopping count survives a resume
        load_best_model_at_end=True,
        metric_for_best_model=DEV_METRIC,
        greater_is_better=True,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        seed=config.seed,
        data_seed=config.seed,
        report_to="none",
        dataloader_drop_last=world > 1,  # every process must gather equal-sized reference batches
        dataloader_pin_memory=cuda,
        ddp_find_unused_parameters=True if world > 1 else None,  # e.g. BERT's pooler, unused by mean pooling
        # accelerate treats a CPU process group as distributed (gloo), and runs bf16 autocast on the CPU, only so
        use_cpu=(world > 1 or bf16) and not cuda,
        **sampler_option,
    )
    stop = StopRequest()
    milestones = None
    if config.milestones:
        from sct.budget import Milestones, parse_milestones

        milestones = Milestones(parse_milestones(config.milestones), work, saved_max_seq_length)
    run_callback = _make_callbacks(
        loss, work, clock, resumed_step + 1 if checkpoint else 0, stop, config.time_budget, milestones
    )
    callbacks = [run_callback]
    if world > 1:
        from sct.distributed import LossGradientSync

        callbacks.append(LossGradientSync(loss))
    if config.patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.patience))
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        loss=loss,
        evaluator=evaluator,
        callbacks=callbacks,
    )
    started = time.time()
    resume_hint = f"`sct {'distill' if distilling else 'train'} --resume {output}`"
    stop.install()
    try:
        train_output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
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
            f"checkpoint: {latest_checkpoint(work, config.objective != 'simcse') or 'none yet'}. Lower "
            f"--learning-rate or raise the temperatures and start again with --overwrite ({resume_hint} keeps them).",
            exit_code=3,
        ) from exc
    finally:
        stop.restore()
    elapsed = time.time() - started
    if stop.signal_name is not None:
        raise TrainingStopped(
            f"stopped by {stop.signal_name} after step {trainer.state.global_step}; checkpoint saved in "
            f"{work / 'checkpoints'}; continue with {resume_hint}"
        )

    state = trainer.state
    model.max_seq_length = saved_max_seq_length
    best_step = int(state.best_model_checkpoint.rsplit("-", 1)[-1]) if state.best_model_checkpoint else None
    if milestones is not None and main:
        milestones.run_ended(clock, state.global_step, state.best_model_checkpoint, state.best_metric)
    summary = {
        "status": "finished",
        "stop_reason": "time budget"
        if run_callback.budget_reached
        else "early stopping"
        if state.global_step < state.max_steps
        else "max steps",
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
        "sct_commit": run_info["environment"]["sct_commit"],
    }
    if not main:  # the main process writes the run
        barrier()
        return summary
    model.save(str(work))
    write_model_config(
        work,
        {
            "student": info.to_dict(),
            "objective": config.objective,
            "projection": projection,
            "teacher": config.teacher if distilling else None,
            "training": {
                "max_seq_length": config.max_seq_length,
                "saved_max_seq_length": saved_max_seq_length,
                "best_dev_spearman": None if state.best_metric is None else state.best_metric * 100,
                "best_checkpoint": state.best_model_checkpoint,
                "loss": loss.get_config_dict(),
                "queue_init": {
                    "queues": config.queue_init,
                    "teacher_queues": config.teacher_queue_init,
                    **(queue_init or {}),
                },  # fmt: skip
            },
        },
    )
    layers = f", first {info.layers_kept} layers" if config.student_layers else ""
    name = {"sct": "SCT", "simcse": "SimCSE", "distill": f"distillation ({config.distill_loss})"}[config.objective]
    plot_training_log(work / TRAINING_LOG, work / CURVES_PNG, title=f"{name}: {config.model}{layers}")
    if not config.keep_checkpoints:
        shutil.rmtree(work / "checkpoints", ignore_errors=True)
    write_json_atomic(work / RUN_SUMMARY, summary, sort_keys=True)
    from sct.card import write_model_card

    write_model_card(work)
    finalise(work, output)
    barrier()
    logger.info(
        "finished: best STS-B dev %.2f at step %s -> %s",
        summary["best_dev_spearman"] or float("nan"),
        best_step,
        output,
    )
    return summary


def freeze_word_embeddings(model) -> int:
    """Stop training the transformer's word-embedding matrix (most of a small student's parameters).

    For the 2-layer MiniLM cut it is 11.7M of 15.6M parameters: frozen, it gets no gradient and no AdamW
    update, while position and token-type embeddings, LayerNorm and every layer still train.
    """
    embeddings = model[0].auto_model.get_input_embeddings()
    embeddings.weight.requires_grad_(False)
    logger.info("word embeddings frozen: %d parameters", embeddings.weight.numel())
    return embeddings.weight.numel()


def project_to(model, dim: int):
    """Append Dense(d_student -> dim, tanh) to the student, as the authors do when dimensions differ.

    The projection is part of the saved model: the distilled student embeds in the teacher's space.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense
    from torch import nn

    source = model.get_embedding_dimension()
    dense = Dense(source, dim, activation_function=nn.Tanh())
    projected = SentenceTransformer(modules=[*model, dense], device=str(model.device))
    logger.info("student ends in Dense(%d -> %d, tanh) to match the teacher", source, dim)
    return projected, {"module": "Dense", "in_features": source, "out_features": dim, "activation": "tanh"}


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
    from sct.losses import distillation_ablation_problem

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
        recipe="joint",
        resume=config.resume and work_dir_for(output).is_dir(),
    )
    logger.info("two-stage recipe: stage 2 (%s distillation from %s) -> %s", config.distill_loss, stage_1_dir, output)
    summary = train(stage_2, recipe_info)
    summary["stage_1"] = {"output_dir": str(stage_1_dir), **stage_1_summary}
    write_json_atomic(output / RUN_SUMMARY, summary, sort_keys=True)
    return summary
