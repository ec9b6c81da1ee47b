"""`sct train` and `sct distill`: one training path on sentence-transformers' trainer, the paper's protocol.

A run trains in ``<output>.incomplete/`` and is renamed to ``<output>`` only when it has finished, so an
interrupted run never leaves a directory that looks complete. The modules, in the order a run uses them:
``inputs`` (training pairs, dev evaluator), ``setup`` (loss, queues, student options), ``arguments`` (the
protocol as trainer arguments), ``callbacks`` and ``signals`` (log, checkpoints, budget, stopping), ``trainer``
(the steps of a run), ``outcome`` (what a finished run writes), ``recipes`` (two-stage distillation).
"""

from sct.training.inputs import load_training_pairs, read_training_file
from sct.training.recipes import distill
from sct.training.setup import build_loss, freeze_word_embeddings, initialise_queues, project_to
from sct.training.trainer import train

__all__ = [
    "build_loss",
    "distill",
    "freeze_word_embeddings",
    "initialise_queues",
    "load_training_pairs",
    "project_to",
    "read_training_file",
    "train",
]
