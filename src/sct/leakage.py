"""Leakage guard: no training sentence may also be an evaluation sentence.

Sentences are compared by a normalised key (lower-case alphanumerics only), so case, spacing,
punctuation and SentEval's tokenisation do not hide a match.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from sct.data import DataRoot, iter_lines

logger = logging.getLogger(__name__)


def sentence_key(text: str) -> str:
    """Lower-case alphanumerics: 'A man, playing.' and 'a man playing' share a key."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _columns(path: Path, columns: tuple[int, ...], skip_header: bool = False) -> Iterator[str]:
    for lineno, line in iter_lines(path):
        if skip_header and lineno == 1:
            continue
        fields = line.split("\t")
        for column in columns:
            if column < len(fields):
                yield fields[column]


def _evaluation_files(root: DataRoot) -> Iterator[tuple[str, Path, tuple[int, ...], bool]]:
    """(set name, file, text columns, has header) for every evaluation file present under the root."""
    sts = root.senteval / "STS"
    for year in ("STS12", "STS13", "STS14", "STS15", "STS16"):
        for path in sorted((sts / f"{year}-en-test").glob("STS.input.*.txt")):
            yield year, path, (0, 1), False
    for split in ("train", "dev", "test"):
        path = sts / "STSBenchmark" / f"sts-{split}.csv"
        if path.is_file():
            yield "STS-B", path, (5, 6), False
    for name in ("SICK_train.txt", "SICK_trial.txt", "SICK_test_annotated.txt"):
        path = root.senteval / "SICK" / name
        if path.is_file():
            yield "SICK", path, (1, 2), True
    for split in ("dev", "test"):
        for side in ("s1", "s2"):
            path = root.senteval / "SNLI" / f"{side}.{split}"
            if path.is_file():
                yield "SNLI", path, (0,), False
    twitter = root.root / "useb" / "twitterpara"
    if (twitter / "test.data").is_file():
        yield "TwitterPara", twitter / "test.data", (2, 3), False
    if (twitter / "Twitter_URL_Corpus_test.txt").is_file():
        yield "TwitterPara", twitter / "Twitter_URL_Corpus_test.txt", (0, 1), False


def evaluation_keys(root: DataRoot) -> dict[str, set[str]]:
    """Normalised keys of every evaluation sentence found under the data root, per evaluation set."""
    keys: dict[str, set[str]] = {}
    for name, path, columns, header in _evaluation_files(root):
        bucket = keys.setdefault(name, set())
        bucket.update(k for k in map(sentence_key, _columns(path, columns, header)) if k)
    logger.info("leakage guard: %s", ", ".join(f"{n} {len(k):,}" for n, k in keys.items()))
    return keys


class LeakageGuard:
    """Drops sentences found in an evaluation set and counts what it dropped, per set."""

    def __init__(self, keys: dict[str, set[str]]) -> None:
        self.keys = keys
        self.dropped: dict[str, int] = dict.fromkeys(keys, 0)
        self.dropped_total = 0

    @classmethod
    def from_root(cls, root: DataRoot) -> LeakageGuard:
        return cls(evaluation_keys(root))

    def sets_containing(self, text: str) -> list[str]:
        key = sentence_key(text)
        return [name for name, keys in self.keys.items() if key in keys]

    def filter(self, sentences: Iterable[str]) -> Iterator[str]:
        for sentence in sentences:
            hits = self.sets_containing(sentence)
            if hits:
                self.dropped_total += 1
                for name in hits:
                    self.dropped[name] += 1
            else:
                yield sentence

    def report(self) -> str:
        """'dropped N sentences found in evaluation sets (STS12 3, SICK 1, ...)'."""
        per_set = ", ".join(f"{name} {count}" for name, count in self.dropped.items() if count)
        return f"leakage guard dropped {self.dropped_total} sentence(s) found in evaluation sets" + (
            f" ({per_set})" if per_set else ""
        )
