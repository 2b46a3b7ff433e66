"""Stage 1's query and response filters (Qwen3 report §4.1), each counting what it removes."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from hybridthink.generation import generate
from hybridthink.math_grading import math_equal
from hybridthink.modes import join_thinking
from hybridthink.rewards import boxed_answers
from hybridthink.scoring import score_items
from hybridthink.toy.world import direct_prompt


def solved_without_cot(model, tokenizer, items: list[dict], max_new_tokens: int, batch_size: int) -> list[bool]:
    """Whether the base model answers each item correctly with no chain of thought (greedy)."""
    outs = generate(model, tokenizer, [direct_prompt(it) for it in items], max_new_tokens=max_new_tokens,
                    batch_size=batch_size, desc="query filter")
    return [s >= 1.0 for s in score_items(items, [o[0].text for o in outs])]


def max_line_repeats(text: str) -> int:
    """How often the most frequent non-empty line occurs."""
    counts = Counter(line.strip() for line in text.split("\n") if line.strip())
    return max(counts.values(), default=0)


def think_text(candidate: dict) -> str:
    """A teacher candidate rendered as a thinking-mode assistant turn."""
    return join_thinking(candidate["thinking"], candidate["response"])


GUESS_RE = re.compile(r"\b(I(?: will|'ll)? guess|just guess|a guess|I am not sure|I'm not sure|no idea)\b", re.IGNORECASE)
_CODE_RE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)


def guesswork(thinking: str) -> bool:
    """The reasoning says it guesses (or does not know) instead of working the answer out."""
    return bool(GUESS_RE.search(thinking))


def inconsistent(thinking: str, response: str) -> bool:
    """The reasoning's own conclusion disagrees with the final answer: its last ``\\boxed{}`` is not
    equal to the answer's, or its last code block differs from the answer's (whitespace aside).
    Reasoning that states no such conclusion is not judged."""
    drafts, finals = boxed_answers(thinking), boxed_answers(response)
    if drafts and finals:
        return not math_equal(drafts[-1], finals[-1])
    codes, final_codes = _CODE_RE.findall(thinking), _CODE_RE.findall(response)
    if codes and final_codes:
        return codes[-1].split() != final_codes[-1].split()
    return False


def mixed_language(text: str) -> bool:
    """Letters of a script other than Latin (the prompts' language) in ``text``."""
    return any(ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN") for ch in text)


# The response filters after the wrong-answer check, in the order they are tried.
RESPONSE_FILTERS = ("repetition", "guesswork", "inconsistent", "language_mixing")


def response_defect(candidate: dict, max_repeats: int, enabled: tuple[str, ...] = RESPONSE_FILTERS) -> str | None:
    """The first of the ``enabled`` response filters that catches a (correct) candidate, or None."""
    thinking, response = candidate["thinking"], candidate["response"]
    checks = {
        "repetition": lambda: max_line_repeats(thinking) > max_repeats,
        "guesswork": lambda: guesswork(thinking),
        "inconsistent": lambda: inconsistent(thinking, response),
        "language_mixing": lambda: mixed_language(thinking + response),
    }
    return next((name for name in enabled if checks[name]()), None)


def filter_responses(items: list[dict], candidates: list[list[dict]], max_repeats: int,
                     enabled: tuple[str, ...] = RESPONSE_FILTERS) -> tuple[list[tuple[dict, dict]], dict]:
    """Drop wrong-answer candidates, then those the ``enabled`` response filters catch (repetition,
    guesswork, inconsistent reasoning and answer, language mixing); keep queries with pass@N > 0.

    Returns (kept (item, candidate) pairs, counts of what each filter removed).
    """
    unknown = sorted(set(enabled) - set(RESPONSE_FILTERS))
    if unknown:
        raise ValueError(f"unknown response filter(s) {unknown}; known: {list(RESPONSE_FILTERS)}")
    flat = [(it, c) for it, cs in zip(items, candidates) for c in cs]
    correct = score_items([it for it, _ in flat], [think_text(c) for _, c in flat])
    removed = Counter()
    kept_by_id: dict[str, list[tuple[dict, dict]]] = {}
    for (item, cand), score in zip(flat, correct):
        caught = "wrong_answer" if score < 1.0 else response_defect(cand, max_repeats, enabled)
        if caught:
            removed[caught] += 1
        else:
            kept_by_id.setdefault(item["id"], []).append((item, cand))
    removed["queries_with_no_passing_response"] = len(items) - len(kept_by_id)
    return [pairs[0] for pairs in kept_by_id.values()], dict(removed)


def balanced(kept: list[tuple[dict, dict]], n: int) -> list[tuple[dict, dict]]:
    """Up to ``n`` samples taken from the families in turn, so no family crowds out the others."""
    by_family: dict[str, list] = {}
    for pair in kept:
        by_family.setdefault(pair[0]["family"], []).append(pair)
    queues = list(by_family.values())
    out = []
    while len(out) < n and any(queues):
        for queue in queues:
            if queue and len(out) < n:
                out.append(queue.pop(0))
    return out
