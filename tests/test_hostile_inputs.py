"""Every command on one shared set of bad files: exit status 2, one line on stderr naming the file (and the line
where there is one), no traceback, and every file that existed before byte-identical afterwards."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sct.cli import main
from tests.test_ownership import _snapshot

BAD_FILES = {  # name -> (bytes, or None for a directory; what the message must say besides the path)
    "empty.txt": (b"", None),
    "latin1.txt": (b"a fine\tfirst line\ncaf\xe9\tau lait\n", ":2: not valid UTF-8"),
    "three-fields.tsv": (b"a\tb\n\na\tb\tc\n", None),
    "nul.txt": (b"one line\x00 with a NUL\n", None),
    "a-directory": (None, "is a directory"),
    "missing.txt": ("absent", "file not found"),
}


def _make(root: Path, name: str) -> Path:
    path = root / name
    content, _ = BAD_FILES[name]
    if content is None:
        path.mkdir()
        (path / "inside.txt").write_text("x\n")
    elif content != "absent":
        path.write_bytes(content)
    return path


def _commands(path: Path, out: Path, model: str, dev: Path) -> dict[str, list[str]]:
    return {
        "train": ["train", str(path), "-o", str(out / "run"), "--model", model, "--dev-file", str(dev),
                  "--batch-size", "2", "-k", "4", "--max-steps", "1"],
        "train --views identical": ["train", str(path), "--views", "identical", "-o", str(out / "run2"), "--model",
                                    model, "--dev-file", str(dev), "--batch-size", "2", "-k", "4", "--max-steps", "1"],
        "views": ["views", str(path), "--method", "dropout", "-o", str(out / "pairs.tsv")],
        "corpus": ["corpus", "--input", str(path), "--no-leakage-guard", "-o", str(out / "sentences.txt")],
        "encode": ["encode", model, "--input", str(path), "--output", str(out / "e.npy")],
        "search": ["search", model, "--corpus", str(path), "--query", "a query"],
        "distill": ["distill", str(path), "-o", str(out / "run3"), "--model", model, "--teacher", model,
                    "--dev-file", str(dev), "--batch-size", "2", "-k", "4", "--max-steps", "1"],
        "evaluate --baseline-json": ["evaluate", model, "--tasks", "sts", "--baseline-json", str(path)],
        "report": ["report", str(path)],
    }  # fmt: skip


JSON_READERS = ("evaluate --baseline-json", "report")  # their messages are JSON's, not the text readers'


@pytest.mark.parametrize("bad", list(BAD_FILES))
@pytest.mark.parametrize("command", ["train", "train --views identical", "views", "corpus", "encode", "search",
                                     "distill", *JSON_READERS])  # fmt: skip
def test_a_bad_file_is_one_line_naming_it_and_nothing_changes(tiny_bert, dev_file, tmp_path, capsys, bad, command):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    out.mkdir()
    path = _make(inputs, bad)
    argv = _commands(path, out, tiny_bert, dev_file)[command]
    if bad == "three-fields.tsv" and command not in ("train", "distill", *JSON_READERS):
        pytest.skip("three tab-separated fields are a fine sentence for commands that read sentences")
    before = _snapshot(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, (command, bad, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert str(path) in err, err
    expected = BAD_FILES[bad][1] if command not in JSON_READERS else None
    if expected:
        assert expected in err, err
    assert _snapshot(tmp_path) == before, "nothing written, nothing removed"
    assert not any(name.endswith((".tmp", ".partial")) for name in os.listdir(out))


def test_encode_into_a_missing_folder_or_a_full_disk_is_one_line_and_leaves_nothing(tiny_bert, tmp_path, capsys,
                                                                                     monkeypatch):  # fmt: skip
    import numpy as np

    source = tmp_path / "s.txt"
    source.write_text("one sentence\nanother one\n")
    assert main(["encode", tiny_bert, "--input", str(source), "--output", str(tmp_path / "no" / "e.npy")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    assert main(["encode", tiny_bert, "--input", str(source), "--output", str(tmp_path / "e.npy")]) == 2
    assert "No space left on device" in capsys.readouterr().err.strip().splitlines()[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.txt"], "no e.npy, no e.npy.tmp"


@pytest.mark.parametrize("array", ["1-d", "rows", "nan", "width"])
def test_bad_corpus_embeddings_are_one_line(tiny_bert, tmp_path, capsys, array):
    import numpy as np

    corpus = tmp_path / "c.txt"
    corpus.write_text("first sentence\nsecond sentence\nthird one\n")
    good = np.ones((3, 32), dtype=np.float32)
    bad = {"1-d": np.ones(3), "rows": good[:2], "nan": np.where(np.arange(3)[:, None] == 1, np.nan, good),
           "width": np.ones((3, 7), dtype=np.float32)}[array]  # fmt: skip
    np.save(tmp_path / "e.npy", bad)
    code = main(["search", tiny_bert, "--corpus", str(corpus), "--query", "q", "--corpus-embeddings",
                 str(tmp_path / "e.npy")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "Traceback" not in err[-1]
    assert {"1-d": "expected a 2-D array", "rows": "2 rows for the 3 sentences", "nan": "row 1 holds NaN",
            "width": "7-d but the model gives"}[array] in err[-1]  # fmt: skip


def test_a_huge_queue_and_a_broken_run_config_are_one_line(tiny_bert, pairs_file, dev_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(pairs_file), "-o", str(out), "--model", tiny_bert, "-k", "100000000000"]) == 2
    assert "queue size must be <=" in capsys.readouterr().err
    work = tmp_path / "broken.incomplete"
    work.mkdir()
    (work / "run_config.json").write_text("{not json")
    assert main(["train", "--resume", str(tmp_path / "broken")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run_config.json is unreadable" in err[0]


def test_an_output_under_a_file_is_one_line(tiny_bert, pairs_file, dev_file, tmp_path, capsys):
    (tmp_path / "afile").write_text("mine\n")
    args = ["train", str(pairs_file), "-o", str(tmp_path / "afile" / "run"), "--model", tiny_bert, "--dev-file",
            str(dev_file), "--batch-size", "2", "-k", "4", "--max-steps", "1"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a file, so the output cannot be made under it" in err[0]
    assert (tmp_path / "afile").read_text() == "mine\n"


@pytest.mark.parametrize("command", ["views", "corpus", "encode"])
def test_an_existing_output_file_is_kept_unless_overwrite_and_a_folder_is_named(tiny_bert, tmp_path, capsys,
                                                                                command):  # fmt: skip
    source = tmp_path / "s.txt"
    source.write_text("one sentence here\nanother sentence there\n")
    out = tmp_path / ("e.npy" if command == "encode" else "mine.txt")
    out.write_bytes(b"the user's own file\n")
    argv = _commands(source, tmp_path, tiny_bert, source)[command]
    argv[argv.index(str(tmp_path / {"views": "pairs.tsv", "corpus": "sentences.txt", "encode": "e.npy"}[command]))] = (
        str(out)
    )
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{out} already exists; pass --overwrite to replace it" in err[0], err
    assert out.read_bytes() == b"the user's own file\n"
    assert main([*argv, "--overwrite"]) == 0
    assert out.read_bytes() != b"the user's own file\n"
    if command != "encode":  # encode's folder message is tested with its .npy name check
        folder = tmp_path / "a-folder"
        folder.mkdir()
        argv[argv.index(str(out))] = str(folder)
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{folder} is a directory, expected a file name" in err[0], err


def test_a_run_output_that_is_an_existing_file_is_named_as_a_file(tiny_bert, pairs_file, dev_file, tmp_path, capsys):
    (tmp_path / "afile").write_text("mine\n")
    args = ["train", str(pairs_file), "-o", str(tmp_path / "afile"), "--model", tiny_bert, "--dev-file",
            str(dev_file), "--batch-size", "2", "-k", "4", "--max-steps", "1", "--overwrite"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is an existing file; a run is written as a directory" in err[0], err
    assert (tmp_path / "afile").read_text() == "mine\n"


def test_argument_errors_and_outputs_over_inputs_are_one_line(tiny_bert, tmp_path, capsys):
    import json

    baseline = tmp_path / "before.json"
    baseline.write_text(json.dumps({"tasks": {}, "avg": None}))
    run = tmp_path / "run"
    run.mkdir()
    (run / "evaluation.json").write_text(json.dumps({"tasks": {}}))
    before = _snapshot(tmp_path)
    cases = {
        ("train", "x.tsv", "-o", str(tmp_path / "o"), "--queue-size", "1e11"): "invalid int value: '1e11'",
        ("evaluate", tiny_bert, "--baseline-json", str(baseline), "--output-json", str(baseline)): "is the input",
        ("report", str(run), "-o", str(run / "evaluation.json")): "is a file of the input",
        ("report", str(run), "--json", str(run / "evaluation.json")): "is a file of the input",
    }
    for argv, message in cases.items():
        assert _exit_status(list(argv)) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err, (argv, err)
    assert _snapshot(tmp_path) == before


def _exit_status(argv: list[str]) -> int:
    """What `sct ARGV` exits with: argparse's errors raise SystemExit, the commands' return the status."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)
