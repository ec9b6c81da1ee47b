"""Evaluation: STS, SentEval pair classification (transfer), USEB (rerank, twitterpara); suite runs any mix."""

from sct.evaluation.sts import STS_TASKS, evaluate_sts, format_sts_table, load_sts_tasks

__all__ = ["STS_TASKS", "evaluate_sts", "format_sts_table", "load_sts_tasks"]
