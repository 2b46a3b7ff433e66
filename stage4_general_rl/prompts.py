"""Stage 4 prompts: every task in both modes, each row carrying the columns its rewards read."""

from __future__ import annotations

import random
from collections import Counter

from hybridthink.modes import NO_THINK_FLAG, THINK_FLAG


def rl_rows(items: list[dict], no_think_share: float, think_flag_share: float, seed: int) -> tuple[list[dict], dict]:
    """One GRPO row per item, in 'no_think' mode for a share of them, else 'think'."""
    rng = random.Random(seed)
    rows = []
    for item in items:
        mode = "no_think" if rng.random() < no_think_share else "think"
        content = item["prompt"]
        if mode == "no_think":
            content += f" {NO_THINK_FLAG}"
        elif rng.random() < think_flag_share:
            content += f" {THINK_FLAG}"
        rows.append({
            "prompt": [{"role": "user", "content": content}],
            "mode": mode,
            "family": item["family"],
            "answer": item.get("answer"),
            "tests": item.get("tests"),
            "constraints": item.get("constraints"),
        })
    return rows, dict(Counter(f"{r['family']}/{r['mode']}" for r in rows))
