"""Property tests: arbitrary content never crashes the evaluation readers with anything but DataError."""

from __future__ import annotations

import contextlib
import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sct.data import read_corpus
from sct.errors import DataError
from sct.evaluation.rerank import evaluate_scidocs, read_askubuntu_pool, read_askubuntu_queries
from sct.evaluation.sts import read_sick_relatedness, read_sts_track, read_stsb_split
from sct.evaluation.transfer import read_mrpc, read_sick_entailment, read_snli_split
from sct.evaluation.twitterpara import read_pit, read_twitter_url

FIELD = st.one_of(
    st.sampled_from(["ENTAILMENT", "NEUTRAL", "0", "1", "neutral", "x y", "", " ", "1.5 2", "c1 c2", "\x00", "é"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
)
LINES = st.lists(st.lists(FIELD, max_size=6).map("\t".join), max_size=6).map("\n".join)
CONTENT = st.one_of(LINES.map(lambda s: s.encode("utf-8")), st.binary(max_size=120))
KEYS = st.sampled_from(["corpus", "test", "title", "q", "d"]) | st.text(max_size=3)
JSON_VALUES = st.recursive(
    st.none() | st.integers(0, 2) | st.text(max_size=5), lambda c: st.dictionaries(KEYS, c, max_size=3), max_leaves=8
)
RELAXED = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _only_data_errors(reader, path) -> None:
    with contextlib.suppress(DataError):
        reader(path)


class _AnyText:
    def encode(self, sentences, batch_size, convert_to_numpy, normalize_embeddings):
        return np.array([[1.0, float(len(s))] for s in sentences]) / np.hypot(1.0, [len(s) for s in sentences])[:, None]


@RELAXED
@given(content=CONTENT)
def test_pair_classification_readers(tmp_path, content):
    path = tmp_path / "any.txt"
    path.write_bytes(content)
    readers = (read_sick_entailment, read_mrpc, read_askubuntu_pool, read_askubuntu_queries, read_stsb_split,
               read_sick_relatedness, read_twitter_url, read_pit)  # fmt: skip
    for reader in readers:
        _only_data_errors(reader, path)
    _only_data_errors(lambda p: list(read_corpus(p)), path)  # a generator: consume it


@RELAXED
@given(inputs=CONTENT, gold=CONTENT)
def test_sts_track_reader(tmp_path, inputs, gold):
    (tmp_path / "STS.input.x.txt").write_bytes(inputs)
    (tmp_path / "STS.gs.x.txt").write_bytes(gold)
    _only_data_errors(lambda folder: read_sts_track(folder, "x"), tmp_path)


@RELAXED
@given(s1=CONTENT, s2=CONTENT, labels=CONTENT)
def test_snli_reader(tmp_path, s1, s2, labels):
    for name, content in (("s1", s1), ("s2", s2), ("labels", labels)):
        (tmp_path / f"{name}.dev").write_bytes(content)
    _only_data_errors(lambda folder: read_snli_split(folder, "dev"), tmp_path)


@RELAXED
@given(content=st.one_of(CONTENT, JSON_VALUES.map(lambda v: json.dumps(v).encode())))
def test_scidocs_reader(tmp_path, content):
    (tmp_path / "data.json").write_bytes(content)
    _only_data_errors(lambda folder: evaluate_scidocs(_AnyText(), folder), tmp_path)
