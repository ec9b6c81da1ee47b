"""The dev evaluator encodes each distinct sentence once and scores exactly as sentence-transformers' evaluator."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import spearmanr

SENTENCES1 = ["a dog runs", "a cat sleeps", "a dog runs", "two men talk", "rain falls"]
SENTENCES2 = ["a cat sleeps", "the sun is up", "a dog is running", "a dog runs", "snow falls"]
GOLD = [0.2, 0.0, 0.9, 0.1, 0.5]


class CountingModel:
    """Stands in for a SentenceTransformer: a fixed random vector per sentence, and a count of what it encoded."""

    similarity_fn_name = "cosine"

    def __init__(self) -> None:
        self.model_card_data = SimpleNamespace(set_evaluation_metrics=lambda *args: None)
        self.encoded: list[str] = []
        self.rows = {s: np.random.default_rng(len(s) * 7 + ord(s[-1])).normal(size=8) for s in SENTENCES1 + SENTENCES2}

    def encode(self, sentences, **kwargs):
        self.encoded += list(sentences)
        return np.stack([self.rows[s] for s in sentences]).astype(np.float32)


def test_each_distinct_sentence_is_encoded_once_and_the_score_is_the_plain_evaluators():
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    from sct.training.dev_evaluator import OnceEncodedSimilarityEvaluator

    kwargs = {"main_similarity": "cosine", "name": "dev", "write_csv": False}
    model = CountingModel()
    ours = OnceEncodedSimilarityEvaluator(SENTENCES1, SENTENCES2, GOLD, **kwargs)(model)
    assert sorted(model.encoded) == sorted(set(SENTENCES1 + SENTENCES2))  # 7 distinct of 10
    plain_model = CountingModel()
    plain = EmbeddingSimilarityEvaluator(SENTENCES1, SENTENCES2, GOLD, **kwargs)(plain_model)
    assert len(plain_model.encoded) == 10
    assert ours["dev_spearman_cosine"] == pytest.approx(plain["dev_spearman_cosine"])
    # and by hand: Spearman of the gold scores against the pairs' cosines
    a = np.stack([model.rows[s] for s in SENTENCES1])
    b = np.stack([model.rows[s] for s in SENTENCES2])
    cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert ours["dev_spearman_cosine"] == pytest.approx(spearmanr(GOLD, cosine).statistic)
