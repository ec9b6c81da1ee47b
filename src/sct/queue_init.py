"""Queues that are useful from the first step: held-out sentences, embedded before training starts.

The paper starts SCT's queues D1, D2 from random vectors. At the budgets a CPU allows, SCT then spends
its first k/B steps scoring every reference against noise (STS-B dev falls before it rises).
``--queue-init encoder`` fills D1 and D2 with the initial student's embeddings of 2k sentences held out
from training; ``--teacher-queue-init teacher`` fills the distillation's teacher queues with the
teacher's embeddings of held-out sentences (as ConGen initialises its queue), through the teacher cache.

Held-out sentences come from the unlabelled corpus (its ``caption`` and ``nli`` domains, the paper's
domain) or from ``--queue-init-file``; every sentence of the training file and of every evaluation
set (the leakage guard) is removed by its normalised key first, so a queue never holds a sentence
the run trains or is scored on.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from sct.errors import DataError

logger = logging.getLogger(__name__)

QUEUE_INITS = ("random", "encoder")
TEACHER_QUEUE_INITS = ("random", "teacher")
CORPUS_DOMAINS = frozenset({"caption", "nli"})  # the paper-domain default of `sct corpus`
MIN_WORDS, MAX_WORDS = 3, 64  # `sct corpus`'s length filter
SEED_OFFSET = 7919  # the held-out draw uses its own shuffle, not the training selection's


@dataclass
class HeldOut:
    """The sentences that fill the queues, and what was removed to keep them out of training and evaluation."""

    sentences: list[str]
    source: str
    candidates: int  # sentences in the source after domain, length and de-duplication filters
    removed_training: int
    removed_evaluation: int

    def summary(self) -> dict[str, Any]:
        """What a run records (not the sentences themselves: their sha256)."""
        from sct.teacher import texts_sha256

        info = asdict(self)
        info.pop("sentences")
        return {**info, "used": len(self.sentences), "sentences_sha256": texts_sha256(self.sentences)}


def held_out_sentences(
    count: int,
    training_texts: set[str],
    seed: int,
    source: str | Path | None = None,
    data_dir: str | Path | None = None,
) -> HeldOut:
    """``count`` sentences that are neither training texts nor evaluation sentences, in a seeded order.

    Raises a DataError naming the counts when the source cannot supply ``count`` of them.
    """
    from sct.corpus import select_sentences
    from sct.data import find_data_root
    from sct.leakage import sentence_key

    root = find_data_root(data_dir)
    path = Path(source) if source is not None else root.corpus
    if not path.is_file():
        raise DataError(f"held-out sentences for the queues: {path} is not a file (pass --queue-init-file FILE)")
    domains = set(CORPUS_DOMAINS) if source is None else None
    candidates, stats = select_sentences(
        path,
        domains=domains,
        min_words=MIN_WORDS,
        max_words=MAX_WORDS,
        max_samples=None,
        seed=seed + SEED_OFFSET,
        guard_root=root,
    )
    training_keys = {sentence_key(t) for t in training_texts}
    kept = [s for s in candidates if sentence_key(s) not in training_keys]
    removed_training = len(candidates) - len(kept)
    if len(kept) < count:
        raise DataError(
            f"{path}: {len(kept)} held-out sentences for the queues, {count} needed (after removing "
            f"{removed_training} training and {stats.leakage_dropped} evaluation sentences"
            + (f", domains {','.join(sorted(domains))} only" if domains else "")
            + "); lower --queue-size or pass a larger --queue-init-file"
        )
    logger.info(
        "queue init: %d held-out sentences from %s (%d candidates)",
        count,
        path,
        len(candidates) + stats.leakage_dropped,
    )
    return HeldOut(kept[:count], str(path), len(candidates) + stats.leakage_dropped, removed_training,
                   stats.leakage_dropped)  # fmt: skip


def encoder_rows(model: Any, sentences: list[str], batch_size: int) -> Tensor:
    """The model's L2-normalised embeddings of ``sentences`` (eval mode: no dropout), float32 on the CPU."""
    was_training = model.training
    embeddings = model.encode(
        sentences,
        batch_size=batch_size,
        convert_to_tensor=True,
        normalize_embeddings=True,
        show_progress_bar=len(sentences) >= 10000,
    )
    model.train(was_training)
    return embeddings.float().cpu()


def teacher_rows(sentences: list[str], teacher_settings: dict[str, Any]) -> tuple[Tensor, dict[str, Any]]:
    """The teacher's embeddings of ``sentences`` from the teacher cache (computed into it on a miss), and the
    cache entry (with the CPU time its build cost when another process built it)."""
    import numpy as np

    from sct.teacher import teacher_embeddings

    cached = teacher_embeddings([(s, s) for s in sentences], **teacher_settings)
    rows, _ = cached.lookup(np.arange(len(sentences)))
    cache = {
        "directory": str(cached.directory),
        "manifest": cached.manifest,
        "charged_cpu_seconds": cached.charged_cpu_seconds,
    }
    return torch.from_numpy(rows), cache
