"""Query selection by learnability (Qwen3 stage 2, and stage 4's tasks that ask for it): keep the
queries the parent model sometimes, but not always, answers right. GRPO learns nothing from a
group whose completions all score alike, so these are the queries that carry a signal."""

from __future__ import annotations

from collections import Counter

from .generation import chat_prompts, generate
from .scoring import score_items
from .tool_episodes import run_episodes


def pass_rates(model, tokenizer, items: list[dict], k: int, max_new_tokens: int, temperature: float,
               batch_size: int, seed: int, conversations: list[list[dict]] | None = None,
               tools: list | None = None) -> list[float]:
    """Share of ``k`` sampled completions that are fully right (score 1 by the item's family's
    grader), per item. Each item is asked as its ``conversations`` entry (default: its prompt as
    one user turn, so in thinking mode); with ``tools`` each sample is a tool episode and its final
    answer is graded."""
    conversations = conversations or [[{"role": "user", "content": it["prompt"]}] for it in items]
    if tools:
        episodes = run_episodes(model, tokenizer, [c for c in conversations for _ in range(k)], tools,
                                max_new_tokens=max_new_tokens, batch_size=batch_size, do_sample=True,
                                temperature=temperature, seed=seed)
        texts = [e.final_text for e in episodes]
    else:
        groups = generate(model, tokenizer, chat_prompts(tokenizer, conversations), max_new_tokens=max_new_tokens,
                          do_sample=True, temperature=temperature, num_samples=k, batch_size=max(1, batch_size // k),
                          seed=seed, desc="learnability")
        texts = [c.text for g in groups for c in g]
    scores = score_items([it for it in items for _ in range(k)], texts)
    return [sum(s == 1.0 for s in scores[i * k : (i + 1) * k]) / k for i in range(len(items))]


def select_learnable(items: list[dict], rates: list[float]) -> tuple[list[dict], dict]:
    """Keep items with 0 < pass rate < 1; count those dropped as too easy or too hard."""
    kept = [it for it, r in zip(items, rates, strict=True) if 0.0 < r < 1.0]
    stats = {
        "candidates": len(items),
        "dropped_too_easy": sum(r == 1.0 for r in rates),
        "dropped_too_hard": sum(r == 0.0 for r in rates),
        "kept": len(kept),
        "kept_by_family": dict(Counter(it["family"] for it in kept)),
        "mean_pass_rate": sum(rates) / len(rates) if rates else None,
    }
    return kept, stats
