"""A run's directories on disk: where it works, whether its output may be replaced, how it resumes, which
checkpoint is whole, and the rename that makes a finished run appear.

A run trains in ``<output>.incomplete/`` and is renamed to ``<output>`` only when it has finished, so an
interrupted run never leaves a directory that looks complete.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from sct.budget import CLOCK
from sct.config import LOSS_STATE, RUN_CONFIG, RUN_SUMMARY, STAGE_1_SUFFIX, TWO_STAGE_KEY, TrainConfig
from sct.errors import ConfigError
from sct.ownership import check_replaceable

logger = logging.getLogger(__name__)


def work_dir_for(output_dir: str | Path) -> Path:
    output = Path(output_dir)
    return output.with_name(output.name + ".incomplete")


def _inputs_inside(config: TrainConfig, *folders: Path) -> str | None:
    """The first input file of the run that lies inside one of ``folders`` (which --overwrite would delete)."""
    for name in ("train_file", "dev_file", "queue_init_file"):
        value = getattr(config, name)
        if not value:
            continue
        path = Path(value).resolve()
        for folder in folders:
            if folder.exists() and path.is_relative_to(folder.resolve()):
                return f"--{name.replace('_', '-')} {value} is inside {folder}"
    return None


def check_output(config: TrainConfig, remove: bool = True) -> tuple[Path, Path]:
    output = Path(config.output_dir)
    work = work_dir_for(output)
    if config.overwrite and not config.resume:
        inside = _inputs_inside(config, output, work)
        if inside:
            raise ConfigError(f"{inside}, which --overwrite would delete: move the file out first")
    if output.exists() and not config.resume:
        finished = (output / RUN_SUMMARY).is_file()
        if not config.overwrite:
            what = "a finished run" if finished else "files"
            raise ConfigError(f"output directory {output} already holds {what}; pass --overwrite to replace it")
        check_replaceable(output)
    if config.resume:
        if not work.is_dir():
            raise ConfigError(f"nothing to resume: {work} does not exist")
    elif work.exists():
        if not config.overwrite:
            raise ConfigError(
                f"an interrupted run exists at {work}: pass --resume to continue it or --overwrite to discard it"
            )
        check_replaceable(work, "work directory")
        if remove:
            shutil.rmtree(work)
    return output, work


# Options that may change when a run resumes: how long it goes on, how often it is scored, what it keeps, where
# the data lives, and the peak learning rate of the remaining schedule (AdamW's moments do not depend on it).
# Everything else (temperatures, queue size, data, model, ...) shaped the checkpoint's queues or its data order
# and is refused.
RESUMABLE_CHANGES = ("max_steps", "epochs", "patience", "eval_steps", "time_budget", "milestones", "keep_last",
                     "keep_checkpoints", "data_dir", "logging_steps", "eval_batch_size", "learning_rate")  # fmt: skip


def resume_config(run: str | Path, changes: dict[str, Any] | None = None) -> TrainConfig:
    """The configuration of the interrupted run ``run`` (or ``run.incomplete``), to continue it, with ``changes``
    (options given beside ``--resume``) applied where they may change; any other change is refused.

    A two-stage distillation interrupted in either stage resumes as the whole recipe: its stage runs
    record the recipe's configuration, and an interrupted stage 1 is found beside ``run``.
    """
    changes = changes or {}
    refused = sorted(k for k in changes if k not in RESUMABLE_CHANGES)
    if refused:
        names = ", ".join("--" + k.replace("_", "-") for k in refused)
        raise ConfigError(
            f"cannot change {names} on --resume (the checkpoint's optimizer and queues were made with the old "
            f"values); only {', '.join('--' + k.replace('_', '-') for k in RESUMABLE_CHANGES)} may change"
        )
    run = Path(run)
    if run.name.endswith(".incomplete"):
        run = run.with_name(run.name.removesuffix(".incomplete"))
    candidates = [work_dir_for(run), work_dir_for(run.with_name(run.name + STAGE_1_SUFFIX))]
    for work in candidates:
        path = work / RUN_CONFIG
        if path.is_file():
            try:
                stored = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot resume: {path} is unreadable ({exc}); start again with --overwrite") from exc
            config = stored.get(TWO_STAGE_KEY, {}).get("distill_config", stored["config"])
            # the run is where it is now: a copied or renamed run resumes itself, not the original
            config.update(changes, output_dir=str(run), resume=True, overwrite=False)
            return TrainConfig(**config)
    raise ConfigError(f"cannot resume: no interrupted run at {candidates[0]} ({RUN_CONFIG} not found)")


def checkpoint_problem(path: Path, needs_loss_state: bool = True) -> str | None:
    """Why a checkpoint cannot be resumed from (missing or unreadable part), or None when it looks whole."""
    import torch
    from safetensors import safe_open

    state = path / "trainer_state.json"
    if not state.is_file():
        return "no trainer_state.json (the save did not finish)"
    try:
        json.loads(state.read_text())
    except (OSError, ValueError) as exc:
        return f"trainer_state.json unreadable ({exc})"
    if needs_loss_state:
        if not (path / LOSS_STATE).is_file():
            return f"no {LOSS_STATE} (the save did not finish)"
        try:
            torch.load(path / LOSS_STATE, map_location="cpu")
        except Exception as exc:  # noqa: BLE001 - any failure to read it makes the checkpoint unusable
            return f"{LOSS_STATE} unreadable ({type(exc).__name__}: {exc})"
    if not (path / CLOCK).is_file():  # written with every checkpoint: without it the run's CPU time restarts at 0
        return f"no {CLOCK} (the save did not finish)"
    weights = sorted(path.rglob("*.safetensors"))  # a projected student's Dense module keeps its own
    if not any(w.parent == path for w in weights):
        return "no model weights (*.safetensors)"
    modules = path / "modules.json"
    if modules.is_file():
        try:
            folders = [m.get("path", "") for m in json.loads(modules.read_text())]
        except (OSError, ValueError, AttributeError) as exc:
            return f"modules.json unreadable ({exc})"
        missing = [f for f in folders if f and not (path / f).is_dir()]
        if missing:
            return f"module folder {missing[0]} missing (the save did not finish)"
    for file in weights:
        try:
            with safe_open(str(file), framework="pt") as handle:
                for key in handle.keys():  # noqa: SIM118 - safe_open handles are not dicts
                    handle.get_slice(key)
        except Exception as exc:  # noqa: BLE001
            return f"{file.relative_to(path)} unreadable ({type(exc).__name__}: {exc})"
    for name in ("optimizer.pt", "scheduler.pt"):
        if not (path / name).is_file() or (path / name).stat().st_size == 0:
            return f"{name} missing or empty"
    for file in sorted([*path.glob("*.pt"), *path.glob("*.pth")]):  # every state a resume loads, read in full
        if file.name == LOSS_STATE:
            continue
        try:
            torch.load(file, map_location="cpu", weights_only=False)  # written by this run's trainer
        except Exception as exc:  # noqa: BLE001
            return f"{file.name} unreadable ({type(exc).__name__}: {exc})"
    for file in sorted(path.rglob("*.json")):  # tokenizer and module configs included
        try:
            json.loads(file.read_text())
        except (OSError, ValueError) as exc:
            return f"{file.relative_to(path)} unreadable ({exc})"
    return None


def latest_checkpoint(work: Path, needs_loss_state: bool = True) -> Path | None:
    """The newest checkpoint that is whole (trainer state, SCT's loss state where the loss has one, weights).

    A newer checkpoint that is incomplete or corrupted is named in a warning and the previous one is used.
    """
    candidates = []
    for path in (work / "checkpoints").glob("checkpoint-*"):
        try:
            candidates.append((int(path.name.split("-")[-1]), path))
        except ValueError:
            continue
    for _, path in sorted(candidates, reverse=True):
        problem = checkpoint_problem(path, needs_loss_state)
        if problem is None:
            return path
        logger.warning("checkpoint %s cannot be resumed from: %s; trying the one before it", path, problem)
    return None


def finalise(work: Path, output: Path) -> None:
    """Move the finished run into place with renames only (the old run, if overwritten, goes last)."""
    old = None
    if output.exists():
        old = output.with_name(f"{output.name}.replaced-{os.getpid()}")
        output.rename(old)
    work.rename(output)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
