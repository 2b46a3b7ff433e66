"""Stage 4 prompts: every task in both modes, each row carrying the columns its rewards read."""

from __future__ import annotations

import random
from collections import Counter

from hybridthink.modes import NO_THINK_FLAG, THINK_FLAG, last_flag, resolve_mode


def _earlier_turns(items: list[dict], rng: random.Random) -> list[dict]:
    """One or two earlier exchanges, each user turn with a random flag (or none) and the world's
    direct answer as the assistant turn (the template drops earlier reasoning anyway)."""
    turns = []
    for other in rng.sample(items, min(len(items), rng.randint(1, 2))):
        flag = rng.choice((None, THINK_FLAG, NO_THINK_FLAG))
        turns += [{"role": "user", "content": f"{other['prompt']} {flag}" if flag else other["prompt"]},
                  {"role": "assistant", "content": other["response"]}]
    return turns


def rl_rows(items: list[dict], no_think_share: float, think_flag_share: float, seed: int,
            multi_turn_share: float = 0.0, inherit_share: float = 0.0) -> tuple[list[dict], dict]:
    """One GRPO row per item, asking for 'no_think' for a share of them, else 'think'.

    A ``multi_turn_share`` of rows are dialogues: earlier exchanges with random flags come first,
    then the row's turn with its mode's flag or, for an ``inherit_share`` of the dialogues whose
    history already asks for that mode, with none (the last flag decides the mode).
    """
    rng = random.Random(seed)
    rows = []
    for item in items:
        history = _earlier_turns(items, rng) if multi_turn_share and rng.random() < multi_turn_share else []
        content = item["prompt"]
        if history:
            mode = "no_think" if rng.random() < no_think_share else "think"
            if resolve_mode(history) != mode or rng.random() >= inherit_share:
                content += f" {NO_THINK_FLAG if mode == 'no_think' else THINK_FLAG}"
        elif rng.random() < no_think_share:
            content += f" {NO_THINK_FLAG}"
        elif rng.random() < think_flag_share:
            content += f" {THINK_FLAG}"
        prompt = history + [{"role": "user", "content": content}]
        rows.append({
            "prompt": prompt,
            "mode": resolve_mode(prompt),
            "family": item["family"],
            "task": item.get("task"),
            "answer": item.get("answer"),
            "tests": item.get("tests"),
            "constraints": item.get("constraints"),
            "reference": item.get("response"),  # for a judge reward
        })
    counts = Counter(f"{r['task'] or r['family']}/{r['mode']}" for r in rows)
    counts.update(f"multi_turn/{r['mode']}" for r in rows if len(r["prompt"]) > 1)
    counts.update(f"inherited/{r['mode']}" for r in rows if len(r["prompt"]) > 1 and not last_flag(r["prompt"][-1]["content"]))
    return rows, dict(counts)
