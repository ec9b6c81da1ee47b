"""`sct encode` and `sct search`: use a trained model, as SimCSE's tool does (exact search by default)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sct.data import read_sentences, write_lines_atomic
from sct.errors import ConfigError, DataError, WriteError

logger = logging.getLogger(__name__)

# Corpora at least this large are searched with faiss (exact inner-product index) when it is installed.
FAISS_MIN_CORPUS = 100_000


def load_model(name: str, max_seq_length: int | None = None) -> Any:
    """The model as saved (all its modules, e.g. a distilled student's Dense projection), or an `sct export-onnx`
    directory as an onnxruntime encoder with the same ``encode``."""
    return load_model_and_info(name, max_seq_length=max_seq_length)[0]


def load_model_and_info(
    name: str, layers: int | None = None, max_seq_length: int | None = None
) -> tuple[Any, dict[str, Any], int | None]:
    """Every model form sct encodes or scores, through one loader: a sentence-transformers folder or hub id
    (``layers``: its first N transformer layers) or an `sct export-onnx` folder, float32 or int8.

    Returns the model, what it is (for results files) and its parameter count (None for an export).
    """
    from sct.export import OnnxEncoder, is_onnx_export
    from sct.models import load_student

    if is_onnx_export(name):
        if layers:
            raise ConfigError(f"{name} is an ONNX export: --student-layers cuts torch models only")
        model: Any = OnnxEncoder(name)
        info, parameters = {"onnx_export": model.config}, None
    else:
        model, student = load_student(name, layers, architecture="as-is")
        model.eval()
        info, parameters = student.to_dict(), sum(p.numel() for p in model.parameters())
    if max_seq_length is not None:
        model.max_seq_length = max_seq_length
    return model, info, parameters


def embed(model: Any, sentences: list[str], batch_size: int = 128, normalize: bool = False) -> np.ndarray:
    """float32 embeddings, one row per sentence, with a progress bar."""
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    out = model.encode(
        sentences,
        batch_size=batch_size,
        convert_to_numpy=True,
        normalize_embeddings=normalize,
        show_progress_bar=len(sentences) > batch_size,
    )
    return np.asarray(out, dtype=np.float32)


def check_npy_output(output_path: str | Path) -> Path:
    """The ``.npy`` file to write: checked before any model loads, so a bad path costs nothing."""
    output = Path(output_path)
    if output.suffix != ".npy":
        raise ConfigError(f"--output {output}: expected a .npy file name")
    if not output.parent.is_dir():
        raise ConfigError(f"--output {output}: the folder {output.parent} does not exist")
    if output.is_dir():
        raise ConfigError(f"--output {output}: is a directory, expected a .npy file name")
    return output


def encode_file(
    model: Any, sentences: str | Path | list[str], output_path: str | Path, batch_size: int = 128,
    normalize: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Embed every non-blank line of a file (or the given sentences) into ``output_path`` (.npy), written
    atomically: a failed write (a full disk) leaves neither a half file nor its temporary behind.

    Row i of the array is the i-th non-blank line (blank lines are skipped and counted).
    """
    output = check_npy_output(output_path)
    if not isinstance(sentences, list):
        source = sentences
        sentences = read_sentences(source)
        if not sentences:
            raise DataError(f"{source}: no sentences found")
    embeddings = embed(model, sentences, batch_size, normalize)
    tmp = output.with_name(output.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            np.save(handle, embeddings)
        os.replace(tmp, output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(f"--output {output}: cannot write ({exc.strerror or exc}); nothing written") from exc
    logger.info("%d embeddings of dimension %d -> %s", *embeddings.shape, output)
    return {"sentences": len(sentences), "dim": int(embeddings.shape[1]), "output": str(output)}


@dataclass(frozen=True)
class Hit:
    score: float
    index: int
    sentence: str


def _top_k_exact(queries: np.ndarray, corpus: np.ndarray, k: int, chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k cosine over the corpus in chunks (both sides already L2-normalised)."""
    best_scores = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_index = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(corpus), chunk):
        scores = queries @ corpus[start : start + chunk].T
        index = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
        scores = np.concatenate((best_scores, scores), 1)
        index = np.concatenate((best_index, index), 1)
        keep = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        best_scores, best_index = np.take_along_axis(scores, keep, 1), np.take_along_axis(index, keep, 1)
    return best_scores, best_index


def _top_k_faiss(queries: np.ndarray, corpus: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        import faiss
    except ImportError:
        return None
    index = faiss.IndexFlatIP(corpus.shape[1])
    index.add(np.ascontiguousarray(corpus))
    scores, ids = index.search(np.ascontiguousarray(queries), k)
    return scores, ids.astype(np.int64)


INDEXES = ("exact", "hnsw")
RECALL_K = 10


def _faiss():
    try:
        import faiss
    except ImportError as exc:
        raise ConfigError("faiss is not installed (needed for --index hnsw): pip install 'sct[search]'") from exc
    return faiss


def hnsw_index(corpus: np.ndarray, index_file: str | Path | None = None, neighbours: int = 32) -> Any:
    """An HNSW inner-product index over the (normalised) corpus; built once, saved to and loaded from
    ``index_file`` (written atomically) with a fingerprint of the embeddings beside it (``INDEX.sha256``), so an
    index of other embeddings (a re-encoded corpus, another model of the same width) is refused, not used."""
    import hashlib

    faiss = _faiss()
    path = Path(index_file) if index_file else None
    fingerprint = hashlib.sha256(np.ascontiguousarray(corpus).tobytes()).hexdigest()
    if path is not None and path.is_file():
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise DataError(f"--index-file {path}: not a readable faiss index ({str(exc).splitlines()[0]})") from exc
        if index.ntotal != len(corpus) or index.d != corpus.shape[1]:
            raise DataError(f"--index-file {path}: {index.ntotal} rows of width {index.d}, but the corpus has "
                            f"{len(corpus)} rows of width {corpus.shape[1]}: rebuild it (delete the file)")  # fmt: skip
        stamp = path.with_name(path.name + ".sha256")
        if not stamp.is_file() or stamp.read_text().strip() != fingerprint:
            raise DataError(f"--index-file {path} was built from other embeddings than these: rebuild it (delete "
                            "the file)")  # fmt: skip
        return index
    index = faiss.IndexHNSWFlat(corpus.shape[1], neighbours, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.add(np.ascontiguousarray(corpus))
    if path is not None:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            faiss.write_index(index, str(tmp))
            tmp.replace(path)
        except (RuntimeError, OSError) as exc:
            tmp.unlink(missing_ok=True)
            raise WriteError(f"--index-file {path}: cannot write ({str(exc).splitlines()[0]})") from exc
        write_lines_atomic(path.with_name(path.name + ".sha256"), [fingerprint])
    return index


def search(
    model: Any,
    corpus: list[str],
    queries: list[str],
    top_k: int = 5,
    corpus_embeddings: np.ndarray | None = None,
    batch_size: int = 128,
    index: str = "exact",
    index_file: str | Path | None = None,
    report: dict | None = None,
) -> list[list[Hit]]:
    """For each query, the ``top_k`` corpus sentences by cosine similarity, best first.

    Exact by default; a corpus of ``FAISS_MIN_CORPUS`` sentences or more goes through faiss's exact
    inner-product index when faiss is installed. ``corpus_embeddings`` (e.g. from ``sct encode``)
    skips re-encoding the corpus; its rows must match the corpus lines.
    """
    if top_k < 1:
        raise ConfigError(f"--top-k must be >= 1, got {top_k}")
    if not queries:
        raise ConfigError("no query given")
    if corpus_embeddings is None:
        corpus_embeddings = embed(model, corpus, batch_size)
    if len(corpus_embeddings) != len(corpus):
        raise DataError(f"{len(corpus_embeddings)} corpus embeddings for {len(corpus)} corpus sentences")
    normalised = corpus_embeddings / np.maximum(np.linalg.norm(corpus_embeddings, axis=1, keepdims=True), 1e-12)
    normalised = normalised.astype(np.float32)
    query_embeddings = embed(model, queries, batch_size, normalize=True)
    if query_embeddings.shape[1] != normalised.shape[1]:
        raise DataError(f"corpus embeddings are {normalised.shape[1]}-d but the model gives "
                        f"{query_embeddings.shape[1]}-d: they were made by another model")  # fmt: skip
    if index not in INDEXES:
        raise ConfigError(f"--index must be one of {', '.join(INDEXES)}, got {index!r}")
    k = min(top_k, len(corpus))
    if index == "hnsw":  # approximate: its recall@10 against exact search is measured on these queries
        hnsw = hnsw_index(normalised, index_file)
        hnsw.hnsw.efSearch = max(64, k)
        scores, ids = hnsw.search(np.ascontiguousarray(query_embeddings), k)
        scores, index_ids = scores, ids.astype(np.int64)
        if report is not None:
            r = min(RECALL_K, len(corpus))
            exact = _top_k_exact(query_embeddings, normalised, r)[1]
            approx = hnsw.search(np.ascontiguousarray(query_embeddings), r)[1]
            hits = sum(len(set(a) & set(e)) for a, e in zip(approx.tolist(), exact.tolist(), strict=True))
            report.update(index="hnsw", recall_at=r, recall=hits / (r * len(queries)))
    else:
        found = _top_k_faiss(query_embeddings, normalised, k) if len(corpus) >= FAISS_MIN_CORPUS else None
        scores, index_ids = found if found is not None else _top_k_exact(query_embeddings, normalised, k)
        if report is not None:
            report.update(index="exact (faiss)" if found is not None else "exact")
    return [
        [Hit(float(s), int(i), corpus[int(i)]) for s, i in zip(row_scores, row_index, strict=True)]
        for row_scores, row_index in zip(scores, index_ids, strict=True)
    ]
