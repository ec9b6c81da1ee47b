"""The options that make a step cheaper: length-bucketed batches, frozen word embeddings, bf16 autocast."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sct.batching import length_bucketed_batches
from sct.cli import main

ARGS = ["--batch-size", "8", "-k", "32", "--max-steps", "10", "--eval-steps", "2", "--logging-steps", "1",
        "--max-seq-length", "16", "--seed", "7"]  # fmt: skip


def _args(tiny_bert, pairs_file, dev_file, out, *extra):
    return ["train", str(pairs_file), "-o", str(out), "--model", tiny_bert, "--dev-file", str(dev_file), *ARGS, *extra]


def test_one_pool_is_sorted_by_length_and_cut_into_batches():
    lengths = [5, 1, 4, 2, 3, 6]
    batches = length_bucketed_batches(lengths, batch_size=2, seed=0, drop_last=False)
    # one pool holds everything; sorted by length the indices are 1, 3, 4, 2, 0, 5
    assert sorted(map(sorted, batches)) == [[0, 5], [1, 3], [2, 4]]


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 200), min_size=1, max_size=400),
    batch_size=st.integers(1, 9),
    seed=st.integers(0, 5),
    drop_last=st.booleans(),
)
def test_every_epoch_sees_every_pair_once_in_batches_of_neighbouring_lengths(lengths, batch_size, seed, drop_last):
    batches = length_bucketed_batches(lengths, batch_size, seed, drop_last)
    seen = [i for b in batches for i in b]
    assert len(seen) == len(set(seen))
    if drop_last:
        assert all(len(b) == batch_size for b in batches)
        assert len(seen) == len(lengths) // batch_size * batch_size
    else:
        assert sorted(seen) == list(range(len(lengths)))
        assert sum(len(b) < batch_size for b in batches) <= 1
    assert batches == length_bucketed_batches(lengths, batch_size, seed, drop_last), "a function of the seed"


def test_bucketing_cuts_the_padding_of_a_caption_like_corpus():
    import random

    rng = random.Random(0)
    lengths = [min(32, int(rng.lognormvariate(2.6, 0.35))) for _ in range(6400)]  # mostly ~14, a tail at 32
    order = list(range(len(lengths)))
    rng.shuffle(order)
    plain = sum(max(lengths[i] for i in order[j : j + 64]) for j in range(0, len(order), 64))
    bucketed = sum(max(lengths[i] for i in b) for b in length_bucketed_batches(lengths, 64, 0, False))
    assert bucketed < 0.7 * plain


def test_frozen_word_embeddings_keep_their_values_while_the_layers_train(tiny_bert, pairs_file, dev_file, tmp_path):
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "run"
    assert main(_args(tiny_bert, pairs_file, dev_file, out, "--freeze-word-embeddings", "--patience", "0")) == 0
    before = SentenceTransformer(tiny_bert)[0].auto_model
    after = SentenceTransformer(str(out))[0].auto_model
    assert torch.equal(before.embeddings.word_embeddings.weight, after.embeddings.word_embeddings.weight)
    assert not torch.equal(before.encoder.layer[0].attention.self.query.weight,
                           after.encoder.layer[0].attention.self.query.weight)  # fmt: skip
    assert json.loads((out / "run_config.json").read_text())["config"]["freeze_word_embeddings"] is True


def _watch_encoder_dtypes(monkeypatch) -> list[torch.dtype]:
    """The dtype of every product of the student's first query projection, as the runs below make them."""
    from sct import models

    seen: list[torch.dtype] = []
    real_load = models.load_student

    def load_and_watch(*args, **kwargs):
        model, info = real_load(*args, **kwargs)
        query = model[0].auto_model.encoder.layer[0].attention.self.query
        query.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
        return model, info

    monkeypatch.setattr(models, "load_student", load_and_watch)
    return seen


def test_bfloat16_runs_the_encoder_under_cpu_autocast(tiny_bert, pairs_file, dev_file, tmp_path, monkeypatch):
    seen = _watch_encoder_dtypes(monkeypatch)
    monkeypatch.setattr("sct.precision.fast_bfloat16", lambda device: True)  # as on a CPU with a bf16 path
    assert main(_args(tiny_bert, pairs_file, dev_file, tmp_path / "run", "--precision", "bfloat16")) == 0
    assert seen and torch.bfloat16 in seen, "the encoder's products ran in bf16"
    seen.clear()
    assert main(_args(tiny_bert, pairs_file, dev_file, tmp_path / "plain")) == 0
    assert seen and set(seen) == {torch.float32}


def test_bfloat16_falls_back_to_float32_where_the_cpu_has_no_fast_path(
    tiny_bert, pairs_file, dev_file, tmp_path, monkeypatch, caplog
):
    seen = _watch_encoder_dtypes(monkeypatch)
    monkeypatch.setattr("sct.precision.fast_bfloat16", lambda device: False)  # as on an AVX2-only CPU
    out = tmp_path / "run"
    with caplog.at_level("WARNING", logger="sct.precision"):
        assert main(_args(tiny_bert, pairs_file, dev_file, out, "--precision", "bfloat16")) == 0
    assert seen and set(seen) == {torch.float32}, "no product ran in bf16"
    warnings = [r.getMessage() for r in caplog.records if r.name == "sct.precision"]
    assert len(warnings) == 1 and "--precision bfloat16" in warnings[0] and "using float32" in warnings[0]
    recorded = json.loads((out / "run_config.json").read_text())
    assert recorded["config"]["precision"] == "float32"
    assert recorded["precision_fallback"]["requested"] == {"precision": "bfloat16"}
    assert recorded["precision_fallback"]["used"] == {"precision": "float32"}


def test_a_resumed_run_keeps_its_fallback_record_and_logs_a_precision_change(
    tiny_bert, pairs_file, dev_file, tmp_path, monkeypatch
):
    from tests.test_reliability import _sigterm_during_step_6

    def interrupted_then_resumed(out, fast_at_start: bool, fast_on_resume: bool) -> dict:
        with monkeypatch.context() as patch:
            patch.setattr("sct.precision.fast_bfloat16", lambda device: fast_at_start)
            _sigterm_during_step_6(patch)
            assert main(_args(tiny_bert, pairs_file, dev_file, out, "--precision", "bfloat16")) == 130
        with monkeypatch.context() as patch:
            patch.setattr("sct.precision.fast_bfloat16", lambda device: fast_on_resume)
            assert main(["train", "--resume", str(out)]) == 0
        return json.loads((out / "run_config.json").read_text())

    # started where bfloat16 is slow: float32 throughout, and the record of the request survives the resume
    kept = interrupted_then_resumed(tmp_path / "slow", fast_at_start=False, fast_on_resume=False)
    assert kept["config"]["precision"] == "float32" and kept["precision_fallback"]["requested"] == {
        "precision": "bfloat16"
    }
    assert kept["resume_changes"] == []
    # started in bfloat16, resumed on a machine without it: the change is logged at the step it took effect
    moved = interrupted_then_resumed(tmp_path / "moved", fast_at_start=True, fast_on_resume=False)
    assert moved["config"]["precision"] == "float32" and "precision_fallback" in moved
    assert moved["resume_changes"] == [{"step": 6, "changed": {"precision": ["bfloat16", "float32"]}}]


def test_fast_bfloat16_on_x86_needs_avx512_bf16_or_amx(monkeypatch):
    from sct.precision import fast_bfloat16

    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    for avx512_bf16, amx, fast in ((False, False, False), (True, False, True), (False, True, True)):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=avx512_bf16: v)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v)
        assert fast_bfloat16("cpu") is fast


def test_precision_resolution_touches_only_the_bfloat16_requests(monkeypatch):
    from sct.config import TrainConfig
    from sct.precision import resolve_precision

    monkeypatch.setattr("sct.precision.fast_bfloat16", lambda device: False)
    config = TrainConfig("f", "o", objective="distill", precision="auto", teacher_precision="bfloat16")
    resolved, record = resolve_precision(config, "cpu")
    assert (resolved.precision, resolved.teacher_precision) == ("auto", "float32")
    assert record["requested"] == {"teacher_precision": "bfloat16"}
    plain = TrainConfig("f", "o", precision="float32")
    assert resolve_precision(plain, "cpu") == (plain, None)
    no_teacher = TrainConfig("f", "o", teacher_precision="bfloat16")  # e.g. stage 1 of the two-stage recipe
    assert resolve_precision(no_teacher, "cpu") == (no_teacher, None)
    monkeypatch.setattr("sct.precision.fast_bfloat16", lambda device: True)
    fast = TrainConfig("f", "o", precision="bfloat16")
    assert resolve_precision(fast, "cpu") == (fast, None)


def test_length_bucketed_run_resumes_bit_for_bit(tiny_bert, pairs_file, dev_file, tmp_path, monkeypatch):
    from tests.test_reliability import _sigterm_during_step_6, _trace, _without_timing

    extra = ("--batch-order", "length", "--epochs", "3")
    reference = tmp_path / "reference"
    assert main(_args(tiny_bert, pairs_file, dev_file, reference, *extra)) == 0
    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        _sigterm_during_step_6(patch)
        assert main(_args(tiny_bert, pairs_file, dev_file, out, *extra)) == 130
    assert main(["train", "--resume", str(out)]) == 0
    assert _without_timing(_trace(out)) == _without_timing(_trace(reference))


@pytest.mark.parametrize("flag", [("--precision", "half"), ("--batch-order", "sorted")])
def test_unknown_choices_are_refused(tiny_bert, pairs_file, dev_file, tmp_path, flag):
    with pytest.raises(SystemExit) as exit_info:
        main(_args(tiny_bert, pairs_file, dev_file, tmp_path / "run", *flag))
    assert exit_info.value.code == 2
