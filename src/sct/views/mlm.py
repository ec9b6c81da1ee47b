"""Masked-language-model replacement: mask 15% of the word pieces and fill each from the model.

No masked LM ships offline here, so the method needs ``--mlm-model`` naming one (a local directory
or a hub id); without one it stops with a clear message.
"""

from __future__ import annotations

import torch

from sct.errors import ConfigError


class MaskedLMReplacer:
    def __init__(self, model_name: str | None, mask_fraction: float = 0.15, batch_size: int = 64) -> None:
        if not model_name:
            raise ConfigError(
                "the mlm method needs a masked language model: pass --mlm-model NAME (a local directory or hub "
                "id of a model with a masked-LM head, e.g. bert-base-uncased). None ships offline here."
            )
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        from sct.models import ModelResolutionError, resolve_model

        location = resolve_model(model_name).location
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(location)
            self.model = AutoModelForMaskedLM.from_pretrained(location).eval()
        except (OSError, ValueError) as exc:
            raise ModelResolutionError(f"cannot load masked LM {model_name!r}: {exc}") from exc
        if self.tokenizer.mask_token_id is None:
            raise ConfigError(f"{model_name!r} has no mask token: not a masked language model")
        self.name = f"mlm-{model_name.replace('/', '--')}-{mask_fraction}"
        self.mask_fraction = mask_fraction
        self.batch_size = batch_size

    @torch.inference_mode()
    def replace(self, sentences: list[str], seed: int) -> list[str]:
        generator = torch.Generator().manual_seed(seed)
        out: list[str] = []
        for start in range(0, len(sentences), self.batch_size):
            batch = self.tokenizer(
                sentences[start : start + self.batch_size], padding=True, truncation=True, max_length=128,
                return_tensors="pt", return_special_tokens_mask=True,
            )  # fmt: skip
            special = batch.pop("special_tokens_mask").bool() | (batch["attention_mask"] == 0)
            chosen = (torch.rand(batch["input_ids"].shape, generator=generator) < self.mask_fraction) & ~special
            input_ids = batch["input_ids"].masked_fill(chosen, self.tokenizer.mask_token_id)
            logits = self.model(**{**batch, "input_ids": input_ids}).logits
            logits[..., self.tokenizer.all_special_ids] = float("-inf")
            logits.scatter_(-1, batch["input_ids"].unsqueeze(-1), float("-inf"))  # never the original piece
            filled = torch.where(chosen, logits.argmax(-1), batch["input_ids"])
            for row, mask in zip(filled, special, strict=True):
                text = self.tokenizer.decode(row[~mask], skip_special_tokens=True)
                out.append(" ".join(text.split()))
        return out
