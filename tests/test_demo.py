"""`make demo` end to end on a tiny random model: the table, the timings, the search example, the snippet, the card."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_runs_end_to_end_and_hands_over_a_card_that_matches_its_files(tiny_bert, tmp_path):
    from sct.data import find_data_root
    from sct.errors import SCTError

    try:
        find_data_root()
    except SCTError:
        pytest.skip("no data root here (the demo reads the corpus and the SentEval STS files)")
    run = tmp_path / "runs" / "demo"
    env = {**os.environ, "DEMO_MODEL": tiny_bert, "DEMO_LAYERS": "2", "DEMO_SAMPLES": "300", "DEMO_STEPS": "4",
           "DEMO_TRAIN_ARGS": "--queue-size 64 --batch-size 16 --eval-steps 2", "SCT": f"{sys.executable} -m sct",
           "PY": sys.executable}  # fmt: skip
    done = subprocess.run(["bash", "scripts/demo.sh", str(run)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "| before (" in out and "| after (SCT, 4 steps) |" in out and "| difference |" in out
    assert re.search(r"time per stage .*\n(  .+\d+ s\n){5}  total +\d+ s", out)  # five stages and the total
    assert out.count('query: "') == 3 and "untrained student" in out and "trained student" in out
    assert f'model = SentenceTransformer("{run}")' in out  # the three lines that use it
    card = (run / "README.md").read_text()
    section = card[card.index("<!-- sct-card:begin -->") : card.index("<!-- sct-card:end -->")]
    assert "Not evaluated yet" not in section and "| model | STS12 |" in section
    assert "None" not in section and ".incomplete" not in section
    loaded = re.search(r'SentenceTransformer\("([^"]+)"\)', section).group(1)
    assert Path(loaded) == run and (run / "model.safetensors").is_file()
    assert re.search(r"\*\*Speed on CPU\*\*: torch float32 [\d,]+ sentences/s; ONNX float32", section)
    assert not Path(f"{run}.incomplete").exists()
