"""`sct corpus` and the leakage guard."""

from __future__ import annotations

import gzip

import pytest

from sct.cli import main
from sct.corpus import select_sentences
from sct.data import find_data_root
from sct.leakage import LeakageGuard, evaluation_keys, sentence_key


@pytest.fixture
def data_root(tmp_path):
    root = tmp_path / "data"
    sts12 = root / "senteval" / "STS" / "STS12-en-test"
    sts12.mkdir(parents=True)
    (sts12 / "STS.input.MSRpar.txt").write_text("a man is playing a guitar .\tsomeone plays music .\n")
    stsb = root / "senteval" / "STS" / "STSBenchmark"
    stsb.mkdir(parents=True)
    (stsb / "sts-train.csv").write_text("g\tx\t2012\t1\t4.0\tA dog runs on grass.\tThe dog is running.\n")
    sick = root / "senteval" / "SICK"
    sick.mkdir()
    (sick / "SICK_test_annotated.txt").write_text(
        "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"
        "1\tTwo kids are jumping\tKids jump\t4.1\tENTAILMENT\n"
    )
    snli = root / "senteval" / "SNLI"
    snli.mkdir()
    (snli / "s1.test").write_text("A woman sits on a bench .\n")
    twitter = root / "useb" / "twitterpara"
    twitter.mkdir(parents=True)
    (twitter / "test.data").write_text("1\ttopic\tgo team go\twhat a game tonight\t3\ttags\ttags\n")
    corpus = root / "corpus"
    corpus.mkdir()
    rows = [
        ("flickr", "caption", "A man is playing a guitar!"),  # STS12 (case and punctuation differ)
        ("flickr", "caption", "A small cat sleeps on the sofa."),
        ("flickr", "caption", "a small cat sleeps on the sofa"),  # duplicate by normalised key
        ("mnli", "nli", "The dog is running."),  # STS-B train
        ("mnli", "nli", "Kids jump"),  # SICK (2 words: also below the default length bound)
        ("mnli", "nli", "A woman sits on a bench."),  # SNLI test
        ("mnli", "nli", "What a game tonight"),  # TwitterPara
        ("mnli", "nli", "Three birds fly over the lake."),
        ("quora", "question", "How do I learn to cook rice well?"),
    ]
    with gzip.open(corpus / "sentences.tsv.gz", "wt") as handle:
        handle.write("source\tdomain\tsentence\n")
        handle.writelines(f"{a}\t{b}\t{c}\n" for a, b, c in rows)
    return root


def test_sentence_key_ignores_case_spacing_and_punctuation():
    assert sentence_key("A man, playing!") == sentence_key("a  man playing") == "amanplaying"


def test_evaluation_keys_cover_every_set(data_root):
    keys = evaluation_keys(find_data_root(data_root))
    assert set(keys) == {"STS12", "STS-B", "SICK", "SNLI", "TwitterPara"}
    assert sentence_key("a man is playing a guitar .") in keys["STS12"]


def test_select_drops_leaked_sentences_and_reports_by_set(data_root):
    root = find_data_root(data_root)
    sentences, stats = select_sentences(
        root.corpus, domains={"caption", "nli"}, min_words=3, max_words=64, max_samples=None, seed=1, guard_root=root
    )
    assert sorted(sentences) == ["A small cat sleeps on the sofa.", "Three birds fly over the lake."]
    assert stats.read == 9 and stats.domain_filtered == 1 and stats.duplicates == 1 and stats.length_filtered == 1
    assert stats.leakage_dropped == 4
    assert stats.leakage_by_set == {"STS12": 1, "STS-B": 1, "SNLI": 1, "TwitterPara": 1}


def test_guard_can_be_turned_off_and_samples_are_reproducible(data_root):
    root = find_data_root(data_root)
    kwargs = dict(domains=None, min_words=1, max_words=64, seed=5, guard_root=None)
    everything, stats = select_sentences(root.corpus, max_samples=None, **kwargs)
    assert len(everything) == 8 and stats.leakage_dropped == 0
    first, _ = select_sentences(root.corpus, max_samples=3, **kwargs)
    assert first == select_sentences(root.corpus, max_samples=3, **kwargs)[0] == everything[:3]


def test_guard_works_on_a_plain_sentence_file(data_root, tmp_path, capsys):
    mine = tmp_path / "mine.txt"
    mine.write_text("A MAN IS PLAYING A GUITAR\nsomething new and harmless here\n\n")
    out = tmp_path / "clean.txt"
    assert main(["corpus", "--input", str(mine), "-o", str(out), "--data-dir", str(data_root)]) == 0
    assert out.read_text() == "something new and harmless here\n"
    assert "dropped 1 (STS12 1)" in capsys.readouterr().out


def test_cli_corpus_defaults_to_the_data_roots_corpus(data_root, tmp_path, capsys):
    out = tmp_path / "s.txt"
    assert main(["corpus", "-o", str(out), "--data-dir", str(data_root), "--domains", "all", "--min-words", "1"]) == 0
    assert len(out.read_text().splitlines()) == 3
    printed = capsys.readouterr().out
    assert "leakage guard dropped 5" in printed and "SICK 1" in printed


def test_guard_counts_each_sentence_once():
    guard = LeakageGuard({"A": {"x"}, "B": {"x"}})
    assert list(guard.filter(["x", "y"])) == ["y"]
    assert guard.dropped_total == 1 and guard.dropped == {"A": 1, "B": 1}
    assert "dropped 1 sentence(s)" in guard.report()
