"""Copy, evaluate and card the best student of each kind the study measured (picked by STS-B dev, never by test).

  python scripts/save_best.py runs/best

Each kind (self-supervised SCT, SCT distillation, any distillation loss) is copied to DIR/KIND, scored on
BEST_TASKS, its card refreshed, and the scores recorded in results/study/best_students.json, which
docs/reproduction.md's "best" block reads (scripts/reproduction.py renders it; this script only saves).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import reproduction  # scripts/reproduction.py: the study's results and where each row's model is
from reproduction import BEST, DISTILL, ROOT, STUDY

from sct.data import write_json_atomic
from sct.ownership import check_replaceable

BEST_TASKS = "sts,sicke,twitterpara"  # the "STS, TwitterPara and SICK-E where possible"


def _run_dir(data: dict, row: dict) -> Path:
    """Where `sct sweep runs` left a row's model: its --work-dir (default runs/compare) / the run's name."""
    words = shlex.split(data["command"])
    work = words[words.index("--work-dir") + 1] if "--work-dir" in words else "runs/compare"
    name = row["name"].removesuffix(": stage 1")
    return ROOT / work / (f"{name}.stage1" if row["name"].endswith(": stage 1") else name)


def best_rows() -> dict[str, tuple[dict, dict]]:
    """The best row of each kind by STS-B dev (the test average is not used to pick), ablations left out:
    self-supervised SCT, SCT distillation (L_CD + L_SCT), and any distillation loss; as (results JSON, row)."""
    sources = [reproduction._study(p.stem) for p in sorted(STUDY.glob("*.json")) if p != BEST]
    sources += [reproduction._load(DISTILL / "compare.json"), reproduction._load(DISTILL / "compare-600.json")]
    kinds: dict[str, tuple[dict, dict]] = {}
    for data in filter(None, sources):
        for row in reproduction._rows(data).values():
            loss = row.get("loss") or {}
            if loss.get("ablation", "none") != "none":  # an ablation is a finding, not a student to ship
                continue
            kind = None
            if row.get("objective") == "sct":
                kind = "sct"
            elif row.get("objective") == "distill":
                kind = "sct-distillation" if loss.get("method") == "cd" and loss.get("sct_weight", 0) > 0 else None
                best = kinds.get("distillation")
                if best is None or row["best_dev_spearman"] > best[1]["best_dev_spearman"]:
                    kinds["distillation"] = (data, row)
            if kind and (kind not in kinds or row["best_dev_spearman"] > kinds[kind][1]["best_dev_spearman"]):
                kinds[kind] = (data, row)
    return kinds


def save_best(target: Path) -> None:
    """Copy each kind's best model to TARGET/KIND, score it on BEST_TASKS, refresh its card, record the scores."""
    saved = (reproduction._load(BEST) or {}).get("students", {})
    for kind, (data, row) in best_rows().items():
        source, destination = _run_dir(data, row), target / kind
        if not (source / "model.safetensors").is_file():  # e.g. a fresh clone: results committed, weights not
            kept = "kept the recorded entry" if kind in saved else "nothing recorded"
            print(f"{kind}: {source} is not here (rerun its spec to rebuild the model); {kept}", file=sys.stderr)
            continue
        check_replaceable(destination)  # only a copy this script made before (a run's marker), never a user's folder
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(source, destination)
        for command in (["evaluate", str(destination), "--tasks", BEST_TASKS], ["card", str(destination)]):
            subprocess.run([sys.executable, "-m", "sct", *command], check=True)
        evaluation = json.loads((destination / "evaluation.json").read_text())  # sct evaluate must have written it
        saved[kind] = {
            "row": row["name"],
            "results": data["command"],
            "saved_to": str(destination),
            "evaluation": evaluation,
        }
    write_json_atomic(
        BEST, {"command": shlex.join(["python", "scripts/save_best.py", *sys.argv[1:]]), "students": saved}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", type=Path, metavar="DIR")
    save_best(parser.parse_args().target)


if __name__ == "__main__":
    main()
