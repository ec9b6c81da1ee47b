"""USEB re-ranking (AskUbuntu, SciDocs): hand-worked MAP on fixture files, tie rules, bad lines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sct.errors import DataError
from sct.evaluation.rerank import (
    evaluate_askubuntu,
    evaluate_scidocs,
    precision_ap,
    read_askubuntu_queries,
    trec_average_precision,
)


class _Fixed:
    # cosines to "a": b 0.8, c 0.0, d 0.6
    vectors = {"a": [1.0, 0.0], "b": [0.8, 0.6], "c": [0.0, 1.0], "d": [0.6, 0.8]}

    def encode(self, sentences, batch_size, convert_to_numpy, normalize_embeddings):
        return np.array([self.vectors[s.strip()] for s in sentences])


def test_precision_ap_by_hand():
    assert precision_ap({"x", "z"}, ["x", "y", "z"]) == pytest.approx((1 + 2 / 3) / 2)


def test_trec_average_precision_by_hand():
    # ranking d2 (0.9), d3 (0.5), d1 (0.2); relevant d1, d3 and d4 (not ranked): (1/2 + 2/3) / 3
    qrel = {"d1": 1, "d2": 0, "d3": 1, "d4": 1}
    assert trec_average_precision(qrel, {"d1": 0.2, "d2": 0.9, "d3": 0.5}) == pytest.approx((1 / 2 + 2 / 3) / 3)
    # a tie is broken by doc id, descending (trec_eval): y before x
    assert trec_average_precision({"x": 1, "y": 0}, {"x": 0.5, "y": 0.5}) == pytest.approx(0.5)
    assert trec_average_precision({"x": 0}, {"x": 0.5}) == 0.0


def _askubuntu(folder):
    folder.mkdir(parents=True)
    (folder / "text_tokenized.txt").write_text("q1\ta\tbody\nc1\tb\tx\nc2\tc\tx\nc3\td\tx\nc5\tb\tx\n")
    (folder / "test.txt").write_text(
        "q1\tc2 c3\tc1 c2 c3\t3 2 1\n"  # model order c1 (.8), c3 (.6), c2 (0): gold at 2 and 3
        "q1\t\tc1 c2\t1 2\n"  # no gold: skipped
        "q1\tc1\tc1 c5\t1 5\n"  # c1 and c5 tie (same title): BM25 order kept, c5 first -> AP 1/2
    )


def test_askubuntu_on_fixture(tmp_path):
    _askubuntu(tmp_path / "askubuntu")
    result = evaluate_askubuntu(_Fixed(), tmp_path / "askubuntu")
    assert result["queries"] == 2
    assert result["score"] == pytest.approx(100 * ((1 / 2 + 2 / 3) / 2 + 1 / 2) / 2)
    assert result["mrr"] == pytest.approx(100 * (1 / 2 + 1 / 2) / 2)


def test_askubuntu_bad_lines(tmp_path):
    bad = tmp_path / "test.txt"
    bad.write_text("q1\tc1\tc1 c2\t1\n")
    with pytest.raises(DataError, match=r"test.txt:1: 2 candidate ids but 1 BM25 scores"):
        read_askubuntu_queries(bad)
    bad.write_text("q1\tc1\tc1\n")
    with pytest.raises(DataError, match=r"test.txt:1: expected 4 tab-separated fields"):
        read_askubuntu_queries(bad)
    _askubuntu(tmp_path / "au")
    (tmp_path / "au" / "test.txt").write_text("q1\tc9\tc1 c9\t1 2\n")
    with pytest.raises(DataError, match=r"test.txt:1: question id c9 is not in"):
        evaluate_askubuntu(_Fixed(), tmp_path / "au")


def test_scidocs_on_fixture(tmp_path):
    corpus = {"q": {"title": "a"}, "d1": {"title": "b"}, "d2": {"title": "c"}, "d3": {"title": "d"},
              "dx": {"title": None}, "qn": {"title": ""}}  # fmt: skip
    test = {
        "cite": {"q": {"d1": 1, "d2": 0, "d3": 0}, "qn": {"d1": 1}},  # d1 first -> 1; qn has no title: skipped
        "cocite": {"q": {"d1": 0, "d2": 1, "d3": 0}},  # d2 last of three -> 1/3
        "coread": {"q": {"d1": 0, "d2": 0, "d3": 1}},  # d3 second -> 1/2
        "coview": {"q": {"d3": 1, "dx": 1}},  # dx has no title: unranked but relevant -> 1/2
    }
    (tmp_path / "data.json").write_text(json.dumps({"corpus": corpus, "test": test, "valid": test}))
    result = evaluate_scidocs(_Fixed(), tmp_path)
    maps = {name: s["map"] for name, s in result["sets"].items()}
    assert maps == pytest.approx({"cite": 100.0, "cocite": 100 / 3, "coread": 50.0, "coview": 50.0})
    assert result["sets"]["cite"]["queries"] == 1
    assert result["score"] == pytest.approx((100 + 100 / 3 + 50 + 50) / 4)


def test_scidocs_bad_file(tmp_path):
    with pytest.raises(DataError, match="SciDocs file missing"):
        evaluate_scidocs(_Fixed(), tmp_path)
    (tmp_path / "data.json").write_text('{"corpus": {}, \n "test": ')
    with pytest.raises(DataError, match=r"data.json:2: not valid UTF-8 JSON"):
        evaluate_scidocs(_Fixed(), tmp_path)
    (tmp_path / "data.json").write_text('{"corpus": {}}')
    with pytest.raises(DataError, match="no 'test' qrels"):
        evaluate_scidocs(_Fixed(), tmp_path)
    (tmp_path / "data.json").write_text('{"corpus": {"q": 3}, "test": {"cite": {"q": {"d": "1"}}}}')
    with pytest.raises(DataError, match=r"test/cite: expected \{query id"):
        evaluate_scidocs(_Fixed(), tmp_path)
