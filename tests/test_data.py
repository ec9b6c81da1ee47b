"""Readers and data-root resolution: good input, every malformed line named by file:line."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sct.data import (
    find_data_root,
    prepare_pairs,
    read_corpus,
    read_pairs,
    read_sentences,
    read_stsb_sentence_transformers,
)
from sct.errors import DataError
from sct.evaluation.sts import load_dev_set


def test_read_pairs_normalises_whitespace_and_skips_blank_lines(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("a  man\tA man .\n\n   \nthe dog\r\tdog\r\n")
    assert read_pairs(path) == [("a man", "A man ."), ("the dog", "dog")]


def test_read_pairs_reads_gzip(tmp_path):
    path = tmp_path / "p.tsv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("x\ty\n")
    assert read_pairs(path) == [("x", "y")]


@pytest.mark.parametrize(
    ("content", "line", "expected"),
    [
        ("a\tb\nonly one column\n", 2, "expected 2 tab-separated fields"),
        ("a\tb\nc\td\te\n", 2, "found 3"),
        ("a\tb\nc\t \n", 2, "empty view"),
        ("a\tb\nc\x00\td\n", 2, "NUL"),
    ],
)
def test_read_pairs_names_file_and_line(tmp_path, content, line, expected):
    path = tmp_path / "bad.tsv"
    path.write_text(content)
    with pytest.raises(DataError, match=rf"bad\.tsv:{line}: .*{expected}"):
        read_pairs(path)


def test_non_utf8_names_the_line(tmp_path):
    path = tmp_path / "bin.tsv"
    path.write_bytes(b"a\tb\nc\td\n\xff\xfe\tx\n")
    with pytest.raises(DataError, match=r"bin\.tsv:3: not valid UTF-8"):
        read_pairs(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_pairs(tmp_path / "nope.tsv")
    (tmp_path / "empty.tsv").write_text("\n\n")
    with pytest.raises(DataError, match="no training pairs"):
        read_pairs(tmp_path / "empty.tsv")
    with pytest.raises(DataError, match="no sentences"):
        read_sentences(tmp_path / "empty.tsv")


def test_prepare_pairs_dedupes_shuffles_by_seed_and_cuts():
    pairs = [(str(i), str(i)) for i in range(20)] + [("3", "3"), ("5", "5")]
    a = prepare_pairs(pairs, seed=1)
    assert sorted(a) == sorted(set(pairs)) and len(a) == 20
    assert a == prepare_pairs(pairs, seed=1)
    assert a != prepare_pairs(pairs, seed=2)
    assert prepare_pairs(pairs, seed=1, max_samples=5) == a[:5]
    assert len(prepare_pairs(pairs, seed=1, dedupe=False)) == 22


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=TEXT)
def test_pair_reader_never_crashes_on_arbitrary_text(tmp_path, content):
    path = tmp_path / "any.tsv"
    path.write_bytes(content.encode("utf-8"))
    try:
        pairs = read_pairs(path)
    except DataError:
        return
    for first, second in pairs:
        assert first and second
        assert not any(ch in first + second for ch in "\t\n\r")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=200))
def test_sentence_reader_never_crashes_on_arbitrary_bytes(tmp_path, content):
    path = tmp_path / "any.txt"
    path.write_bytes(content)
    try:
        sentences = read_sentences(path)
    except DataError:
        return
    assert all(s and s == " ".join(s.split()) for s in sentences)


def _senteval(root):
    (root / "STS" / "STSBenchmark").mkdir(parents=True)
    (root / "STS" / "STSBenchmark" / "sts-dev.csv").write_text("g\td\ty\t1\t4.0\ta b\tc d\n")
    return root


def test_data_root_with_senteval_subfolder_or_senteval_itself(tmp_path):
    _senteval(tmp_path / "root" / "senteval")
    found = find_data_root(tmp_path / "root")
    assert found.senteval == (tmp_path / "root" / "senteval").resolve()
    assert found.corpus == (tmp_path / "root").resolve() / "corpus" / "sentences.tsv.gz"
    assert find_data_root(tmp_path / "root" / "senteval").senteval == (tmp_path / "root" / "senteval").resolve()


def test_data_root_from_environment(tmp_path, monkeypatch):
    _senteval(tmp_path / "env")
    monkeypatch.setenv("SCT_DATA", str(tmp_path / "env"))
    assert find_data_root().senteval == (tmp_path / "env").resolve()


def test_missing_data_root_names_every_path_searched(tmp_path, monkeypatch):
    monkeypatch.delenv("SCT_DATA", raising=False)
    monkeypatch.setenv("SCT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sct.data.REPO_ROOT", tmp_path / "repo")
    with pytest.raises(DataError) as info:
        find_data_root()
    message = str(info.value)
    assert str(tmp_path / "shared" / "data") in message
    assert str(tmp_path / "home") in message
    assert "--data-dir" in message
    with pytest.raises(DataError, match=str(tmp_path / "given")):
        find_data_root(tmp_path / "given")


def test_dev_set_from_senteval_or_sentence_transformers_layout(tmp_path):
    root = _senteval(tmp_path / "se")
    dev = load_dev_set(None, root)
    assert (dev.sentences1, dev.sentences2, dev.scores) == (["a b"], ["c d"], [4.0])
    tsv = tmp_path / "stsbenchmark.tsv.gz"
    with gzip.open(tsv, "wt") as handle:
        handle.write("split\tgenre\tdataset\tyear\tsid\tscore\tsentence1\tsentence2\n")
        handle.write("dev\tmain-news\tx\t2012\t1\t2.5\tOne.\tTwo.\n")
        handle.write("test\tmain-news\tx\t2012\t2\t1.0\tThree.\tFour.\n")
    dev = load_dev_set(tsv, None)
    assert (dev.sentences1, dev.scores) == (["One."], [2.5])
    assert read_stsb_sentence_transformers(tsv, split="test").sentences2 == ["Four."]


def test_dev_set_bad_score_names_line(tmp_path):
    path = tmp_path / "sts-dev.csv"
    path.write_text("g\td\ty\t1\t4.0\ta\tb\ng\td\ty\t1\tfour\ta\tb\n")
    with pytest.raises(DataError, match=r"sts-dev\.csv:2: expected a numeric"):
        load_dev_set(path, None)


def test_read_corpus_filters_domains(tmp_path):
    path = tmp_path / "c.tsv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("source\tdomain\tsentence\nm\tcaption\tA  dog.\nq\tquestion\tWhy?\n")
    assert list(read_corpus(path, {"caption"})) == [("m", "caption", "A dog.")]
    with gzip.open(path, "wt") as handle:
        handle.write("source\tdomain\tsentence\nbroken line\n")
    with pytest.raises(DataError, match=r"c\.tsv\.gz:2"):
        list(read_corpus(path))


def test_atomic_writes_on_a_full_disk_keep_the_old_file_and_leave_no_temporary(tmp_path, monkeypatch):
    from pathlib import Path

    from sct.data import write_json_atomic, write_lines_atomic
    from sct.errors import WriteError

    target = tmp_path / "results.json"
    target.write_text('{"old": true}\n')
    real = Path.write_text

    def full_disk(self, text, *args, **kwargs):
        real(self, text[: len(text) // 2], *args, **kwargs)  # half of it reached the disk
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(WriteError, match=r"results.json: cannot write \(No space left on device\)") as caught:
        write_json_atomic(target, {"new": 1})
    assert isinstance(caught.value, OSError)  # callers that name the last whole checkpoint still catch it
    monkeypatch.setattr(Path, "write_text", real)
    assert target.read_text() == '{"old": true}\n' and sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(WriteError, match="cannot write"):
        write_lines_atomic(blocker / "out.txt", ["a line"])  # a folder that is a file
