"""`sct encode` and `sct search`: rows match lines, hits match cosine similarities worked out by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sct.cli import main
from sct.encode import _top_k_exact, search
from sct.errors import ConfigError, DataError


class _FixedModel:
    """Returns a fixed vector per sentence, as SentenceTransformer.encode would."""

    vectors = {"a": [1.0, 0.0], "b": [0.0, 2.0], "c": [0.6, 0.8], "q": [3.0, 0.0], "r": [0.0, -1.0]}

    def encode(self, sentences, batch_size, convert_to_numpy, normalize_embeddings, show_progress_bar):
        out = np.array([self.vectors[s] for s in sentences], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True) if normalize_embeddings else out


def test_search_ranks_by_cosine_worked_out_by_hand():
    hits = search(_FixedModel(), ["a", "b", "c"], ["q", "r"], top_k=2)
    # q = 3 e1: cos(a) = 1, cos(c) = 0.6, cos(b) = 0; r = -e2: cos(a) = 0, cos(b) = -1, cos(c) = -0.8
    assert [(h.sentence, round(h.score, 6)) for h in hits[0]] == [("a", 1.0), ("c", 0.6)]
    assert [(h.sentence, h.index, round(h.score, 6)) for h in hits[1]] == [("a", 0, 0.0), ("c", 2, -0.8)]


def test_top_k_larger_than_corpus_is_clipped_and_precomputed_embeddings_are_used():
    given = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)  # deliberately not the model's vectors
    hits = search(_FixedModel(), ["a", "b"], ["q"], top_k=10, corpus_embeddings=given)
    assert [h.sentence for h in hits[0]] == ["b", "a"]
    with pytest.raises(DataError, match="3 corpus embeddings for 2 corpus sentences"):
        search(_FixedModel(), ["a", "b"], ["q"], corpus_embeddings=np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(ConfigError, match="top-k"):
        search(_FixedModel(), ["a"], ["q"], top_k=0)


def test_chunked_exact_top_k_equals_a_full_sort():
    rng = np.random.default_rng(0)
    corpus = rng.standard_normal((50, 8)).astype(np.float32)
    queries = rng.standard_normal((3, 8)).astype(np.float32)
    scores, index = _top_k_exact(queries, corpus, 7, chunk=6)
    full = queries @ corpus.T
    assert np.array_equal(index, np.argsort(-full, axis=1, kind="stable")[:, :7])
    assert np.allclose(scores, np.take_along_axis(full, index, 1))


def test_encode_cli_rows_follow_non_blank_lines(tiny_bert, tmp_path, capsys):
    from sentence_transformers import SentenceTransformer

    source = tmp_path / "in.txt"
    source.write_text("a dog runs .\n\n  a cat   sits .\n")
    out = tmp_path / "emb.npy"
    assert main(["encode", tiny_bert, "-i", str(source), "-o", str(out), "--normalize"]) == 0
    array = np.load(out)
    assert array.shape == (2, 32) and array.dtype == np.float32
    assert np.allclose(np.linalg.norm(array, axis=1), 1.0, atol=1e-5)
    model = SentenceTransformer(tiny_bert)
    expected = model.encode(["a dog runs .", "a cat sits ."], normalize_embeddings=True)
    assert np.allclose(array, expected, atol=1e-5)
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["sentences"] == 2
    assert not list(tmp_path.glob("*.tmp"))


def test_encode_cli_refuses_bad_output_and_empty_input(tiny_bert, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("a dog .\n")
    assert main(["encode", tiny_bert, "-i", str(source), "-o", str(tmp_path / "emb.txt")]) == 2
    assert "expected a .npy file name" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert main(["encode", tiny_bert, "-i", str(empty), "-o", str(tmp_path / "e.npy")]) == 2
    assert "empty.txt: no sentences found" in capsys.readouterr().err
    assert not (tmp_path / "e.npy").exists()


def test_search_cli_with_and_without_precomputed_embeddings(tiny_bert, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a dog runs in the park .\na cat sits on the table .\ntwo people play guitar .\n")
    assert (
        main(["search", tiny_bert, "--corpus", str(corpus), "-q", "a dog runs in the park .", "-k", "2", "--json"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result[0]["hits"][0]["sentence"] == "a dog runs in the park ."
    assert result[0]["hits"][0]["score"] == pytest.approx(1.0, abs=1e-5)

    emb = tmp_path / "corpus.npy"
    assert main(["encode", tiny_bert, "-i", str(corpus), "-o", str(emb)]) == 0
    capsys.readouterr()
    args = [
        "search",
        tiny_bert,
        "--corpus",
        str(corpus),
        "--corpus-embeddings",
        str(emb),
        "-q",
        "two people play guitar .",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "1. 1.0000  [2] two people play guitar ." in printed

    (tmp_path / "bad.npy").write_text("not an array")
    bad = ["search", tiny_bert, "--corpus", str(corpus), "--corpus-embeddings", str(tmp_path / "bad.npy"), "-q", "x"]
    assert main(bad) == 2
    assert "not a readable .npy array" in capsys.readouterr().err


def test_faiss_path_matches_exact_when_installed():
    pytest.importorskip("faiss")
    from sct.encode import _top_k_faiss

    rng = np.random.default_rng(1)
    corpus = rng.standard_normal((40, 8)).astype(np.float32)
    queries = rng.standard_normal((2, 8)).astype(np.float32)
    scores, index = _top_k_faiss(queries, corpus, 5)
    exact_scores, _ = _top_k_exact(queries, corpus, 5)
    assert np.allclose(scores, exact_scores, atol=1e-5)


def test_hnsw_search_reports_its_recall_and_reuses_a_saved_index(tmp_path):
    pytest.importorskip("faiss")
    from sct.encode import search

    rng = np.random.default_rng(0)
    corpus_embeddings = rng.normal(size=(500, 16)).astype(np.float32)
    corpus = [f"sentence {i}" for i in range(500)]

    class Fixed:  # queries are corpus rows 0-19, slightly moved: the exact top hit is the row itself
        def encode(self, sentences, **kwargs):
            rows = np.array([int(s.split()[1]) for s in sentences])
            return corpus_embeddings[rows] + 0.01 * rng.normal(size=(len(rows), 16)).astype(np.float32)

    queries = [f"query {i}" for i in range(20)]
    report: dict = {}
    index_file = tmp_path / "corpus.hnsw"
    hits = search(Fixed(), corpus, queries, 5, corpus_embeddings, index="hnsw", index_file=index_file, report=report)
    assert report["index"] == "hnsw" and report["recall_at"] == 10 and 0.8 <= report["recall"] <= 1.0
    assert [row[0].index for row in hits] == list(range(20))
    assert index_file.is_file()
    again = search(Fixed(), corpus, queries, 5, corpus_embeddings, index="hnsw", index_file=index_file)
    assert [row[0].index for row in again] == list(range(20))
    with pytest.raises(DataError, match="rebuild it"):
        search(Fixed(), corpus[:400], queries, 5, corpus_embeddings[:400], index="hnsw", index_file=index_file)
    with pytest.raises(DataError, match="built from other embeddings than these"):  # same shape, other vectors
        search(Fixed(), corpus, queries, 5, corpus_embeddings[::-1].copy(), index="hnsw", index_file=index_file)


@pytest.mark.parametrize("verbose", [False, True])
def test_library_info_lines_are_shown_only_with_verbose(tiny_bert, tmp_path, verbose):
    """sentence-transformers' INFO lines repeat what sct says (a line per model load, per dev score, per save)."""
    import subprocess
    import sys

    source = tmp_path / "s.txt"
    source.write_text("one sentence\n")
    argv = [sys.executable, "-m", "sct", *(["-v"] if verbose else []), "encode", tiny_bert, "--input", str(source),
            "--output", str(tmp_path / "e.npy")]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=True)
    assert ("INFO sentence_transformers" in done.stderr) is verbose, done.stderr


def test_search_keeps_its_hnsw_index_beside_the_embeddings_and_refuses_an_index_file_for_exact(tiny_bert, tmp_path,
                                                                                                capsys):  # fmt: skip
    pytest.importorskip("faiss")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"sentence number {i} about topic {i % 7}\n" for i in range(60)))
    embeddings = tmp_path / "corpus.npy"
    assert main(["encode", tiny_bert, "--input", str(corpus), "--output", str(embeddings)]) == 0
    argv = ["search", tiny_bert, "--corpus", str(corpus), "--corpus-embeddings", str(embeddings), "--query", "topic 3"]
    assert main([*argv, "--index", "hnsw"]) == 0
    assert (tmp_path / "corpus.hnsw").is_file()  # built once, reused by the next search
    capsys.readouterr()
    assert main([*argv, "--index-file", str(tmp_path / "x.hnsw")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--index-file holds an HNSW index: pass --index hnsw" in err and len(err.splitlines()) == 1
