"""Word n-gram overlap between training queries and evaluation items (held-out toy items and the
real benchmarks), for dropping training queries that would leak an evaluation item.

Hand-written (a dozen lines of set arithmetic; the maintained decontamination tools work on
hub datasets, not on in-memory rows). Three rules keep it useful on templated data:

* a text shorter than ``n`` words is one n-gram of its own words (short prompts match only whole);
* n-grams shared by more than ``boilerplate_share`` of the training queries are template text
  (an instruction sentence every prompt repeats) and never count as overlap;
* a query overlaps when at least ``min_share`` of its other n-grams occur in an evaluation text,
  so a query that only shares a phrase with one is kept and a near-copy is not.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from .benchmarks import FAMILIES, load_family
from .jsonl import DataError

_WORD_RE = re.compile(r"[a-z0-9]+")


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """Lower-cased word n-grams of ``text`` (punctuation ignored); the whole text when shorter."""
    words = _WORD_RE.findall(text.lower())
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def benchmark_questions(directory: str | Path) -> list[str]:
    """Every question of the benchmark files found in ``directory`` (a family whose file is
    missing is skipped; a malformed file raises)."""
    questions = []
    for family in FAMILIES:
        try:
            questions += [it["question"] for it in load_family(Path(directory), family)]
        except DataError as err:
            if not str(err).startswith("data file not found"):
                raise
    return questions


def overlapping(queries: list[str], eval_texts: list[str], n: int = 13, boilerplate_share: float = 0.05,
                min_share: float = 0.8) -> list[bool]:
    """Whether each query is a near-copy of an evaluation text: at least ``min_share`` of its
    non-boilerplate word n-grams occur in the evaluation texts."""
    grams = [ngrams(q, n) for q in queries]
    frequency = Counter(g for gs in grams for g in gs)
    boilerplate = {g for g, c in frequency.items() if c > boilerplate_share * len(queries) and c > 1}
    index = set().union(*(ngrams(t, n) for t in eval_texts)) - boilerplate
    out = []
    for gs in grams:
        own = gs - boilerplate
        out.append(bool(own) and len(own & index) >= min_share * len(own))
    return out
