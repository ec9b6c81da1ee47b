"""A persistent per-engine translation cache keyed by sentence hash (sqlite, safe to interrupt)."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from sct.errors import ConfigError


def sentence_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class TranslationCache:
    """``engine -> {hash(sentence): output}``; each ``put`` commits, so an interrupted run resumes.

    One connection is shared by the translation threads, so every statement holds a lock.
    """

    def __init__(self, directory: Path, engine: str) -> None:
        self._lock = threading.Lock()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self.path = directory / f"{engine}.sqlite"
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS views (key TEXT PRIMARY KEY, output TEXT NOT NULL)")
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot use the view cache in {directory}: {exc}") from exc

    def get_many(self, texts: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        texts = list(dict.fromkeys(texts))
        for start in range(0, len(texts), 500):
            chunk = {sentence_hash(t): t for t in texts[start : start + 500]}
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(f"SELECT key, output FROM views WHERE key IN ({marks})", list(chunk)).fetchall()
            for key, output in rows:
                found[chunk[key]] = output
        return found

    def put_many(self, pairs: dict[str, str]) -> None:
        rows = [(sentence_hash(t), out) for t, out in pairs.items()]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO views (key, output) VALUES (?, ?)", rows)
            self._db.commit()

    def close(self) -> None:
        self._db.close()
