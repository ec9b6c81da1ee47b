"""The demo's last step: what the trained student is for. Semantic search over a small built-in set of sentences,
the untrained and the trained student's top hits side by side, then the lines that load the model.

  python scripts/demo_search.py RUN_DIR [--before MODEL --before-layers N] [--output results.json]
"""

from __future__ import annotations

import argparse
from pathlib import Path

# Paraphrase groups of everyday sentences, none of them from the training corpus or an evaluation set: each query
# has two or three paraphrases in the set, written with different words, beside distractors that share words.
SENTENCES = [
    "A man is playing a guitar on stage.",
    "Someone performs a song on an acoustic instrument.",
    "The musician strums his six-string in front of a crowd.",
    "A man is fixing a guitar in his workshop.",
    "Two children are building a sandcastle at the beach.",
    "Kids make a castle out of sand by the sea.",
    "A pair of youngsters shape wet sand near the ocean.",
    "Two children are reading a book about castles.",
    "The stock market fell sharply this morning.",
    "Share prices dropped steeply at the opening bell.",
    "Investors saw markets tumble early in the day.",
    "The farmers' market opened this morning.",
    "A woman is slicing vegetables in the kitchen.",
    "Someone chops carrots and onions for dinner.",
    "A cook cuts up fresh produce on a board.",
    "A woman is buying vegetables at a market.",
    "The train to the city was delayed by an hour.",
    "Our commuter rail service ran sixty minutes late.",
    "The dog is chasing a ball across the park.",
    "A puppy runs after a thrown toy on the grass.",
]
QUERIES = ["a person plays music", "equity values declined", "kids playing on the shore"]


def top_hits(model, queries: list[str], k: int) -> list[list[tuple[str, float]]]:
    corpus = model.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
    asked = model.encode(queries, normalize_embeddings=True, convert_to_numpy=True)
    hits = []
    for row in asked @ corpus.T:
        order = row.argsort()[::-1][:k]
        hits.append([(SENTENCES[i], float(row[i])) for i in order])
    return hits


def _cell(hit: tuple[str, float], width: int) -> str:
    text = f"{hit[1]:.2f} {hit[0]}"
    return text if len(text) <= width else text[: width - 1] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--before", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--before-layers", type=int, default=2)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--output", type=Path, help="write the hits as JSON here")
    args = parser.parse_args()
    from sentence_transformers import SentenceTransformer

    from sct.data import write_json_atomic
    from sct.models import load_student

    untrained, _ = load_student(args.before, args.before_layers)
    trained = SentenceTransformer(str(args.run), device="cpu")
    before, after = top_hits(untrained, QUERIES, args.top), top_hits(trained, QUERIES, args.top)
    width = 60
    for query, old, new in zip(QUERIES, before, after, strict=True):
        print(f'\nquery: "{query}"')
        print(f"  {'untrained student':<{width}}  trained student")
        for a, b in zip(old, new, strict=True):
            print(f"  {_cell(a, width):<{width}}  {_cell(b, width)}")
    print(
        "\nUse it anywhere (plain sentence-transformers, no sct needed):\n\n"
        "    from sentence_transformers import SentenceTransformer\n"
        f'    model = SentenceTransformer("{args.run}")\n'
        '    embeddings = model.encode(["A man is playing a guitar.", "Someone plays an instrument."])'
    )
    if args.output:
        result = {"queries": QUERIES, "sentences": SENTENCES, "before": before, "after": after, "model": str(args.run)}
        write_json_atomic(args.output, result)
        print(f"\nhits: {args.output}")


if __name__ == "__main__":
    main()
