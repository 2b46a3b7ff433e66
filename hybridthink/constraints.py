"""Rule checkers for the toy world's instruction-following constraints.

A constraint is a dict ``{"type": <name>, **params}``; a checker takes the answer text (the
part after ``</think>``) and the params and returns whether the answer obeys it. The same
checkers grade evaluation items and serve as the RL reward, so what is measured is what is
trained.
"""

from __future__ import annotations

import json
from collections.abc import Callable


def _words(text: str) -> list[str]:
    return text.strip().rstrip(".").split()


def _repeat_word(answer: str, word: str, n: int) -> bool:
    return _words(answer) == [word] * int(n)


def _uppercase(answer: str, word: str) -> bool:
    return answer.strip().rstrip(".") == word.upper()


def _count_range(answer: str, start: int, end: int) -> bool:
    expected = ", ".join(str(i) for i in range(int(start), int(end) + 1))
    return answer.strip().rstrip(".") == expected


def _spell(answer: str, word: str) -> bool:
    return answer.strip().rstrip(".") == "-".join(word)


CHECKERS: dict[str, Callable[..., bool]] = {
    "repeat_word": _repeat_word,
    "uppercase": _uppercase,
    "count_range": _count_range,
    "spell": _spell,
}


def parse_constraints(value) -> list[dict]:
    """Accept a list of constraint dicts or its JSON string; raise ValueError naming what is wrong."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"constraints are not valid JSON: {err}") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError(f"constraints must be a non-empty list, got {value!r}")
    for c in value:
        if not isinstance(c, dict) or c.get("type") not in CHECKERS:
            raise ValueError(f"unknown constraint {c!r}; known types: {sorted(CHECKERS)}")
    return value


def share_followed(answer: str, constraints) -> float:
    """Share of constraints the answer obeys (IFEval's 'strict' instruction-level score)."""
    items = parse_constraints(constraints)
    ok = 0
    for c in items:
        params = {k: v for k, v in c.items() if k != "type"}
        try:
            ok += bool(CHECKERS[c["type"]](answer, **params))
        except TypeError as err:
            raise ValueError(f"constraint {c!r} has wrong parameters: {err}") from None
    return ok / len(items)
