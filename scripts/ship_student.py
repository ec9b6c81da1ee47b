"""Commit a trained student under models/: float16 weights (half the bytes) that load as float32, its run record,
its scores measured on the shipped copy itself, and its model card.

  python scripts/ship_student.py RUN_DIR models/NAME [--data-dir DIR]

The copy keeps run_config.json and run_summary.json (the card and `sct report` read them), stores the weights in
float16 with config.json's dtype left at float32 (transformers casts on load, so CPU inference runs in float32),
then `sct evaluate` scores the copy on the seven STS tasks, which writes evaluation.json and refreshes the card.
Refuses to replace an existing models/NAME: a shipped student is replaced only deliberately (remove it first).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

KEPT = ("run_config.json", "run_summary.json", "training_log.jsonl", "training_curves.png", "sct_model.json")


def ship(run: Path, target: Path, data_dir: str | None) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    if target.exists():
        raise SystemExit(f"{target} exists: remove it first to replace the shipped student deliberately")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model = SentenceTransformer(str(run), device="cpu")
    model.save(str(partial))
    for name in KEPT:
        if (run / name).is_file():
            shutil.copy(run / name, partial / name)
    from safetensors.torch import load_file, save_file

    for weights in partial.rglob("*.safetensors"):  # storage in float16; config.json still says float32
        tensors = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in load_file(weights).items()}
        save_file(tensors, str(weights), metadata={"format": "pt"})
    config = json.loads((partial / "config.json").read_text())
    config["dtype"] = "float32"
    (partial / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    data = ["--data-dir", data_dir] if data_dir else []
    subprocess.run([sys.executable, "-m", "sct", "evaluate", str(partial), "--tasks", "sts",
                    "--label", target.name, *data], check=True)  # fmt: skip
    partial.rename(target)
    subprocess.run([sys.executable, "-m", "sct", "card", str(target)], check=True, stdout=subprocess.DEVNULL)
    print(f"shipped {run} -> {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    ship(args.run, args.target, args.data_dir)


if __name__ == "__main__":
    main()
