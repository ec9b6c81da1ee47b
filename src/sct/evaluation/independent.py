"""An independent STS implementation to cross-check the harness in ``sts.py``: it imports nothing from sct.

Plain transformers (AutoTokenizer/AutoModel), hand-written mean pooling, its own file reading and its
own Spearman (average ranks, then Pearson). Used by tests/test_sts_real.py and scripts/sts_crosscheck.py; it
lives in the package so that both reach it without path edits, and it stays out of every scoring path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

TRACKS = {
    "STS12": ["MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"],
    "STS13": ["FNWN", "headlines", "OnWN"],
    "STS14": ["deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"],
    "STS15": ["answers-forums", "answers-students", "belief", "headlines", "images"],
    "STS16": ["answer-answer", "headlines", "plagiarism", "postediting", "question-question"],
}


def read_task(senteval: Path, task: str) -> tuple[list[str], list[str], list[float]]:
    left, right, gold = [], [], []
    if task in TRACKS:
        for track in TRACKS[task]:
            folder = senteval / "STS" / f"{task}-en-test"
            pairs = (folder / f"STS.input.{track}.txt").read_bytes().decode("utf-8").split("\n")
            scores = (folder / f"STS.gs.{track}.txt").read_bytes().decode("utf-8").split("\n")
            for pair, score in zip(pairs, scores, strict=False):
                if score.strip() == "":
                    continue
                a, b = pair.split("\t")
                left.append(a)
                right.append(b)
                gold.append(float(score))
    elif task == "STS-B":
        for row in (senteval / "STS" / "STSBenchmark" / "sts-test.csv").read_text("utf-8").split("\n"):
            cols = row.strip().split("\t")
            if len(cols) >= 7:
                left.append(cols[5])
                right.append(cols[6])
                gold.append(float(cols[4]))
    elif task == "SICK-R":
        rows = (senteval / "SICK" / "SICK_test_annotated.txt").read_text("utf-8").split("\n")[1:]
        for row in rows:
            cols = row.strip().split("\t")
            if len(cols) >= 4:
                left.append(cols[1])
                right.append(cols[2])
                gold.append(float(cols[3]))
    clean = [" ".join(s.split()) for s in left], [" ".join(s.split()) for s in right]
    return clean[0], clean[1], gold


def ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    out = np.empty(len(values))
    sorted_values = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        out[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = ranks(np.asarray(x, float)), ranks(np.asarray(y, float))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx * ry).sum() / np.sqrt((rx * rx).sum() * (ry * ry).sum()))


class MeanPooledEncoder:
    def __init__(self, path: str, layers: int | None = None, max_length: int = 256):
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        if layers is not None:
            self.model.encoder.layer = self.model.encoder.layer[:layers]
        self.max_length = max_length

    @torch.inference_mode()
    def embed(self, sentences: list[str], batch: int = 64) -> np.ndarray:
        chunks = []
        for start in range(0, len(sentences), batch):
            enc = self.tokenizer(
                sentences[start : start + batch],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
            hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            chunks.append(((hidden * mask).sum(1) / mask.sum(1)).numpy())
        return np.concatenate(chunks)


def score_task(encoder: MeanPooledEncoder, senteval: Path, task: str) -> float:
    left, right, gold = read_task(senteval, task)
    a, b = encoder.embed(left), encoder.embed(right)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return spearman(cos, np.array(gold)) * 100
