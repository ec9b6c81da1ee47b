"""`sct distill` end to end: a 32-d student, a 48-d teacher with its own tokenizer, every loss and recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sct.cli import main


def _distill_args(student, teacher, pairs_file, dev_file, out, cache, *extra):
    return [
        "distill", str(pairs_file), "-o", str(out), "--model", student, "--teacher", teacher,
        "--teacher-cache", str(cache), "--batch-size", "8", "-k", "32", "--max-steps", "4", "--eval-steps", "2",
        "--logging-steps", "1", "--max-seq-length", "16", "--dev-file", str(dev_file), "--seed", "7", *extra,
    ]  # fmt: skip


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]


def test_joint_sct_plus_cd_saves_a_projected_student(tiny_bert, tiny_teacher, pairs_file, dev_file, tmp_path):
    from sentence_transformers import SentenceTransformer

    out, cache = tmp_path / "run", tmp_path / "cache"
    assert main(_distill_args(tiny_bert, tiny_teacher, pairs_file, dev_file, out, cache)) == 0
    model = SentenceTransformer(str(out))
    assert model.encode(["a dog is running ."]).shape == (1, 48), "the student ends in Dense(32 -> 48)"
    assert type(model[-1]).__name__ == "Dense"
    built = json.loads((out / "sct_model.json").read_text())
    assert built["projection"] == {"activation": "tanh", "in_features": 32, "module": "Dense", "out_features": 48}
    assert built["training"]["loss"]["method"] == "cd" and built["training"]["loss"]["sct_weight"] == 1.0
    losses = [r for r in _records(out) if "loss" in r]
    assert losses and all("loss_cd" in r and "loss_sct" in r for r in losses)
    assert all(r["loss"] == pytest.approx(r["loss_cd"] + r["loss_sct"], rel=1e-3) for r in losses)
    config = json.loads((out / "run_config.json").read_text())
    assert config["teacher_cache"]["manifest"]["rows"] == 96 and config["teacher_cache"]["manifest"]["dim"] == 48


def test_table6_ablation_is_an_option_of_the_joint_run(tiny_bert, tiny_teacher, pairs_file, dev_file, tmp_path):
    out = tmp_path / "run"
    args = _distill_args(tiny_bert, tiny_teacher, pairs_file, dev_file, out, tmp_path / "cache")
    assert main([*args, "--ablation", "momentum-reference"]) == 0
    assert json.loads((out / "sct_model.json").read_text())["training"]["loss"]["ablation"] == "momentum-reference"
    assert json.loads((out / "run_config.json").read_text())["config"]["ablation"] == "momentum-reference"


@pytest.mark.parametrize(("loss", "sct_weight"), [("mse", "0"), ("congen", "0"), ("ckd", "1"), ("cd", "0")])
def test_every_distillation_loss_alone_or_with_sct(
    tiny_bert, tiny_teacher, pairs_file, dev_file, tmp_path, loss, sct_weight
):
    out = tmp_path / "run"
    args = _distill_args(tiny_bert, tiny_teacher, pairs_file, dev_file, out, tmp_path / "cache")
    assert main([*args, "--distill-loss", loss, "--sct-weight", sct_weight]) == 0
    logged = [r for r in _records(out) if "loss" in r]
    assert all(f"loss_{loss}" in r for r in logged)
    assert all(("loss_sct" in r) == (sct_weight != "0") for r in logged)


def test_cache_is_reused_and_one_changed_sentence_makes_a_new_entry(
    tiny_bert, tiny_teacher, pairs_file, dev_file, tmp_path
):
    cache = tmp_path / "cache"
    for name in ("first", "second"):
        assert main(_distill_args(tiny_bert, tiny_teacher, pairs_file, dev_file, tmp_path / name, cache)) == 0
    entries = sorted(p.parent for p in cache.glob("*/manifest.json"))
    assert len(entries) == 1, "the second run used the first run's teacher embeddings"

    lines = pairs_file.read_text().splitlines()
    lines[5] = "a changed sentence about a cat .\t" + lines[5].split("\t")[1]
    pairs_file.write_text("\n".join(lines) + "\n")
    assert main(_distill_args(tiny_bert, tiny_teacher, pairs_file, dev_file, tmp_path / "third", cache)) == 0
    assert len(list(cache.glob("*/manifest.json"))) == 2
    third = json.loads((tmp_path / "third" / "run_config.json").read_text())["teacher_cache"]["directory"]
    assert Path(third) not in entries


def test_two_stage_recipe(tiny_bert, tiny_teacher, pairs_file, dev_file, tmp_path):
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "run"
    args = _distill_args(tiny_bert, tiny_teacher, pairs_file, dev_file, out, tmp_path / "cache")
    assert main([*args, "--recipe", "two-stage", "--ablation", "no-head"]) == 0
    stage_1 = tmp_path / "run.stage1"
    stage_1_built = json.loads((stage_1 / "sct_model.json").read_text())
    assert stage_1_built["objective"] == "sct"
    # no-head shapes the self-supervised stage; L_CD alone (stage 2) has no head to remove
    assert stage_1_built["training"]["loss"]["ablation"] == "no-head"
    assert json.loads((out / "sct_model.json").read_text())["training"]["loss"]["ablation"] == "none"
    assert SentenceTransformer(str(stage_1)).encode(["a dog ."]).shape == (1, 32)
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["stage_1"]["output_dir"] == str(stage_1)
    config = json.loads((out / "run_config.json").read_text())["config"]
    assert config["model"] == str(stage_1) and config["sct_weight"] == 0.0
    assert all("loss_sct" not in r for r in _records(out))
    assert SentenceTransformer(str(out)).encode(["a dog ."]).shape == (1, 48)


def test_unresolvable_teacher_names_the_install_command(tiny_bert, pairs_file, dev_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SCT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    args = _distill_args(
        tiny_bert, "sentence-transformers/all-mpnet-base-v2", pairs_file, dev_file, tmp_path / "r", tmp_path / "c"
    )
    assert main(args) == 2
    assert "sct models install all-mpnet-base-v2" in capsys.readouterr().err


def test_unwritable_cache_fails_before_any_model_loads(tiny_bert, pairs_file, dev_file, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    args = _distill_args("/does/not/exist", "/nor/this", pairs_file, dev_file, tmp_path / "r", blocker / "cache")
    assert main(args) == 2
    assert "is not writable" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sct-weight", "-1"], "SCT weight must be >= 0"),
        (["--distill-weight", "0"], "distill weight must be > 0"),
        (["--ckd-temperature", "0"], "CKD temperature must be > 0"),
        (["--sct-weight", "0", "--ablation", "no-head"], "ablation no-head acts on L_SCT"),
    ],
)
def test_bad_distillation_settings(tiny_bert, tiny_teacher, pairs_file, dev_file, tmp_path, capsys, extra, message):
    args = _distill_args(tiny_bert, tiny_teacher, pairs_file, dev_file, tmp_path / "r", tmp_path / "c")
    assert main([*args, *extra]) == 2
    assert message in capsys.readouterr().err


def test_distill_needs_a_teacher(tiny_bert, pairs_file, dev_file, tmp_path, capsys):
    args = _distill_args(tiny_bert, "x", pairs_file, dev_file, tmp_path / "r", tmp_path / "c")
    args.remove("--teacher")
    args.remove("x")
    assert main(args) == 2
    assert "no teacher" in capsys.readouterr().err


def test_loss_state_holds_heads_and_all_queues_but_not_the_encoder(tiny_bert):
    import numpy as np
    import torch

    from sct.losses import DistillationLoss
    from sct.models import load_student
    from sct.teacher import TeacherEmbeddings

    model, _ = load_student(tiny_bert)
    teacher = TeacherEmbeddings(np.zeros((2, 32), dtype=np.float32), np.array([[0, 1]]), Path("."), {})
    loss = DistillationLoss(model, teacher, method="cd", sct_weight=1.0, queue_size=8)
    keys = set(loss.loss_state_dict())
    assert {"teacher_queue_1.embeddings", "teacher_queue_2.pointer", "sct.queue_1.embeddings"} <= keys
    assert any(k.startswith("sct.head.") for k in keys)
    assert not any("model." in k for k in keys)
    restored = DistillationLoss(model, teacher, method="cd", sct_weight=1.0, queue_size=8, seed=5)
    restored.load_loss_state_dict(loss.loss_state_dict())
    assert all(torch.equal(restored.loss_state_dict()[k], v) for k, v in loss.loss_state_dict().items())


def test_two_stage_interrupted_in_stage_1_resumes_the_whole_recipe(
    tiny_bert, tiny_teacher, pairs_file, dev_file, tmp_path, monkeypatch
):
    from sct.training import trainer as training

    out = tmp_path / "run"
    real_make = training.make_callbacks

    def crashing_callbacks(*args, **kwargs):
        callback = real_make(*args, **kwargs)

        def on_step_end(a, state, control, **kw):
            if state.global_step == 3:
                raise KeyboardInterrupt

        callback.on_step_end = on_step_end
        return callback

    monkeypatch.setattr(training, "make_callbacks", crashing_callbacks)
    args = _distill_args(tiny_bert, tiny_teacher, pairs_file, dev_file, out, tmp_path / "cache")
    assert main([*args, "--recipe", "two-stage"]) == 130
    assert (tmp_path / "run.stage1.incomplete").is_dir() and not (tmp_path / "run.stage1").exists()

    monkeypatch.setattr(training, "make_callbacks", real_make)
    assert main(["distill", "--resume", str(out)]) == 0
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["stage_1"]["steps"] == 4 and summary["steps"] == 4
    assert json.loads((out / "run_config.json").read_text())["config"]["model"] == str(tmp_path / "run.stage1")


def test_resume_without_an_interrupted_run_is_refused(tmp_path, capsys):
    assert main(["distill", "--resume", str(tmp_path / "nothing")]) == 2
    assert "cannot resume" in capsys.readouterr().err


def test_a_second_two_stage_run_into_one_output_is_refused_between_its_stages(
    tiny_bert, tiny_teacher, pairs_file, dev_file, tmp_path, capsys
):
    import os

    from sct.ownership import exclusive_output

    out = tmp_path / "run"
    args = _distill_args(tiny_bert, tiny_teacher, pairs_file, dev_file, out, tmp_path / "cache")
    with exclusive_output(tmp_path / "run.two-stage"):  # a two-stage run holds it for both stages and the summary
        assert main([*args, "--recipe", "two-stage"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"two-stage run {out} is being written by another sct process (pid {os.getpid()})" in err
    assert not (tmp_path / "run.stage1").exists() and not out.exists()
