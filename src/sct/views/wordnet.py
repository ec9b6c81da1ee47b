"""WordNet synonym replacement (EDA-style), read straight from Debian's WordNet database files.

Part-of-speech awareness without a tagger: a word's part of speech is the one whose senses are
tagged most often in SemCor (``index.sense`` counts from ``wordnet-sense-index``), and the synonym
comes from that part of speech's most frequent synset. Only words that are their own lemma (or a
regular noun plural) are replaced, so the sentence stays grammatical without re-inflection.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from pathlib import Path

from sct.errors import ConfigError

WORDNET_DIR = Path("/usr/share/wordnet")
APT_HINT = "sudo apt-get install wordnet-base wordnet-sense-index"
POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
STOPWORDS = frozenset(
    """a an the and or but if of at by for with about against between into through during before after
    above below to from up down in out on off over under again further then once here there when where why
    how all any both each few more most other some such no nor not only own same so than too very can will
    just don should now is are was were be been being have has had having do does did doing i me my we our
    you your he him his she her it its they them their what which who whom this that these those am""".split()
)
_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")


@dataclass(frozen=True)
class _Entry:
    pos: str
    synsets: tuple[int, ...]  # offsets, most frequent sense first


class WordNet:
    """Lemma -> part of speech (most tagged) and synonyms of its most frequent synset."""

    def __init__(self, directory: Path = WORDNET_DIR) -> None:
        if not (directory / "index.noun").is_file():
            raise ConfigError(f"WordNet not found in {directory} (needed for synonym views): {APT_HINT}")
        if not (directory / "index.sense").is_file():
            raise ConfigError(f"WordNet's sense index not found in {directory}: {APT_HINT}")
        self.directory = directory
        self._entries: dict[str, dict[str, _Entry]] = {}
        for pos, name in POS_FILES.items():
            for line in (directory / f"index.{name}").read_text(encoding="utf-8").splitlines():
                if line.startswith(" "):
                    continue
                fields = line.split()
                synset_count, pointer_count = int(fields[2]), int(fields[3])
                offsets = tuple(int(o) for o in fields[6 + pointer_count :][:synset_count])
                self._entries.setdefault(fields[0], {})[pos] = _Entry(pos, offsets)
        self._tag_counts: dict[tuple[str, str], int] = {}
        ss_type = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}
        for line in (directory / "index.sense").read_text(encoding="utf-8").splitlines():
            key, _, _, count = line.split()
            lemma, rest = key.split("%", 1)
            pos = ss_type[rest[0]]
            self._tag_counts[(lemma, pos)] = self._tag_counts.get((lemma, pos), 0) + int(count)
        self._data_cache: dict[tuple[str, int], list[str]] = {}

    def _synset_words(self, pos: str, offset: int) -> list[str]:
        key = (pos, offset)
        if key not in self._data_cache:
            with open(self.directory / f"data.{POS_FILES[pos]}", "rb") as handle:
                handle.seek(offset)
                fields = handle.readline().decode("utf-8").split()
            count = int(fields[3], 16)
            self._data_cache[key] = [re.sub(r"\(.*\)$", "", fields[4 + 2 * i]) for i in range(count)]
        return self._data_cache[key]

    def pos_of(self, lemma: str) -> str | None:
        entries = self._entries.get(lemma)
        if not entries:
            return None
        return max(entries, key=lambda pos: (self._tag_counts.get((lemma, pos), 0), -len(entries[pos].synsets)))

    def synonyms(self, lemma: str) -> list[str]:
        """Single-word synonyms of the lemma in its most frequent synset of its most tagged POS."""
        pos = self.pos_of(lemma)
        if pos is None:
            return []
        words = self._synset_words(pos, self._entries[lemma][pos].synsets[0])
        return [w for w in words if w.lower() != lemma and "_" not in w and w.isalpha()]


class SynonymReplacer:
    """Replace one content word of a sentence by a WordNet synonym, reproducibly per (sentence, seed)."""

    def __init__(self, wordnet: WordNet | None = None) -> None:
        self.wordnet = wordnet or WordNet()

    def _candidates(self, sentence: str) -> list[tuple[re.Match[str], list[str]]]:
        found = []
        for match in _WORD.finditer(sentence):
            word = match.group(0)
            if word.lower() in STOPWORDS or word[0].isupper() and match.start() > 0:
                continue  # function words and (probable) proper nouns stay
            lemma = word.lower()
            synonyms = self.wordnet.synonyms(lemma)
            plural = False
            if not synonyms and lemma.endswith("s") and self.wordnet.pos_of(lemma[:-1]) == "n":
                synonyms, plural = self.wordnet.synonyms(lemma[:-1]), True
            if synonyms:
                found.append((match, [s + "s" if plural else s for s in synonyms]))
        return found

    def replace(self, sentence: str, seed: int) -> str:
        candidates = self._candidates(sentence)
        if not candidates:
            return sentence
        digest = hashlib.sha256(f"{seed}\t{sentence}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        match, synonyms = rng.choice(candidates)
        replacement = rng.choice(synonyms)
        if match.group(0)[0].isupper():
            replacement = replacement[0].upper() + replacement[1:]
        return sentence[: match.start()] + replacement + sentence[match.end() :]
