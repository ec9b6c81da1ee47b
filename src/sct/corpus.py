"""`sct corpus`: training sentences from the unlabelled corpus or any sentence file, leakage-guarded."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sct.data import DataRoot, iter_lines, read_corpus, read_sentence_file
from sct.leakage import LeakageGuard, sentence_key

logger = logging.getLogger(__name__)

CORPUS_HEADER = ["source", "domain", "sentence"]


@dataclass
class CorpusStats:
    read: int = 0
    domain_filtered: int = 0
    length_filtered: int = 0
    duplicates: int = 0
    leakage_dropped: int = 0
    leakage_by_set: dict[str, int] = field(default_factory=dict)
    written: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_corpus_tsv(path: Path) -> bool:
    for _, line in iter_lines(path):
        return line.split("\t") == CORPUS_HEADER
    return False


def _sentences(path: Path, domains: set[str] | None, stats: CorpusStats) -> Iterator[str]:
    if _is_corpus_tsv(path):
        total = 0
        for _, domain, sentence in read_corpus(path):
            total += 1
            if domains is None or domain in domains:
                yield sentence
            else:
                stats.domain_filtered += 1
        stats.read = total
    else:  # one sentence per line
        sentences, _ = read_sentence_file(path)
        stats.read = len(sentences)
        yield from sentences


def select_sentences(
    path: Path,
    *,
    domains: set[str] | None,
    min_words: int,
    max_words: int,
    max_samples: int | None,
    seed: int,
    guard_root: DataRoot | None,
) -> tuple[list[str], CorpusStats]:
    """Filter by domain and length, de-duplicate by normalised key, drop evaluation sentences, shuffle, cut."""
    stats = CorpusStats()
    guard = LeakageGuard.from_root(guard_root) if guard_root is not None else None
    seen: set[str] = set()
    kept: list[str] = []
    for sentence in _sentences(path, domains, stats):
        if not min_words <= len(sentence.split()) <= max_words:
            stats.length_filtered += 1
            continue
        key = sentence_key(sentence)
        if not key or key in seen:
            stats.duplicates += 1
            continue
        seen.add(key)
        kept.append(sentence)
    if guard is not None:
        kept = list(guard.filter(kept))
        stats.leakage_dropped = guard.dropped_total
        stats.leakage_by_set = {k: v for k, v in guard.dropped.items() if v}
        logger.info(guard.report())
    random.Random(seed).shuffle(kept)
    if max_samples is not None:
        kept = kept[:max_samples]
    stats.written = len(kept)
    return kept, stats


def timing_sentences(n: int) -> list[str]:
    """Corpus sentences for a speed benchmark when the data root is here, else generated ones (a timing only
    needs text of a realistic length)."""
    from sct.data import find_data_root
    from sct.errors import SCTError

    try:
        picked, _ = select_sentences(find_data_root().corpus, domains={"caption", "nli"}, min_words=5,
                                     max_words=40, max_samples=n, seed=3, guard_root=None)  # fmt: skip
        return picked
    except (SCTError, OSError):  # no data here: synthetic text of the same shape
        words = "a man woman dog runs plays on the grass near water with two red ball".split()
        return [" ".join(words[(i * 7 + j) % len(words)] for j in range(8 + i % 12)) for i in range(n)]
