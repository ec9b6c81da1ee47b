"""Named hyper-parameter sets stored as JSON data files under ``sct/presets/``."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from sct.errors import ConfigError


def preset_names() -> list[str]:
    files = resources.files("sct") / "presets"
    return sorted(p.name.removesuffix(".json") for p in files.iterdir() if p.name.endswith(".json"))


def load_preset(name: str, command: str | None = "train") -> dict[str, Any]:
    """The preset's settings (``settings``) plus its provenance (``source``, ``description``).

    A preset names the command it is for (``train`` or ``distill``): the paper's two tables differ.
    ``command=None`` loads it for any command (to record a run's provenance).
    """
    path = resources.files("sct") / "presets" / f"{name}.json"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; available: {', '.join(preset_names())}")
    data = json.loads(path.read_text())
    from sct.config import preset_keys

    unknown = set(data.get("settings", {})) - preset_keys()
    if unknown:
        raise ConfigError(f"preset {name!r} sets unknown keys {sorted(unknown)}")
    if command is not None and data.get("command", "train") != command:
        raise ConfigError(f"preset {name!r} is for `sct {data['command']}`, not `sct {command}`")
    return data
