"""STS-B dev as sentence-transformers scores it, each distinct sentence encoded once per evaluation.

sentence-transformers' ``EmbeddingSimilarityEvaluator`` encodes the two columns one after the other, so a sentence
that stands in both (or twice in one) is encoded again, and each column is length-sorted on its own. Here every
evaluation encodes the distinct sentences in one pass and the columns look their rows up; the score is the
evaluator's own (its similarity, correlation and logging code run unchanged). ``benchmarks/step_options.py``
measures both on the real dev set (docs/cpu-budget.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator


class OnceEncodedSimilarityEvaluator(EmbeddingSimilarityEvaluator):
    """``EmbeddingSimilarityEvaluator`` whose two columns share one encode of their distinct sentences."""

    _rows: dict[str, np.ndarray] | None = None

    def __call__(self, model: Any, output_path: str | None = None, epoch: int = -1, steps: int = -1) -> dict:
        unique = list(dict.fromkeys([*self.sentences1, *self.sentences2]))
        self._rows = dict(zip(unique, super().embed_inputs(model, unique), strict=True))
        try:
            return super().__call__(model, output_path, epoch, steps)
        finally:
            self._rows = None

    def embed_inputs(self, model: Any, sentences: str | list[str] | np.ndarray, **kwargs: Any) -> np.ndarray:
        if self._rows is None or kwargs or isinstance(sentences, str):
            return super().embed_inputs(model, sentences, **kwargs)
        return np.stack([self._rows[s] for s in sentences])
