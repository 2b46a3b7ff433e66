"""Stage 2 query selection: keep queries the stage-1 model sometimes, but not always, solves."""

from __future__ import annotations

from collections import Counter

from hybridthink.generation import chat_prompts, generate
from hybridthink.scoring import score_items


def pass_rates(model, tokenizer, items: list[dict], k: int, max_new_tokens: int, temperature: float,
               batch_size: int, seed: int) -> list[float]:
    """Share of ``k`` sampled thinking-mode completions that are correct, per item."""
    prompts = chat_prompts(tokenizer, [[{"role": "user", "content": it["prompt"]}] for it in items])
    groups = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, do_sample=True, temperature=temperature,
                      num_samples=k, batch_size=max(1, batch_size // k), seed=seed, desc="learnability")
    flat_items = [it for it in items for _ in range(k)]
    scores = score_items(flat_items, [c.text for g in groups for c in g])
    return [sum(scores[i * k : (i + 1) * k]) / k for i in range(len(items))]


def select_learnable(items: list[dict], rates: list[float]) -> tuple[list[dict], dict]:
    """Keep items with 0 < pass rate < 1; count those dropped as too easy or too hard."""
    kept = [it for it, r in zip(items, rates) if 0.0 < r < 1.0]
    stats = {
        "candidates": len(items),
        "dropped_too_easy": sum(r == 1.0 for r in rates),
        "dropped_too_hard": sum(r == 0.0 for r in rates),
        "kept": len(kept),
        "kept_by_family": dict(Counter(it["family"] for it in kept)),
        "mean_pass_rate": sum(rates) / len(rates) if rates else None,
    }
    return kept, stats
