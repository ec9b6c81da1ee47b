"""USEB's TwitterPara task (Wang et al., 2021): average precision of cosine scores on two Twitter paraphrase sets.

Protocol as USEB computes it: for the Twitter URL corpus the label is the first number of the "(a,b)"
column (a of 6 annotators judged the pair a paraphrase); for PIT-2015 it is the expert label in
column 5 of ``test.data``. Label 3 is dropped, above 3 is a paraphrase, below 3 is not. Each set
scores the average precision of the pairs' cosine similarities against those binary labels (and,
as a secondary number, Spearman against label x 20 over all pairs); the task score is the mean of
the two sets' average precision. Lines are split on tabs after stripping the line, as USEB does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from sct.data import LabelledPairs, iter_lines
from sct.errors import DataError

TWITTER_URL = "Twitter_URL_Corpus_test.txt"
PIT_DATA = "test.data"
_URL_LABEL = re.compile(r"^\((\d+),\s*(\d+)\)$")


def _read(path: Path, parse) -> LabelledPairs:
    if not path.is_file():
        raise DataError(f"TwitterPara file missing: {path}")
    pairs = LabelledPairs([], [], [])
    for lineno, line in iter_lines(path):
        items = line.strip().split("\t")
        try:
            a, b, label = parse(items)
        except (IndexError, ValueError) as exc:
            raise DataError(f"{path}:{lineno}: {exc}") from exc
        pairs.sentences1.append(a)
        pairs.sentences2.append(b)
        pairs.labels.append(label)
    if not pairs.labels:
        raise DataError(f"{path}: no pairs found")
    return pairs


def _url_row(items: list[str]) -> tuple[str, str, int]:
    if len(items) < 3:
        raise ValueError(f"expected sentence<TAB>sentence<TAB>(votes,annotators), got {len(items)} column(s)")
    match = _URL_LABEL.match(items[2].strip())
    if match is None:
        raise ValueError(f"expected a label like (4,6), got {items[2]!r}")
    return items[0], items[1], int(match.group(1))


def _pit_row(items: list[str]) -> tuple[str, str, int]:
    if len(items) < 5:
        raise ValueError(
            f"expected at least 5 tab-separated columns (topic id, topic, s1, s2, label), got {len(items)}"
        )
    return items[2], items[3], int(items[4])


def read_twitter_url(path: Path) -> LabelledPairs:
    return _read(path, _url_row)


def read_pit(path: Path) -> LabelledPairs:
    return _read(path, _pit_row)


def average_precision(binary: np.ndarray, scores: np.ndarray) -> float:
    """Average precision with every distinct score a threshold (scikit-learn's definition, no interpolation)."""
    order = np.argsort(-scores, kind="stable")
    binary, scores = binary[order], scores[order]
    last_of_tie = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]
    true_positives = np.cumsum(binary)[last_of_tie]
    precision = true_positives / (last_of_tie + 1)
    recall = true_positives / max(int(binary.sum()), 1)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _score_set(model: Any, pairs: LabelledPairs, batch_size: int) -> dict[str, float]:
    unique = list(dict.fromkeys(pairs.sentences1 + pairs.sentences2))
    embeddings = model.encode(unique, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
    row = {s: i for i, s in enumerate(unique)}
    e1 = embeddings[[row[s] for s in pairs.sentences1]]
    e2 = embeddings[[row[s] for s in pairs.sentences2]]
    cosine = np.sum(e1 * e2, axis=1)
    labels = np.asarray(pairs.labels)
    kept = labels != 3
    ap = average_precision((labels[kept] > 3).astype(int), cosine[kept])
    return {
        "ap": 100 * ap,
        "spearman": 100 * float(spearmanr(labels * 20, cosine).statistic),
        "pairs": int(len(labels)),
        "pairs_scored_for_ap": int(kept.sum()),
        "paraphrases": int((labels[kept] > 3).sum()),
    }


def evaluate_twitterpara(model: Any, folder: Path, batch_size: int = 128) -> dict[str, Any]:
    """Both sets' scores and the task score (mean average precision x 100), with the files used."""
    url_path, pit_path = folder / TWITTER_URL, folder / PIT_DATA
    sets = {
        "twitterurl": _score_set(model, read_twitter_url(url_path), batch_size),
        "pit": _score_set(model, read_pit(pit_path), batch_size),
    }
    return {
        "score": float(np.mean([s["ap"] for s in sets.values()])),
        "spearman": float(np.mean([s["spearman"] for s in sets.values()])),
        "sets": sets,
        "files": [str(url_path), str(pit_path)],
        "protocol": "USEB TwitterPara: AP of cosine vs binary labels (label 3 dropped, >3 paraphrase), "
        "mean over Twitter URL and PIT-2015 test",
    }
