"""Data location and readers: training pairs/sentences, the unlabelled corpus, the STS-B dev set.

Every reader reports a bad line as ``file:line: what was expected`` (a :class:`DataError`).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import math
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sct.errors import DataError, WriteError
from sct.paths import sct_home

REPO_ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- data root


def data_root_candidates(data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Where the data root is looked for, in order: --data-dir, $SCT_DATA, ../shared/data, ~/.cache/sct."""
    candidates: list[tuple[str, Path]] = []
    if data_dir is not None:
        return [("--data-dir", Path(data_dir).expanduser())]
    if os.environ.get("SCT_DATA"):
        return [("$SCT_DATA", Path(os.environ["SCT_DATA"]).expanduser())]
    candidates.append(("../shared/data (from the working directory)", Path.cwd().parent / "shared" / "data"))
    candidates.append(("../shared/data (beside the sct checkout)", REPO_ROOT.parent / "shared" / "data"))
    candidates.append(("$SCT_HOME (default ~/.cache/sct)", sct_home()))
    return candidates


def _senteval_dir_in(root: Path) -> Path | None:
    """A SentEval ``data/downstream`` folder (one holding ``STS/``) at or under ``root``."""
    for candidate in (root / "senteval", root, root / "data" / "downstream"):
        if (candidate / "STS").is_dir():
            return candidate
    return None


@dataclass(frozen=True)
class DataRoot:
    """The one data root every command reads: ``senteval/``, ``useb/``, ``corpus/``."""

    root: Path
    senteval: Path

    @property
    def corpus(self) -> Path:
        return self.root / "corpus" / "sentences.tsv.gz"

    @property
    def useb(self) -> Path:
        return self.root / "useb"

    @property
    def twitterpara(self) -> Path:
        return self.useb / "twitterpara"


def find_data_root(data_dir: str | os.PathLike | None = None) -> DataRoot:
    """Locate the data root; a failure names every path searched and how to get the data."""
    searched = []
    for label, path in data_root_candidates(data_dir):
        senteval = _senteval_dir_in(path)
        if senteval is not None:
            return DataRoot(root=path.resolve(), senteval=senteval.resolve())
        if (path / "senteval").is_dir() or (path / "useb").is_dir():  # some tasks' data; each task checks its own
            return DataRoot(root=path.resolve(), senteval=(path / "senteval").resolve())
        searched.append(f"  - {label}: {path} (no senteval/, useb/ or STS folder)")
    raise DataError(
        "no evaluation data found; searched:\n"
        + "\n".join(searched)
        + "\nPoint --data-dir (or $SCT_DATA) at a folder holding senteval/ (SentEval's data/downstream"
        " layout: STS/STS12-en-test ... STS/STSBenchmark, SICK/, SNLI/, MRPC/) and/or useb/ (USEB's data-eval"
        " layout), or at a SentEval folder itself. On a connected machine `sct download senteval` and"
        " `sct download useb` fetch them into ~/.cache/sct."
    )


# --------------------------------------------------------------------------- text files


def iter_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` split on newlines only, without the line ending.

    Each line is decoded on its own, so undecodable bytes are reported with their exact line.
    ``.gz`` files are read through gzip.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a text file")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file (a FIFO or device?), expected a text file")
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as handle:
            for lineno, raw in enumerate(handle, start=1):
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]  # a UTF-8 byte-order mark is encoding, not text
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise DataError(f"{path}:{lineno}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
                yield lineno, text.rstrip("\r\n")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc


def normalise_whitespace(text: str) -> str:
    return " ".join(text.split())


def read_pairs(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read ``view1 TAB view2`` lines. Blank lines are skipped; anything else malformed is an error."""
    pairs: list[tuple[str, str]] = []
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        if "\x00" in line:
            raise DataError(f"{path}:{lineno}: NUL byte in line")
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataError(f"{path}:{lineno}: expected 2 tab-separated fields (view 1, view 2), found {len(fields)}")
        first, second = (normalise_whitespace(f) for f in fields)
        if not first or not second:
            raise DataError(f"{path}:{lineno}: empty view (both view 1 and view 2 must have text)")
        pairs.append((first, second))
    if not pairs:
        raise DataError(f"{path}: no training pairs found")
    return pairs


def read_sentence_file(path: str | os.PathLike) -> tuple[list[str], int]:
    """One sentence per line, whitespace normalised; also the number of blank lines skipped."""
    sentences, blank = [], 0
    for lineno, line in iter_lines(path):
        if "\x00" in line:
            raise DataError(f"{path}:{lineno}: NUL byte in line")
        text = normalise_whitespace(line)
        if text:
            sentences.append(text)
        else:
            blank += 1
    if not sentences:
        raise DataError(f"{path}: no sentences found")
    return sentences, blank


def read_sentences(path: str | os.PathLike) -> list[str]:
    """One sentence per line; blank lines are skipped, whitespace is normalised."""
    return read_sentence_file(path)[0]


def prepare_pairs(
    pairs: list[tuple[str, str]], seed: int, max_samples: int | None = None, dedupe: bool = True
) -> list[tuple[str, str]]:
    """De-duplicate (first occurrence kept), shuffle reproducibly by ``seed``, then cut to ``max_samples``."""
    if dedupe:
        pairs = list(dict.fromkeys(pairs))
    pairs = list(pairs)
    random.Random(seed).shuffle(pairs)
    if max_samples is not None:
        pairs = pairs[:max_samples]
    return pairs


def read_corpus(path: str | os.PathLike, domains: set[str] | None = None) -> Iterator[tuple[str, str, str]]:
    """Rows ``(source, domain, sentence)`` of the unlabelled corpus TSV, optionally filtered by domain."""
    for lineno, line in iter_lines(path):
        if lineno == 1 and line.split("\t")[:3] == ["source", "domain", "sentence"]:
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise DataError(f"{path}:{lineno}: expected 3 tab-separated fields (source, domain, sentence)")
        if domains is None or fields[1] in domains:
            yield fields[0], fields[1], normalise_whitespace(fields[2])


# --------------------------------------------------------------------------- STS-B dev set


@dataclass
class ScoredPairs:
    """Sentence pairs with gold similarity scores (an STS-style dataset)."""

    name: str
    sentences1: list[str]
    sentences2: list[str]
    scores: list[float]


@dataclass
class LabelledPairs:
    """Sentence pairs with integer labels: classes (SentEval) or annotator counts (TwitterPara)."""

    sentences1: list[str]
    sentences2: list[str]
    labels: list[int]


def parse_score(path: Path, lineno: int, text: str) -> float:
    """A gold similarity score; anything else names file:line."""
    try:
        value = float(text)
    except ValueError as exc:
        raise DataError(f"{path}:{lineno}: expected a numeric gold score, found {text!r}") from exc
    if not math.isfinite(value):
        raise DataError(f"{path}:{lineno}: expected a finite gold score, found {text!r}")
    return value


def read_stsb_sentence_transformers(path: str | os.PathLike, split: str = "dev", name: str = "sts-dev") -> ScoredPairs:
    """sentence-transformers' ``stsbenchmark.tsv.gz`` (split, genre, dataset, year, sid, score, s1, s2)."""
    path = Path(path)
    s1, s2, scores = [], [], []
    for lineno, line in iter_lines(path):
        fields = line.split("\t")
        if lineno == 1 and fields[0] == "split":
            continue
        if len(fields) < 8:
            raise DataError(f"{path}:{lineno}: expected 8 tab-separated columns (stsbenchmark.tsv layout)")
        if fields[0] == split:
            s1.append(fields[6])
            s2.append(fields[7])
            scores.append(parse_score(path, lineno, fields[5]))
    if not scores:
        raise DataError(f"{path}: no rows with split {split!r}")
    return ScoredPairs(name, s1, s2, scores)


def write_lines_atomic(path: str | os.PathLike, lines: list[str]) -> None:
    """Write text lines to a temporary file, then rename: no half-written file looks complete."""
    path = Path(path)
    with _atomic(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        for line in lines:
            handle.write(line + "\n")


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` that replaces it on success; on a write error (disk full, read-only
    folder) the temporary file is removed and the error is one line naming ``path``, the old file untouched."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # two processes writing one file never share it
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # nothing there to remove when the folder itself was the problem
            tmp.unlink(missing_ok=True)
        raise WriteError(f"{path}: cannot write ({exc.strerror or exc})") from exc


def update_digest(path: str | os.PathLike, digest: Any) -> None:
    """Feed a file's bytes to a hashlib digest in 4 MiB blocks (no whole-file read)."""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    update_digest(path, digest)
    return digest.hexdigest()


def read_json_if_present(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON object file's content, or {} when the file does not exist (state kept beside runs)."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); fix or delete it") from exc


def read_json_file(path: str | os.PathLike, what: str) -> Any:
    """A JSON file the user named (``what`` says which, e.g. ``--baseline-json``); a missing file, a directory,
    bad bytes or bad JSON is one line naming the file (and the line)."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: {what} is a directory, expected a JSON file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: {what} file not found") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: {what} is not valid JSON ({exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: {what} is not readable UTF-8 JSON ({exc})") from None


def write_json_atomic(path: str | os.PathLike, data: Any, sort_keys: bool = False) -> None:
    """Write JSON to a temporary file, then rename (parent folders are created)."""
    path = Path(path)
    try:  # strict JSON: a NaN or infinity is a bug upstream, never something to store
        text = json.dumps(data, indent=2, sort_keys=sort_keys, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise ValueError(f"{path}: refusing to write a non-finite number ({exc})") from exc
    with _atomic(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")


__all__ = [
    "DataRoot",
    "ScoredPairs",
    "find_data_root",
    "iter_lines",
    "prepare_pairs",
    "read_corpus",
    "read_pairs",
    "read_sentences",
    "write_json_atomic",
    "write_lines_atomic",
]
