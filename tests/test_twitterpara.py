"""USEB's TwitterPara protocol: label parsing, average precision by hand, and the CLI on fixture files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sct.cli import main
from sct.errors import DataError
from sct.evaluation.twitterpara import average_precision, evaluate_twitterpara, read_pit, read_twitter_url
from tests.conftest import SHARED_DATA


def test_average_precision_by_hand():
    # ranked 1, 0, 1: precision 1 at recall 0.5, then 2/3 at recall 1 -> 0.5 * 1 + 0.5 * 2/3
    assert average_precision(np.array([1, 0, 1]), np.array([0.9, 0.8, 0.7])) == pytest.approx(0.5 + 1 / 3)
    # a tie is one threshold: {0, 1} at 0.5 gives precision 1/2 at recall 1/2, then 2/3 at recall 1
    assert average_precision(np.array([0, 1, 1]), np.array([0.5, 0.5, 0.1])) == pytest.approx(0.25 + 1 / 3)


def test_average_precision_matches_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200), 1)  # many ties
    assert average_precision(labels, scores) == pytest.approx(metrics.average_precision_score(labels, scores))


class _Fixed:
    vectors = {"a": [1.0, 0.0], "b": [0.8, 0.6], "c": [0.0, 1.0], "d": [0.6, 0.8]}

    def encode(self, sentences, batch_size, convert_to_numpy, normalize_embeddings):
        return np.array([self.vectors[s.strip()] for s in sentences])


def _fixture(folder):
    folder.mkdir(parents=True)
    # cosines: a-b 0.8, a-c 0, a-d 0.6; labels by annotator votes: 5 (para), 1 (not), 3 (dropped)
    (folder / "Twitter_URL_Corpus_test.txt").write_text("a \tb \t(5,6)\turl\na\tc\t(1,6)\turl\na\td\t(3,6)\turl\n")
    # expert labels: a-c 4 (para), a-b 2 (not), a-d 0 (not)
    (folder / "test.data").write_text("1\tt\ta\tc\t4\tx\ty\n1\tt\ta\tb\t2\tx\ty\n1\tt\ta\td\t0\tx\ty\n")
    (folder / "test.label").write_text("true\t0.8\nfalse\t0.4\nfalse\t0.0\n")


def test_protocol_on_fixture_files(tmp_path):
    _fixture(tmp_path / "tp")
    result = evaluate_twitterpara(_Fixed(), tmp_path / "tp")
    url, pit = result["sets"]["twitterurl"], result["sets"]["pit"]
    assert url["pairs"] == 3 and url["pairs_scored_for_ap"] == 2 and url["ap"] == pytest.approx(100.0)
    # PIT: ranked a-b (0.8, not), a-d (0.6, not), a-c (0, para) -> precision 1/3 at recall 1
    assert pit["ap"] == pytest.approx(100 / 3)
    assert result["score"] == pytest.approx((100 + 100 / 3) / 2)


def test_malformed_lines_name_file_and_line(tmp_path):
    bad = tmp_path / "Twitter_URL_Corpus_test.txt"
    bad.write_text("a\tb\t(5,6)\nc\td\tfive\n")
    with pytest.raises(DataError, match=r"Twitter_URL_Corpus_test.txt:2: expected a label like \(4,6\)"):
        read_twitter_url(bad)
    pit = tmp_path / "test.data"
    pit.write_text("1\tt\ta\n")
    with pytest.raises(DataError, match=r"test.data:1: expected at least 5"):
        read_pit(pit)
    with pytest.raises(DataError, match="TwitterPara file missing"):
        read_pit(tmp_path / "nope.data")


def test_cli_reads_the_data_root(tiny_bert, tmp_path, capsys):
    _fixture(tmp_path / "data" / "useb" / "twitterpara")
    out = tmp_path / "r.json"
    args = [
        "evaluate",
        tiny_bert,
        "--tasks",
        "twitterpara",
        "--data-dir",
        str(tmp_path / "data"),
        "--output-json",
        str(out),
    ]
    assert main(args) == 0
    assert "| TwitterPara | paraphrase |" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert set(result["downstream"]["twitterpara"]["sets"]) == {"twitterurl", "pit"}


@pytest.mark.skipif(not (SHARED_DATA / "useb" / "twitterpara").is_dir(), reason="shared data not present")
def test_real_files_parse():
    url = read_twitter_url(SHARED_DATA / "useb" / "twitterpara" / "Twitter_URL_Corpus_test.txt")
    pit = read_pit(SHARED_DATA / "useb" / "twitterpara" / "test.data")
    assert len(url.labels) > 9000 and set(url.labels) <= set(range(7))
    assert len(pit.labels) == 972 and set(pit.labels) <= set(range(6))
