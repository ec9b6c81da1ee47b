"""The paper's protocol as sentence-transformers training arguments: AdamW, linear warm-up and decay, STS-B dev
every ``eval_steps`` with a checkpoint each time, the best dev checkpoint loaded at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sct.config import DEV_METRIC, TrainConfig


def trainer_arguments(config: TrainConfig, work: Path, world: int, resuming: bool):
    """Arguments for ``world`` processes sharing the global batch; a resumed run skips the step-0 evaluation."""
    import torch
    from sentence_transformers import SentenceTransformerTrainingArguments

    cuda = torch.cuda.is_available()
    bf16 = config.precision == "bfloat16"
    sampler_option: dict[str, Any] = {}
    if config.batch_order == "length":
        from sct.batching import LengthBucketBatchSampler

        sampler_option["batch_sampler"] = LengthBucketBatchSampler
    return SentenceTransformerTrainingArguments(
        output_dir=str(work / "checkpoints"),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps is not None else -1,
        per_device_train_batch_size=config.batch_size // world,
        per_device_eval_batch_size=config.eval_batch_size,
        learning_rate=config.learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        adam_epsilon=config.adam_epsilon,
        optim="adamw_torch",
        fp16=cuda and config.amp and config.precision == "auto",
        bf16=bf16,
        eval_strategy="steps",
        eval_steps=config.eval_steps,
        eval_on_start=not resuming,
        save_strategy="steps",
        save_steps=config.eval_steps,
        save_total_limit=config.keep_last,
        restore_callback_states_from_checkpoint=True,  # the early-stopping count survives a resume
        load_best_model_at_end=True,
        metric_for_best_model=DEV_METRIC,
        greater_is_better=True,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        seed=config.seed,
        data_seed=config.seed,
        report_to="none",
        dataloader_drop_last=world > 1,  # every process must gather equal-sized reference batches
        dataloader_pin_memory=cuda,
        ddp_find_unused_parameters=True if world > 1 else None,  # e.g. BERT's pooler, unused by mean pooling
        # accelerate treats a CPU process group as distributed (gloo), and runs bf16 autocast on the CPU, only so
        use_cpu=(world > 1 or bf16) and not cuda,
        **sampler_option,
    )
