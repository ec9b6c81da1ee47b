"""The teacher-embedding cache: hit, invalidation, corruption, resume, and refusal of bad directories."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from sct.errors import ConfigError
from sct.teacher import TeacherSettings, fingerprint_directory, load_or_compute, texts_sha256

SETTINGS = TeacherSettings("fake-teacher", "f" * 64, max_seq_length=32, normalize=True, precision="float32")
PAIRS = [("a dog runs .", "a dog is running ."), ("two cats sit .", "a dog runs ."), ("red ball .", "a red ball .")]


class CountingEncoder:
    """A stand-in teacher: a text's embedding is (len, word count, ord of first char); counts calls."""

    def __init__(self, fail_after_calls: int | None = None):
        self.texts: list[str] = []
        self.calls = 0
        self.fail_after_calls = fail_after_calls

    def __call__(self, texts: list[str]) -> np.ndarray:
        if self.fail_after_calls is not None and self.calls >= self.fail_after_calls:
            raise KeyboardInterrupt("simulated crash")
        self.calls += 1
        self.texts.extend(texts)
        return np.array([[len(t), len(t.split()), ord(t[0])] for t in texts], dtype=np.float32)


def _expected(text: str) -> list[float]:
    return [len(text), len(text.split()), ord(text[0])]


def test_computes_once_then_hits_and_looks_up_both_views(tmp_path):
    first = CountingEncoder()
    cached = load_or_compute(PAIRS, SETTINGS, first, tmp_path)
    assert sorted(first.texts) == sorted({t for p in PAIRS for t in p}), "each unique text is encoded once"

    again = CountingEncoder()
    hit = load_or_compute(PAIRS, SETTINGS, again, tmp_path)
    assert again.calls == 0 and hit.directory == cached.directory
    view_1, view_2 = hit.lookup(np.array([2, 0, 1]))
    assert view_1.tolist() == [_expected(PAIRS[i][0]) for i in (2, 0, 1)]
    assert view_2.tolist() == [_expected(PAIRS[i][1]) for i in (2, 0, 1)]
    manifest = json.loads((hit.directory / "manifest.json").read_text())
    assert manifest["rows"] == 5 and manifest["max_seq_length"] == 32 and manifest["normalize"] is True


def test_changing_one_sentence_computes_a_new_entry(tmp_path):
    load_or_compute(PAIRS, SETTINGS, CountingEncoder(), tmp_path)
    changed = [PAIRS[0], ("two cats sit down .", PAIRS[1][1]), PAIRS[2]]
    encoder = CountingEncoder()
    entry = load_or_compute(changed, SETTINGS, encoder, tmp_path)
    assert encoder.calls > 0 and "two cats sit down ." in encoder.texts
    assert entry.lookup(np.array([1]))[0].tolist() == [_expected("two cats sit down .")]
    assert len([d for d in tmp_path.iterdir() if d.is_dir()]) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"max_seq_length": 64},
        {"normalize": False},
        {"precision": "bfloat16"},
        {"fingerprint": "e" * 64},
    ],
)
def test_any_setting_change_is_a_different_key(change):
    other = TeacherSettings(**{**SETTINGS.__dict__, **change})
    assert other.key("x") != SETTINGS.key("x")


def test_text_hash_is_unambiguous():
    assert texts_sha256(["ab", "c"]) != texts_sha256(["a", "bc"])
    assert texts_sha256(["a", "b"]) != texts_sha256(["b", "a"])


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "manifest"])
def test_corrupt_entry_is_detected_and_recomputed(tmp_path, caplog, damage):
    entry = load_or_compute(PAIRS, SETTINGS, CountingEncoder(), tmp_path)
    path = entry.directory / "embeddings.npy"
    del entry
    if damage == "flip":
        data = bytearray(path.read_bytes())
        data[-1] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:-7])
    elif damage == "delete":
        path.unlink()
    else:
        (path.parent / "manifest.json").write_text("{not json")
    encoder = CountingEncoder()
    with caplog.at_level(logging.WARNING, logger="sct.teacher"):
        fresh = load_or_compute(PAIRS, SETTINGS, encoder, tmp_path)
    assert "not usable" in caplog.text and "recomputing" in caplog.text
    assert encoder.calls > 0
    assert fresh.lookup(np.array([0]))[0].tolist() == [_expected(PAIRS[0][0])]


def test_interrupted_computation_resumes_from_the_last_chunk(tmp_path):
    pairs = [(f"sentence number {i} .", f"view of sentence {i} .") for i in range(10)]  # 20 unique texts
    crashing = CountingEncoder(fail_after_calls=2)
    with pytest.raises(KeyboardInterrupt):
        load_or_compute(pairs, SETTINGS, crashing, tmp_path, chunk=4)
    assert len(crashing.texts) == 8
    assert not list(tmp_path.glob("*/manifest.json")), "an unfinished entry has no manifest"

    resumed = CountingEncoder()
    entry = load_or_compute(pairs, SETTINGS, resumed, tmp_path, chunk=4)
    assert len(resumed.texts) == 12 and not set(resumed.texts) & set(crashing.texts)
    view_1, view_2 = entry.lookup(np.arange(10))
    assert view_1.tolist() == [_expected(a) for a, _ in pairs]
    assert view_2.tolist() == [_expected(b) for _, b in pairs]


def test_unwritable_cache_directory_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"a-file/cache is not writable.*--teacher-cache"):
        load_or_compute(PAIRS, SETTINGS, CountingEncoder(), blocker / "cache")


def test_directory_fingerprint_follows_weights_not_readme(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"\x00\x01")
    base = fingerprint_directory(tmp_path)
    (tmp_path / "README.md").write_text("docs change")
    assert fingerprint_directory(tmp_path) == base
    (tmp_path / "model.safetensors").write_bytes(b"\x00\x02")
    assert fingerprint_directory(tmp_path) != base
