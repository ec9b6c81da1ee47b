"""`sct train`, `distill`, `sweep` and `card`: the commands that make runs."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sct.cli.options import config_options
from sct.cli.parser import build_parser
from sct.errors import ConfigError


def _given_on_resume(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """The training options typed beside ``--resume`` (those differing from the parser's defaults), as fields."""
    defaults = build_parser().parse_args([command, "--resume", args.resume])
    given = {}
    for dest, value in vars(args).items():
        if dest in ("resume", "command", "verbose") or value == getattr(defaults, dest, value):
            continue
        given[dest] = value
    return given


def _train_config(args: argparse.Namespace, command: str = "train"):
    """The TrainConfig of a command line: the field defaults, then the preset, then every option typed."""
    from sct.config import TrainConfig
    from sct.presets import load_preset
    from sct.run_dir import resume_config

    if args.resume:
        return resume_config(args.resume, _given_on_resume(args, command))
    if not args.train_file or not args.output_dir:
        raise ConfigError(f"sct {command} needs a training file and --output-dir (or --resume RUN_DIR)")
    values: dict[str, Any] = {"objective": "distill"} if command == "distill" else {}
    if args.preset:
        values.update(load_preset(args.preset, command)["settings"])
    for field in config_options(command):
        if getattr(args, field.name) is not None:
            values[field.name] = getattr(args, field.name)
    return TrainConfig(train_file=args.train_file, output_dir=args.output_dir, data_dir=args.data_dir,
                       preset=args.preset, **values)  # fmt: skip


def cmd_train(args: argparse.Namespace) -> int:
    from sct.training import train

    summary = train(_train_config(args))
    print(json.dumps(summary, indent=2))
    return 0


def cmd_distill(args: argparse.Namespace) -> int:
    from sct.training import distill

    summary = distill(_train_config(args, "distill"))
    print(json.dumps(summary, indent=2))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.sweep_command == "runs":
        from sct.named_runs import run_named

        result = run_named(args.spec, args.output, args.work_dir, args.data_dir, args.resume)
        print(result["markdown"])
        failed = [row["name"] for row in result["rows"] if "error" in row]
        if failed:
            print(f"sct sweep runs: {len(failed)} run(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1 if failed else 0
    from sct.sweep import AUTHORS_GRID, load_grid, parse_param, run_sweep, tabulate

    if args.resume:
        raise ConfigError("sct sweep resumes by itself: run the same command again (no --resume)")
    if not args.output_dir:
        raise ConfigError("sct sweep needs --output-dir (the sweep directory)")
    if args.table_only:
        table = tabulate(args.output_dir)
        print(table["markdown"])
        return 0
    if args.grid and args.param:
        raise ConfigError("give the grid either as --grid FILE or as --param options, not both")
    grid = load_grid(args.grid) if args.grid else dict(parse_param(p) for p in args.param) or AUTHORS_GRID
    base = _train_config(args, args.sweep_command)
    evaluate = None if args.evaluate.lower() == "none" else args.evaluate
    table = run_sweep(base, grid, args.output_dir, args.sweep_command, args.shard, evaluate)
    print(table["markdown"])
    print(f"best by STS-B dev: {table['best_by_dev']}; table: {args.output_dir}/sweep_results.md")
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    from sct.card import write_model_card

    print(write_model_card(args.run))
    return 0
