"""`sct train` end to end on a tiny random BERT, and every early refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sct.cli import _train_config, build_parser, main


def _train_args(tiny_bert, pairs_file, dev_file, out, *extra):
    return [
        "train", str(pairs_file), "-o", str(out), "--model", tiny_bert, "--batch-size", "8", "-k", "32",
        "--max-steps", "6", "--eval-steps", "3", "--logging-steps", "2", "--max-seq-length", "16",
        "--dev-file", str(dev_file), "--seed", "7", *extra,
    ]  # fmt: skip


def test_train_end_to_end(tiny_bert, pairs_file, dev_file, tmp_path, capsys):
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "run"
    assert main(_train_args(tiny_bert, pairs_file, dev_file, out)) == 0
    assert not Path(str(out) + ".incomplete").exists()
    model = SentenceTransformer(str(out))
    assert model.encode(["a dog is running ."]).shape == (1, 32)
    assert model.max_seq_length != 16, "the saved model keeps the base model's max_seq_length"

    records = [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]
    assert records[0]["step"] == 0 and "dev_spearman" in records[0]
    assert any("loss" in r and "lr" in r for r in records)
    assert [r["step"] for r in records if "dev_spearman" in r] == [0, 3, 6]
    assert all("elapsed_s" in r for r in records)

    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["steps"] == 6
    assert summary["best_step"] in (3, 6)
    dev_scores = {r["step"]: r["dev_spearman"] for r in records if "dev_spearman" in r}
    assert summary["best_dev_spearman"] == pytest.approx(max(dev_scores[3], dev_scores[6]), abs=1e-3)

    config = json.loads((out / "run_config.json").read_text())
    assert config["config"]["queue_size"] == 32 and config["train_pairs"] == 48
    built = json.loads((out / "sct_model.json").read_text())
    assert built["student"]["construction"] == "transformer+mean-pooling"
    assert built["training"]["max_seq_length"] == 16
    assert (out / "training_curves.png").stat().st_size > 1000
    assert not (out / "checkpoints").exists()
    assert '"status": "finished"' in capsys.readouterr().out


def test_same_seed_same_loss_trace(tiny_bert, pairs_file, dev_file, tmp_path):
    traces = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(_train_args(tiny_bert, pairs_file, dev_file, out)) == 0
        records = [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]
        traces.append([r["loss"] for r in records if "loss" in r])
    assert traces[0] == pytest.approx(traces[1], rel=1e-5)


def test_preset_then_explicit_options():
    args = build_parser().parse_args(["train", "x.tsv", "-o", "out", "--preset", "minilm-l2", "--lr", "3e-4"])
    config = _train_config(args)
    assert config.model == "sentence-transformers/all-MiniLM-L6-v2" and config.student_layers == 2
    assert config.learning_rate == 3e-4 and config.queue_size == 16384 and config.batch_size == 64
    paper = _train_config(build_parser().parse_args(["train", "x.tsv", "-o", "o", "--preset", "tiny"]))
    assert (paper.learning_rate, paper.queue_size, paper.reference_temperature, paper.online_temperature) == (
        5e-4, 131072, 0.03, 0.04,
    )  # fmt: skip
    assert paper.batch_size == 128 and paper.max_seq_length == 32 and paper.eval_steps == 64


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--online-temperature", "0"], "online temperature must be > 0"),
        (["--reference-temperature", "-1"], "reference temperature must be > 0"),
        (["-k", "4"], "queue size (4) must be >= batch size (8)"),
        (["--lr", "0"], "learning rate must be > 0"),
        (["--preset", "distill-tiny"], "is for `sct distill`"),
        (["--preset", "nope"], "unknown preset"),
    ],
)
def test_invalid_settings_fail_before_any_model_loads(
    tiny_bert, pairs_file, dev_file, tmp_path, monkeypatch, capsys, extra, message
):
    def no_model(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr("sct.models.load_student", no_model)
    assert main(_train_args(tiny_bert, pairs_file, dev_file, tmp_path / "run", *extra)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.incomplete").exists()


def test_malformed_training_file_names_the_line(tiny_bert, dev_file, tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("a b\tc d\njust one field\n")
    assert main(_train_args(tiny_bert, bad, dev_file, tmp_path / "run")) == 2
    assert f"{bad}:2: expected 2 tab-separated fields" in capsys.readouterr().err


def test_fewer_pairs_than_a_batch(tiny_bert, dev_file, tmp_path, capsys):
    small = tmp_path / "small.tsv"
    small.write_text("a\tb\nc\td\n")
    assert main(_train_args(tiny_bert, small, dev_file, tmp_path / "run")) == 2
    assert "fewer than one batch" in capsys.readouterr().err


def test_finished_run_is_not_overwritten_without_flag(tiny_bert, pairs_file, dev_file, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run_summary.json").write_text("{}")
    assert main(_train_args(tiny_bert, pairs_file, dev_file, out)) == 2
    assert "already holds a finished run" in capsys.readouterr().err


def test_interrupted_run_never_looks_finished_and_resumes(tiny_bert, pairs_file, dev_file, tmp_path, monkeypatch):
    import torch

    from sct.training import trainer as training

    out = tmp_path / "run"
    real_make = training.make_callbacks

    def crashing_callbacks(*args, **kwargs):
        callback = real_make(*args, **kwargs)
        original = callback.on_step_end

        def on_step_end(a, state, control, **kw):
            if state.global_step == 4:
                raise KeyboardInterrupt
            return original(a, state, control, **kw)

        callback.on_step_end = on_step_end
        return callback

    monkeypatch.setattr(training, "make_callbacks", crashing_callbacks)
    assert main(_train_args(tiny_bert, pairs_file, dev_file, out)) == 130
    work = tmp_path / "run.incomplete"
    assert not out.exists() and work.is_dir() and not (work / "run_summary.json").exists()
    saved = torch.load(work / "checkpoints" / "checkpoint-3" / "sct_loss_state.pt")
    assert int(saved["queue_1.pointer"]) == (3 * 8) % 32

    monkeypatch.setattr(training, "make_callbacks", real_make)
    assert main(_train_args(tiny_bert, pairs_file, dev_file, out)) == 2  # neither --resume nor --overwrite

    restored = {}
    real_load = training.latest_checkpoint

    def spy(work_dir, *args):
        checkpoint = real_load(work_dir, *args)
        restored["checkpoint"] = checkpoint
        return checkpoint

    monkeypatch.setattr(training, "latest_checkpoint", spy)
    assert main(["train", "--resume", str(out)]) == 0
    assert restored["checkpoint"].name == "checkpoint-3"
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["steps"] == 6
    steps = [json.loads(line)["step"] for line in (out / "training_log.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 6


def test_evaluate_reports_missing_data_root(tmp_path, capsys):
    assert main(["evaluate", "all-MiniLM-L6-v2", "--data-dir", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "nothing") in err and "no evaluation data found" in err


def test_evaluate_rejects_unknown_task(capsys):
    assert main(["evaluate", "all-MiniLM-L6-v2", "--tasks", "sts,bogus"]) == 2
    assert "unknown task 'bogus'" in capsys.readouterr().err


def test_every_subcommand_has_help(capsys):
    for command in ("train", "distill", "evaluate", "corpus", "presets", "models", "encode", "search"):
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0
    assert "usage: sct presets" in capsys.readouterr().out


def test_simcse_objective_is_in_batch_infonce_at_temperature_005(tiny_bert):
    import numpy as np
    import torch
    from scipy.special import logsumexp

    from sct.config import TrainConfig
    from sct.models import load_student
    from sct.training import build_loss

    from .conftest import make_sentences

    model, _ = load_student(tiny_bert)
    model.eval()  # no dropout: the two passes are reproducible here
    loss_fn = build_loss(TrainConfig(train_file="x", output_dir="y", objective="simcse"), model)
    first, second = make_sentences(4, 21), make_sentences(4, 22)
    with torch.no_grad():
        value = loss_fn([model.tokenize(first), model.tokenize(second)], None).item()
    a = model.encode(first, normalize_embeddings=True)
    b = model.encode(second, normalize_embeddings=True)
    logits = (a @ b.T) / 0.05
    log_softmax = logits - logsumexp(logits, axis=1, keepdims=True)
    expected = -np.mean(np.diag(log_softmax))  # cross-entropy with the matching sentence as the target
    assert value == pytest.approx(float(expected), rel=1e-4)


def test_train_with_simcse(tiny_bert, pairs_file, dev_file, tmp_path):
    out = tmp_path / "simcse"
    args = _train_args(tiny_bert, pairs_file, dev_file, out, "--objective", "simcse", "--keep-checkpoints")
    assert main(args) == 0
    built = json.loads((out / "sct_model.json").read_text())
    assert built["objective"] == "simcse" and built["training"]["loss"]["scale"] == 20.0
    assert not list((out / "checkpoints").glob("*/sct_loss_state.pt"))
