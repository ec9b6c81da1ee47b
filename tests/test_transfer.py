"""SentEval's pair-classification protocol: features, classifier, folds, readers, on hand-worked inputs."""

from __future__ import annotations

import numpy as np
import pytest

from sct.errors import DataError
from sct.evaluation.transfer import (
    LogisticRegression,
    evaluate_mrpc,
    evaluate_sick_entailment,
    evaluate_snli,
    f1_score,
    features_abs_prod,
    features_snli,
    read_mrpc,
    read_sick_entailment,
    read_snli_split,
    snli_skip_reason,
    split_classify,
    stratified_folds,
)
from tests.conftest import SHARED_DATA


def test_features_by_hand():
    u, v = np.array([[1.0, 2.0]]), np.array([[3.0, -1.0]])
    assert features_abs_prod(u, v).tolist() == [[2.0, 3.0, 3.0, -2.0]]
    assert features_snli(u, v).tolist() == [[1.0, 2.0, 3.0, -1.0, 3.0, -2.0, 2.0, 3.0]]


def test_f1_by_hand():
    # tp = 1 (index 0), fp = 1 (index 2), fn = 1 (index 1): F1 = 2 / (2 + 1 + 1)
    assert f1_score(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0])) == pytest.approx(0.5)
    assert f1_score(np.array([1, 0]), np.array([0, 0])) == 0.0


def _blobs(n: int, seed: int, nclasses: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % nclasses
    centres = np.eye(nclasses, 4) * 6
    return (centres[y] + rng.normal(size=(n, 4))).astype(np.float32), y


def test_logistic_regression_separates_blobs():
    x, y = _blobs(300, 0)
    dx, dy = _blobs(90, 1)
    clf = LogisticRegression(3, 1e-5)
    assert clf.fit(x, y, dx, dy) >= 0.98
    assert clf.score(*_blobs(90, 2)) >= 0.97
    assert clf.epochs % 4 == 0 and clf.epochs <= 204  # whole epoch_size blocks, SentEval's cap


def test_split_classifier_picks_the_l2_that_wins_on_dev():
    # weight decay 50 keeps the weights near zero (about chance); 1e-5 separates: dev must choose 1e-5
    data = {"train": _blobs(300, 0), "dev": _blobs(90, 1), "test": _blobs(90, 2)}
    result = split_classify(data, 3, (50.0, 1e-5))
    assert result["l2"] == 1e-5 and result["dev_by_l2"]["50"] < 70 and result["accuracy"] >= 97


def test_stratified_folds_cover_each_index_once_and_keep_the_class_mix():
    labels = np.array([0] * 30 + [1] * 10)
    folds = stratified_folds(labels, 10)
    assert sorted(np.concatenate(folds).tolist()) == list(range(40))
    for fold in folds:
        assert labels[fold].tolist().count(1) == 1 and len(fold) == 4


class _Words:
    """Encodes 'p k' / 'q k' strings: a sentence's vector is a fixed one-hot-ish code for its words."""

    def encode(self, sentences, batch_size, convert_to_numpy, normalize_embeddings):
        assert not normalize_embeddings  # SentEval's batcher returns raw embeddings
        out = []
        for s in sentences:
            kind, k = s.split()
            vec = np.zeros(6)
            vec[int(k) % 3] = 4.0
            vec[3 + (kind == "q")] = 4.0
            out.append(vec)
        return np.array(out)


def _sick_rows(n: int, offset: int) -> str:
    # label 2 (ENTAILMENT) when both sentences share the code, 0 (CONTRADICTION) otherwise
    rows = ["pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment"]
    for i in range(n):
        same = i % 2 == 0
        a, b = f"p {i + offset}", f"q {i + offset if same else i + offset + 1}"
        rows.append(f"{i}\t{a}\t{b}\t3.0\t{'ENTAILMENT' if same else 'CONTRADICTION'}")
    return "\n".join(rows) + "\n"


def test_sick_entailment_end_to_end_on_fixture(tmp_path):
    for name, n, offset in (("SICK_train.txt", 600, 0), ("SICK_trial.txt", 30, 7), ("SICK_test_annotated.txt", 30, 11)):
        (tmp_path / name).write_text(_sick_rows(n, offset))
    result = evaluate_sick_entailment(_Words(), tmp_path)
    assert result["score"] == pytest.approx(100.0) and result["pairs"] == {"train": 600, "dev": 30, "test": 30}
    assert result["metric"] == "accuracy" and set(result["dev_by_l2"]) == {"1e-05", "0.0001", "0.001", "0.01"}


def test_mrpc_end_to_end_on_fixture(tmp_path):
    for name, n in (("msr_paraphrase_train.txt", 400), ("msr_paraphrase_test.txt", 40)):
        rows = ["\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String"]
        rows += [f"{i % 2}\t{i}\t{i}\tp {i}\tq {i if i % 2 else i + 1}" for i in range(n)]
        (tmp_path / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = evaluate_mrpc(_Words(), tmp_path)
    assert result["accuracy"] == pytest.approx(100.0) and result["f1"] == pytest.approx(100.0)
    assert result["folds"] == 10 and result["pairs"] == {"train": 400, "test": 40}


def test_snli_without_training_split_is_skipped_not_substituted(tmp_path):
    for split in ("dev", "test"):
        for name in ("s1", "s2", "labels"):
            (tmp_path / f"{name}.{split}").write_text("x\n")
    reason = snli_skip_reason(tmp_path)
    assert reason is not None and str(tmp_path / "s1.train") in reason
    with pytest.raises(DataError, match="SNLI training split missing"):
        evaluate_snli(_Words(), tmp_path)


def test_snli_runs_when_the_training_split_exists(tmp_path):
    labels = ["entailment", "contradiction"]
    for split, n in (("train", 600), ("dev", 30), ("test", 30)):
        (tmp_path / f"s1.{split}").write_text("".join(f"p {i}\n" for i in range(n)))
        (tmp_path / f"s2.{split}").write_text("".join(f"q {i if i % 2 == 0 else i + 1}\n" for i in range(n)))
        (tmp_path / f"labels.{split}").write_text("".join(f"{labels[i % 2]}\n" for i in range(n)))
    result = evaluate_snli(_Words(), tmp_path)
    assert result["accuracy"] == pytest.approx(100.0) and result["l2"] == 1e-9


def test_readers_name_file_and_line(tmp_path):
    sick = tmp_path / "SICK_train.txt"
    sick.write_text("header\n1\ta\tb\t3.0\tMAYBE\n")
    with pytest.raises(DataError, match=r"SICK_train.txt:2: expected an entailment label"):
        read_sick_entailment(sick)
    mrpc = tmp_path / "mrpc.txt"
    mrpc.write_text("h\n1\t1\t2\tonly four\n")
    with pytest.raises(DataError, match=r"mrpc.txt:2: expected 5 tab-separated columns"):
        read_mrpc(mrpc)
    for name, text in (("s1.dev", "a\nb\n"), ("s2.dev", "c\nd\n"), ("labels.dev", "neutral\nyes\n")):
        (tmp_path / name).write_text(text)
    with pytest.raises(DataError, match=r"labels.dev:2: expected one of"):
        read_snli_split(tmp_path, "dev")
    (tmp_path / "s2.dev").write_text("c\n")
    with pytest.raises(DataError, match="differ in length"):
        read_snli_split(tmp_path, "dev")


@pytest.mark.skipif(not (SHARED_DATA / "senteval" / "SICK").is_dir(), reason="shared data not present")
def test_real_files_parse():
    senteval = SHARED_DATA / "senteval"
    sizes = [len(read_sick_entailment(senteval / "SICK" / f).labels)
             for f in ("SICK_train.txt", "SICK_trial.txt", "SICK_test_annotated.txt")]  # fmt: skip
    assert sizes == [4500, 500, 4927]
    assert len(read_mrpc(senteval / "MRPC" / "msr_paraphrase_train.txt").labels) == 4076
    assert len(read_mrpc(senteval / "MRPC" / "msr_paraphrase_test.txt").labels) == 1725
    assert len(read_snli_split(senteval / "SNLI", "dev").labels) == 9842
    assert len(read_snli_split(senteval / "SNLI", "test").labels) == 9824
