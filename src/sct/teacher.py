"""Teacher embeddings for distillation: computed once, memory-mapped, and never used for other data.

A cache entry is a directory named by a key that hashes everything the embeddings depend on: the
teacher's files (weights, tokenizer, module configs), the exact set of training texts, the teacher's
max_seq_length, whether embeddings are L2-normalised, and the precision they were computed in. A
changed corpus, teacher or setting therefore gets a new entry; an entry cannot be found for data it
was not made from. Inside, ``embeddings.npy`` holds one row per unique text (sorted), written in
chunks with a progress file so an interrupted computation resumes; ``manifest.json`` is written last,
with the file's size and sha256, and is checked on every load: a truncated or altered file is
reported, deleted and recomputed, never used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sct.data import file_sha256, update_digest, write_json_atomic
from sct.errors import ConfigError

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
MANIFEST = "manifest.json"
PROGRESS = "progress.json"
EMBEDDINGS = "embeddings.npy"
PRECISIONS = ("float32", "bfloat16")
_IGNORED_FILES = {"README.md", "desktop.ini", ".gitattributes", "sct_install.json", "sct_model.json"}


def default_cache_dir() -> Path:
    from sct.paths import sct_home

    return sct_home() / "teacher-cache"


def check_writable(directory: str | Path) -> Path:
    """Fail early, naming the directory, if the cache cannot be written there."""
    path = Path(directory).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"teacher cache directory {path} is not writable ({exc.strerror or exc}); "
            "pass --teacher-cache DIR with a writable directory"
        ) from exc
    return path


def fingerprint_directory(directory: str | Path) -> str:
    """sha256 over every file that shapes a model's embeddings (names and contents, sorted by path)."""
    root = Path(directory)
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name not in _IGNORED_FILES)
    if not files:
        raise ConfigError(f"teacher directory {root} holds no files")
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        update_digest(path, digest)
    return digest.hexdigest()


def fingerprint_state(model: Any) -> str:
    """sha256 of a loaded model's tensors and module layout (for teachers served from the hub)."""
    import torch

    digest = hashlib.sha256(repr(model).encode())
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode() + b"\0")
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def texts_sha256(texts: Iterable[str]) -> str:
    """Order-sensitive, unambiguous hash of a text list (each text length-prefixed)."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


@dataclass(frozen=True)
class TeacherSettings:
    """What, besides the texts, the cached embeddings depend on."""

    name: str
    fingerprint: str
    max_seq_length: int
    normalize: bool
    precision: str

    def key(self, text_hash: str) -> str:
        fields = {
            "format": CACHE_FORMAT,
            "teacher_fingerprint": self.fingerprint,
            "texts_sha256": text_hash,
            "max_seq_length": self.max_seq_length,
            "normalize": self.normalize,
            "precision": self.precision,
        }
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


class TeacherEmbeddings:
    """Row lookup from training-pair index to the teacher's embeddings of view 1 and view 2."""

    def __init__(self, embeddings: np.ndarray, rows: np.ndarray, directory: Path, manifest: dict[str, Any],
                 from_cache: bool = False):  # fmt: skip
        self.embeddings = embeddings  # read-only memmap, one row per unique text
        self.rows = rows  # n_pairs x 2 indices into ``embeddings``
        self.directory = directory
        self.manifest = manifest
        self.from_cache = from_cache  # found complete, not computed by this process

    @property
    def charged_cpu_seconds(self) -> float:
        """The CPU time building this entry cost, when another process built it (0 when built here)."""
        return float(self.manifest.get("build_cpu_seconds", 0.0)) if self.from_cache else 0.0

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def lookup(self, pair_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """float32 teacher embeddings of view 1 and view 2 for these training-pair indices."""
        rows = self.rows[np.asarray(pair_indices, dtype=np.int64)]
        return (
            np.asarray(self.embeddings[rows[:, 0]], dtype=np.float32),
            np.asarray(self.embeddings[rows[:, 1]], dtype=np.float32),
        )


def _unique_texts(pairs: Sequence[tuple[str, str]]) -> tuple[list[str], np.ndarray]:
    texts = sorted({t for pair in pairs for t in pair})
    position = {t: i for i, t in enumerate(texts)}
    rows = np.array([(position[a], position[b]) for a, b in pairs], dtype=np.int64).reshape(-1, 2)
    return texts, rows


def _verify(directory: Path, key: str, count: int) -> dict[str, Any] | str:
    """The manifest when the entry is complete and intact, else the reason it is not usable."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return f"unreadable manifest ({exc})"
    path = directory / EMBEDDINGS
    if manifest.get("key") != key or manifest.get("rows") != count:
        return "manifest does not describe this data"
    if not path.is_file():
        return f"{EMBEDDINGS} is missing"
    if path.stat().st_size != manifest.get("file_bytes"):
        return f"{EMBEDDINGS} is {path.stat().st_size} bytes, the manifest says {manifest.get('file_bytes')}"
    if file_sha256(path) != manifest.get("file_sha256"):
        return f"{EMBEDDINGS} does not match the sha256 in the manifest"
    return manifest


ORDER = "length"  # how an entry's texts are walked while it is built (a partial entry resumes only in its order)


def _encode_chunks(
    encode: Callable[[list[str]], np.ndarray],
    texts: list[str],
    memmap: np.ndarray | None,
    directory: Path,
    key: str,
    start: int,
    chunk: int,
    cpu_start: float,
) -> np.ndarray:
    """Encode the texts shortest first, chunk by chunk, into the memmap rows of their own positions (created at
    the first chunk, when the dimension is known), recording progress after each so a crash loses at most one
    chunk. Ordering the whole set by length, not only each chunk, keeps every batch's padding small."""
    from tqdm.auto import tqdm

    order = np.argsort(np.array([len(t) for t in texts]), kind="stable")  # the same order on every resume
    with tqdm(total=len(texts), initial=start, desc="teacher embeddings", unit="text") as bar:
        for begin in range(start, len(texts), chunk):
            end = min(begin + chunk, len(texts))
            positions = order[begin:end]
            embeddings = encode([texts[i] for i in positions])
            if memmap is None:
                shape = (len(texts), embeddings.shape[1])
                memmap = np.lib.format.open_memmap(directory / EMBEDDINGS, mode="w+", dtype=np.float32, shape=shape)
            memmap[positions] = embeddings
            memmap.flush()
            write_json_atomic(directory / PROGRESS, {"key": key, "done": end, "order": ORDER,
                                                     "cpu_seconds": time.process_time() - cpu_start})  # fmt: skip
            bar.update(end - begin)
    assert memmap is not None, "no texts to encode"
    return memmap


def load_or_compute(
    pairs: Sequence[tuple[str, str]],
    settings: TeacherSettings,
    encode: Callable[[list[str]], np.ndarray],
    cache_dir: str | Path,
    chunk: int = 4096,
) -> TeacherEmbeddings:
    """The teacher embeddings of both views of ``pairs``, from the cache or computed into it.

    ``encode(list_of_texts) -> float32 array (n, dim)`` runs the teacher; it is called only for texts
    not yet computed (resuming an interrupted entry from its last finished chunk), never on a cache hit.
    """
    texts, rows = _unique_texts(pairs)
    key = settings.key(texts_sha256(texts))
    root = check_writable(cache_dir)
    directory = root / key[:24]
    path = directory / EMBEDDINGS
    if (directory / MANIFEST).exists():
        verdict = _verify(directory, key, len(texts))
        if isinstance(verdict, dict):
            logger.info("teacher embeddings: cache hit %s (%d texts)", directory, len(texts))
            return TeacherEmbeddings(np.load(path, mmap_mode="r"), rows, directory, verdict, from_cache=True)
        logger.warning("teacher cache %s is not usable (%s): recomputing it", directory, verdict)
        shutil.rmtree(directory)

    memmap = _resumable(directory, key, len(texts))
    start, earlier_cpu = 0, 0.0
    if memmap is None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
    else:
        progress = json.loads((directory / PROGRESS).read_text())
        start, earlier_cpu = int(progress["done"]), float(progress.get("cpu_seconds", 0.0))
        logger.info("teacher embeddings: resuming %s at %d of %d texts", directory, start, len(texts))
    cpu_start = time.process_time() - earlier_cpu
    memmap = _encode_chunks(encode, texts, memmap, directory, key, start, chunk, cpu_start)
    dim = int(memmap.shape[1])
    del memmap

    manifest = {
        "key": key,
        "format": CACHE_FORMAT,
        "teacher": settings.name,
        "teacher_fingerprint": settings.fingerprint,
        "max_seq_length": settings.max_seq_length,
        "normalize": settings.normalize,
        "precision": settings.precision,
        "texts_sha256": texts_sha256(texts),
        "rows": len(texts),
        "dim": dim,
        "dtype": "float32",
        "file_bytes": path.stat().st_size,
        "file_sha256": file_sha256(path),
        "build_cpu_seconds": round(time.process_time() - cpu_start, 3),  # charged to runs that find it built
    }
    write_json_atomic(directory / MANIFEST, manifest, sort_keys=True)
    os.remove(directory / PROGRESS)
    logger.info("teacher embeddings: %d texts cached in %s", len(texts), directory)
    return TeacherEmbeddings(np.load(path, mmap_mode="r"), rows, directory, manifest)


def _resumable(directory: Path, key: str, count: int) -> np.ndarray | None:
    """The partly written embeddings of an interrupted computation of this entry, if there is one."""
    progress_path, path = directory / PROGRESS, directory / EMBEDDINGS
    if not (progress_path.is_file() and path.is_file()):
        return None
    try:
        progress = json.loads(progress_path.read_text())
        memmap = np.load(path, mmap_mode="r+")
        usable = (progress.get("key") == key and progress.get("order") == ORDER and memmap.shape[0] == count
                  and memmap.dtype == np.float32)  # fmt: skip
        if usable and 0 < int(progress["done"]) <= count:
            return memmap
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        logger.warning("teacher cache %s: unreadable partial entry (%s), starting over", directory, exc)
    return None


def load_teacher(name: str, device: str | None = None):
    """The teacher as a sentence-transformers model (whole: its own pooling and normalisation)."""
    from sct.models import load_student

    model, info = load_student(name, architecture="as-is", device=device)
    model.eval()
    return model, info


def teacher_embeddings(
    pairs: Sequence[tuple[str, str]],
    teacher: str,
    cache_dir: str | Path,
    max_seq_length: int,
    normalize: bool = True,
    precision: str = "float32",
    batch_size: int = 64,
) -> TeacherEmbeddings:
    """The teacher's embeddings of ``pairs``: from the cache, or computed into it.

    A teacher in a local directory is fingerprinted by its files and loaded only when something has to
    be computed; a hub teacher is loaded to fingerprint its tensors.
    """
    import torch

    from sct.models import resolve_model

    if precision not in PRECISIONS:
        raise ConfigError(f"teacher precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    check_writable(cache_dir)
    resolved = resolve_model(teacher)
    loaded: list[Any] = []

    def model() -> Any:
        if not loaded:
            teacher_model, _ = load_teacher(teacher)
            teacher_model.max_seq_length = max_seq_length
            loaded.append(teacher_model)
        return loaded[0]

    fingerprint = fingerprint_directory(resolved.location) if resolved.source != "hub" else fingerprint_state(model())
    settings = TeacherSettings(teacher, fingerprint, max_seq_length, normalize, precision)
    device_type = "cuda" if torch.cuda.is_available() else "cpu"

    def encode(texts: list[str]) -> np.ndarray:
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bfloat16"):
            out = model().encode(
                texts,
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=normalize,
                show_progress_bar=False,
            )
        return out.astype(np.float32)

    return load_or_compute(pairs, settings, encode, cache_dir)
