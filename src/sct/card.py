"""The model card of a run: what was trained, on what, for how long, how it scores, and how it differs from the paper.

sentence-transformers writes a generic README.md into every saved model; the card's section goes right after
its front matter, between markers, so regenerating it (`sct card RUN_DIR`, after `sct evaluate`) replaces
only this section. Everything comes from the run's JSON (run_config, run_summary, evaluation).
"""

from __future__ import annotations

from pathlib import Path

from sct.data import read_json_if_present, write_lines_atomic
from sct.errors import DataError

BEGIN, END = "<!-- sct-card:begin -->", "<!-- sct-card:end -->"


def card_section(run: Path) -> str:
    from sct.report import EVALUATION_JSON, Run, deviations, method_of, nearest_model, paper_results

    info = read_json_if_present(run / "run_config.json")
    if not info:
        raise DataError(f"{run}: no run_config.json (not an sct run directory)")
    config, summary, evaluation = (
        info.get("config", {}),
        read_json_if_present(run / "run_summary.json"),
        read_json_if_present(run / EVALUATION_JSON),
    )
    kind, method = method_of(config)
    objective = {"sct": "self-supervised SCT (L_SCT, paper eq. 2)", "simcse": "unsupervised SimCSE (baseline)",
                 "distill": f"distillation: {config.get('distill_loss', 'cd')} with L_SCT weight "
                 f"{config.get('sct_weight')} ({config.get('recipe', 'joint')} recipe), teacher "
                 f"{config.get('teacher')}"}[config.get("objective", "sct")]  # fmt: skip
    train_file = Path(config.get("train_file", "?"))
    views = read_json_if_present(train_file.with_name(train_file.name + ".json")).get(
        "method", config.get("views", "pairs")
    )
    layers = f", first {config['student_layers']} layers" if config.get("student_layers") else ""
    steps, batch = summary.get("steps"), config.get("batch_size")
    lines = [
        BEGIN,
        "## How this model was trained (sct)",
        "",
        f"- **Student**: `{config.get('model')}`{layers}"
        + (f", {evaluation['parameters'] / 1e6:.1f}M parameters" if evaluation.get("parameters") else ""),
        f"- **Objective**: {objective}",
        f"- **Training data**: `{train_file.name}`, {info.get('train_pairs', '?')} pairs; views: {views}",
        f"- **Budget**: {steps} steps x batch {batch}"
        + (f" ({steps * batch:,} pairs seen)" if steps and batch else "")
        + f", max_seq_length {config.get('max_seq_length')}, learning rate {config.get('learning_rate')}, queue size "
        f"{config.get('queue_size')}, temperatures reference {config.get('reference_temperature')} / online "
        f"{config.get('online_temperature')}, seed {config.get('seed')}",
        *_cost_line(summary),
        _queue_line(config, info),
        f"- **Model selection**: best STS-B dev Spearman {summary.get('best_dev_spearman', float('nan')):.2f} "
        f"at step {summary.get('best_step')} (dev every {config.get('eval_steps')} steps)",
    ]
    lines += _speed_lines(evaluation.get("speed"))
    if evaluation.get("tasks") or evaluation.get("downstream"):
        lines += _score_tables(evaluation)
    else:
        lines += ["", "Not evaluated yet: `sct evaluate RUN_DIR --tasks all`, then `sct card RUN_DIR`."]
    paper = paper_results()
    sizes = paper["parameters_m"]
    parameters = evaluation.get("parameters") or parameter_count(run)
    model = nearest_model(parameters, list(sizes), sizes)
    run_record = Run(label=run.name, evaluation=evaluation, config=config, summary=summary, run_info=info)
    if model is None:
        lines += ["", "**Differences from the paper's setting** (no paper row to compare: parameter count unknown):"]
    else:
        row = (f"{kind} {method}" if method else f"{kind} (no paper row for {config.get('distill_loss', 'cd')} with "
               f"L_SCT weight {config.get('sct_weight')}: the model size only)")  # fmt: skip
        nearest = f"{row} on {model}, {sizes[model]}M parameters against this model's {parameters / 1e6:.1f}M"
        lines += ["", f"**Differences from the paper's setting** (nearest paper row by parameter count: {nearest}):"]
    lines += [f"- {d}" for d in deviations(run_record, kind, model, paper)]
    env = info.get("environment", {})
    final = run.with_name(run.name.removesuffix(".incomplete"))  # the card is written just before the rename
    lines += ["", f"Trained with sct commit `{env.get('sct_commit')}` (torch {env.get('torch')}, "
              f"sentence-transformers {env.get('sentence_transformers')}).", "",
              *_usage(_load_path(final), _student_words(config)), END]  # fmt: skip
    return "\n".join(lines)


def parameter_count(run: Path) -> int | None:
    """Parameters in the run's saved weights (read from the safetensors headers), or None without weights."""
    from safetensors import safe_open

    total = 0
    for file in sorted(run.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118 - safe_open handles are not dicts
                count = 1
                for size in handle.get_slice(key).get_shape():
                    count *= size
                total += count
    return total or None


def _load_path(final: Path) -> str:
    """The run's final path as the user named it (relative to where sct ran), absolute when outside it."""
    if not final.is_absolute():
        return final.as_posix()
    try:
        return final.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return final.as_posix()


def _student_words(config: dict) -> str:
    """What the student is, for the limitations line: a cut of a model, or a model as it is."""
    if config.get("student_layers"):
        return (f"a proxy student ({config.get('model')} cut to its first {config['student_layers']} layers, not the "
                "paper's BERT students), so its scores are not the paper's numbers")  # fmt: skip
    return f"the student is {config.get('model')} fine-tuned, not one of the paper's BERT students"


def _score_tables(evaluation: dict) -> list[str]:
    """STS in the paper's layout (one row: STS12-16, STS-B, SICK-R, Avg.), then any downstream task."""
    from sct.evaluation.sts import format_sts_table

    lines = []
    if evaluation.get("tasks"):
        lines += ["", "STS (Spearman x100 of cosine, SentEval 'all' setting, test sets):", ""]
        lines += format_sts_table([("this model", evaluation)]).split("\n")
    if evaluation.get("downstream"):
        lines += ["", "| task | score |", "|---|---|"]
        lines += [f"| {task} ({r['metric']}) | {r['score']:.2f} |" for task, r in evaluation["downstream"].items()]
    return lines


def _speed_lines(speed: dict | None) -> list[str]:
    """Sentences per second on CPU, as measured by the last `sct evaluate` of this run."""
    if not speed or "torch_float32" not in speed:
        why = f" ({speed['torch_error']})" if speed and speed.get("torch_error") else ""
        return [f"- **Speed on CPU**: not measured yet{why} (`sct evaluate RUN_DIR` measures it)"]
    onnx = (f"; ONNX float32 (`sct export-onnx`) {speed['onnx_float32']:,.0f} sentences/s"
            if speed.get("onnx_float32") else "")  # fmt: skip
    return [f"- **Speed on CPU**: torch float32 {speed['torch_float32']:,.0f} sentences/s{onnx} ({speed['sentences']} "
            f"corpus sentences, batch {speed['batch_size']}, {speed['threads']} threads, measured by `sct evaluate` "
            f"at {speed['measured_at']}; another job on the CPU lowers it)"]  # fmt: skip


def _usage(name: str, student: str) -> list[str]:
    """How to load and use the model: sentence-transformers, and plain transformers with mean pooling."""
    return [
        "**Intended use**: English sentence embeddings for semantic similarity, search and clustering of short "
        "texts (trained and scored on sentences; inputs past max_seq_length are truncated).",
        "",
        "```python",
        "from sentence_transformers import SentenceTransformer",
        f'model = SentenceTransformer("{name}")  # this directory',
        'embeddings = model.encode(["A man is playing a guitar.", "Someone plays an instrument."])',
        "```",
        "",
        "Without sentence-transformers (mean pooling over the attention mask, as the model was trained):",
        "",
        "```python",
        "import torch",
        "from transformers import AutoModel, AutoTokenizer",
        f'tokenizer, encoder = AutoTokenizer.from_pretrained("{name}"), AutoModel.from_pretrained("{name}")',
        'batch = tokenizer(["A man is playing a guitar."], padding=True, truncation=True, return_tensors="pt")',
        "with torch.no_grad():",
        "    tokens = encoder(**batch).last_hidden_state",
        'mask = batch["attention_mask"].unsqueeze(-1).float()',
        "embeddings = (tokens * mask).sum(1) / mask.sum(1)",
        "```",
        "",
        f"**Limitations**: English only; trained on short caption and NLI-style sentences; {student}.",
        "",
        "**Citation**: Limkonchotiwat, Ponwitayarat, Lowphansirikul, Udomcharoenchaikit, Chuangsuwanich and "
        "Nutanong. *An Efficient Self-Supervised Cross-View Training For Sentence Embedding*. TACL 2023.",
    ]


def _cost_line(summary: dict) -> list[str]:
    """What the run cost (process CPU time, teacher cache included where charged) and why it stopped."""
    if not summary.get("cpu_seconds"):
        return []
    return [f"- **Cost**: {summary['cpu_seconds'] / 60:.1f} CPU minutes ({summary.get('wall_seconds', 0) / 60:.1f} "
            f"wall minutes); stopped by {summary.get('stop_reason', 'max steps')}"]  # fmt: skip


def _queue_line(config: dict, info: dict) -> str:
    """How the queues started: random vectors (the paper's start) or embeddings of held-out sentences."""
    encoder = config.get("queue_init", "random") == "encoder"
    line = "- **Queues start from**: " + ("the initial student's embeddings" if encoder else "random vectors")
    if config.get("objective") == "distill":
        teacher = config.get("teacher_queue_init", "random") == "teacher"
        line += "; teacher queues: " + ("the teacher's embeddings" if teacher else "random vectors")
    held = info.get("queue_init", {}).get("held_out")
    if not held:
        return line + " (the paper's start)"
    return line + (f" of {held['used']:,} held-out sentences from `{Path(held['source']).name}` (none of them a "
                   "training or evaluation sentence)")  # fmt: skip


SCORED_BY_SCT = "sct evaluate"  # marks the model-index entries this card writes (replaced, never repeated)


def with_model_index(text: str, evaluation: dict) -> str:
    """The front matter's ``model-index`` gets one entry per STS task scored (Spearman of cosine, SentEval's "all"
    setting), beside sentence-transformers' own STS-B dev entry, so hubs and leaderboards read all seven."""
    entries = [{
        "task": {"type": "semantic-similarity", "name": "Semantic Similarity"},
        "dataset": {"name": f"{task} (SentEval test, all setting)", "type": task.lower()},
        "metrics": [{"type": "spearman_cosine", "value": round(score["spearman"] / 100, 6), "name": "Spearman Cosine"}],
        "source": {"name": SCORED_BY_SCT},
    } for task, score in evaluation.get("tasks", {}).items()]  # fmt: skip
    return with_model_index_entries(text, SCORED_BY_SCT, entries)


def with_model_index_entries(text: str, source: str, entries: list[dict]) -> str:
    """The front matter's ``model-index`` with the entries from ``source`` replaced by ``entries`` (every other
    entry kept), so that each scorer's results appear once however often it runs."""
    import yaml

    if not entries or not text.startswith("---\n") or "\n---\n" not in text[4:]:
        return text
    cut = text.index("\n---\n", 4)
    meta = yaml.safe_load(text[4:cut]) or {}
    index = meta.setdefault("model-index", [{"name": "SentenceTransformer", "results": []}])
    results = [r for r in index[0].setdefault("results", []) if r.get("source", {}).get("name") != source]
    index[0]["results"] = results + entries
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return "---\n" + front + text[cut + 1 :]


def write_model_card(run: str | Path) -> Path:
    """Insert or replace the card's section in ``RUN/README.md`` (after the front matter), atomically."""
    from sct.report import EVALUATION_JSON

    run = Path(run)
    readme = run / "README.md"
    text = readme.read_text() if readme.is_file() else ""
    text = with_model_index(text, read_json_if_present(run / EVALUATION_JSON))
    if BEGIN in text and END in text:
        start, stop = text.index(BEGIN), text.index(END) + len(END)
        text = text[:start] + card_section(run) + text[stop:]
    elif text.startswith("---\n") and "\n---\n" in text[4:]:
        cut = text.index("\n---\n", 4) + len("\n---\n")
        text = text[:cut] + "\n" + card_section(run) + "\n" + text[cut:]
    else:
        text = card_section(run) + "\n\n" + text
    write_lines_atomic(readme, text.rstrip("\n").split("\n"))
    return readme
