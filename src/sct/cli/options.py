"""The training options of `sct train` / `sct distill` (and of every `sct sweep` point), made from the fields of
:class:`sct.config.TrainConfig`: each option's default, help and choices are written once, there."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="data root holding senteval/ (SentEval layout), or a SentEval folder itself; "
        "default: $SCT_DATA, then ../shared/data, then ~/.cache/sct",
    )


def config_options(command: str) -> list[dataclasses.Field]:
    """The TrainConfig fields `sct COMMAND` takes as options (those with help, for that command)."""
    from sct.config import TrainConfig

    return [f for f in dataclasses.fields(TrainConfig) if "help" in f.metadata and command in f.metadata["commands"]]


def _add_field(parser: argparse.ArgumentParser, field: dataclasses.Field, help_text: str | None = None) -> None:
    """One field as an option; its command-line default is None, so that a preset, else the field, decides."""
    meta = field.metadata
    name = field.name.replace("_", "-")
    text = help_text or meta["help"]
    if meta["kind"] == "negate":
        parser.add_argument(f"--no-{name}", dest=field.name, action="store_const", const=False, help=text)
        return
    if meta["kind"] == "flag":
        parser.add_argument(*(meta["flags"] or (f"--{name}",)), dest=field.name, action="store_const", const=True,
                            help=text)  # fmt: skip
        return
    extra: dict[str, Any] = {"type": meta["type"]}
    if meta["choices"]:
        extra["choices"] = list(meta["choices"])
    if meta["metavar"]:
        extra["metavar"] = meta["metavar"]
    if field.default is not None:
        text += f" (default {field.default})"
    parser.add_argument(*(meta["flags"] or (f"--{name}",)), dest=field.name, help=text, **extra)


def add_training_options(parser: argparse.ArgumentParser, command: str, ablation_help: str) -> None:
    """Every training option of `sct COMMAND`: one training path, one set of knobs."""
    from sct.ablations import ABLATIONS

    parser.add_argument("train_file", nargs="?", help="TSV of 'view1<TAB>view2' (or sentences with --views identical)")
    parser.add_argument("--output-dir", "-o", help="where the finished run goes (trains in <dir>.incomplete)")
    parser.add_argument(
        "--preset", help=f"named hyper-parameters for `sct {command}` (see `sct presets`); explicit options win"
    )
    for field in config_options(command):
        if field.name == "ablation":
            text = f"{ablation_help}: " + "; ".join(f"{k}: {v}" for k, v in ABLATIONS.items() if k != "none")
            _add_field(parser, field, text)
        else:
            _add_field(parser, field)
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the interrupted run RUN_DIR(.incomplete)")
    add_data_dir(parser)


def add_train_command_options(train: argparse.ArgumentParser) -> None:
    """`sct train`'s options (also `sct sweep train`)."""
    add_training_options(train, "train", "a Table 4 ablation of SCT")


def add_distill_command_options(distill: argparse.ArgumentParser) -> None:
    """`sct distill`'s options (also `sct sweep distill`)."""
    add_training_options(
        distill,
        "distill",
        "a Table 6 ablation of SCT distillation (L_SCT changes as in `sct train --ablation`; L_CD too for "
        "contrastive, identical-view and the queue ablations; two-stage: stage 1 takes it)",
    )
