"""`sct evaluate` and `sct report`: scores, tables and the comparison with the paper."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from sct.errors import ConfigError, DataError
from sct.ownership import refuse_output_over_input
from sct.provenance import environment


def cmd_evaluate(args: argparse.Namespace) -> int:
    from sct.data import find_data_root, write_json_atomic
    from sct.evaluation.sts import format_sts_table
    from sct.evaluation.suite import (
        check_sts_data,
        format_downstream_table,
        non_finite_paths,
        resolve_tasks,
        run_tasks,
    )

    tasks = resolve_tasks(args.tasks)
    root = find_data_root(args.data_dir)
    if not args.keep_going:  # --keep-going records a task's bad data as a failure instead
        check_sts_data(root, tasks)
    baseline = None
    if args.baseline_json:
        baseline = _read_baseline(Path(args.baseline_json))
    if args.output_json:
        refuse_output_over_input(args.output_json, [args.baseline_json], "--output-json")
    from sct.encode import load_model_and_info

    # a model, a hub id or an `sct export-onnx` folder (float32 or int8): the loader encode and search use
    model, model_info, parameters = load_model_and_info(args.model, args.student_layers, args.max_seq_length or None)
    result = run_tasks(model, root, tasks, batch_size=args.batch_size, keep_going=args.keep_going)

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
    bad = non_finite_paths(result)
    if bad:  # never stored, and never merged over a finite score
        raise DataError(f"{args.model}: non-finite score at {', '.join(bad[:3])} (constant similarities: a "
                        "collapsed model?); nothing written")  # fmt: skip
    if args.output_json:
        write_json_atomic(args.output_json, result)
    _store_beside_model(args.model, result)
    if result["failed"]:
        print(f"sct evaluate: {len(result['failed'])} task(s) failed: {', '.join(result['failed'])}", file=sys.stderr)
        return 1
    return 0


def _store_beside_model(name: str, result: dict[str, Any]) -> None:
    """An export keeps its scores beside its graph; a run directory keeps them (and its CPU speed) for `sct report`
    and its model card, which is refreshed so that it never contradicts the scores beside it."""
    from sct.data import read_json_if_present, write_json_atomic
    from sct.evaluation.suite import merge_results
    from sct.export import is_onnx_export
    from sct.report import EVALUATION_JSON

    run_results = Path(name) / EVALUATION_JSON
    if is_onnx_export(name):
        write_json_atomic(run_results, merge_results(read_json_if_present(run_results), result))
        print(f"results merged into {run_results}")
    elif (Path(name) / "run_config.json").is_file():
        from sct.card import write_model_card
        from sct.speed import measure_run_speed

        merged = merge_results(read_json_if_present(run_results), result)
        write_json_atomic(run_results, merged)  # the scores are kept whatever the speed measurement does
        merged["speed"] = measure_run_speed(name)
        write_json_atomic(run_results, merged)
        write_model_card(name)
        print(f"results merged into {run_results} (model card refreshed)")


def _read_baseline(path: Path) -> dict[str, Any]:
    """An earlier `sct evaluate --output-json` result to compare against, checked before any model loads."""
    from sct.data import read_json_file

    baseline = read_json_file(path, "--baseline-json")
    if not isinstance(baseline, dict) or not isinstance(baseline.get("tasks"), dict):
        raise DataError(f"{path}: --baseline-json has no 'tasks' (expected `sct evaluate --output-json` output)")
    return baseline


def _difference(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    tasks = {
        t: {"spearman": after["tasks"][t]["spearman"] - before["tasks"][t]["spearman"]}
        for t in after["tasks"]
        if t in before.get("tasks", {})
    }
    return {"tasks": tasks, "avg": after["avg"] - before["avg"]}


def cmd_report(args: argparse.Namespace) -> int:
    from sct.data import write_json_atomic, write_lines_atomic
    from sct.report import build_report, load_run, plot_report

    for output, option in ((args.output, "--output"), (args.plot, "--plot"), (args.json, "--json")):
        if output:
            refuse_output_over_input(output, args.runs, option)
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
        command = shlex.join(["sct", *sys.argv[1:]])
        write_json_atomic(args.json, {"runs": rows, "command": command, "environment": environment()})
    return 0


def cmd_mteb(args: argparse.Namespace) -> int:
    from sct.data import find_data_root, write_json_atomic
    from sct.encode import load_model_and_info
    from sct.evaluation.mteb_sts import MTEB_NAMES, run_mteb
    from sct.evaluation.suite import check_sts_data, resolve_tasks, run_tasks
    from sct.export import is_onnx_export

    wanted = resolve_tasks(args.tasks)
    other = [t for t in wanted if t not in MTEB_NAMES]
    if other:
        raise ConfigError(f"sct mteb runs the STS tasks only ({', '.join(MTEB_NAMES)}), not {', '.join(other)}")
    output = Path(args.output_dir)
    if output.is_file() or (output.is_dir() and any(p.name not in MTEB_OUTPUTS for p in output.iterdir())):
        raise ConfigError(f"--output-dir {output} holds files sct mteb did not write; choose another folder")
    root = find_data_root(args.data_dir)
    check_sts_data(root, wanted)  # a task without local data is one line, before the model loads
    if is_onnx_export(args.model):
        raise ConfigError(f"{args.model} is an ONNX export: sct mteb runs sentence-transformers models")
    model, _, _ = load_model_and_info(args.model, args.student_layers)
    tasks = list(wanted)
    name = args.name or f"sct/{Path(args.model).name}"
    by_mteb = run_mteb(model, root.senteval, tasks, output, name)
    ours = run_tasks(model, root, {t: True for t in tasks})["tasks"]
    rows = [{"task": t, "mteb_name": MTEB_NAMES[t], "mteb": by_mteb[t], "sct": ours[t]["spearman"],
             "difference": by_mteb[t] - ours[t]["spearman"]} for t in tasks]  # fmt: skip
    print("| task | MTEB cosine Spearman x100 | sct evaluate | difference |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['task']} ({r['mteb_name']}) | {r['mteb']:.4f} | {r['sct']:.4f} | {r['difference']:+.4f} |")
    worst = max(abs(r["difference"]) for r in rows)
    write_json_atomic(output / "sct_check.json", {"model": args.model, "mteb_model_name": name, "rows": rows,
                      "max_abs_difference": worst, "command": shlex.join(["sct", *sys.argv[1:]]),
                      "environment": environment()})  # fmt: skip
    _write_mteb_model_index(args.model, name, rows, output)
    print(
        f"mteb result files: {output / 'results'}; check: {output / 'sct_check.json'}; model-index: "
        f"{output / 'model-index.yaml'}"
    )
    if worst > 0.01:
        print(f"sct mteb: MTEB and sct evaluate differ by {worst:.4f} (> 0.01) on the same pairs", file=sys.stderr)
        return 1
    return 0


MTEB_OUTPUTS = ("results", "sct_check.json", "model-index.yaml")  # what sct mteb writes into its --output-dir


def _write_mteb_model_index(model: str, name: str, rows: list[dict[str, Any]], output: Path) -> None:
    """The results as model-index metadata: a YAML file beside mteb's, and in a run directory's model card (its
    earlier MTEB entries replaced, sct evaluate's kept)."""
    import yaml

    from sct.card import with_model_index_entries
    from sct.data import write_lines_atomic
    from sct.evaluation.mteb_sts import SCORED_BY_MTEB, model_index_entries

    entries = model_index_entries(rows)
    text = yaml.safe_dump({"model-index": [{"name": name, "results": entries}]}, sort_keys=False)
    write_lines_atomic(output / "model-index.yaml", text.rstrip("\n").split("\n"))
    readme = Path(model) / "README.md"
    if (Path(model) / "run_config.json").is_file() and readme.is_file():
        card = with_model_index_entries(readme.read_text(), SCORED_BY_MTEB, entries)
        write_lines_atomic(readme, card.rstrip("\n").split("\n"))
        print(f"model card's model-index updated: {readme}")
