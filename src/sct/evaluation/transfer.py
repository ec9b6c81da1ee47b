"""SentEval's sentence-pair classification tasks (SICK-E, SNLI, MRPC) with SentEval's own protocol.

The encoder is frozen; each pair becomes SentEval's feature vector for that task and a logistic
regression is trained on it, exactly as SentEval's PyTorch classifier does in the SimCSE setting
(``usepytorch=True``, ``nhid=0``, Adam, batch 64, tenacity 5, epoch size 4, at most 200 epochs, the
best dev epoch kept):

- SICK-E: features [|u-v|, u*v]; train SICK_train, dev SICK_trial, test SICK_test_annotated; the L2
  penalty is chosen on dev from 1e-5 ... 1e-2.
- SNLI: features [u, v, u*v, |u-v|]; train/dev/test from ``s1``/``s2``/``labels``; no L2 penalty
  (SentEval's ``noreg``). Needs ``SNLI/s1.train``; without it the task is skipped, never run on
  another split.
- MRPC: features [|u-v|, u*v]; 10-fold stratified cross-validation on train chooses the L2 penalty,
  the final classifier (5% of train held out for early stopping) is scored on test: accuracy and F1.

Deviations from SentEval (numbers can differ in the second decimal): our own stratified folds
(not scikit-learn's), sentences are not sorted by length before batching, SNLI files are read as
UTF-8 (SentEval reads latin-1).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sct.data import LabelledPairs, iter_lines
from sct.errors import DataError
from sct.evaluation.sts import senteval_join

logger = logging.getLogger(__name__)

SEED = 1111  # SentEval's default seed
L2_GRID = tuple(10.0**t for t in range(-5, -1))  # SentEval's PyTorch grid: 1e-5, 1e-4, 1e-3, 1e-2
NO_REG = 1e-9  # SentEval's "noreg" value for the PyTorch classifier
SICK_LABELS = {"CONTRADICTION": 0, "NEUTRAL": 1, "ENTAILMENT": 2}
SNLI_LABELS = {"entailment": 0, "neutral": 1, "contradiction": 2}


# --------------------------------------------------------------------------- readers


def _read_labelled_columns(
    path: Path, sentences: tuple[int, int], label: int, labels: dict[str, int], too_few: str, bad_label: str
) -> LabelledPairs:
    """A header line, then tab-separated rows with two sentences and a label at the given columns."""
    pairs = LabelledPairs([], [], [])
    needed = max(*sentences, label) + 1
    for lineno, line in iter_lines(path):
        if lineno == 1:
            continue
        fields = line.strip().split("\t")
        if len(fields) < needed:
            raise DataError(f"{path}:{lineno}: {too_few}, found {len(fields)}")
        if fields[label] not in labels:
            raise DataError(f"{path}:{lineno}: {bad_label}, found {fields[label]!r}")
        pairs.sentences1.append(senteval_join(fields[sentences[0]]))
        pairs.sentences2.append(senteval_join(fields[sentences[1]]))
        pairs.labels.append(labels[fields[label]])
    if not pairs.labels:
        raise DataError(f"{path}: no sentence pairs found")
    return pairs


def read_sick_entailment(path: Path) -> LabelledPairs:
    """SICK: a header, then pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment."""
    return _read_labelled_columns(
        path, (1, 2), 4, SICK_LABELS, "expected >= 5 tab-separated columns (SICK layout)",
        f"expected an entailment label {sorted(SICK_LABELS)}",
    )  # fmt: skip


def read_mrpc(path: Path) -> LabelledPairs:
    """MRPC: a header, then Quality (0/1), #1 ID, #2 ID, #1 String, #2 String."""
    return _read_labelled_columns(
        path, (3, 4), 0, {"0": 0, "1": 1}, "expected 5 tab-separated columns (MRPC layout)",
        "expected a label 0 or 1 in column 1",
    )  # fmt: skip


def read_snli_split(folder: Path, split: str) -> LabelledPairs:
    """SentEval's SNLI layout: ``s1.<split>``, ``s2.<split>``, ``labels.<split>``, one item per line."""
    columns = {}
    for name in ("s1", "s2", "labels"):
        path = folder / f"{name}.{split}"
        columns[name] = [(lineno, line) for lineno, line in iter_lines(path)]
    sizes = {name: len(rows) for name, rows in columns.items()}
    if len(set(sizes.values())) != 1:
        raise DataError(f"{folder}: s1/s2/labels .{split} differ in length: {sizes}")
    pairs = LabelledPairs([], [], [])
    label_path = folder / f"labels.{split}"
    for (_, a), (_, b), (lineno, label) in zip(columns["s1"], columns["s2"], columns["labels"], strict=True):
        if label.strip() not in SNLI_LABELS:
            raise DataError(f"{label_path}:{lineno}: expected one of {sorted(SNLI_LABELS)}, found {label!r}")
        pairs.sentences1.append(senteval_join(a))
        pairs.sentences2.append(senteval_join(b))
        pairs.labels.append(SNLI_LABELS[label.strip()])
    if not pairs.labels:
        raise DataError(f"{label_path}: no sentence pairs found")
    return pairs


# --------------------------------------------------------------------------- features


def features_abs_prod(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """SentEval's SICK-E and MRPC features: [|u-v|, u*v]."""
    return np.concatenate([np.abs(u - v), u * v], axis=1)


def features_snli(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """SentEval's SNLI features: [u, v, u*v, |u-v|]."""
    return np.concatenate([u, v, u * v, np.abs(u - v)], axis=1)


def encode_pairs(
    model: Any, splits: dict[str, LabelledPairs], features: Callable[[np.ndarray, np.ndarray], np.ndarray],
    batch_size: int,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """Encode every unique sentence of all splits once (raw, not normalised, as SentEval's batcher)."""
    unique = list(dict.fromkeys(s for p in splits.values() for s in (*p.sentences1, *p.sentences2)))
    embeddings = np.asarray(
        model.encode(unique, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=False),
        dtype=np.float32,
    )
    row = {s: i for i, s in enumerate(unique)}
    out = {}
    for name, pairs in splits.items():
        u = embeddings[[row[s] for s in pairs.sentences1]]
        v = embeddings[[row[s] for s in pairs.sentences2]]
        out[name] = (features(u, v), np.asarray(pairs.labels, dtype=np.int64))
    return out


# --------------------------------------------------------------------------- classifier


class LogisticRegression:
    """SentEval's PyTorch logistic regression (``nhid=0``): Adam, L2 as weight decay, early stopping on dev.

    Training runs ``epoch_size`` passes over the shuffled training set, then scores dev; the best dev
    model is kept; training stops once dev has failed to improve more than ``tenacity`` times (SentEval
    does not reset that count after an improvement, and neither do we).
    """

    def __init__(
        self, nclasses: int, l2: float, seed: int = SEED, batch_size: int = 64, tenacity: int = 5,
        epoch_size: int = 4, max_epoch: int = 200,
    ) -> None:  # fmt: skip
        self.nclasses, self.l2, self.seed = nclasses, l2, seed
        self.batch_size, self.tenacity, self.epoch_size, self.max_epoch = batch_size, tenacity, epoch_size, max_epoch
        self.model: nn.Linear | None = None
        self.epochs = 0

    def fit(self, x: np.ndarray, y: np.ndarray, dev_x: np.ndarray, dev_y: np.ndarray) -> float:
        """Train with (dev_x, dev_y) for early stopping; returns the best dev accuracy (0-1)."""
        rng = np.random.RandomState(self.seed)
        torch.manual_seed(self.seed)
        model = nn.Linear(x.shape[1], self.nclasses)
        optimiser = torch.optim.Adam(model.parameters(), weight_decay=self.l2)
        loss_fn = nn.CrossEntropyLoss()
        tx, ty = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(y)
        best, best_state, misses, self.epochs = -1.0, None, 0, 0
        while self.epochs <= self.max_epoch:
            model.train()
            for _ in range(self.epoch_size):
                order = torch.from_numpy(rng.permutation(len(tx)))
                for start in range(0, len(tx), self.batch_size):
                    index = order[start : start + self.batch_size]
                    loss = loss_fn(model(tx[index]), ty[index])
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
            self.epochs += self.epoch_size
            self.model = model
            accuracy = self.score(dev_x, dev_y)
            if accuracy > best:
                best, best_state = accuracy, copy.deepcopy(model.state_dict())
            else:
                if misses >= self.tenacity:
                    break
                misses += 1
        model.load_state_dict(best_state)
        self.model = model
        return best

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        assert self.model is not None, "fit first"
        self.model.eval()
        return self.model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).argmax(dim=1).numpy()

    def score(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.predict(x) == y))


def stratified_folds(labels: np.ndarray, k: int, seed: int = SEED) -> list[np.ndarray]:
    """k test-index folds; each class is shuffled and dealt round-robin, so every fold keeps the class mix."""
    rng = np.random.RandomState(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        for i, index in enumerate(members):
            folds[(offset + i) % k].append(int(index))
        offset += len(members)
    return [np.sort(np.asarray(fold, dtype=np.int64)) for fold in folds]


def split_classify(
    data: dict[str, tuple[np.ndarray, np.ndarray]], nclasses: int, grid: Sequence[float]
) -> dict[str, Any]:
    """SentEval's SplitClassifier: each L2 on train, scored on dev; the best is refit and scored on test."""
    (x, y), (dx, dy), (tx, ty) = data["train"], data["dev"], data["test"]
    dev_scores = []
    for l2 in grid:
        clf = LogisticRegression(nclasses, l2)
        clf.fit(x, y, dx, dy)
        dev_scores.append(round(100 * clf.score(dx, dy), 2))
        logger.info("L2 %g: dev accuracy %.2f (%d epochs)", l2, dev_scores[-1], clf.epochs)
    best = int(np.argmax(dev_scores))
    clf = LogisticRegression(nclasses, grid[best])
    clf.fit(x, y, dx, dy)
    return {
        "accuracy": 100 * clf.score(tx, ty),
        "dev_accuracy": dev_scores[best],
        "l2": grid[best],
        "dev_by_l2": {f"{g:g}": s for g, s in zip(grid, dev_scores, strict=True)},
    }


def kfold_classify(
    data: dict[str, tuple[np.ndarray, np.ndarray]], nclasses: int, grid: Sequence[float], k: int = 10
) -> dict[str, Any]:
    """SentEval's KFoldClassifier: k-fold CV on train picks the L2; refit on train (5% held out), score test."""
    (x, y), (tx, ty) = data["train"], data["test"]
    folds = stratified_folds(y, k)
    cv_scores = []
    for l2 in grid:
        fold_scores = []
        for held_out in folds:
            keep = np.setdiff1d(np.arange(len(y)), held_out)
            clf = LogisticRegression(nclasses, l2)
            clf.fit(x[keep], y[keep], x[held_out], y[held_out])
            fold_scores.append(clf.score(x[held_out], y[held_out]))
        cv_scores.append(round(100 * float(np.mean(fold_scores)), 2))
        logger.info("L2 %g: %d-fold accuracy %.2f", l2, k, cv_scores[-1])
    best = int(np.argmax(cv_scores))
    permutation = np.random.RandomState(SEED).permutation(len(y))
    n_dev = int(0.05 * len(y))
    dev, train = permutation[:n_dev], permutation[n_dev:]
    clf = LogisticRegression(nclasses, grid[best])
    clf.fit(x[train], y[train], x[dev], y[dev])
    predictions = clf.predict(tx)
    return {
        "accuracy": 100 * float(np.mean(predictions == ty)),
        "f1": 100 * f1_score(ty, predictions),
        "cv_accuracy": cv_scores[best],
        "l2": grid[best],
        "cv_by_l2": {f"{g:g}": s for g, s in zip(grid, cv_scores, strict=True)},
        "folds": k,
    }


def f1_score(gold: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of the positive class (label 1), as SentEval reports for MRPC."""
    tp = int(np.sum((predicted == 1) & (gold == 1)))
    fp = int(np.sum((predicted == 1) & (gold == 0)))
    fn = int(np.sum((predicted == 0) & (gold == 1)))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


# --------------------------------------------------------------------------- tasks


def _sizes(splits: dict[str, LabelledPairs]) -> dict[str, int]:
    return {name: len(p.labels) for name, p in splits.items()}


def evaluate_sick_entailment(model: Any, folder: Path, batch_size: int = 128) -> dict[str, Any]:
    files = {"train": "SICK_train.txt", "dev": "SICK_trial.txt", "test": "SICK_test_annotated.txt"}
    splits = {split: read_sick_entailment(folder / name) for split, name in files.items()}
    result = split_classify(encode_pairs(model, splits, features_abs_prod, batch_size), 3, L2_GRID)
    return {
        "score": result["accuracy"], "metric": "accuracy", **result, "pairs": _sizes(splits),
        "files": [str(folder / name) for name in files.values()],
        "protocol": "SentEval SICK-E: [|u-v|, u*v], PyTorch logistic regression, L2 chosen on SICK_trial, "
        "test accuracy",
    }  # fmt: skip


def snli_skip_reason(folder: Path) -> str | None:
    """Why SNLI cannot run here (no training split), or None when it can."""
    missing = [name for name in ("s1.train", "s2.train", "labels.train") if not (folder / name).is_file()]
    if missing:
        return (
            f"SNLI training split missing ({', '.join(str(folder / m) for m in missing)}); SentEval's protocol "
            "trains the classifier on it and no other split is substituted. SentEval's "
            "data/downstream/get_transfer_data.bash builds it from snli_1.0.zip."
        )
    return None


def evaluate_snli(model: Any, folder: Path, batch_size: int = 128) -> dict[str, Any]:
    reason = snli_skip_reason(folder)
    if reason is not None:
        raise DataError(reason)
    splits = {split: read_snli_split(folder, name) for split, name in (("train", "train"), ("dev", "dev"),
                                                                       ("test", "test"))}  # fmt: skip
    result = split_classify(encode_pairs(model, splits, features_snli, batch_size), 3, (NO_REG,))
    return {
        "score": result["accuracy"], "metric": "accuracy", **result, "pairs": _sizes(splits),
        "files": [str(folder / f"{n}.{s}") for s in ("train", "dev", "test") for n in ("s1", "s2", "labels")],
        "protocol": "SentEval SNLI: [u, v, u*v, |u-v|], PyTorch logistic regression without L2 (noreg), "
        "early stopping on dev, test accuracy",
    }  # fmt: skip


def evaluate_mrpc(model: Any, folder: Path, batch_size: int = 128) -> dict[str, Any]:
    files = {"train": "msr_paraphrase_train.txt", "test": "msr_paraphrase_test.txt"}
    splits = {split: read_mrpc(folder / name) for split, name in files.items()}
    result = kfold_classify(encode_pairs(model, splits, features_abs_prod, batch_size), 2, L2_GRID)
    return {
        "score": result["accuracy"], "metric": "accuracy", **result, "pairs": _sizes(splits),
        "files": [str(folder / name) for name in files.values()],
        "protocol": "SentEval MRPC: [|u-v|, u*v], PyTorch logistic regression, L2 by 10-fold CV on train, "
        "test accuracy and F1",
    }  # fmt: skip
