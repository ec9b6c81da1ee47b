"""MTEB-format STS results (`sct mteb`): mteb's own STS tasks run on the local SentEval files, no hub.

Each task (STS12-16, STSBenchmark, SICK-R) is mteb's task class with its dataset replaced by the pairs this
repo's harness scores (SentEval's files; STS12-16 with their sub-tracks concatenated, SentEval's "all"
setting), so mteb's evaluator and result files (``results/<model>/<revision>/<task>.json``) are the field's
format, and each task's cosine Spearman can be checked against the harness on the same pairs. Where MTEB's
protocol differs from SentEval's: MTEB's SICK-R scores all 9,927 pairs of SICK, SentEval (and this command, fed
its files) the 4,927 test pairs; STS12-16 and STSBenchmark have the same pairs in both (3,108 / 1,500 / 3,750 /
3,000 / 1,186 / 1,379); MTEB rescales gold scores to [0, 1], which leaves Spearman unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sct.errors import ConfigError

MTEB_NAMES = {"STS12": "STS12", "STS13": "STS13", "STS14": "STS14", "STS15": "STS15", "STS16": "STS16",
              "STS-B": "STSBenchmark", "SICK-R": "SICK-R"}  # fmt: skip


def local_tasks(senteval_dir: Path, tasks: list[str]) -> list[Any]:
    """mteb's task objects for ``tasks`` (this repo's names), their test split replaced by the local pairs."""
    try:
        import mteb
        from datasets import Dataset
    except ImportError as exc:
        raise ConfigError("mteb is not installed: pip install 'sct[mteb]' (make setup installs it)") from exc
    from sct.evaluation.sts import load_sts_tasks

    loaded = load_sts_tasks(senteval_dir, tasks)
    out = []
    for name in tasks:
        pairs = loaded[name]
        columns = {"sentence1": [s for p in pairs for s in p.sentences1],
                   "sentence2": [s for p in pairs for s in p.sentences2],
                   "score": [float(s) for p in pairs for s in p.scores]}  # fmt: skip
        task = mteb.get_task(MTEB_NAMES[name])
        task.dataset = {"default": {"test": Dataset.from_dict(columns)}}
        task.data_loaded = True  # mteb never reaches for the hub
        out.append(task)
    return out


def run_mteb(model: Any, senteval_dir: Path, tasks: list[str], output_dir: Path, name: str) -> dict[str, float]:
    """Run mteb on ``tasks`` and write its result files under ``output_dir``; returns task -> Spearman x 100."""
    import mteb
    from mteb.cache import ResultCache

    unknown = [t for t in tasks if t not in MTEB_NAMES]
    if unknown:
        raise ConfigError(f"no MTEB task for {', '.join(unknown)}; STS tasks: {', '.join(MTEB_NAMES)}")
    model.model_card_data.model_name = name  # mteb files its results under the model's name
    result = mteb.evaluate(model, local_tasks(senteval_dir, tasks), cache=ResultCache(cache_path=output_dir),
                           overwrite_strategy="always", show_progress_bar=False)  # fmt: skip
    by_mteb_name = {r.task_name: r.scores["test"][0]["cosine_spearman"] * 100 for r in result.task_results}
    return {task: by_mteb_name[MTEB_NAMES[task]] for task in tasks}


SCORED_BY_MTEB = "MTEB (sct mteb, local SentEval pairs)"  # marks the model-index entries sct mteb writes


def model_index_entries(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``sct mteb``'s per-task results as model-index entries in MTEB's layout (task type STS, the hub dataset and
    revision mteb's task names, main score cosine_spearman x 100), the local data said in the dataset's name."""
    import mteb

    entries = []
    for row in rows:
        dataset = mteb.get_task(row["mteb_name"]).metadata.dataset
        pairs = _OTHER_PAIRS.get(row["task"], _SAME_PAIRS)
        entries.append({
            "task": {"type": "STS"},
            "dataset": {"type": dataset["path"], "name": f"MTEB {row['mteb_name']} ({pairs})",
                        "config": "default", "split": "test", "revision": dataset["revision"]},
            "metrics": [{"type": "cosine_spearman", "value": round(row["mteb"], 4)}],
            "source": {"name": SCORED_BY_MTEB},
        })  # fmt: skip
    return entries


_SAME_PAIRS = "SentEval's pairs, the same as MTEB's"
_OTHER_PAIRS = {"SICK-R": "SentEval's 4,927 test pairs, not MTEB's 9,927"}  # where the local data is not MTEB's
