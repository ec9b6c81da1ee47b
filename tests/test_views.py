"""`sct views`: alignment by content, caching and resume, every method, every bad input."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from sct.cli import main
from sct.data import read_sentence_file
from sct.errors import ConfigError, DataError
from sct.views import _run_engine, build_views, word_overlap
from sct.views.report import word_edit_distance

needs_apertium = pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium not installed")

SENTENCES = [
    "man plays electric guitar",  # no final punctuation: Apertium would merge it with the next line
    "A man is playing a guitar on stage.",
    "Two dogs run through the green park",
    "A woman is slicing an onion in the kitchen.",
    "children play football on the beach",
    "The old car is parked near the red house.",
    "A cat sleeps on the warm sofa",
    "weird [brackets] ^caret$ @at *star #hash / slash",
    "Three people are eating pizza at a table.",
    "a boy rides a bicycle down the street",
]


def _content_aligned(sources: list[str], views: list[str]) -> None:
    """Each view shares more words with its own source than with any other source."""
    for i, (source, view) in enumerate(zip(sources, views, strict=True)):
        own = word_overlap(view, source)
        others = max(word_overlap(view, s) for j, s in enumerate(sources) if j != i)
        assert own > others, (source, view)


@needs_apertium
def test_bt_views_are_aligned_by_content(tmp_path):
    view1, view2, stats = build_views(SENTENCES, "bt", cache_dir=tmp_path / "cache", chunk_size=4)
    assert len(view1) == len(view2) == len(SENTENCES)
    _content_aligned(SENTENCES, view1)
    _content_aligned(SENTENCES, view2)
    assert stats.failed_kept == {"view1": 0, "view2": 0}
    assert all("\t" not in v and "\n" not in v for v in view1 + view2)


@needs_apertium
def test_bt_cache_translates_only_new_sentences(tmp_path):
    cache = tmp_path / "cache"
    _, _, first = build_views(SENTENCES[:6], "bt", cache_dir=cache)
    assert first.translated == {"view1": 6, "view2": 6}
    again1, again2, second = build_views(SENTENCES, "bt", cache_dir=cache)
    assert second.translated == {"view1": 4, "view2": 4}
    assert second.from_cache == {"view1": 6, "view2": 6}
    _content_aligned(SENTENCES, again1)


class FakeEngine:
    name = "fake-upper"

    def __init__(self, fail: set[str] | None = None, crash_after: int | None = None) -> None:
        self.fail, self.crash_after, self.calls, self.seen = fail or set(), crash_after, 0, []

    def translate(self, sentences):
        self.calls += 1
        if self.crash_after is not None and self.calls > self.crash_after:
            raise KeyboardInterrupt
        self.seen.extend(sentences)
        return [None if s in self.fail else s.upper() for s in sentences]


def test_interrupted_translation_resumes_from_the_cache(tmp_path):
    sentences = [f"sentence {i}" for i in range(10)]
    with pytest.raises(KeyboardInterrupt):
        _run_engine(FakeEngine(crash_after=2), sentences, tmp_path, workers=1, chunk_size=3, label="view1")
    engine = FakeEngine()
    out, translated, cached = _run_engine(engine, sentences, tmp_path, workers=1, chunk_size=3, label="view1")
    assert (translated, cached) == (4, 6)
    assert engine.seen == sentences[6:]
    assert out == [s.upper() for s in sentences]


def test_failed_translations_keep_the_original_and_are_not_cached(tmp_path):
    sentences = ["keep me", "change me"]
    out, _, _ = _run_engine(FakeEngine(fail={"keep me"}), sentences, tmp_path, workers=2, chunk_size=1, label="v")
    assert out == [None, "CHANGE ME"]
    engine = FakeEngine()
    _run_engine(engine, sentences, tmp_path, workers=1, chunk_size=5, label="v")
    assert engine.seen == ["keep me"]


def test_dropout_views_and_overlong_sentences(tmp_path):
    long_line = " ".join(["word"] * 10_000)
    view1, view2, stats = build_views(["a b c", long_line], "dropout", max_words=200)
    assert view1 == view2 == ["a b c", long_line]
    assert stats.too_long_kept == 1


def test_synonym_views_replace_at_most_one_word():
    pytest.importorskip("sct.views.wordnet")
    from sct.views.wordnet import WORDNET_DIR

    if not (WORDNET_DIR / "index.noun").is_file():
        pytest.skip("WordNet not installed")
    sentences = ["Two dogs run quickly in the large park.", "A woman slices a small onion."]
    view1, view2, _ = build_views(sentences, "synonym", seed=3)
    for source, view in zip(sentences * 2, view1 + view2, strict=True):
        changed = [(a, b) for a, b in zip(source.split(), view.split(), strict=True) if a != b]
        assert len(changed) <= 1
    assert view1 != sentences or view2 != sentences
    assert build_views(sentences, "synonym", seed=3)[0] == view1  # reproducible


def test_wordnet_part_of_speech_and_synonyms():
    from sct.views.wordnet import WORDNET_DIR, WordNet

    if not (WORDNET_DIR / "index.noun").is_file():
        pytest.skip("WordNet not installed")
    wordnet = WordNet()
    assert wordnet.pos_of("dog") == "n" and wordnet.pos_of("quickly") == "r"
    assert "big" in wordnet.synonyms("large")
    assert wordnet.pos_of("qwertyuiop") is None


def test_mlm_without_a_model_says_what_to_do():
    with pytest.raises(ConfigError, match="--mlm-model"):
        build_views(["a dog runs ."], "mlm")


def test_mlm_with_a_tiny_masked_lm(tmp_path, packaged_model_path):
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(packaged_model_path)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64)  # fmt: skip
    BertForMaskedLM(config).save_pretrained(tmp_path / "mlm")
    tokenizer.save_pretrained(tmp_path / "mlm")
    sentences = [" ".join(["the dog runs in the park"] * 4)] * 3
    view1, view2, _ = build_views(sentences, "mlm", mlm_model=str(tmp_path / "mlm"), seed=1)
    assert len(view1) == len(view2) == 3
    assert any(v != s for v, s in zip(view1 + view2, sentences * 2, strict=True))
    assert view1 != view2


def test_apertium_missing_gives_the_apt_command(monkeypatch):
    import sct.views.apertium as apertium

    monkeypatch.setattr(apertium.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="apt-get install apertium apertium-eng-spa apertium-eng-cat"):
        build_views(["a dog ."], "bt")


def test_input_reader_skips_blank_lines_and_names_bad_bytes(tmp_path):
    good = tmp_path / "in.txt"
    good.write_text("one\tword\n\n   \n two  \n")
    assert read_sentence_file(good) == (["one word", "two"], 2)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\n\xff oops\n")
    with pytest.raises(DataError, match=r"bad\.txt:2: not valid UTF-8"):
        read_sentence_file(bad)
    with pytest.raises(DataError, match="file not found"):
        read_sentence_file(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("\n \n")
    with pytest.raises(DataError, match="no sentences"):
        read_sentence_file(tmp_path / "empty.txt")


def test_cli_views_writes_aligned_pairs_and_stats(tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("a dog runs\n\nthe cat\tsleeps\n")
    out = tmp_path / "pairs.tsv"
    assert main(["views", str(source), "--method", "dropout", "-o", str(out)]) == 0
    assert out.read_text() == "a dog runs\ta dog runs\nthe cat sleeps\tthe cat sleeps\n"
    stats = json.loads((tmp_path / "pairs.tsv.json").read_text())
    assert stats["blank_lines_skipped"] == 1 and stats["sentences"] == 2


def test_cli_unknown_method_lists_the_valid_ones(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["views", str(tmp_path / "x"), "--method", "telepathy", "-o", str(tmp_path / "o")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "telepathy" in err and "bt-neural" in err and "synonym" in err


def test_min_overlap_replaces_unfaithful_views(monkeypatch):
    import sct.views as views

    class Garbler:
        name = "garbler"

        def translate(self, sentences):
            return ["completely different words" if "x" in s else s + " too" for s in sentences]

    monkeypatch.setattr(views, "_run_engine", lambda engine, s, *a: ([Garbler().translate([t])[0] for t in s], 0, 0))
    monkeypatch.setattr("sct.views.neural.NeuralRoundTrip.__init__", lambda self, workers=2: None)
    view1, _, stats = build_views(["x marks the spot", "a dog runs"], "neural-original", min_overlap=0.5)
    assert view1 == ["x marks the spot", "a dog runs too"]
    assert stats.low_overlap_replaced["view1"] == 1


def test_word_edit_distance_by_hand():
    assert word_edit_distance("a man plays guitar", "a man is playing guitar") == 2
    assert word_edit_distance("", "a b") == 2
    assert word_edit_distance("same words", "same words") == 0


def test_cache_is_safe_under_concurrent_writers(tmp_path):
    sentences = [f"s{i}" for i in range(400)]
    out, translated, _ = _run_engine(FakeEngine(), sentences, tmp_path, workers=8, chunk_size=5, label="v")
    assert translated == 400 and out == [s.upper() for s in sentences]


def test_ctrl_c_stops_a_running_apertium_chunk_within_a_second(tmp_path, monkeypatch):
    import threading
    import time

    from sct import views
    from sct.views.apertium import ApertiumRoundTrip

    fake = tmp_path / "bin" / "apertium"  # lists the two modes, then takes half a minute per chunk
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nif [ "$1" = "-l" ]; then echo eng-spa; echo spa-eng; exit 0; fi\nexec sleep 30\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    engine = ApertiumRoundTrip("spa")
    views.STOP.clear()
    outcome = {}

    def run() -> None:
        started = time.monotonic()
        try:
            engine.translate(["one sentence", "another one", "a third"])
        except KeyboardInterrupt:
            outcome["stopped_after"] = time.monotonic() - started

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(1.0)
    views.STOP.set()  # what Ctrl-C in `sct views` does to running chunks
    worker.join(timeout=5)
    views.STOP.clear()
    assert not worker.is_alive() and outcome["stopped_after"] < 2.5  # not the 30 s chunk, nor its retried halves
