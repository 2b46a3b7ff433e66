"""Stage 1's query and response filters (Qwen3 report §4.1), each counting what it removes."""

from __future__ import annotations

from collections import Counter

from hybridthink.generation import generate
from hybridthink.modes import join_thinking
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


def filter_responses(items: list[dict], candidates: list[list[dict]], max_repeats: int) -> tuple[list[tuple[dict, dict]], dict]:
    """Drop wrong-answer and repetitive candidates; keep queries with pass@N > 0.

    Returns (kept (item, candidate) pairs, counts of what each filter removed).
    """
    flat = [(it, c) for it, cs in zip(items, candidates) for c in cs]
    correct = score_items([it for it, _ in flat], [think_text(c) for _, c in flat])
    removed = Counter()
    kept_by_id: dict[str, list[tuple[dict, dict]]] = {}
    for (item, cand), score in zip(flat, correct):
        if score < 1.0:
            removed["wrong_answer"] += 1
        elif max_line_repeats(cand["thinking"]) > max_repeats:
            removed["repetition"] += 1
        else:
            kept_by_id.setdefault(item["id"], []).append((item, cand))
    removed["queries_with_no_passing_response"] = len(items) - len(kept_by_id)
    return [pairs[0] for pairs in kept_by_id.values()], dict(removed)
