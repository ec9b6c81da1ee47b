"""The ``sct`` command line: parsing (``parser``, ``options``) and dispatch to the command handlers
(``run_commands``, ``eval_commands``, ``data_commands``). Errors print one line and exit 2."""

from __future__ import annotations

import logging
import sys

from sct.cli.data_commands import (
    cmd_corpus,
    cmd_download,
    cmd_encode,
    cmd_export_onnx,
    cmd_models,
    cmd_presets,
    cmd_search,
    cmd_views,
)
from sct.cli.eval_commands import cmd_evaluate, cmd_mteb, cmd_report
from sct.cli.parser import build_parser
from sct.cli.run_commands import _train_config, cmd_card, cmd_distill, cmd_sweep, cmd_train
from sct.errors import SCTError

COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "mteb": cmd_mteb,
    "corpus": cmd_corpus,
    "views": cmd_views,
    "presets": cmd_presets,
    "distill": cmd_distill,
    "encode": cmd_encode,
    "search": cmd_search,
    "models": cmd_models,
    "download": cmd_download,
    "report": cmd_report,
    "export-onnx": cmd_export_onnx,
    "sweep": cmd_sweep,
    "card": cmd_card,
}


def _one_line(exc: BaseException) -> str:
    """An error as one line (a library's multi-line message joined), so scripts and users read it whole."""
    return "; ".join(part.strip() for part in str(exc).splitlines() if part.strip())


# sentence-transformers logs at INFO what sct already says once (each dev score, each save, "No device
# provided" at every model load); --verbose shows it again.
QUIET_LOGGERS = ("httpx", "urllib3", "filelock", "sentence_transformers")


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    from sct.errors import TrainingStopped

    try:
        return COMMANDS[args.command](args)
    except TrainingStopped as exc:
        print(f"sct {args.command}: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except SCTError as exc:
        print(f"sct {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sct {args.command}: interrupted", file=sys.stderr)
        return 130


__all__ = ["COMMANDS", "_train_config", "build_parser", "main"]
