"""Where a number came from: the commit is marked dirty by changed code only, not by docs or benchmark results."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from sct import provenance


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_dirty_means_changed_code_not_changed_docs_or_results(tmp_path, monkeypatch):
    files = {"src/sct/a.py": "x = 1\n", "docs/page.md": "text\n", "benchmarks/results/speed.json": "{}\n",
             "benchmarks/speed.py": "y = 2\n"}  # fmt: skip
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    monkeypatch.setattr(provenance, "REPO_ROOT", tmp_path)
    assert provenance.git_commit() == head
    (tmp_path / "docs/page.md").write_text("edited\n")
    (tmp_path / "benchmarks/results/speed.json").write_text('{"a": 1}\n')
    assert provenance.git_commit() == head  # a results file written by a benchmark is not code
    (tmp_path / "benchmarks/speed.py").write_text("y = 3\n")
    assert provenance.git_commit() == head + "-dirty"
