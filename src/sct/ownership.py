"""What sct may replace or write: outputs it made (a marker file), one writer per output, never over an input.

Three ways a user's data could be lost are closed here: two processes writing one run (an exclusive lock on the
output), ``--overwrite`` on a directory this tool did not make (a marker it writes into every run), and an output
that is one of the command's own inputs (resolved paths and inodes, so links count).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from sct.errors import ConfigError

MARKER = ".sct-output"  # written into every directory sct makes for a run or a sweep
LEGACY_FILES = ("run_summary.json", "run_config.json", "sweep.json")  # runs made before the marker existed


def mark(directory: Path, kind: str, owner: str = "") -> None:
    """Record that sct made ``directory`` (a ``run`` or a ``sweep``), so ``--overwrite`` may replace it later;
    ``owner`` names the call that made it (a run cleans up only its own stub)."""
    (directory / MARKER).write_text(f"{kind} {owner}".strip() + "\n")


def made_by(directory: Path, owner: str) -> bool:
    """Whether ``directory`` was made by the call ``owner`` (its marker names it)."""
    try:
        return bool(owner) and (directory / MARKER).read_text().split()[1:] == [owner]
    except (OSError, IndexError):
        return False


def made_by_sct(directory: Path) -> bool:
    """Marked by sct, or a run or sweep from before the marker: one of its JSON files, written by sct (an
    ``environment`` naming an sct commit, or a sweep manifest's grid), not just any file of that name."""
    if (directory / MARKER).is_file():
        return True
    for name in LEGACY_FILES:
        try:
            content = json.loads((directory / name).read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(content, dict):
            continue
        environment = content.get("environment")
        by_sct = isinstance(environment, dict) and "sct_commit" in environment
        if by_sct or "sct_commit" in content or {"grid", "points"} <= content.keys():
            return True
    return False


def check_replaceable(path: Path, what: str = "output directory") -> None:
    """Refuse to replace ``path`` unless it is missing, empty, or a directory sct made (named by its marker)."""
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_dir() or path.is_symlink():
        raise ConfigError(f"{what} {path} is a file, not a directory sct made; --overwrite replaces only sct's outputs")
    if made_by_sct(path):
        return
    foreign = sorted(path.iterdir())
    if foreign:
        raise ConfigError(
            f"{what} {path} was not made by sct (no {MARKER}) and holds {foreign[0].name}; --overwrite replaces only "
            "sct's own runs: choose another output or move those files"
        )


def _existing_ancestor(path: Path) -> Path | None:
    """The nearest folder above ``path`` that exists (where making the output's folders would start)."""
    return next((ancestor for ancestor in path.parents if ancestor.exists()), None)


def check_output_location(output: Path) -> None:
    """The output's folder can be made and written: no file where a folder must be, no read-only ancestor."""
    if output.is_file():
        raise ConfigError(f"output {output} is an existing file; a run is written as a directory: choose another name")
    if output.exists() and not output.is_dir():
        raise ConfigError(f"output {output}: {output} is a file, so the output cannot be made under it")
    ancestor = _existing_ancestor(output)
    if ancestor is not None:
        if not ancestor.is_dir():
            raise ConfigError(f"output {output}: {ancestor} is a file, so the output cannot be made under it")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise ConfigError(f"output {output}: {ancestor} is not writable")


def check_output_file(output: str | Path, overwrite: bool, option: str = "--output") -> None:
    """A file output: not a directory, not under a file, and an existing file replaced only with ``--overwrite``
    (a user's sentence file at that name is theirs until they say otherwise)."""
    path = Path(output)
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a directory, expected a file name")
    ancestor = _existing_ancestor(path)
    if ancestor is not None and not ancestor.is_dir():
        raise ConfigError(f"{option} {path}: {ancestor} is a file, so the output cannot be made under it")
    if path.exists() and not overwrite:
        raise ConfigError(f"{option} {path} already exists; pass --overwrite to replace it")


def lock_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.lock")


@contextlib.contextmanager
def exclusive_output(output: Path, label: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``output`` for a whole run; a second writer is refused naming the holder's pid.

    The lock file lives beside the output (deleting or renaming the run never drops it) and is removed on release;
    a lock taken on a file another process has just removed is retried on the new one.
    """
    path = lock_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = open(path, "a+")  # noqa: SIM115 (held for the whole run)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise ConfigError(
                f"{label or output} is being written by another sct process (pid {holder}); wait for it to finish "
                "or choose another output"
            ) from None
        try:
            same = os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()  # the holder removed this file as we opened it: lock the current one
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        handle.close()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def refuse_output_over_input(output: str | Path, inputs: Iterable[str | Path | None], option: str = "--output") -> None:
    """An output may never be one of the command's inputs: same resolved path, the same file through a link, or
    a file that already exists inside an input directory (a run's own evaluation.json, say)."""
    out = Path(output)
    out_id = _identity(out)
    for source in filter(None, inputs):
        src = Path(source)
        if out.resolve() == src.resolve() or (out_id is not None and out_id == _identity(src)):
            raise ConfigError(f"{option} {out} is the input {src}: writing it would destroy the input; choose another")
        if src.is_dir() and out.exists() and out.resolve().is_relative_to(src.resolve()):
            raise ConfigError(f"{option} {out} is a file of the input {src}: writing it would change the input; "
                              "choose another")  # fmt: skip
