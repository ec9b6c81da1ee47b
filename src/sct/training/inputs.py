"""What a run reads: the training pairs (de-duplicated, shuffled, cut) and the STS-B dev evaluator."""

from __future__ import annotations

import logging
from typing import Any

from sct.config import TrainConfig
from sct.data import ScoredPairs, prepare_pairs, read_pairs, read_sentences
from sct.errors import DataError

logger = logging.getLogger(__name__)


def read_training_file(config: TrainConfig) -> list[tuple[str, str]]:
    """Every pair of the training file (both views equal for ``--views identical``), before selection."""
    if config.views == "identical":
        return [(s, s) for s in read_sentences(config.train_file)]
    return read_pairs(config.train_file)


def load_training_pairs(config: TrainConfig, pairs: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """The pairs the run trains on: de-duplicated, shuffled by the seed, cut to ``--max-samples``."""
    if pairs is None:
        pairs = read_training_file(config)
    prepared = prepare_pairs(pairs, seed=config.seed, max_samples=config.max_samples, dedupe=config.dedupe)
    if len(prepared) < config.batch_size:
        raise DataError(
            f"{config.train_file}: {len(prepared)} training pairs after de-duplication, fewer than one batch "
            f"({config.batch_size}); lower --batch-size or add data"
        )
    logger.info("training pairs: %d read, %d used", len(pairs), len(prepared))
    return prepared


def dev_evaluator(dev: ScoredPairs, batch_size: int):
    """sentence-transformers' STS evaluator on the dev pairs (gold 0-5 scaled to 0-1), cosine as the metric."""
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    return EmbeddingSimilarityEvaluator(
        dev.sentences1,
        dev.sentences2,
        [s / 5.0 for s in dev.scores],
        batch_size=batch_size,
        main_similarity="cosine",
        name="sts-dev",
        write_csv=False,
    )


def training_dataset(pairs: list[tuple[str, str]], distilling: bool) -> Any:
    """The two views as dataset columns; distillation adds the pair index the loss looks the teacher up with."""
    from datasets import Dataset

    columns: dict[str, list] = {"view_1": [a for a, _ in pairs], "view_2": [b for _, b in pairs]}
    if distilling:
        columns["label"] = list(range(len(pairs)))
    return Dataset.from_dict(columns)
