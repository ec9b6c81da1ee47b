"""Where Apertium's time goes: wall and CPU seconds of each translation direction, and of each stage.

  .venv/bin/python benchmarks/apertium_stages.py [--sentences 10000]

Explains the throughput ceiling of the `bt` views on a small machine: every mode is a pipeline of
processes that already keeps about two cores busy, so two round trips cannot overlap on two cores.
Writes benchmarks/results/apertium_stages.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import time
from pathlib import Path

from sct.corpus import select_sentences
from sct.data import find_data_root
from sct.provenance import environment

ROOT = Path(__file__).resolve().parents[1]
MODES = Path("/usr/share/apertium/modes")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str] | str, data: bytes, shell: bool = False) -> tuple[bytes, float, float]:
    cpu, started = _children_cpu(), time.perf_counter()
    out = subprocess.run(command, input=data, capture_output=True, shell=shell, check=True).stdout
    return out, time.perf_counter() - started, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=10000)
    args = parser.parse_args()
    sentences, _ = select_sentences(find_data_root().corpus, domains={"caption", "nli"}, min_words=3, max_words=64,
                                    max_samples=args.sentences, seed=7, guard_root=None)  # fmt: skip
    text = ("\n\n".join(sentences) + "\n").encode()
    directions, stages = [], []
    outputs = {"eng": text}
    for forward, backward in (("eng-spa", "spa-eng"), ("eng-cat", "cat-eng")):
        for mode in (forward, backward):
            source = outputs["eng"] if mode == forward else outputs[forward]
            out, wall, cpu = timed(["apertium", "-u", mode], source)
            outputs[mode] = out
            directions.append({"mode": mode, "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
                               "sentences_per_second": round(len(sentences) / wall, 1)})  # fmt: skip
            print(f"{mode}: {wall:.2f} s wall, {cpu:.2f} s CPU")
            data, _, _ = timed(["apertium-destxt"], source)
            for stage in (MODES / f"{mode}.mode").read_text().strip().split("|"):
                command = stage.strip().replace("$1", "-g").replace("$2", "")
                data, wall, cpu = timed(command, data, shell=True)
                stages.append({"mode": mode, "stage": command.split()[0], "command": command,
                               "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2)})  # fmt: skip
    total_cpu = sum(d["cpu_seconds"] for d in directions)
    result = {
        "command": f"python benchmarks/apertium_stages.py --sentences {args.sentences}",
        "environment": environment(),
        "cpu_count": os.cpu_count(),
        "sentences": len(sentences),
        "directions": directions,
        "stages": stages,
        "both_round_trips_cpu_seconds": round(total_cpu, 2),
        "ceiling_sentences_per_second_on_all_cores": round(len(sentences) / (total_cpu / os.cpu_count()), 1),
    }
    out = ROOT / "benchmarks" / "results" / "apertium_stages.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"both round trips: {total_cpu:.1f} CPU s for {len(sentences)} sentences -> at most "
        f"{result['ceiling_sentences_per_second_on_all_cores']:.0f} sentences/s on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
