"""What an int8 export costs and buys: sentences/s and STS avg of each model form, side by side.

  .venv/bin/pip install -c constraints.txt -e ".[openvino]"
  .venv/bin/python benchmarks/int8_export.py [--sentences 4000] [--repeats 3] [--batch-size 32]

For the shipped 2-layer student (models/minilm-l2-distilled) and all-MiniLM-L6-v2: the torch model
(`sct encode`), its `sct export-onnx` float32 graph and its `--quantize int8` graph (onnxruntime dynamic int8,
per channel), each run by onnxruntime and by OpenVINO's CPU plugin (a second runtime for the same graphs, at the
inference precision the plugin picks for this CPU, recorded). Speed: the same corpus sentences, batch and threads
for every form, the forms alternated, the median over repeats. Score: the seven STS tasks through `sct
evaluate`'s harness, on each form. Writes benchmarks/results/int8_export.json (docs/speed.md's int8 table is
generated from it).
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from sct.corpus import timing_sentences
from sct.data import find_data_root, write_json_atomic
from sct.encode import embed, load_model
from sct.evaluation.suite import resolve_tasks, run_tasks
from sct.export import OnnxEncoder, export_onnx
from sct.provenance import environment

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"minilm-l2-distilled (shipped)": str(ROOT / "models" / "minilm-l2-distilled"),
          "all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2"}  # fmt: skip
FORMS = ("torch", "onnx_float32", "onnx_int8", "openvino_float32", "openvino_int8")


def _forms(source: str, scratch: Path) -> dict[str, object]:
    export_onnx(source, scratch / "fp32")
    export_onnx(source, scratch / "int8", quantize="int8")
    return {"torch": load_model(source), "onnx_float32": load_model(str(scratch / "fp32")),
            "onnx_int8": load_model(str(scratch / "int8")),
            "openvino_float32": OnnxEncoder(scratch / "fp32", runtime="openvino"),
            "openvino_int8": OnnxEncoder(scratch / "int8", runtime="openvino")}  # fmt: skip


def _openvino_precision() -> str:
    """The inference precision OpenVINO's CPU plugin uses by default on this CPU (bf16 where it has bf16 units)."""
    import openvino as ov

    return ov.Core().get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "int8_export.json"))
    args = parser.parse_args()
    text, root, tasks = timing_sentences(args.sentences), find_data_root(), resolve_tasks("sts")
    rows = []
    for name, source in MODELS.items():
        with tempfile.TemporaryDirectory() as scratch:
            models = _forms(source, Path(scratch))
            for model in models.values():  # warm-up
                embed(model, text[: 4 * args.batch_size], args.batch_size)
            seconds: dict[str, list[float]] = {form: [] for form in FORMS}
            for _ in range(args.repeats):
                for form in FORMS:
                    started = time.perf_counter()
                    embed(models[form], text, args.batch_size)
                    seconds[form].append(time.perf_counter() - started)
            rate = {form: len(text) / statistics.median(s) for form, s in seconds.items()}
            sts = {form: run_tasks(models[form], root, tasks)["avg"] for form in FORMS}
        row = {
            "model": name, "source": source, "sentences": len(text), "batch_size": args.batch_size,
            "sentences_per_second": {form: round(v, 1) for form, v in rate.items()},
            "sts_avg": {form: round(v, 4) for form, v in sts.items()},
            "int8_speedup_over_torch": round(rate["onnx_int8"] / rate["torch"], 2),
            "int8_sts_difference": round(sts["onnx_int8"] - sts["torch"], 4),
            "float32_export_sts_difference": round(sts["onnx_float32"] - sts["torch"], 4),
            "openvino_over_onnx_int8": round(max(rate["openvino_float32"], rate["openvino_int8"]) / rate["onnx_int8"],
                                             2),
        }  # fmt: skip
        rows.append(row)
        print(f"[{name}] {row['sentences_per_second']} STS {row['sts_avg']}", flush=True)
    result = {"command": shlex.join(["python", "benchmarks/int8_export.py", *sys.argv[1:]]),
              "environment": environment(), "threads": torch.get_num_threads(),
              "openvino_inference_precision": _openvino_precision(), "rows": rows}  # fmt: skip
    write_json_atomic(args.output, result)
    print(f"-> {args.output}")


if __name__ == "__main__":
    main()
