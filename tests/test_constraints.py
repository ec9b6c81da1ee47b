"""The environment is the locked one: every installed distribution is pinned in constraints.txt at its version."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
TOOLING = {"pip", "setuptools", "wheel", "sct"}  # the installer itself and the project under test


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version
    return pins


def test_every_installed_package_is_pinned_at_its_installed_version():
    pins = _pins()
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name in TOOLING:
            continue
        assert name in pins, f"{name} {dist.version} is installed but not in constraints.txt: re-lock deliberately"
        assert pins[name] == dist.version, f"{name}: installed {dist.version}, constraints.txt pins {pins[name]}"


def test_the_recorded_demo_was_made_with_the_locked_versions():
    """Bumping the lock means re-running `make demo` (the README's demo block reads its result)."""
    import json

    pins = _pins()
    recorded = json.loads((ROOT / "docs" / "results" / "demo" / "sts-after.json").read_text())["environment"]
    for package, key in (("torch", "torch"), ("transformers", "transformers"),
                         ("sentence-transformers", "sentence_transformers")):  # fmt: skip
        assert recorded[key] == pins[package], f"demo made with {package} {recorded[key]}, lock pins {pins[package]}"
