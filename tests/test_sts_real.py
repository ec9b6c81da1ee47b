"""The harness against an independent implementation, on the real SentEval data and packaged model."""

from __future__ import annotations

import pytest

from sct.evaluation.independent import MeanPooledEncoder, score_task

from .conftest import SHARED_DATA

pytestmark = pytest.mark.skipif(not (SHARED_DATA / "senteval").is_dir(), reason="needs ../shared/data")


def test_two_layer_cut_agrees_with_independent_implementation(packaged_model_path):
    from sct.evaluation.sts import evaluate_sts
    from sct.models import load_student

    tasks = ["STS12", "STS-B"]
    model, _ = load_student("sentence-transformers/all-MiniLM-L6-v2", layers=2)
    ours = evaluate_sts(model, SHARED_DATA / "senteval", tasks, show_progress_bar=False)
    independent = MeanPooledEncoder(packaged_model_path, layers=2)
    for task in tasks:
        assert ours["tasks"][task]["spearman"] == pytest.approx(
            score_task(independent, SHARED_DATA / "senteval", task), abs=0.05
        )
