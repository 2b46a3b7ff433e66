"""Tiny Python functions built from a chain of integer operations, checked by hidden asserts."""

from __future__ import annotations

import random

NAMES = ["solve", "f", "g", "compute", "transform", "calc", "apply", "step"]
OPS = {
    "add": ("adds {k} to it", "+"),
    "sub": ("subtracts {k} from it", "-"),
    "mul": ("multiplies it by {k}", "*"),
}


def _apply(x: int, steps: list[tuple[str, int]]) -> list[int]:
    values = [x]
    for op, k in steps:
        x = x + k if op == "add" else x - k if op == "sub" else x * k
        values.append(x)
    return values


def make_item(rng: random.Random, difficulty: int) -> dict:
    """A function of ``difficulty`` chained operations on its integer argument."""
    name = rng.choice(NAMES)
    steps = [(rng.choice(list(OPS)), rng.randint(2, 9)) for _ in range(difficulty)]
    words = ", then ".join(OPS[op][0].format(k=k) for op, k in steps)
    prompt = f"Write a Python function {name}(x) that takes an integer x, {words}, and returns the result."
    body = ["    y = x"] + [f"    y = y {OPS[op][1]} {k}" for op, k in steps] + ["    return y"]
    code = f"def {name}(x):\n" + "\n".join(body)
    trace = _apply(1, steps)
    thinking = "\n".join(
        ["Start with y = x."]
        + [f"Step {i + 1}: y = y {OPS[op][1]} {k}." for i, (op, k) in enumerate(steps)]
        + ["Return y.", "Check with x = 1: " + " -> ".join(str(v) for v in trace) + "."]
    )
    tests = "\n".join(f"assert {name}({x}) == {_apply(x, steps)[-1]}" for x in (0, 1, 5, -3))
    return {
        "family": "code",
        "difficulty": difficulty,
        "prompt": prompt,
        "thinking": thinking,
        "response": f"```python\n{code}\n```",
        "answer": None,
        "tests": tests,
        "instruction_id_list": None,
        "kwargs": None,
    }


def corrupt(item: dict, rng: random.Random) -> tuple[str, str]:
    """Swap one operator so the function is wrong but looks plausible."""
    response = item["response"]
    for old, new in ((" + ", " - "), (" * ", " + "), (" - ", " * ")):
        if old in response:
            return item["thinking"], response.replace(old, new, 1)
    return item["thinking"], response.replace("return y", "return y + 1")
