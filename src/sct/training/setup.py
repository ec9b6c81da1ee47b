"""The model and its objective: the loss for each objective, queues filled from held-out sentences, a frozen
word-embedding matrix, a Dense projection to the teacher's width."""

from __future__ import annotations

import logging
import time
from typing import Any

from sct.config import TrainConfig

logger = logging.getLogger(__name__)


def build_loss(config: TrainConfig, model, teacher=None):
    """The training objective: SCT (paper eq. 2), distillation (eq. 3-4 and Table 7's baselines), or SimCSE.

    SimCSE (Gao et al., 2021) is in-batch InfoNCE between two dropout passes of the same sentence at
    temperature 0.05, i.e. sentence-transformers' MultipleNegativesRankingLoss with scale 1 / 0.05 on
    identical views (or on whatever two views the training file holds).
    """
    if config.objective == "simcse":
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

        return MultipleNegativesRankingLoss(model, scale=1.0 / config.simcse_temperature)
    sct_settings = {
        "queue_size": config.queue_size,
        "online_temperature": config.online_temperature,
        "reference_temperature": config.reference_temperature,
        "head_expansion": config.head_expansion,
        "seed": config.seed,
    }
    if config.reference_momentum is not None:
        sct_settings["reference_momentum"] = config.reference_momentum
    if config.objective == "distill":
        from sct.losses import DistillationLoss

        return DistillationLoss(
            model,
            teacher,
            method=config.distill_loss,
            distill_weight=config.distill_weight,
            sct_weight=config.sct_weight,
            ckd_temperature=config.ckd_temperature,
            ablation=config.ablation,
            **sct_settings,
        )
    from sct.losses import SCTLoss

    return SCTLoss(model, **sct_settings, ablation=config.ablation)


def initialise_queues(config: TrainConfig, loss, model, training_texts: set[str]) -> dict[str, Any] | None:
    """Fill the loss's queues from held-out sentences as ``--queue-init`` / ``--teacher-queue-init`` ask.

    Returns what was done (for run_config and sct_model.json), or None when every queue stays random.
    """
    from sct.queue_init import encoder_rows, held_out_sentences, teacher_rows

    sct_loss = loss if config.objective == "sct" else getattr(loss, "sct", None)
    encoder_count = 2 * config.queue_size if config.queue_init == "encoder" and sct_loss is not None else 0
    teacher_count = loss.teacher_queue_rows() if config.teacher_queue_init == "teacher" else 0
    if not encoder_count and not teacher_count:
        return None
    started = time.time()
    held_out = held_out_sentences(
        max(encoder_count, teacher_count), training_texts, config.seed, config.queue_init_file, config.data_dir
    )
    info: dict[str, Any] = {"held_out": held_out.summary()}
    if encoder_count:
        sct_loss.fill_queues(encoder_rows(model, held_out.sentences[:encoder_count], config.eval_batch_size))
        info["encoder_rows"] = encoder_count
    if teacher_count:
        rows, cache = teacher_rows(held_out.sentences[:teacher_count], teacher_settings(config))
        loss.fill_teacher_queues(rows)
        info.update(teacher_rows=teacher_count, teacher_cache=cache, charged_cpu_seconds=cache["charged_cpu_seconds"])
    info["seconds"] = round(time.time() - started, 1)
    logger.info("queues filled from %d held-out sentences in %.1f s", held_out.summary()["used"], info["seconds"])
    return info


def teacher_settings(config: TrainConfig) -> dict[str, Any]:
    from sct.teacher import default_cache_dir

    return {
        "teacher": config.teacher,
        "cache_dir": config.teacher_cache or default_cache_dir(),
        "max_seq_length": config.max_seq_length,
        "normalize": config.teacher_normalize,
        "precision": config.teacher_precision,
        "batch_size": config.teacher_batch_size,
    }


def freeze_word_embeddings(model) -> int:
    """Stop training the transformer's word-embedding matrix (most of a small student's parameters).

    For the 2-layer MiniLM cut it is 11.7M of 15.6M parameters: frozen, it gets no gradient and no AdamW
    update, while position and token-type embeddings, LayerNorm and every layer still train.
    """
    embeddings = model[0].auto_model.get_input_embeddings()
    embeddings.weight.requires_grad_(False)
    logger.info("word embeddings frozen: %d parameters", embeddings.weight.numel())
    return embeddings.weight.numel()


def project_to(model, dim: int):
    """Append Dense(d_student -> dim, tanh) to the student, as the authors do when dimensions differ.

    The projection is part of the saved model: the distilled student embeds in the teacher's space.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense
    from torch import nn

    source = model.get_embedding_dimension()
    dense = Dense(source, dim, activation_function=nn.Tanh())
    projected = SentenceTransformer(modules=[*model, dense], device=str(model.device))
    logger.info("student ends in Dense(%d -> %d, tanh) to match the teacher", source, dim)
    return projected, {"module": "Dense", "in_features": source, "out_features": dim, "activation": "tanh"}
