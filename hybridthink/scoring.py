"""Grade items: each family's grader is the same function its RL reward uses ("arithmetic" is the
toy world's math, "math" a real recipe's, "tool" the toy world's products that need the calculator,
graded on the episode's final answer; all three by math-verify)."""

from __future__ import annotations

from collections import defaultdict

from .ifeval import ifeval_reward
from .rewards import code_execution_reward, math_accuracy_reward

GRADERS = {
    "arithmetic": (math_accuracy_reward, ("answer",)),
    "math": (math_accuracy_reward, ("answer",)),
    "tool": (math_accuracy_reward, ("answer",)),
    "code": (code_execution_reward, ("tests",)),
    "instruction": (ifeval_reward, ("instruction_id_list", "kwargs")),
}


def verifiable(item: dict) -> bool:
    """Whether an item has a grader: a known family whose grading columns it fills."""
    grader = GRADERS.get(item.get("family"))
    return grader is not None and all(item.get(k) is not None for k in grader[1])


def score_items(items: list[dict], texts: list[str]) -> list[float]:
    """Correctness in [0, 1] of each completion text for its item (None from a grader counts 0)."""
    by_family: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        if item["family"] not in GRADERS:
            raise ValueError(f"item {item.get('id')}: no grader for family {item['family']!r}; known: {sorted(GRADERS)}")
        by_family[item["family"]].append(i)
    scores = [0.0] * len(items)
    for family, idx in by_family.items():
        fn, keys = GRADERS[family]
        kwargs = {k: [items[i][k] for i in idx] for k in keys}
        for i, s in zip(idx, fn([items[i]["prompt"] for i in idx], [texts[i] for i in idx], **kwargs)):
            scores[i] = float(s or 0.0)
    return scores
