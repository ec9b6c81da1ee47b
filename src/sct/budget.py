"""What a run costs in CPU time, a CPU-time budget, and the best model at each milestone of it.

CPU time is the user + system time of the training process (every thread; ``time.process_time``),
counted from the start of the run and carried across resumes in each checkpoint (``sct_clock.json``).
A distillation run is also charged the CPU time its teacher cache took to build when it finds the
cache already filled (the build is recorded in the cache manifest), so runs that share a cache pay
for it alike. ``--time-budget M`` stops a run at the first step after M CPU minutes (saving and
scoring that step); ``--milestones 15,30,...`` keeps a copy of the best model (by STS-B dev) as of
the first checkpoint at or after each milestone, in ``milestones/cpu<M>min/``, with
``milestones.json`` saying when (CPU and wall minutes, step) and how good (dev score) it was.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from sct.data import read_json_if_present, write_json_atomic

logger = logging.getLogger(__name__)

CLOCK = "sct_clock.json"
MILESTONES = "milestones.json"
MILESTONE_DIR = "milestones"
# what a checkpoint holds besides the model: not needed to score the model at a milestone
TRAINING_STATE = ("optimizer.pt", "scheduler.pt", "rng_state*.pth", "trainer_state.json", "training_args.bin",
                  "sct_loss_state.pt*", "scaler.pt", CLOCK)  # fmt: skip


class RunClock:
    """CPU and wall seconds a run has cost so far, including what earlier sessions of it spent."""

    def __init__(self, cpu_offset: float = 0.0, wall_offset: float = 0.0) -> None:
        self._cpu_start, self._wall_start = time.process_time(), time.time()
        self.cpu_offset, self.wall_offset = cpu_offset, wall_offset
        self.charged = 0.0  # CPU seconds spent by other processes on this run's behalf

    def charge(self, cpu_seconds: float) -> None:
        """Add CPU time spent elsewhere on this run's behalf (a teacher cache built by another process)."""
        self.cpu_offset += cpu_seconds
        self.charged += cpu_seconds

    def cpu_seconds(self) -> float:
        return self.cpu_offset + time.process_time() - self._cpu_start

    def wall_seconds(self) -> float:
        return self.wall_offset + time.time() - self._wall_start

    def continue_from(self, checkpoint: Path) -> None:
        """Count on from what the run had cost when ``checkpoint`` was saved (a resumed run)."""
        state = read_json_if_present(checkpoint / CLOCK)
        self.cpu_offset += float(state.get("cpu_seconds", 0.0))
        self.wall_offset += float(state.get("wall_seconds", 0.0))

    def state(self) -> dict[str, float]:
        return {"cpu_seconds": round(self.cpu_seconds(), 2), "wall_seconds": round(self.wall_seconds(), 2)}

    def save(self, checkpoint: Path) -> None:
        write_json_atomic(checkpoint / CLOCK, self.state())


def parse_milestones(text: str | None) -> list[float]:
    """``"15,30,60"`` -> [15.0, 30.0, 60.0]: positive, finite, strictly increasing CPU minutes."""
    if not text:
        return []
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError as exc:
        raise ValueError(f"milestones must be comma-separated CPU minutes, e.g. 15,30,60; got {text!r}") from exc
    if not values or any(not 0 < v < float("inf") for v in values) or values != sorted(set(values)):
        raise ValueError(f"milestones must be positive, finite and increasing CPU minutes; got {text!r}")
    return values


def milestone_name(minutes: float) -> str:
    return f"cpu{minutes:g}min"


class Milestones:
    """Copies of the best model as of each CPU-time milestone, written into the run's work directory."""

    def __init__(self, minutes: list[float], work: Path, saved_max_seq_length: int) -> None:
        self.minutes = minutes
        self.directory = work / MILESTONE_DIR
        self.record_path = work / MILESTONES
        self.saved_max_seq_length = saved_max_seq_length
        self.records: list[dict[str, Any]] = read_json_if_present(self.record_path).get("milestones", [])

    def pending(self) -> list[float]:
        done = {r["cpu_minutes"] for r in self.records}
        return [m for m in self.minutes if m not in done]

    def checkpoint_saved(self, clock: RunClock, step: int, best_checkpoint: str | None, best_dev: float | None):
        """After a checkpoint: every milestone now passed gets a copy of the best model so far."""
        passed = [m for m in self.pending() if clock.cpu_seconds() >= 60 * m]
        if not passed or best_checkpoint is None:
            return
        for minutes in passed:
            target = self.directory / milestone_name(minutes)
            self._copy_model(Path(best_checkpoint), target)
            self._record(
                minutes, clock, step, best_checkpoint, best_dev, model=str(target.relative_to(target.parents[1]))
            )

    def run_ended(self, clock: RunClock, step: int, best_checkpoint: str | None, best_dev: float | None) -> None:
        """Milestones without a copy yet: the final (best) model stands for them. One the run's CPU time passed
        (it stopped at its budget) counts as reached; one it stopped short of (max steps, early stopping) not."""
        for minutes in self.pending():
            reached = clock.cpu_seconds() >= 60 * minutes
            self._record(minutes, clock, step, best_checkpoint, best_dev, model=".", reached=reached)

    def _copy_model(self, checkpoint: Path, target: Path) -> None:
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(checkpoint, partial, ignore=shutil.ignore_patterns(*TRAINING_STATE))
        config = partial / "sentence_bert_config.json"
        if config.is_file():  # scored like the final model: at the base model's max_seq_length, not training's 32
            data = json.loads(config.read_text())
            data["max_seq_length"] = self.saved_max_seq_length
            config.write_text(json.dumps(data, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)

    def _record(self, minutes: float, clock: RunClock, step: int, best_checkpoint: str | None,
                best_dev: float | None, model: str, reached: bool = True) -> None:  # fmt: skip
        best_step = int(best_checkpoint.rsplit("-", 1)[-1]) if best_checkpoint else None
        self.records.append({
            "cpu_minutes": minutes, "reached": reached, "at_cpu_minutes": round(clock.cpu_seconds() / 60, 2),
            "at_wall_minutes": round(clock.wall_seconds() / 60, 2), "at_step": step, "best_step": best_step,
            "best_dev_spearman": None if best_dev is None else best_dev * 100, "model": model,
        })  # fmt: skip
        write_json_atomic(self.record_path, {"milestones": self.records})
        logger.info("milestone %g CPU minutes: best STS-B dev %s at step %s", minutes, best_dev, best_step)
