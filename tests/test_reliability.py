"""Crash, kill and divergence: a run stops resumably, resumes to the same result, never looks finished."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sct import run_dir
from sct.cli import main

ARGS = ["--batch-size", "8", "-k", "32", "--max-steps", "10", "--eval-steps", "2", "--logging-steps", "1",
        "--max-seq-length", "16", "--seed", "7"]  # fmt: skip


def _args(tiny_bert, pairs_file, dev_file, out):
    return ["train", str(pairs_file), "-o", str(out), "--model", tiny_bert, "--dev-file", str(dev_file), *ARGS]


TIMING = ("elapsed_s", "cpu_s")  # how long steps took: differs between any two runs


def _trace(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "training_log.jsonl").read_text().splitlines()]


def _without_timing(trace: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in trace]


def _assert_same_trace(resumed: list[dict], reference: list[dict]) -> None:
    strip, expected = _without_timing(resumed), _without_timing(reference)
    assert [r["step"] for r in strip] == [r["step"] for r in expected]
    for got, want in zip(strip, expected, strict=True):
        assert got.keys() == want.keys(), (got, want)
        for key in got:
            assert got[key] == pytest.approx(want[key], abs=1e-4), (key, got, want)


def _sigterm_during_step_6(monkeypatch) -> None:
    """Make the next run receive SIGTERM while step 6 runs: it must finish that step, save, stop."""
    from sct.training import trainer as training

    real_make = training.make_callbacks

    def signalling(*args, **kwargs):
        callback = real_make(*args, **kwargs)
        original = callback.on_step_begin

        def on_step_begin(a, state, control, **kw):
            if state.global_step == 5:
                os.kill(os.getpid(), signal.SIGTERM)
            return original(a, state, control, **kw)

        callback.on_step_begin = on_step_begin
        return callback

    monkeypatch.setattr(training, "make_callbacks", signalling)


def _interrupt_at_step_6(tiny_bert, pairs_file, dev_file, out: Path, monkeypatch) -> Path:
    """Train into ``out`` until SIGTERM stops it after step 6 (exit 130); later runs are not signalled.
    Returns the interrupted run's work directory."""
    from sct.training import trainer as training

    real_make = training.make_callbacks
    _sigterm_during_step_6(monkeypatch)
    assert main(_args(tiny_bert, pairs_file, dev_file, out)) == 130
    monkeypatch.setattr(training, "make_callbacks", real_make)
    return out.with_name(out.name + ".incomplete")


def test_sigterm_saves_a_checkpoint_stops_and_resumes(tiny_bert, pairs_file, dev_file, tmp_path, capsys, monkeypatch):
    from sct.training import trainer as training

    reference = tmp_path / "reference"
    assert main(_args(tiny_bert, pairs_file, dev_file, reference)) == 0

    real_make = training.make_callbacks
    _sigterm_during_step_6(monkeypatch)
    out = tmp_path / "run"
    assert main(_args(tiny_bert, pairs_file, dev_file, out)) == 130
    err = capsys.readouterr().err
    assert "stopped by SIGTERM after step 6" in err and f"--resume {out}" in err
    assert not out.exists() and (tmp_path / "run.incomplete" / "checkpoints" / "checkpoint-6").is_dir()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored
    monkeypatch.setattr(training, "make_callbacks", real_make)
    # pretend three evaluations had not improved: the resumed run must continue from that count
    state_file = tmp_path / "run.incomplete" / "checkpoints" / "checkpoint-6" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    state["stateful_callbacks"]["EarlyStoppingCallback"]["attributes"]["early_stopping_patience_counter"] = 3
    state_file.write_text(json.dumps(state))
    from transformers import EarlyStoppingCallback

    counts = []
    real_evaluate = EarlyStoppingCallback.on_evaluate

    def spy(self, args, state, control, metrics, **kwargs):
        counts.append(self.early_stopping_patience_counter)
        return real_evaluate(self, args, state, control, metrics, **kwargs)

    monkeypatch.setattr(EarlyStoppingCallback, "on_evaluate", spy)
    assert main(["train", "--resume", str(out)]) == 0
    assert counts and counts[0] >= 3, counts  # restored, not reset to 0
    _assert_same_trace(_trace(out), _trace(reference))


def test_sigkill_at_a_random_step_then_resume_matches_an_uninterrupted_run(tiny_bert, pairs_file, dev_file, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    reference, out = tmp_path / "reference", tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "sct", *_args(tiny_bert, pairs_file, dev_file, reference)],
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    kill_after = random.randint(2, 6)  # the log line of a step; steps up to 10 remain to be killed in
    process = subprocess.Popen([sys.executable, "-m", "sct", *_args(tiny_bert, pairs_file, dev_file, out)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    log = tmp_path / "run.incomplete" / "training_log.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if log.is_file() and any(json.loads(line)["step"] >= kill_after for line in log.read_text().splitlines()):
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert not out.exists()
    resumed = subprocess.run([sys.executable, "-m", "sct", "train", "--resume", str(out)], env=env,
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert resumed.returncode == 0, f"killed after step {kill_after}: {resumed.stderr[-2000:]}"
    _assert_same_trace(_trace(out), _trace(reference))
    summary, expected = (json.loads((run / "run_summary.json").read_text()) for run in (out, reference))
    assert summary["best_dev_spearman"] == pytest.approx(expected["best_dev_spearman"], abs=1e-4)


def test_non_finite_loss_stops_with_the_step_and_the_last_good_checkpoint(
    tiny_bert, pairs_file, dev_file, tmp_path, capsys, monkeypatch
):
    import torch

    from sct.losses import SCTLoss

    real = SCTLoss.from_embeddings
    calls = {"n": 0}

    def poisoned(self, embeddings, features):
        calls["n"] += 1
        if calls["n"] == 5:  # the fifth training step
            embeddings = [e * torch.tensor(float("nan")) for e in embeddings]
        return real(self, embeddings, features)

    monkeypatch.setattr(SCTLoss, "from_embeddings", poisoned)
    out = tmp_path / "run"
    assert main(_args(tiny_bert, pairs_file, dev_file, out)) == 3
    err = capsys.readouterr().err
    assert "L_SCT is nan at step 5" in err and "checkpoint-4" in err
    assert not out.exists() and not (tmp_path / "run.incomplete" / "run_summary.json").exists()


def test_a_non_finite_gradient_stops_simcse_before_the_update(tiny_bert, pairs_file, dev_file, tmp_path, capsys,
                                                              monkeypatch):  # fmt: skip
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    real = MultipleNegativesRankingLoss.forward
    calls = {"n": 0}

    def poisoned(self, *args, **kwargs):
        calls["n"] += 1
        loss = real(self, *args, **kwargs)
        return loss * float("inf") if calls["n"] == 5 else loss  # the fifth step's gradient is not finite

    monkeypatch.setattr(MultipleNegativesRankingLoss, "forward", poisoned)
    out = tmp_path / "run"
    assert main([*_args(tiny_bert, pairs_file, dev_file, out), "--objective", "simcse"]) == 3
    err = capsys.readouterr().err
    assert "a gradient is not finite at step 5" in err and "checkpoint-4" in err
    assert not out.exists()


def test_disk_full_while_saving_keeps_the_previous_checkpoint(tiny_bert, pairs_file, dev_file, tmp_path, capsys,
                                                              monkeypatch):  # fmt: skip
    import torch

    real_save = torch.save

    def full_disk(obj, path, *args, **kwargs):
        if "checkpoint-6" in str(path):
            raise OSError(28, "No space left on device")
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk)
    out = tmp_path / "run"
    assert main(_args(tiny_bert, pairs_file, dev_file, out)) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Last whole checkpoint: " in err and "checkpoint-4" in err
    assert not out.exists()
    monkeypatch.setattr(torch, "save", real_save)
    assert run_dir.latest_checkpoint(tmp_path / "run.incomplete").name == "checkpoint-4"
    assert main(["train", "--resume", str(out)]) == 0
    assert json.loads((out / "run_summary.json").read_text())["steps"] == 10


def test_a_full_disk_when_writing_the_finished_run_is_one_line_and_the_run_stays_resumable(
    tiny_bert, pairs_file, dev_file, tmp_path, capsys, monkeypatch
):
    from sct.training import trainer

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(trainer, "write_run", full_disk)
    out = tmp_path / "run"
    assert main(_args(tiny_bert, pairs_file, dev_file, out)) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bars
    assert last.startswith("sct train: an I/O error stopped writing the finished run") and "checkpoint-10" in last
    assert not out.exists() and run_dir.latest_checkpoint(tmp_path / "run.incomplete").name == "checkpoint-10"


def test_corrupted_checkpoint_is_named_and_the_previous_one_used(tiny_bert, pairs_file, dev_file, tmp_path, caplog,
                                                                 monkeypatch):  # fmt: skip
    out = tmp_path / "run"
    newest = _interrupt_at_step_6(tiny_bert, pairs_file, dev_file, out, monkeypatch) / "checkpoints" / "checkpoint-6"
    weights = newest / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated
    assert "model.safetensors unreadable" in run_dir.checkpoint_problem(newest)
    with caplog.at_level("WARNING", logger="sct.training"):
        assert main(["train", "--resume", str(out)]) == 0
    assert "checkpoint-6 cannot be resumed from: model.safetensors unreadable" in caplog.text
    assert json.loads((out / "run_summary.json").read_text())["steps"] == 10


def test_a_10000_word_line_is_truncated_by_the_tokenizer(tiny_bert, tmp_path):
    from sct.data import read_pairs
    from sct.models import load_student

    long = " ".join(["word"] * 10_000)
    path = tmp_path / "pairs.tsv"
    path.write_text(f"{long}\t{long} .\nshort one\tshort two\n")
    pairs = read_pairs(path)
    assert len(pairs[0][0].split()) == 10_000
    model, _ = load_student(tiny_bert)
    model.max_seq_length = 16
    assert model.tokenize([pairs[0][0]])["input_ids"].shape == (1, 16)


def test_a_file_of_duplicates_only_is_fewer_than_one_batch(tiny_bert, dev_file, tmp_path, capsys):
    path = tmp_path / "dupes.tsv"
    path.write_text("a b c\ta b d\n" * 50)
    out = tmp_path / "run"
    assert main(_args(tiny_bert, path, dev_file, out)) == 2
    assert "1 training pairs after de-duplication, fewer than one batch (8)" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "run.incomplete").exists()
