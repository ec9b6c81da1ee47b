"""Data safety: one writer per output, --overwrite only over sct's own outputs, no output over an input, no NaN
stored, resume changes applied or refused, non-finite options refused, and every checkpoint file checked."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sct import run_dir
from sct.cli import main
from sct.data import parse_score, write_json_atomic
from sct.errors import DataError
from sct.ownership import exclusive_output
from tests.test_reliability import _args, _interrupt_at_step_6


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_second_writer_of_one_output_is_refused_naming_the_holder(tiny_bert, pairs_file, dev_file, tmp_path, capsys):
    out = tmp_path / "run"
    with exclusive_output(out):  # another process training into out (flock conflicts across open files)
        before = _snapshot(tmp_path)
        assert main([*_args(tiny_bert, pairs_file, dev_file, out), "--overwrite"]) == 2
        err = capsys.readouterr().err.strip()
        assert f"pid {os.getpid()}" in err and len(err.splitlines()) == 1
        assert _snapshot(tmp_path) == before
    assert not (tmp_path / ".run.lock").exists(), "the lock file goes with its holder"


def test_overwrite_refuses_a_directory_sct_did_not_make(tiny_bert, pairs_file, dev_file, tmp_path, capsys):
    mine = tmp_path / "d"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    assert main([*_args(tiny_bert, pairs_file, dev_file, mine), "--overwrite"]) == 2
    assert "thesis.txt" in capsys.readouterr().err
    assert (mine / "thesis.txt").read_text() == "years of work"
    stub = tmp_path / "e.incomplete"  # a foreign directory where an interrupted run would be
    stub.mkdir()
    (stub / "notes.md").write_text("mine")
    assert main([*_args(tiny_bert, pairs_file, dev_file, tmp_path / "e"), "--overwrite"]) == 2
    assert (stub / "notes.md").read_text() == "mine"


def test_a_file_named_like_sct_s_own_does_not_make_a_folder_sct_s(tiny_bert, pairs_file, dev_file, tmp_path, capsys):
    mine = tmp_path / "d"
    mine.mkdir()
    (mine / "run_config.json").write_text('{"my": "own settings"}')  # same name, not written by sct
    (mine / "data.csv").write_text("years of work")
    assert main([*_args(tiny_bert, pairs_file, dev_file, mine), "--overwrite"]) == 2
    assert "was not made by sct" in capsys.readouterr().err and (mine / "data.csv").is_file()


def test_overwrite_replaces_a_finished_run(tiny_bert, pairs_file, dev_file, tmp_path):
    out = tmp_path / "run"
    args = [*_args(tiny_bert, pairs_file, dev_file, out), "--max-steps", "2"]
    assert main(args) == 0
    assert (out / ".sct-output").is_file()
    assert main([*args, "--overwrite"]) == 0


def test_a_mistyped_model_with_overwrite_keeps_the_interrupted_run(
    tiny_bert, pairs_file, dev_file, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "run"
    work = _interrupt_at_step_6(tiny_bert, pairs_file, dev_file, out, monkeypatch)
    before = _snapshot(work)
    args = _args(str(tmp_path / "no-such-model"), pairs_file, dev_file, out)
    assert main([*args, "--overwrite"]) == 2  # the model is resolved before --overwrite removes anything
    assert "no-such-model" in capsys.readouterr().err and _snapshot(work) == before


def test_an_empty_teacher_folder_and_too_many_layers_fail_before_any_work(
    tiny_bert, pairs_file, dev_file, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "run"
    work = _interrupt_at_step_6(tiny_bert, pairs_file, dev_file, out, monkeypatch)
    before = _snapshot(tmp_path)
    capsys.readouterr()
    empty = tmp_path / "empty-teacher"
    empty.mkdir()
    distill = ["distill", str(pairs_file), "-o", str(out), "--model", tiny_bert, "--teacher", str(empty),
               "--dev-file", str(dev_file), "--overwrite"]  # fmt: skip
    assert main(distill) == 2
    assert "holds no config.json or modules.json" in capsys.readouterr().err
    assert main([*_args(tiny_bert, pairs_file, dev_file, out), "--student-layers", "99", "--overwrite"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--student-layers must be between 1 and 2" in err and len(err.splitlines()) == 1
    assert _snapshot(tmp_path) == before and work.is_dir()  # the interrupted run is still there


@pytest.mark.parametrize("where", ["output", "work"])
def test_overwrite_refuses_to_delete_the_run_s_own_input(tiny_bert, pairs_file, dev_file, tmp_path, where, capsys):
    out = tmp_path / "run"
    assert main([*_args(tiny_bert, pairs_file, dev_file, out), "--max-steps", "2"]) == 0
    folder = out if where == "output" else out.with_name("run.incomplete")
    folder.mkdir(exist_ok=True)
    (folder / ".sct-output").write_text((out / ".sct-output").read_text())  # a folder sct made
    train_file = folder / "pairs.tsv"
    train_file.write_bytes(pairs_file.read_bytes())
    before = _snapshot(tmp_path)
    capsys.readouterr()
    assert main([*_args(tiny_bert, train_file, dev_file, out), "--max-steps", "2", "--overwrite"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--train-file {train_file} is inside {folder}, which --overwrite would delete" in err
    assert len(err.splitlines()) == 1 and _snapshot(tmp_path) == before


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_no_command_writes_over_its_own_input(tmp_path, link, capsys):
    source = tmp_path / "sentences.txt"
    source.write_text("".join(f"a sentence number {i} here\n" for i in range(20)))
    output = {"same": source, "symlink": tmp_path / "alias.txt", "hardlink": tmp_path / "hard.txt"}[link]
    if link == "symlink":
        output.symlink_to(source)
    elif link == "hardlink":
        os.link(source, output)
    before = source.read_bytes()
    views = ["views", str(source), "--method", "dropout", "-o", str(output)]
    corpus = ["corpus", "--input", str(source), "--max-samples", "10", "--no-leakage-guard", "-o", str(output)]
    for argv in (views, corpus):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert "is the input" in err and len(err.splitlines()) == 1
        assert source.read_bytes() == before


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_finite_gold_score_reads_back_exactly(value):
    assert parse_score(Path("g.txt"), 1, repr(value)) == value


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity"])
def test_a_non_finite_gold_score_is_a_file_line_error(text):
    with pytest.raises(DataError, match=r"STS\.gs\.txt:7: expected a finite gold score"):
        parse_score(Path("STS.gs.txt"), 7, text)


def test_json_with_nan_is_never_written_and_the_old_file_stays(tmp_path):
    path = tmp_path / "evaluation.json"
    write_json_atomic(path, {"avg": 70.0})
    with pytest.raises(ValueError, match="non-finite"):
        write_json_atomic(path, {"avg": math.nan})
    assert json.loads(path.read_text()) == {"avg": 70.0} and not list(tmp_path.glob("*.tmp"))


def test_evaluate_refuses_to_store_a_non_finite_score(tmp_path, monkeypatch, capsys):
    from sct.evaluation import suite

    run = tmp_path / "run"
    run.mkdir()
    (run / "run_config.json").write_text("{}")
    (run / "evaluation.json").write_text(json.dumps({"tasks": {"STS12": {"spearman": 60.0}}, "avg": 60.0}))
    before = _snapshot(tmp_path)

    class Model:
        max_seq_length = 16

        def parameters(self):
            return []

        def eval(self):
            return self

    monkeypatch.setattr("sct.models.load_student", lambda *a, **k: (Model(), type("I", (), {"to_dict": dict})()))
    monkeypatch.setattr(suite, "run_tasks", lambda *a, **k: {"tasks": {"STS12": {"spearman": math.nan}},
                        "avg": math.nan, "downstream": {}, "skipped": {}, "failed": {}})  # fmt: skip
    monkeypatch.setattr("sct.data.find_data_root", lambda *a: None)
    monkeypatch.setattr(suite, "check_sts_data", lambda *a: None)
    code = main(["evaluate", str(run), "--tasks", "sts", "--output-json", str(tmp_path / "out.json")])
    assert code == 2 and "non-finite score at tasks.STS12.spearman" in capsys.readouterr().err
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("option", ["--learning-rate", "--online-temperature", "--weight-decay"])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_non_finite_option_is_one_line_before_any_work(tiny_bert, pairs_file, dev_file, tmp_path, capsys, option,
                                                         value):  # fmt: skip
    out = tmp_path / "run"
    assert main([*_args(tiny_bert, pairs_file, dev_file, out), option, value]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{option} must be a finite number" in err and len(err.splitlines()) == 1
    assert not out.exists() and not (tmp_path / "run.incomplete").exists()


def test_resume_applies_length_interval_and_learning_rate_changes_records_them_and_refuses_the_rest(
    tiny_bert, pairs_file, dev_file, tmp_path, capsys, monkeypatch
):
    import shutil

    out = tmp_path / "run"
    work = _interrupt_at_step_6(tiny_bert, pairs_file, dev_file, out, monkeypatch)
    shutil.copytree(work, tmp_path / "same.incomplete")  # resumed with the old learning rate, for comparison
    capsys.readouterr()
    before = _snapshot(work)
    assert main(["train", "--resume", str(out), "--online-temperature", "0.5", "--max-steps", "12"]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot change --online-temperature on --resume" in err and len(err.splitlines()) == 1
    assert _snapshot(work) == before
    changes = ["--max-steps", "12", "--eval-steps", "3"]
    assert main(["train", "--resume", str(out), *changes, "--learning-rate", "1e-4"]) == 0
    assert main(["train", "--resume", str(tmp_path / "same"), *changes]) == 0
    assert json.loads((out / "run_summary.json").read_text())["steps"] == 12
    recorded = json.loads((out / "run_config.json").read_text())["resume_changes"]
    assert recorded == [{"step": 6, "changed": {"max_steps": [10, 12], "eval_steps": [2, 3],
                                                 "learning_rate": [5e-4, 1e-4]}}]  # fmt: skip
    log = [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "dev_spearman" in r and r["step"] > 6] == [9, 12]  # every 3 steps now
    same = {r["step"]: r["lr"] for r in map(json.loads, (tmp_path / "same" / "training_log.jsonl").open()) if "lr" in r}
    for record in (r for r in log if "lr" in r and r["step"] > 6):  # the remaining schedule at a fifth of the peak
        assert record["lr"] == pytest.approx(same[record["step"]] / 5, rel=1e-6)


def test_a_truncated_optimizer_state_is_skipped_like_truncated_weights(tiny_bert, pairs_file, dev_file, tmp_path,
                                                                       monkeypatch, caplog):  # fmt: skip
    out = tmp_path / "run"
    newest = _interrupt_at_step_6(tiny_bert, pairs_file, dev_file, out, monkeypatch) / "checkpoints" / "checkpoint-6"
    optimizer = newest / "optimizer.pt"
    optimizer.write_bytes(optimizer.read_bytes()[:200])
    assert "optimizer.pt unreadable" in run_dir.checkpoint_problem(newest)
    with caplog.at_level("WARNING", logger="sct.training"):
        assert main(["train", "--resume", str(out)]) == 0
    assert "checkpoint-6 cannot be resumed from: optimizer.pt unreadable" in caplog.text


@pytest.mark.parametrize("damage", ["module folder", "module config", "tokenizer", "clock"])
def test_every_part_a_resume_loads_is_checked(tiny_bert, pairs_file, dev_file, tmp_path, monkeypatch, damage):
    import shutil

    newest = _interrupt_at_step_6(tiny_bert, pairs_file, dev_file, tmp_path / "run", monkeypatch)
    newest = newest / "checkpoints" / "checkpoint-6"
    assert run_dir.checkpoint_problem(newest) is None
    if damage == "module folder":
        shutil.rmtree(newest / "1_Pooling")
    elif damage == "module config":
        (newest / "1_Pooling" / "config.json").write_text('{"word_embedding_dimension": 3')
    elif damage == "tokenizer":
        tokenizer = newest / "tokenizer.json"
        tokenizer.write_bytes(tokenizer.read_bytes()[:100])
    else:
        (newest / "sct_clock.json").unlink()
    expected = {"module folder": "module folder 1_Pooling missing", "module config": "1_Pooling/config.json unreadable",
                "tokenizer": "tokenizer.json unreadable", "clock": "no sct_clock.json"}[damage]  # fmt: skip
    assert expected in run_dir.checkpoint_problem(newest)


def test_a_run_that_fails_before_its_first_step_leaves_no_stub(tiny_bert, pairs_file, dev_file, tmp_path, capsys):
    out = tmp_path / "run"
    bad = _args(tiny_bert, pairs_file, dev_file, out)
    bad[bad.index("--model") + 1] = str(tmp_path / "no-such-model")
    assert main(bad) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "run.incomplete").exists() and not out.exists()
    assert main([*_args(tiny_bert, pairs_file, dev_file, out), "--max-steps", "2"]) == 0, "no --overwrite needed"


def test_a_copied_interrupted_run_resumes_itself(tiny_bert, pairs_file, dev_file, tmp_path, monkeypatch):
    import shutil

    _interrupt_at_step_6(tiny_bert, pairs_file, dev_file, tmp_path / "run", monkeypatch)
    shutil.copytree(tmp_path / "run.incomplete", tmp_path / "copy.incomplete")
    original = _snapshot(tmp_path / "run.incomplete")
    shutil.rmtree(tmp_path / "run.incomplete" / "checkpoints" / "checkpoint-6")  # the copy must not need it
    original = _snapshot(tmp_path / "run.incomplete")
    assert main(["train", "--resume", str(tmp_path / "copy")]) == 0
    summary = json.loads((tmp_path / "copy" / "run_summary.json").read_text())
    assert summary["best_step"] is not None and summary["steps"] == 10  # its own best checkpoint, not the original's
    assert _snapshot(tmp_path / "run.incomplete") == original, "the original run is left as it was"


def test_a_byte_order_mark_is_not_text_and_a_directory_or_fifo_is_named(tmp_path):
    from sct.data import read_pairs, read_sentences

    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffA first sentence here.\nA second one.\n".encode())
    assert read_sentences(path)[0] == "A first sentence here."
    with pytest.raises(DataError, match="is a directory, expected a text file"):
        read_pairs(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="not a regular file"):
        read_sentences(fifo)


def test_the_sts_table_has_no_average_column_for_one_task():
    from sct.evaluation.sts import format_sts_table

    table = format_sts_table([("m", {"tasks": {"STS-B": {"spearman": 80.0}}, "avg": 80.0})])
    assert table.splitlines()[0] == "| model | STS-B |" and "Avg." not in table
    two = format_sts_table([("m", {"tasks": {"STS12": {"spearman": 1.0}, "STS-B": {"spearman": 3.0}}, "avg": 2.0})])
    assert two.splitlines()[0] == "| model | STS12 | STS-B | Avg. |"
    assert two.splitlines()[2] == "| m | 1.00 | 3.00 | 2.00 |"


def test_ctrl_c_in_views_stops_within_seconds_and_keeps_finished_chunks(tmp_path):
    import threading
    import time

    from sct import views
    from sct.views.cache import TranslationCache

    class Slow:  # one second per sentence unless stopped: the whole input would take 40 s
        name = "slow-test-engine"

        def translate(self, chunk):
            out = []
            for sentence in chunk:
                if views.STOP.is_set():
                    raise KeyboardInterrupt
                if sentence != "s0":
                    time.sleep(1.0)
                out.append(sentence.upper())
            return out

    sentences = [f"s{i}" for i in range(40)]
    views.STOP.clear()
    threading.Timer(0.5, lambda: views.STOP.set()).start()  # what a Ctrl-C in the main thread amounts to
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        views._run_engine(Slow(), sentences, tmp_path, workers=1, chunk_size=1, label="view1")
    assert time.monotonic() - started < 3, "stopped within a few seconds, not after every queued chunk"
    cache = TranslationCache(tmp_path, "slow-test-engine")
    assert cache.get_many(["s0"]) == {"s0": "S0"}, "the chunk that finished before the stop is cached"
    cache.close()
    views.STOP.clear()
