"""Where sct keeps what it downloads and installs: one place every module can ask, importing nothing of sct."""

from __future__ import annotations

import os
from pathlib import Path


def sct_home() -> Path:
    """Where sct keeps downloads and installed models (``$SCT_HOME``, default ``~/.cache/sct``)."""
    return Path(os.environ.get("SCT_HOME", Path.home() / ".cache" / "sct")).expanduser()
