"""Stage 3 data: thinking samples by rejection sampling from the stage-2 model, non-thinking
samples from the world's direct answers, and Qwen3's flags placed in user or system turns."""

from __future__ import annotations

import random
from collections import Counter

from hybridthink.generation import chat_prompts, generate
from hybridthink.modes import NO_THINK_FLAG, THINK_FLAG, completion_mode, last_flag, split_thinking
from hybridthink.scoring import score_items


def rejection_sample(model, tokenizer, items: list[dict], k: int, max_new_tokens: int, temperature: float,
                     batch_size: int, seed: int, max_line_repeats: int) -> tuple[list[tuple[dict, str]], dict]:
    """For each item keep the first of ``k`` sampled thinking completions that is correct and well formed."""
    prompts = chat_prompts(tokenizer, [[{"role": "user", "content": it["prompt"]}] for it in items])
    groups = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, do_sample=True, temperature=temperature,
                      num_samples=k, batch_size=max(1, batch_size // k), seed=seed, desc="rejection sampling")
    flat_items = [it for it in items for _ in range(k)]
    texts = [c.text for g in groups for c in g]
    scores = score_items(flat_items, texts)
    kept, removed = {}, Counter()
    for item, text, score in zip(flat_items, texts, scores):
        thinking, _ = split_thinking(text)
        if score < 1.0:
            removed["wrong_answer"] += 1
        elif completion_mode(text) != "think":
            removed["malformed_think_block"] += 1
        elif max(Counter(line for line in (thinking or "").split("\n") if line.strip()).values(), default=0) > max_line_repeats:
            removed["repetition"] += 1
        else:
            kept.setdefault(item["id"], (item, text))
    stats = {"queries": len(items), "samples": len(texts), "removed": dict(removed), "queries_kept": len(kept)}
    return list(kept.values()), stats


def _flagged(content: str, flag: str | None, rng: random.Random, system_share: float) -> list[dict]:
    """A user turn carrying ``flag`` at its end, or (for a share) in a system message instead."""
    if flag is None:
        return [{"role": "user", "content": content}]
    if rng.random() < system_share:
        return [{"role": "system", "content": flag}, {"role": "user", "content": content}]
    return [{"role": "user", "content": f"{content} {flag}"}]


def _mode(kind: str) -> str:
    return "think" if kind.startswith("think") else "no_think"


def _with_flag(exchange: list[dict], mode: str) -> list[dict]:
    """A (user, assistant) exchange whose user turn ends with the flag of ``mode`` if it lacks it."""
    user, assistant = exchange
    flag = THINK_FLAG if mode == "think" else NO_THINK_FLAG
    if last_flag(user["content"]) != mode:
        user = {**user, "content": f"{user['content']} {flag}"}
    return [user, assistant]


def _family_counts(thinking: list[tuple[dict, str]], direct: list[dict], size: int, ratio: float,
                   balance: bool) -> dict[str | None, tuple[int, int]]:
    """How many thinking and non-thinking rows to draw, per family (``None`` = all families pooled)."""
    def counts(n_thinking: int, n_direct: int, budget: float) -> tuple[int, int]:
        n_think = min(n_thinking, round(budget * ratio))
        # When rejection sampling yields fewer thinking samples than asked, shrink the mix rather
        # than the ratio: the thinking : non-thinking balance is what the recipe is about.
        return n_think, min(n_direct, round(budget - n_think) if ratio == 0 else round(n_think * (1 - ratio) / ratio))

    if not balance:
        return {None: counts(len(thinking), len(direct), size)}
    by_think = Counter(item["family"] for item, _ in thinking)
    by_direct = Counter(item["family"] for item in direct)
    families = sorted(set(by_think) | set(by_direct))
    return {f: counts(by_think[f], by_direct[f], size / len(families)) for f in families}


def fusion_rows(thinking: list[tuple[dict, str]], direct: list[dict], mix: dict, seed: int) -> tuple[list[dict], dict]:
    """Mix thinking and non-thinking conversations at the recipe's ratio; return rows and their counts.

    Each row has ``messages`` and ``chat_template_kwargs``; a share of non-thinking rows uses the
    hard switch (``enable_thinking=False``) instead of the ``/no_think`` flag, and a share of rows
    are two-turn chats whose flags differ, so the last flag must win. With ``balance_families``
    the ratio holds within every task family, so the mode cannot be guessed from the task (a
    family the model rarely solves gets as few non-thinking rows as its thinking rows allow).
    """
    rng = random.Random(seed)
    plan = _family_counts(thinking, direct, mix["size"], mix["thinking_ratio"], mix["balance_families"])
    picked_think, picked_direct = [], []
    for family, (n_think, n_direct) in plan.items():
        picked_think += rng.sample([t for t in thinking if family in (None, t[0]["family"])], n_think)
        picked_direct += rng.sample([d for d in direct if family in (None, d["family"])], n_direct)
    think_rows, direct_rows = [], []
    for item, text in picked_think:
        flag = THINK_FLAG if rng.random() < mix["think_flag_share"] else None
        msgs = _flagged(item["prompt"], flag, rng, mix["system_flag_share"]) + [{"role": "assistant", "content": text}]
        think_rows.append({"messages": msgs, "chat_template_kwargs": {"enable_thinking": True}, "kind": "think"})
    for item in picked_direct:
        if rng.random() < mix["hard_switch_share"]:
            msgs = [{"role": "user", "content": item["prompt"]}, {"role": "assistant", "content": item["response"]}]
            direct_rows.append({"messages": msgs, "chat_template_kwargs": {"enable_thinking": False}, "kind": "no_think_hard"})
        else:
            msgs = _flagged(item["prompt"], NO_THINK_FLAG, rng, mix["system_flag_share"]) + [
                {"role": "assistant", "content": item["response"]}]
            direct_rows.append({"messages": msgs, "chat_template_kwargs": {"enable_thinking": True}, "kind": "no_think"})
    rows = think_rows + direct_rows
    # Multi-turn: prepend an earlier exchange in the other mode, so that the last flag decides.
    if think_rows and direct_rows:
        for row in rng.sample(rows, round(len(rows) * mix["multi_turn_share"])):
            if row["kind"] == "no_think_hard":
                continue
            other = rng.choice(direct_rows if _mode(row["kind"]) == "think" else think_rows)
            first = _with_flag(other["messages"][-2:], _mode(other["kind"]))
            row["messages"] = first + _with_flag(row["messages"][-2:], _mode(row["kind"]))
            row["kind"] += "_multi_turn"
    rng.shuffle(rows)
    by_family = Counter(f"{item['family']}/think" for item, _ in picked_think)
    by_family.update(f"{item['family']}/no_think" for item in picked_direct)
    return rows, {**Counter(r["kind"] for r in rows), "by_family": dict(sorted(by_family.items()))}
