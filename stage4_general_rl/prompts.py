"""Stage 4 prompts: every task in both modes, each row carrying the columns its rewards read."""

from __future__ import annotations

import random
from collections import Counter

from hybridthink.modes import NO_THINK_FLAG, THINK_FLAG, VARIANT_MODES, last_flag, resolve_mode, set_flag
from hybridthink.length_control import length_instruction, length_text


def _earlier_turns(items: list[dict], rng: random.Random) -> list[dict]:
    """One or two earlier exchanges, each user turn with a random flag (or none) and the world's
    direct answer as the assistant turn (the template drops earlier reasoning anyway)."""
    turns = []
    for other in rng.sample(items, min(len(items), rng.randint(1, 2))):
        flag = rng.choice((None, THINK_FLAG, NO_THINK_FLAG))
        turns += [{"role": "user", "content": f"{other['prompt']} {flag}" if flag else other["prompt"]},
                  {"role": "assistant", "content": other["response"]}]
    return turns


def _flag_for(history: list[dict], no_think_share: float, think_flag_share: float, inherit_share: float,
              rng: random.Random) -> str:
    """The flag (with its leading space, or "") that ends a row's user turn."""
    if history:
        mode = "no_think" if rng.random() < no_think_share else "think"
        if resolve_mode(history) != mode or rng.random() >= inherit_share:
            return f" {NO_THINK_FLAG if mode == 'no_think' else THINK_FLAG}"
        return ""
    if rng.random() < no_think_share:
        return f" {NO_THINK_FLAG}"
    if rng.random() < think_flag_share:
        return f" {THINK_FLAG}"
    return ""


def rl_rows(items: list[dict], no_think_share: float, think_flag_share: float, seed: int,
            multi_turn_share: float = 0.0, inherit_share: float = 0.0,
            length_tasks: frozenset[str] = frozenset(), inherit_twins: bool = False,
            variant: str = "hybrid", task_modes: dict[str, dict] | None = None) -> tuple[list[dict], dict]:
    """One GRPO row per item, asking for 'no_think' for a share of them, else 'think'.

    A ``multi_turn_share`` of rows are dialogues: earlier exchanges with random flags come first,
    then the row's turn with its mode's flag or, for an ``inherit_share`` of the dialogues whose
    history already asks for that mode, with none (the last flag decides the mode). With
    ``inherit_twins`` each such row comes with a twin whose last earlier turn asks for the other
    mode (so the twin asks for that one): two prompts that differ only in the flag to inherit.

    ``task_modes`` maps a task to its own values of these shares (``{"multi_turn_share": 0.0}``: its
    rows stay single-turn; ``{"multi_turn_share": 1.0, "inherit_share": 1.0}``: dialogues, unflagged
    whenever the history already asks for the row's mode). Rows of a task in ``length_tasks`` ask
    for a length ("Answer in at most 5 words.") and carry it in their ``length`` column for the
    length reward. For a split ``variant`` (instruct, thinking)
    every row is a single turn without a flag, asking for the variant's one mode.
    """
    rng, length_rng = random.Random(seed), random.Random(f"length-{seed}")
    answered = [item for item in items if item.get("response")]  # earlier turns need an answer (tool items have none)
    rows, hybrid = [], variant == "hybrid"
    shares = {"no_think_share": no_think_share, "think_flag_share": think_flag_share,
              "multi_turn_share": multi_turn_share, "inherit_share": inherit_share}
    for item in items:
        own = {**shares, **(task_modes or {}).get(item.get("task"), {})}
        dialogue = hybrid and own["multi_turn_share"]
        history = _earlier_turns(answered, rng) if dialogue and rng.random() < own["multi_turn_share"] else []
        length = length_instruction(item.get("response") or "", length_rng) if item.get("task") in length_tasks else None
        content = item["prompt"] + (f" {length_text(length)}" if length else "")
        if hybrid:
            content += _flag_for(history, own["no_think_share"], own["think_flag_share"], own["inherit_share"], rng)
        prompts = [history + [{"role": "user", "content": content}]]
        if inherit_twins and history and not last_flag(content):
            other = "think" if resolve_mode(prompts[0]) == "no_think" else "no_think"
            prompts.append(history[:-2] + [{**history[-2], "content": set_flag(history[-2]["content"], other)},
                                            history[-1], prompts[0][-1]])
        rows += [{
            "prompt": prompt,
            "mode": resolve_mode(prompt) if hybrid else VARIANT_MODES[variant],
            "family": item["family"],
            "task": item.get("task"),
            "answer": item.get("answer"),
            "tests": item.get("tests"),
            "instruction_id_list": item.get("instruction_id_list"),
            "kwargs": item.get("kwargs"),
            "reference": item.get("response"),  # for a judge reward
            "length": length,
        } for prompt in prompts]
    counts = task_mode_counts(rows)
    counts.update(f"multi_turn/{r['mode']}" for r in rows if len(r["prompt"]) > 1)
    counts.update(f"inherited/{r['mode']}" for r in rows if len(r["prompt"]) > 1 and not last_flag(r["prompt"][-1]["content"]))
    counts.update(f"length_limit/{r['length']['relation']} {r['length']['unit']}" for r in rows if r["length"])
    return rows, dict(counts)


def task_mode_counts(rows: list[dict]) -> Counter:
    """RL rows counted by ``<task>/<mode>`` (the family for a row without a task)."""
    return Counter(f"{r['task'] or r['family']}/{r['mode']}" for r in rows)
