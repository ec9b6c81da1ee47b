"""Where a number came from: the sct commit and the software and machine it ran on."""

from __future__ import annotations

import os
import platform
import subprocess
from typing import Any

from sct.data import REPO_ROOT

CODE_PATHS = ("src", "scripts", "benchmarks", "tests", "pyproject.toml", "Makefile", ":(exclude)benchmarks/results")


def git_commit() -> str | None:
    """The sct commit, with ``-dirty`` when tracked code (not docs or benchmark results) differs from it.

    Outside a git checkout (a copied tree on a remote machine) ``$SCT_COMMIT`` names it, else None.
    """
    git = ["git", "-C", str(REPO_ROOT)]
    try:
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
        if head.returncode != 0:
            return os.environ.get("SCT_COMMIT")
        # Only what can change a result counts; edited docs and result files do not make a run dirty.
        status = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS], capture_output=True, text=True
        )
        return head.stdout.strip() + ("-dirty" if status.stdout.strip() else "")
    except OSError:
        return os.environ.get("SCT_COMMIT")


def cpu_model() -> str | None:
    """The CPU's model name (Linux), so timings name the machine they ran on."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def environment() -> dict[str, Any]:
    import sentence_transformers
    import torch
    import transformers

    return {
        "sct_commit": git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cpu_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "processor": cpu_model(),
        "cpu_count": os.cpu_count(),
    }
