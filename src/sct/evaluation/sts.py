"""STS evaluation with the SentEval/SimCSE protocol, as the SCT paper reports it.

- STS12-16: Spearman correlation of cosine similarity over all sub-tracks concatenated (SimCSE's
  "all" setting); STS-B and SICK-R: Spearman on the test split.
- Files are read as SentEval reads them: ``read().splitlines()``, tab-split, pairs whose gold score
  is blank are skipped, and every sentence is whitespace-split and re-joined with single spaces.
- Each unique sentence is encoded once; the average is over the seven tasks.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from scipy.stats import spearmanr

from sct.data import ScoredPairs, find_data_root, parse_score, read_stsb_sentence_transformers
from sct.errors import DataError

logger = logging.getLogger(__name__)

# Task -> (folder under senteval/STS or senteval/, sub-tracks). STS13 has no SMT track (not redistributable),
# exactly as in SimCSE's SentEval copy.
STS_TASKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "STS12": ("STS/STS12-en-test", ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews")),
    "STS13": ("STS/STS13-en-test", ("FNWN", "headlines", "OnWN")),
    "STS14": ("STS/STS14-en-test", ("deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news")),
    "STS15": (
        "STS/STS15-en-test",
        ("answers-forums", "answers-students", "belief", "headlines", "images"),
    ),
    "STS16": (
        "STS/STS16-en-test",
        ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),
    ),
    "STS-B": ("STS/STSBenchmark", ("sts-test.csv",)),
    "SICK-R": ("SICK", ("SICK_test_annotated.txt",)),
}
TASK_ORDER = list(STS_TASKS)


class Encoder(Protocol):
    def encode(self, sentences: list[str], **kwargs: Any) -> Any: ...


def senteval_join(text: str) -> str:
    """SentEval tokenises by whitespace and the SimCSE batcher re-joins with single spaces."""
    return " ".join(text.split())


def _read_lines(path: Path) -> list[str]:
    """SentEval's reading (``read().splitlines()``), with a directory, FIFO or byte-order mark named or dropped."""
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a text file (STS evaluation data)")
    if path.exists() and not path.is_file():
        raise DataError(f"{path}: not a regular file (a FIFO or device?), expected a text file")
    if not path.is_file():
        raise DataError(f"{path}: file not found (STS evaluation data)")
    try:
        return path.read_text(encoding="utf-8").removeprefix("\ufeff").splitlines()
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8") from exc


def read_sts_track(folder: Path, track: str) -> ScoredPairs:
    """One STS12-16 sub-track: ``STS.input.<track>.txt`` and ``STS.gs.<track>.txt``."""
    inputs = folder / f"STS.input.{track}.txt"
    gold = folder / f"STS.gs.{track}.txt"
    input_lines, gold_lines = _read_lines(inputs), _read_lines(gold)
    if len(input_lines) != len(gold_lines):
        raise DataError(f"{inputs}: {len(input_lines)} lines but {gold} has {len(gold_lines)}")
    s1, s2, scores = [], [], []
    for lineno, (line, score) in enumerate(zip(input_lines, gold_lines, strict=True), start=1):
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataError(f"{inputs}:{lineno}: expected 2 tab-separated sentences, found {len(fields)} fields")
        if score == "":
            continue  # SentEval skips pairs without a gold score
        s1.append(senteval_join(fields[0]))
        s2.append(senteval_join(fields[1]))
        scores.append(parse_score(gold, lineno, score))
    return ScoredPairs(track, s1, s2, scores)


def _at_least_two(path: Path, pairs: ScoredPairs) -> ScoredPairs:
    """A test set's Spearman correlation needs two scored pairs; an empty file would otherwise be a numpy error."""
    if len(pairs.scores) < 2:
        raise DataError(f"{path}: {len(pairs.scores)} scored sentence pair(s); an STS file needs at least 2")
    return pairs


def _read_scored_columns(path: Path, layout: str, columns: tuple[int, int, int], header: bool = False) -> ScoredPairs:
    """Tab-separated rows with (sentence 1, sentence 2, score) at ``columns``; SentEval strips each line."""
    s1, s2, scores = [], [], []
    first, second, score = columns
    needed = max(columns) + 1
    for lineno, line in enumerate(_read_lines(path), start=1):
        if header and lineno == 1:
            continue
        fields = line.strip().split("\t")
        if len(fields) < needed:
            raise DataError(f"{path}:{lineno}: expected >= {needed} tab-separated columns ({layout} layout)")
        s1.append(senteval_join(fields[first]))
        s2.append(senteval_join(fields[second]))
        scores.append(parse_score(path, lineno, fields[score]))
    return ScoredPairs(path.name, s1, s2, scores)


def read_stsb_split(path: Path) -> ScoredPairs:
    """A SentEval STS-B split (sts-train/dev/test.csv): score in column 5, sentences in columns 6-7."""
    return _read_scored_columns(path, "STS-B", (5, 6, 4))


def read_sick_relatedness(path: Path) -> ScoredPairs:
    """SICK: a header line, then pair_ID, sentence_A, sentence_B, relatedness_score, ..."""
    return _read_scored_columns(path, "SICK", (1, 2, 3), header=True)


def load_sts_tasks(senteval_dir: Path, tasks: Sequence[str] = TASK_ORDER) -> dict[str, list[ScoredPairs]]:
    """Read the requested STS tasks from a SentEval ``data/downstream`` folder."""
    loaded: dict[str, list[ScoredPairs]] = {}
    for task in tasks:
        if task not in STS_TASKS:
            raise DataError(f"unknown STS task {task!r}; valid: {', '.join(TASK_ORDER)}")
        folder, tracks = STS_TASKS[task]
        base = senteval_dir / folder
        if task == "STS-B":
            loaded[task] = [_at_least_two(base / tracks[0], read_stsb_split(base / tracks[0]))]
        elif task == "SICK-R":
            loaded[task] = [_at_least_two(base / tracks[0], read_sick_relatedness(base / tracks[0]))]
        else:
            loaded[task] = [_at_least_two(base / f"STS.gs.{t}.txt", read_sts_track(base, t)) for t in tracks]
    return loaded


@dataclass
class STSResult:
    task: str
    spearman: float  # x 100
    pairs: int
    tracks: dict[str, float]  # per sub-track Spearman x 100 (STS12-16)


def _spearman(x: np.ndarray, y: Sequence[float]) -> float:
    return float(spearmanr(x, np.asarray(y, dtype=np.float64)).statistic) * 100.0


def evaluate_sts(
    model: Encoder,
    senteval_dir: Path,
    tasks: Sequence[str] = TASK_ORDER,
    batch_size: int = 128,
    show_progress_bar: bool = True,
) -> dict[str, Any]:
    """Score ``model`` on the STS tasks; returns a JSON-ready dict with per-task and average Spearman."""
    data = load_sts_tasks(senteval_dir, tasks)
    unique = sorted({s for subsets in data.values() for sub in subsets for s in (*sub.sentences1, *sub.sentences2)})
    logger.info("encoding %d unique sentences for %s", len(unique), ", ".join(data))
    started = time.perf_counter()
    embeddings = np.asarray(
        model.encode(
            unique,
            batch_size=batch_size,
            show_progress_bar=show_progress_bar,
            convert_to_numpy=True,
            normalize_embeddings=True,
        ),
        dtype=np.float64,
    )
    encode_seconds = time.perf_counter() - started
    index = {s: i for i, s in enumerate(unique)}

    def cosines(sub: ScoredPairs) -> np.ndarray:
        a = embeddings[[index[s] for s in sub.sentences1]]
        b = embeddings[[index[s] for s in sub.sentences2]]
        return np.einsum("ij,ij->i", a, b)

    results: dict[str, STSResult] = {}
    for task, subsets in data.items():
        sims = [cosines(sub) for sub in subsets]
        all_sims = np.concatenate(sims)
        all_gold = [g for sub in subsets for g in sub.scores]
        tracks = {sub.name: _spearman(s, sub.scores) for sub, s in zip(subsets, sims, strict=True)}
        results[task] = STSResult(task, _spearman(all_sims, all_gold), len(all_gold), tracks)
    scores = [r.spearman for r in results.values()]
    return {
        "protocol": "SentEval/SimCSE STS: Spearman x100 of cosine; STS12-16 'all' (sub-tracks concatenated), "
        "STS-B and SICK-R test; sentences whitespace-split and re-joined",
        "senteval_dir": str(senteval_dir),
        "unique_sentences": len(unique),
        "encode_seconds": round(encode_seconds, 2),
        "tasks": {
            t: {"spearman": r.spearman, "pairs": r.pairs, "tracks": r.tracks if len(r.tracks) > 1 else {}}
            for t, r in results.items()
        },
        "avg": float(np.mean(scores)),
        "avg_over": list(results),
    }


def format_sts_table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """A markdown table in the paper's column order, one row per (label, result)."""
    ran = [t for t in TASK_ORDER if any(t in result["tasks"] for _, result in rows)]
    with_avg = len(ran) > 1  # an average of one task is that task
    header = ["model", *ran, *(["Avg."] if with_avg else [])]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, result in rows:
        cells = [label]
        for task in ran:
            value = result["tasks"].get(task, {}).get("spearman")
            cells.append("-" if value is None else f"{value:.2f}")
        if with_avg:
            cells.append(f"{result['avg']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_dev_set(dev_file: str | os.PathLike | None, data_dir: str | os.PathLike | None) -> ScoredPairs:
    """STS-B dev: a given file (either layout), else ``STSBenchmark/sts-dev.csv`` under the data root."""
    if dev_file is not None:
        path = Path(dev_file)
        if path.is_dir():
            raise DataError(f"{path}: is a directory, expected the dev file")
        if path.exists() and not path.is_file():
            raise DataError(f"{path}: not a regular file (a FIFO or device?), expected the dev file")
        if not path.is_file():
            raise DataError(f"{path}: dev file not found")
        if path.name.endswith(".tsv.gz") or path.name.endswith(".tsv"):
            return read_stsb_sentence_transformers(path)
    else:
        root = find_data_root(data_dir)
        path = root.senteval / "STS" / "STSBenchmark" / "sts-dev.csv"
        if not path.is_file():
            raise DataError(f"{path}: STS-B dev set not found under the data root {root.root}")
    dev = read_stsb_split(path)
    if not dev.scores:
        raise DataError(f"{path}: no sentence pairs found")
    return dev
