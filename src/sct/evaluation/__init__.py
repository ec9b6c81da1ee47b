"""Evaluation harnesses (STS now; transfer and re-ranking tasks plug in beside it)."""

from sct.evaluation.sts import STS_TASKS, evaluate_sts, format_sts_table, load_sts_tasks

__all__ = ["STS_TASKS", "evaluate_sts", "format_sts_table", "load_sts_tasks"]
