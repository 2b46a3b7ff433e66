"""Generate the toy world's splits, its pretraining corpus and its noisy long-CoT teacher."""

from __future__ import annotations

import random
from collections.abc import Iterator

from ..modes import join_thinking
from . import arithmetic, code_tasks, instructions, tool_tasks

FAMILIES = {"arithmetic": arithmetic, "code": code_tasks, "instruction": instructions}
SPLITS = ("eval", "stage1", "stage2", "stage3", "stage4")


def _check_families(names: list[str]) -> None:
    unknown = sorted(set(names) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown toy family {unknown}; known: {sorted(FAMILIES)}")


def generate_items(family: str, n: int, seed: int, difficulties: list[int], exclude: set[str],
                   distinct: bool = True) -> list[dict]:
    """``n`` items of one family, cycling through ``difficulties``, never a prompt in ``exclude``;
    with ``distinct`` no prompt repeats either."""
    _check_families([family])
    rng = random.Random(f"{family}-{seed}")
    items, seen, misses = [], set(exclude), 0
    while len(items) < n:
        # When the easy end runs out of distinct prompts, the next-harder difficulty fills in.
        difficulty = difficulties[min(len(difficulties) - 1, (len(items) % len(difficulties)) + misses // 50)]
        item = FAMILIES[family].make_item(rng, difficulty)
        if item["prompt"] in seen:
            misses += 1
            if misses > 50 * len(difficulties):
                raise RuntimeError(f"could only make {len(items)} distinct {family} items of {n} asked for")
            continue
        misses = 0
        if distinct:
            seen.add(item["prompt"])
        items.append(item)
    return items


def generate_world(sizes: dict[str, int], families: list[str], difficulties: list[int], seed: int) -> dict[str, list[dict]]:
    """All splits, disjoint by prompt; ``sizes`` counts items per family per split."""
    _check_families(families)
    unknown = sorted(set(sizes) - set(SPLITS) - {"pretrain"})
    if unknown:
        raise ValueError(f"unknown split {unknown} in world sizes; known: {['pretrain', *SPLITS]}")
    world, used = {}, set()
    for split_index, split in enumerate((*SPLITS, "pretrain")):
        rows = []
        for family in families:
            # Pretraining text may repeat itself but never holds an item of another split.
            batch = generate_items(family, sizes.get(split, 0), seed * 100 + split_index, difficulties, used,
                                   distinct=split != "pretrain")
            used.update(item["prompt"] for item in batch)
            rows.extend(batch)
        random.Random(seed + split_index).shuffle(rows)
        for i, row in enumerate(rows):
            row["id"] = f"{split}-{i:05d}"
        world[split] = rows
    return world


WORKED = "Let me think step by step.\n"
ANSWER = "\nAnswer: "


def pretraining_text(item: dict, worked: bool) -> str:
    """Raw (non-chat) text a base model sees: a direct answer or a worked solution."""
    if worked:
        return f"Question: {item['prompt']}\n{WORKED}{item['thinking']}{ANSWER}{item['response']}"
    return f"Question: {item['prompt']}{ANSWER}{item['response']}"


def direct_prompt(item: dict) -> str:
    """The raw prompt that asks a base model for an answer without chain of thought."""
    return f"Question: {item['prompt']}{ANSWER.rstrip()}"


def worked_prompt(item: dict) -> str:
    """The raw prompt that asks a base model for a worked solution, as in its pretraining text."""
    return f"Question: {item['prompt']}\n{WORKED}"


def worked_as_chat(text: str) -> str:
    """A raw worked solution rewritten as a thinking-mode answer, so the chat graders apply."""
    thinking, _, answer = text.partition(ANSWER)
    return join_thinking(thinking, answer)


def pretraining_corpus(items: list[dict], worked_share: float, seed: int) -> Iterator[str]:
    """Yield one document per item, a ``worked_share`` of them with their worked solution (a tool
    item: its episode with the calculator)."""
    rng = random.Random(seed)
    for item in items:
        worked = rng.random() < worked_share
        yield tool_tasks.pretraining_text(item) if item["family"] == "tool" else pretraining_text(item, worked)


def _repeat_a_line(thinking: str, rng: random.Random, times: int = 6) -> str:
    lines = thinking.split("\n")
    i = rng.randrange(len(lines))
    return "\n".join(lines[: i + 1] + [lines[i]] * times + lines[i + 1 :])


GUESS = "\nI am not sure how to work this out, so I will guess."
FOREIGN_LINES = ("让我再检查一下。", "Давайте проверим ещё раз.")  # scripts other than the prompt's Latin


def teacher_responses(item: dict, n: int, noise: dict[str, float], rng: random.Random,
                      shortcut_share: float = 0.0) -> list[dict]:
    """``n`` long-CoT candidates for an item, with realistic defects at the rates in ``noise``.

    Defects: ``wrong_answer`` (a consistent slip), ``repetition`` (a line repeated many times),
    ``guesswork`` (the reasoning gives up and guesses; the answer happens to be right),
    ``inconsistent`` (the reasoning ends on a draft answer that the final answer contradicts;
    items with a math answer or code tests) and ``language_mixing`` (a line of the reasoning in
    another language).
    Style: with probability ``shortcut_share`` (families that have one) the teacher states the
    result at a glance instead of working it out step by step — right for the teacher, a guess
    for a small student that copies it. Each candidate records its defect and style, so tests can
    check the filters and a run can count what the student was shown.
    """
    module = FAMILIES[item["family"]]
    shortcut = getattr(module, "shortcut", None)
    out = []
    for _ in range(n):
        thinking, response, defect, style = item["thinking"], item["response"], None, "step_by_step"
        if rng.random() < noise.get("wrong_answer", 0.0):
            thinking, response = module.corrupt(item, rng)
            defect = "wrong_answer"
        if shortcut and rng.random() < shortcut_share:
            thinking, style = shortcut(thinking), "shortcut"
        if rng.random() < noise.get("repetition", 0.0):
            thinking = _repeat_a_line(thinking, rng)
            defect = defect or "repetition"
        if not defect and rng.random() < noise.get("guesswork", 0.0):
            thinking, defect = thinking.split("\n")[0] + GUESS, "guesswork"
        if not defect and (item.get("answer") or item.get("tests")) and rng.random() < noise.get("inconsistent", 0.0):
            thinking, defect = f"{thinking}\nDraft answer: {module.corrupt(item, rng)[1]}", "inconsistent"
        if not defect and rng.random() < noise.get("language_mixing", 0.0):
            lines = thinking.split("\n")
            thinking, defect = "\n".join(lines[:1] + [rng.choice(FOREIGN_LINES)] + lines[1:]), "language_mixing"
        out.append({"thinking": thinking, "response": response, "defect": defect, "style": style})
    return out


def preference_pairs(items: list[dict], seed: int) -> list[dict]:
    """Preference pairs from the world's own rules, three per item: correct and concise (the
    reference reasoning) over correct and rambling (a line repeated), and both over a wrong answer
    (a consistent slip). Conversational rows for TRL's RewardTrainer: prompt, chosen, rejected
    (and the pair's ``kind``)."""
    rng = random.Random(seed)
    pairs = []
    for item in items:
        concise = join_thinking(item["thinking"], item["response"])
        rambling = join_thinking(_repeat_a_line(item["thinking"], rng), item["response"])
        wrong = join_thinking(*FAMILIES[item["family"]].corrupt(item, rng))
        prompt = [{"role": "user", "content": item["prompt"]}]
        for kind, chosen, rejected in (("concise>rambling", concise, rambling), ("concise>wrong", concise, wrong),
                                       ("rambling>wrong", rambling, wrong)):
            pairs.append({"prompt": prompt, "chosen": [{"role": "assistant", "content": chosen}],
                          "rejected": [{"role": "assistant", "content": rejected}], "kind": kind})
    return pairs
