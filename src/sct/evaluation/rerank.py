"""USEB's re-ranking tasks (Wang et al., 2021), as the SCT paper reports them in Table 3 (MAP x 100).

- AskUbuntu (``useb/askubuntu``): ``text_tokenized.txt`` holds ``qid TAB title TAB body``;
  ``test.txt``/``dev.txt`` hold ``qid TAB gold ids TAB 20 BM25 candidate ids TAB their BM25 scores``.
  Titles only. Each query's candidates (in BM25 order) are re-ranked by cosine similarity to the query
  (a stable sort, so ties keep the BM25 order); AP is the mean precision at the ranks of the gold
  candidates; queries without gold ids are skipped; MAP is the mean over queries.
- SciDocs (``useb/scidocs/data.json``): ``corpus`` maps paper id -> {title, ...}; ``test``/``valid``
  map each of cite, cocite, coread, coview to TREC-style qrels {query id: {doc id: relevance}}.
  Titles only; queries without a title are skipped and documents without a title are left out of the
  ranking (they still count as relevant, as trec_eval counts them). Documents are ranked by cosine
  (ties: doc id descending, trec_eval's order); AP = sum of precision at each relevant rank / number
  of relevant documents (relevance >= 1); the score is the mean over the four sets of their MAP.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sct.data import iter_lines
from sct.errors import DataError


def _encode_unique(model: Any, texts: list[str], batch_size: int) -> tuple[np.ndarray, dict[str, int]]:
    unique = list(dict.fromkeys(t.strip() for t in texts))
    embeddings = np.asarray(
        model.encode(unique, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True),
        dtype=np.float64,
    )
    return embeddings, {t: i for i, t in enumerate(unique)}


# --------------------------------------------------------------------------- AskUbuntu


@dataclass
class RerankQuery:
    qid: str
    gold: list[str]
    candidates: list[str]  # in BM25 order
    lineno: int


def _rank_by_score(ids: list[str], scores: list[float]) -> list[str]:
    """Highest score first; Python's sort is stable, so equal scores keep their given order (as USEB)."""
    return [qid for qid, _ in sorted(zip(ids, scores, strict=True), key=lambda kv: kv[1], reverse=True)]


def read_askubuntu_pool(path: Path) -> dict[str, str]:
    """Question id -> title."""
    pool = {}
    for lineno, line in iter_lines(path):
        fields = line.split("\t")
        if len(fields) != 3:
            raise DataError(f"{path}:{lineno}: expected 3 tab-separated fields (id, title, body), found {len(fields)}")
        pool[fields[0].strip()] = fields[1].strip()
    if not pool:
        raise DataError(f"{path}: no questions found")
    return pool


def read_askubuntu_queries(path: Path) -> list[RerankQuery]:
    queries = []
    for lineno, line in iter_lines(path):
        fields = line.split("\t")
        if len(fields) != 4:
            raise DataError(
                f"{path}:{lineno}: expected 4 tab-separated fields (id, gold ids, candidate ids, BM25 scores), "
                f"found {len(fields)}"
            )
        candidates = fields[2].split()
        try:
            bm25 = [float(s) for s in fields[3].split()]
        except ValueError as exc:
            raise DataError(f"{path}:{lineno}: BM25 scores must be numbers ({exc})") from exc
        if len(bm25) != len(candidates):
            raise DataError(f"{path}:{lineno}: {len(candidates)} candidate ids but {len(bm25)} BM25 scores")
        queries.append(RerankQuery(fields[0].strip(), fields[1].split(), _rank_by_score(candidates, bm25), lineno))
    if not queries:
        raise DataError(f"{path}: no queries found")
    return queries


def precision_ap(relevant: set[str], ranking: list[str]) -> float:
    """USEB's AskUbuntu AP: the mean of precision@k over the ranks k that hold a relevant id."""
    precisions, hits = [], 0
    for k, qid in enumerate(ranking, start=1):
        if qid in relevant:
            hits += 1
            precisions.append(hits / k)
    return float(np.mean(precisions))


def evaluate_askubuntu(model: Any, folder: Path, batch_size: int = 128, split: str = "test") -> dict[str, Any]:
    pool_path, eval_path = folder / "text_tokenized.txt", folder / f"{split}.txt"
    pool = read_askubuntu_pool(pool_path)
    queries = [q for q in read_askubuntu_queries(eval_path) if q.gold]
    for q in queries:
        for qid in (q.qid, *q.candidates):
            if qid not in pool:
                raise DataError(f"{eval_path}:{q.lineno}: question id {qid} is not in {pool_path}")
        if not set(q.gold) & set(q.candidates):
            raise DataError(f"{eval_path}:{q.lineno}: none of the gold ids is among the candidates")
    texts = [pool[qid] for q in queries for qid in (q.qid, *q.candidates)]
    embeddings, row = _encode_unique(model, texts, batch_size)
    aps, rrs = [], []
    for q in queries:
        query = embeddings[row[pool[q.qid]]]
        scores = [float(embeddings[row[pool[c]]] @ query) for c in q.candidates]
        ranking = _rank_by_score(q.candidates, scores)
        aps.append(precision_ap(set(q.gold), ranking))
        rrs.append(1.0 / next(k for k, c in enumerate(ranking, start=1) if c in set(q.gold)))
    return {
        "score": 100 * float(np.mean(aps)),
        "metric": "MAP",
        "mrr": 100 * float(np.mean(rrs)),
        "queries": len(queries),
        "split": split,
        "files": [str(pool_path), str(eval_path)],
        "protocol": "USEB AskUbuntu: titles, 20 BM25 candidates re-ranked by cosine, MAP x100 on the test split",
    }


# --------------------------------------------------------------------------- SciDocs


def trec_average_precision(qrel: dict[str, int], scores: dict[str, float]) -> float:
    """trec_eval's AP: rank by score (ties: doc id descending), relevant = relevance >= 1."""
    relevant = {doc for doc, rel in qrel.items() if rel >= 1}
    if not relevant:
        return 0.0
    ranking = sorted(scores.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
    hits, total = 0, 0.0
    for k, (doc, _) in enumerate(ranking, start=1):
        if doc in relevant:
            hits += 1
            total += hits / k
    return total / len(relevant)


def read_scidocs(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(f"SciDocs file missing: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", "?")
        raise DataError(f"{path}:{line}: not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("corpus"), dict):
        raise DataError(f"{path}: expected a JSON object with 'corpus' (paper id -> {{title}}) and 'test' qrels")
    return data


def evaluate_scidocs(model: Any, folder: Path, batch_size: int = 128, split: str = "test") -> dict[str, Any]:
    path = folder / "data.json"
    data = read_scidocs(path)
    qrels = data.get(split)
    if not isinstance(qrels, dict) or not qrels:
        raise DataError(f"{path}: no {split!r} qrels (expected {{set name: {{query id: {{doc id: relevance}}}}}})")
    for name, qrel in qrels.items():
        valid = isinstance(qrel, dict) and all(
            isinstance(docs, dict) and all(isinstance(r, int) for r in docs.values()) for docs in qrel.values()
        )
        if not valid:
            raise DataError(f"{path}: {split}/{name}: expected {{query id: {{doc id: relevance (integer)}}}}")
    corpus = data["corpus"]

    def title(pid: str) -> str | None:
        entry = corpus.get(pid)
        text = entry.get("title") if isinstance(entry, dict) else None
        return text.strip() or None if isinstance(text, str) else None

    texts = [t for qrel in qrels.values() for q, docs in qrel.items() for t in (title(q), *map(title, docs)) if t]
    embeddings, row = _encode_unique(model, texts, batch_size)
    sets = {}
    for name, qrel in qrels.items():
        aps = []
        for qid, docs in qrel.items():
            query = title(qid)
            if query is None:
                continue
            q = embeddings[row[query]]
            scores = {doc: float(embeddings[row[t]] @ q) for doc in docs if (t := title(doc)) is not None}
            aps.append(trec_average_precision(docs, scores))
        sets[name] = {"map": 100 * float(np.mean(aps)) if aps else 0.0, "queries": len(aps)}
    return {
        "score": float(np.mean([s["map"] for s in sets.values()])),
        "metric": "MAP",
        "sets": sets,
        "split": split,
        "files": [str(path)],
        "protocol": "USEB SciDocs: titles, cosine ranking of each query's candidates, trec_eval MAP x100, "
        "mean over cite, cocite, coread, coview",
    }
